"""Text analytics of verbatims: sentiment from our model, keywords, aspects, risk flags, topics,
discovered themes, tenant dictionaries, and the alert facts they feed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError

from alerts.models import AlertRule, Ticket
from alerts.rules import conditions_match, conditions_validate
from alerts.services import alert_rule_create
from analytics.keywords import is_content_word, keywords_extract, stopwords, words
from analytics.models import ResponseScore
from analytics.selectors import text_dictionary
from analytics.sentiment import default_model
from analytics.services import (
    aspect_delete,
    aspect_terms_add,
    outdated_texts_enqueue,
    response_score,
    topic_keywords_add,
    user_words_add,
)
from analytics.text import BUILTIN_DICTIONARY, analyzer_version, text_analyze
from analytics.text_overview import DrillDown, TextRow, drill_down, text_overview
from analytics.topics import (
    DiscoveredTheme,
    ThemeDocument,
    ThemeText,
    themes_discover,
    themes_in_view,
)
from organizations.conditions import ConditionError
from organizations.models import AuditEvent
from organizations.tenancy import tenant_context
from tests.helpers import BAD_ANSWERS, GOOD_ANSWERS, submit_and_score


@pytest.mark.parametrize(
    "text", ["柜员非常专业，办理很快，很满意", "大堂经理很热情，环境也干净，下次还来"]
)
def test_clear_praise_is_positive(text):
    assert text_analyze(text).sentiment_label == "positive"


@pytest.mark.parametrize(
    "text",
    ["排队等了一个多小时，柜员态度也很差", "客服电话一直打不通，问题拖了一个月都没解决，非常失望"],
)
def test_clear_complaint_is_negative(text):
    assert text_analyze(text).sentiment_label == "negative"


def test_blank_text_is_not_analysed():
    assert text_analyze("  \n ") is None


def test_scores_come_from_our_model_not_snownlp():
    text = "柜员非常专业，办理很快，很满意"
    [ours] = default_model().predict([text])
    assert text_analyze(text).sentiment_score == pytest.approx(ours.score, abs=1e-4)
    assert default_model().version in analyzer_version()


def test_keywords_are_content_words_of_the_text():
    keywords = text_analyze("跨行转账手续费太高，而且事先没有任何说明。").keywords
    assert "手续费" in keywords and "转账" in keywords
    assert len(keywords) <= 5


@pytest.mark.parametrize(
    "text",
    [
        "总的来说还可以，就是排队有点久，感觉一下子等了一个多小时。",
        "其实我觉得还是挺好的，总体来说一般般吧，然后就是有点慢。",
        "非常非常满意！！！谢谢谢谢，下次还来。",
    ],
)
def test_stopwords_and_single_characters_are_never_keywords(text):
    for keyword in text_analyze(text).keywords:
        assert keyword not in stopwords()
        assert len(keyword) >= 2


def test_the_shipped_stopword_list_has_cx_filler():
    assert {"总的来说", "一下", "有点", "还是", "感觉"} <= stopwords()
    assert len(stopwords()) >= 300


def test_counted_amounts_and_numbers_are_not_content_words():
    assert not is_content_word("一个多")
    assert not is_content_word("几款")
    assert not is_content_word("两笔")
    assert not is_content_word("2024")
    assert is_content_word("手续费")


def test_keywords_rank_repeated_and_rare_words_first():
    ranked = keywords_extract(words("闪退闪退闪退，登录也慢"), count=2)
    assert ranked[0] == "闪退"


def opinions(text: str, dictionary=BUILTIN_DICTIONARY) -> dict[str, str]:
    return {a["aspect"]: a["polarity"] for a in text_analyze(text, dictionary=dictionary).aspects}


def test_praise_and_complaint_are_told_apart_by_aspect():
    analysis = text_analyze("服务态度很好，但是排队太久了")
    assert {a["aspect"]: a["polarity"] for a in analysis.aspects} == {
        "服务态度": "positive",
        "等待时间": "negative",
    }
    assert analysis.sentiment_label != "positive"
    clauses = {a["aspect"]: a["clause"] for a in analysis.aspects}
    assert clauses == {"服务态度": "服务态度很好", "等待时间": "排队太久了"}


def test_mixed_text_without_a_contrast_word_is_not_confidently_positive():
    analysis = text_analyze("柜员很热情，排队等了一个多小时")
    assert opinions("柜员很热情，排队等了一个多小时")["等待时间"] == "negative"
    assert analysis.sentiment_label in ("neutral", "negative")


@pytest.mark.parametrize(
    ("text", "aspect", "polarity"),
    [
        ("手机银行App更新后经常闪退", "App/系统", "negative"),
        ("网点环境干净整洁，等候区有饮用水", "环境", "positive"),
        ("环境很脏", "环境", "negative"),
        ("跨行转账手续费太高，事先也没说明", "价格费用", "negative"),
        ("柜员不专业，业务不熟练", "专业能力", "negative"),
        ("理财经理很专业", "专业能力", "positive"),
        ("快递很快，第二天就到了", "物流配送", "positive"),
        ("质量太差了", "产品质量", "negative"),
        ("柜员态度冷淡，问了几遍都不耐烦", "服务态度", "negative"),
        ("今天人不多，基本没有排队", "等待时间", "positive"),
    ],
)
def test_aspects_of_crafted_sentences(text, aspect, polarity):
    assert opinions(text).get(aspect) == polarity


def test_items_of_an_enumeration_share_the_verdict_that_ends_it():
    assert opinions("服务态度、专业能力都很好") == {"服务态度": "positive", "专业能力": "positive"}


def test_a_longer_term_wins_over_the_shorter_one_inside_it():
    # 服务费 is about fees, not about 服务 (attitude).
    assert set(opinions("服务费太贵了")) == {"价格费用"}


def test_a_text_about_no_aspect_has_none():
    assert text_analyze("今天来办理社保卡激活。").aspects == []


YIELD_COMPLAINT = "这款理财的年化收益太低了"


def test_tenant_aspect_terms_change_extraction_for_that_tenant_only(world, other_world):
    with tenant_context(world.tenant):
        aspect_terms_add(name="理财收益", terms="年化、收益", by=world.manager)
        assert opinions(YIELD_COMPLAINT, text_dictionary()) == {"理财收益": "negative"}
    with tenant_context(other_world.tenant):
        assert opinions(YIELD_COMPLAINT, text_dictionary()) == {}


def test_terms_under_a_built_in_name_extend_that_aspect(in_tenant):
    assert "等待时间" not in opinions("柜台前人山人海")
    aspect_terms_add(name="等待时间", terms=["人山人海"], by=in_tenant.manager)
    assert opinions("柜台前人山人海", text_dictionary()).get("等待时间")


def test_tenant_user_words_stay_whole_for_that_tenant_only(world, other_world):
    text = "我想买大额存单，但是额度一直不够"
    with tenant_context(world.tenant):
        user_words_add(words="大额存单\n薪享通", by=world.manager)
        assert "大额存单" in text_analyze(text, dictionary=text_dictionary()).keywords
    with tenant_context(other_world.tenant):
        assert "大额存单" not in text_analyze(text, dictionary=text_dictionary()).keywords


def test_a_scored_response_stores_its_aspects_and_dictionary_revision(world):
    response = submit_and_score(world, {**BAD_ANSWERS, "text_1": "服务态度很好，但是排队太久了"})
    with tenant_context(world.tenant):
        score = ResponseScore.objects.get(response=response)
    assert [(a["aspect"], a["polarity"]) for a in score.aspects] == [
        ("服务态度", "positive"),
        ("等待时间", "negative"),
    ]
    assert score.model_version == analyzer_version()
    assert score.model_version.endswith("/d0")


def test_a_dictionary_change_makes_rescoring_update_the_derived_data(world):
    response = submit_and_score(world, {**BAD_ANSWERS, "text_1": YIELD_COMPLAINT})
    with tenant_context(world.tenant):
        assert ResponseScore.objects.get(response=response).aspects == []
        aspect_terms_add(name="理财收益", terms="收益", by=world.manager)
        score = response_score(response_id=response.pk)
        assert [a["aspect"] for a in score.aspects] == ["理财收益"]
        assert score.model_version.endswith("/d1")
        assert ResponseScore.objects.filter(response=response).count() == 1


def test_outdated_texts_are_enqueued_for_rescoring(world, monkeypatch):
    fresh = submit_and_score(world, GOOD_ANSWERS)
    enqueued = []
    monkeypatch.setattr(
        "analytics.services.response_enqueue_scoring",
        lambda *, response_id: enqueued.append(response_id),
    )
    with tenant_context(world.tenant):
        assert outdated_texts_enqueue() == 0
        user_words_add(words="柜员", by=world.manager)
        assert outdated_texts_enqueue() == 1
    assert enqueued == [fresh.pk]


@pytest.mark.parametrize(
    ("words", "message"), [("", "至少"), ("好", "长度"), ("很长" * 11, "长度")]
)
def test_user_words_are_checked(in_tenant, words, message):
    with pytest.raises(ValidationError, match=message):
        user_words_add(words=words, by=in_tenant.manager)


def test_dictionary_changes_are_audited(in_tenant):
    aspect = aspect_terms_add(name="理财收益", terms="收益", by=in_tenant.manager)
    aspect_delete(aspect=aspect, by=in_tenant.manager)
    actions = list(
        AuditEvent.objects.filter(action__startswith="text_dictionary.")
        .order_by("at", "id")
        .values_list("action", flat=True)
    )
    assert actions == ["text_dictionary.aspect_terms_add", "text_dictionary.aspect_delete"]
    added = AuditEvent.objects.get(action="text_dictionary.aspect_terms_add")
    assert added.after == {
        "name": "理财收益",
        "terms": ["收益"],
    }


@pytest.mark.parametrize(
    ("text", "flags"),
    [
        ("再不解决我就投诉到银保监会", [{"flag": "regulator", "term": "银保监会"}]),
        ("已经打了１２３１５", [{"flag": "regulator", "term": "12315"}]),
        ("我会发到微博上曝光你们", [{"flag": "media", "term": "微博"}]),
        ("我已经找了律师，准备去法院起诉", [{"flag": "legal", "term": "律师"}]),
        ("明天就去销户，转到别的银行", [{"flag": "churn", "term": "销户"}]),
        (
            "不处理我就找金融监管部门，再在抖音上说说",
            [{"flag": "regulator", "term": "金融监管"}, {"flag": "media", "term": "抖音"}],
        ),
    ],
)
def test_risk_flags_name_the_term_that_raised_them(text, flags):
    assert text_analyze(text).risk_flags == flags


@pytest.mark.parametrize(
    "text", ["柜员很好，我不会去投诉的", "服务很好，下次还来", "我暂时不打算销户"]
)
def test_no_risk_flag_without_a_threat(text):
    assert text_analyze(text).risk_flags == []


def no_default_rule(world) -> None:
    with tenant_context(world.tenant):
        AlertRule.objects.update(is_active=False)


def rule_on(world, conditions: dict) -> AlertRule:
    with tenant_context(world.tenant):
        return alert_rule_create(
            name="升级风险", conditions=conditions, priority="urgent", sla_hours=2, by=world.manager
        )


PROMOTER = {"nps_1": 9, "csat_1": 4}


def test_a_rule_on_a_risk_flag_opens_a_ticket(world):
    no_default_rule(world)
    rule = rule_on(world, {"fact": "risk_flag", "op": "in", "value": ["regulator", "legal"]})
    calm = submit_and_score(world, {**PROMOTER, "text_1": "办理很顺利"})
    threat = submit_and_score(world, {**PROMOTER, "text_1": "卡被冻结了，再不解冻就投诉到银保监会"})
    with tenant_context(world.tenant):
        assert [a["flag"] for a in threat.score.risk_flags] == ["regulator"]
        ticket = Ticket.objects.get()
        assert list(ticket.rules.all()) == [rule]
    assert ticket.response_id == threat.pk
    assert ticket.priority == "urgent"
    assert calm.pk != ticket.response_id


def test_a_rule_on_a_negative_aspect_opens_a_ticket_even_for_a_neutral_text(world):
    no_default_rule(world)
    rule_on(world, {"fact": "aspect_negative", "op": "contains", "value": "等待时间"})
    response = submit_and_score(world, {**PROMOTER, "text_1": "服务态度很好，但是排队太久了"})
    with tenant_context(world.tenant):
        assert response.score.sentiment_label != "negative"
        assert Ticket.objects.get().response_id == response.pk


@pytest.mark.parametrize(
    ("condition", "facts", "expected"),
    [
        ({"fact": "risk_flag", "op": "contains", "value": "churn"}, {"risk_flag": ["churn"]}, True),
        ({"fact": "risk_flag", "op": "contains", "value": "churn"}, {"risk_flag": []}, False),
        (
            {"fact": "risk_flag", "op": "in", "value": ["media", "legal"]},
            {"risk_flag": ["legal"]},
            True,
        ),
        ({"fact": "risk_flag", "op": "in", "value": ["media"]}, {"risk_flag": ["churn"]}, False),
        ({"fact": "aspect_positive", "op": "contains", "value": "环境"}, {}, False),
        (
            {"fact": "touchpoint", "op": "in", "value": ["app", "counter"]},
            {"touchpoint": "app"},
            True,
        ),
    ],
)
def test_list_facts_match_with_contains_and_in(condition, facts, expected):
    conditions_validate(condition)
    assert conditions_match(condition, facts) is expected


@pytest.mark.parametrize(
    "bad",
    [
        {"fact": "risk_flag", "op": "eq", "value": "churn"},
        {"fact": "aspect_negative", "op": "contains", "value": ["等待时间"]},
    ],
)
def test_list_facts_refuse_operators_that_make_no_sense_for_lists(bad):
    with pytest.raises(ConditionError):
        conditions_validate(bad)


def test_texts_are_assigned_the_tenant_topics_whose_keywords_they_contain(world, other_world):
    text = "信用卡年费被莫名扣了，App上也查不到"
    with tenant_context(world.tenant):
        topic_keywords_add(name="信用卡", keywords="信用卡、年费、额度", by=world.manager)
        topic_keywords_add(name="手机银行", keywords="app、手机银行", by=world.manager)
        topic_keywords_add(name="贷款", keywords="贷款", by=world.manager)
        assert text_analyze(text, dictionary=text_dictionary()).topics == ["信用卡", "手机银行"]
    with tenant_context(other_world.tenant):
        assert text_analyze(text, dictionary=text_dictionary()).topics == []


def test_a_rule_on_a_topic_opens_a_ticket(world):
    no_default_rule(world)
    with tenant_context(world.tenant):
        topic_keywords_add(name="信用卡", keywords="信用卡", by=world.manager)
    rule_on(world, {"fact": "topic", "op": "contains", "value": "信用卡"})
    response = submit_and_score(world, {**PROMOTER, "text_1": "信用卡额度提升得很快"})
    submit_and_score(world, {**PROMOTER, "text_1": "存款利率还可以"})
    with tenant_context(world.tenant):
        assert response.score.topics == ["信用卡"]
        assert list(Ticket.objects.values_list("response_id", flat=True)) == [response.pk]


APP_CRASHES = [
    "App更新后经常闪退",
    "新版App一打开就闪退，根本用不了",
    "手机App闪退，转账转不了",
    "App老是闪退，登录不上",
    "更新后App闪退好几次",
    "App闪退，客服也说不清楚",
]
CARD_FEES = [
    "信用卡年费被莫名扣了",
    "没开通的信用卡也收年费",
    "年费扣了两次，信用卡客服不给退",
    "信用卡年费太贵，说好免年费的",
    "年费问题投诉了很多次",
    "不知道为什么扣了信用卡年费",
]
ONE_OFFS = [
    "今天天气不错",
    "大堂的绿植很漂亮",
    "停车场在地下二层",
    "希望多放几把椅子",
    "柜台的笔没有水了",
    "门口台阶有点滑",
]


def documents(texts: list[str]) -> list[ThemeDocument]:
    return [
        ThemeDocument(i, [w for w in words(text) if is_content_word(w)])
        for i, text in enumerate(texts)
    ]


def test_theme_discovery_groups_similar_texts_and_labels_them_by_their_words():
    texts = [t for trio in zip(APP_CRASHES, CARD_FEES, ONE_OFFS, strict=True) for t in trio]
    themes = themes_discover(documents(texts))
    assert len(themes) == 2
    crash = next(theme for theme in themes if "闪退" in theme.label)
    fees = next(theme for theme in themes if "年费" in theme.label)
    assert {texts[i] for i in crash.members} == set(APP_CRASHES)
    assert {texts[i] for i in fees.members} == set(CARD_FEES)
    assert DiscoveredTheme.from_json(crash.as_json()) == crash


def test_too_few_texts_make_no_theme():
    assert themes_discover(documents(APP_CRASHES[:2])) == []
    assert themes_discover(documents(ONE_OFFS)) == []


def theme_text(pk: int, label: str = "negative", score: float | None = 0.2) -> ThemeText:
    return ThemeText(pk, f"text {pk}", label, score)


def test_a_theme_is_shown_with_its_members_in_view_only():
    crash = DiscoveredTheme("闪退、App", ["闪退", "App"], [7, 3, 5, 9, 1])
    fees = DiscoveredTheme("年费", ["年费"], [2, 4, 6])
    in_view = {
        pk: theme_text(pk)
        for pk in (3, 9, 1, 4, 6)  # 7 and 5 are another region's; 2 is older than the period
    }
    in_view[1] = theme_text(1, "positive", 0.9)
    in_view[9] = theme_text(9, "neutral", None)
    (shown,) = themes_in_view([fees, crash], in_view)
    assert shown.label == "闪退、App" and shown.size == 3
    assert [example.id for example in shown.examples] == [3, 9, 1]  # closest to the theme first
    assert shown.sentiment_score == round((0.2 + 0.9) / 2, 3)  # of the texts that have one
    assert shown.negative_share == 33


NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
SINCE = NOW - timedelta(days=30)


def row(days_ago: int, **fields) -> TextRow:
    values = {
        "score_id": days_ago,
        "submitted_at": NOW - timedelta(days=days_ago),
        "touchpoint_id": 1,
        "org_unit_id": 10,
        "sentiment": "neutral",
        "sentiment_score": 0.5,
        "aspects": [],
        "risk_flags": [],
        "topics": [],
        "keywords": [],
        **fields,
    }
    return TextRow(**values)


def overview(rows: list[TextRow]):
    return text_overview(
        rows,
        since=SINCE,
        aspect_names=["服务态度", "等待时间"],
        topic_names=["信用卡", "理财"],
        touchpoint_names={1: "开户 / 网点柜台"},
        org_unit_names={10: "浦东支行"},
    )


def test_rising_topics_compare_this_period_with_the_previous_one():
    rows = [
        row(1, topics=["信用卡"], keywords=["年费"]),
        row(2, topics=["信用卡"], keywords=["年费"]),
        row(3, topics=["信用卡", "理财"], keywords=["年费"]),
        row(40, topics=["信用卡"]),
        row(41, topics=["理财"]),
        row(42, topics=["理财"]),
    ]
    result = overview(rows)
    assert [(r.name, r.current, r.previous, r.growth) for r in result.rising_topics] == [
        ("信用卡", 3, 1, 200)
    ]
    assert [(r.name, r.growth) for r in result.rising_keywords] == [("年费", None)]
    assert result.mix.total == 3 and result.previous_total == 3


def test_topic_matrix_counts_each_topic_by_sentiment_and_the_uncovered_texts():
    rows = [
        row(1, topics=["信用卡"], sentiment="negative"),
        row(2, topics=["信用卡"], sentiment="positive"),
        row(3, sentiment="negative"),
    ]
    result = overview(rows)
    cards = next(t for t in result.topics if t.name == "信用卡").mix
    assert (cards.positive, cards.neutral, cards.negative, cards.negative_share) == (1, 0, 1, 50.0)
    assert result.uncovered == 1


def test_aspect_scores_per_touchpoint_and_org_unit_are_net_shares_of_mentions():
    waiting_bad = [{"aspect": "等待时间", "polarity": "negative"}]
    waiting_good = [{"aspect": "等待时间", "polarity": "positive"}]
    rows = [
        row(1, aspects=waiting_bad),
        row(2, aspects=waiting_bad),
        row(3, aspects=waiting_good),
        row(4, aspects=waiting_bad, touchpoint_id=None, org_unit_id=None),
    ]
    result = overview(rows)
    assert [(name, cell.mentions, cell.net) for name, cell in result.aspects] == [
        ("等待时间", 4, -50)
    ]
    grid = result.aspects_by_touchpoint
    assert grid.aspects == ["等待时间"]
    assert [(r.name, r.cells[0].net) for r in grid.rows] == [("开户 / 网点柜台", -33), ("", -100)]
    assert result.aspects_by_org_unit.rows[0].name == "浦东支行"


def test_drill_down_lists_the_newest_matching_texts_of_the_period():
    rows = [
        row(1, aspects=[{"aspect": "等待时间", "polarity": "negative"}]),
        row(2, aspects=[{"aspect": "等待时间", "polarity": "positive"}]),
        row(3, aspects=[{"aspect": "等待时间", "polarity": "negative"}]),
        row(40, aspects=[{"aspect": "等待时间", "polarity": "negative"}]),
    ]
    drill = DrillDown(aspect="等待时间", polarity="negative")
    assert drill_down(rows, drill, since=SINCE, limit=1) == (2, [1])
    assert drill_down(rows, DrillDown(), since=SINCE, limit=10) == (3, [1, 2, 3])
    assert not DrillDown() and drill
