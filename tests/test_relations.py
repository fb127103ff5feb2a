"""Relations: what a verbatim talks about and what it says of it, stored with its score and
ranked on the text analytics page, each pair leading to its verbatims."""

from __future__ import annotations

import pytest

from analytics.chinese import segment
from analytics.relations import RelationFinder
from analytics.text import BUILTIN_DICTIONARY, text_analyze
from tests.test_text_analytics_pages import login, scored, url, verbatims_of

FINDER = RelationFinder(BUILTIN_DICTIONARY.aspect_finder.aspects)


@pytest.mark.parametrize(
    ("text", "pairs"),
    [
        ("柜员态度差", [("柜员", "态度差")]),
        ("柜员的态度非常差！", [("柜员", "态度差")]),
        ("App老是闪退", [("app", "闪退")]),
        ("年费乱收，还不退", [("年费", "乱收")]),
        ("大堂经理很热情", [("大堂经理", "热情")]),
        ("很热情的大堂经理", [("大堂经理", "热情")]),
        ("网点的柜员不耐烦", [("柜员", "不耐烦")]),
        ("排队时间太长了", [("排队时间", "长")]),
        ("信号很差", [("信号", "差")]),
        ("理赔太慢", [("理赔", "慢")]),
        ("客服一直推诿", [("客服", "推诿")]),
        ("服务态度不专业", [("服务态度", "不专业")]),
        ("价格太贵了吧", [("价格", "贵")]),
        ("服务态度很好，但是排队太久了", [("服务态度", "好"), ("排队", "久")]),
        ("App经常闪退，还要重新登录", [("app", "闪退")]),
        ("今天去网点办业务", []),
        ("", []),
    ],
)
def test_relation_pairs_of_fixed_texts(text, pairs):
    found = [(relation.target, relation.opinion) for relation in FINDER.find(segment(text))]
    assert found == pairs


def test_the_analysis_of_a_text_carries_its_relations():
    analysis = text_analyze("柜员态度差，App老是闪退")
    assert analysis.relations == [
        {"target": "柜员", "opinion": "态度差"},
        {"target": "app", "opinion": "闪退"},
    ]


def relations_of(page: str) -> str:
    return page.split('<section class="card" id="relations">')[1].split("</section>")[0]


def test_the_page_ranks_the_pairs_and_each_leads_to_its_verbatims(client, world):
    for text in ["柜员态度差", "柜员态度差，排队太久了", "App老是闪退"]:
        scored(world, text, nps=2)
    login(client, world.manager)
    page = client.get(url("text_analytics", world)).content.decode()
    section = relations_of(page)
    table = section.split('data-testid="relations"')[1].split("</table>")[0]
    assert table.index("态度差") < table.index("闪退")  # two texts before one
    assert "<td>柜员</td>" in table and '<td class="num">2</td>' in table
    assert "柜员" in section.split('data-testid="relation-targets"')[1]

    drilled = client.get(url("text_analytics", world), {"target": "柜员", "opinion": "态度差"})
    verbatims = verbatims_of(drilled.content.decode())
    assert verbatims.count("<li data-score") == 2 and "闪退" not in verbatims.split("<q>")[1]
    assert "App老是闪退" not in verbatims


def test_another_tenants_pairs_never_show(client, world, other_world):
    scored(other_world, "客服一直推诿", nps=1)
    scored(world, "信号很差", nps=3)
    login(client, world.manager)
    page = client.get(url("text_analytics", world)).content.decode()
    assert "推诿" not in relations_of(page) and "信号" in relations_of(page)
    drilled = client.get(url("text_analytics", world), {"target": "客服", "opinion": "推诿"})
    assert "推诿" not in verbatims_of(drilled.content.decode())
