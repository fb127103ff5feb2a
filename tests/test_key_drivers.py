"""Key drivers: the aspect that carries a low NPS has the top impact and a neutral one none,
touchpoints are compared customer by customer, small samples are suppressed, the dashboard's
filters and the member's scope narrow the analysis, another tenant sees none of it, and the
page runs a constant number of queries."""

from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from analytics.drivers import Driver, Group, key_drivers_read
from analytics.selectors import DriverRows
from analytics.services import response_score
from organizations.tenancy import tenant_context
from surveys.models import Response
from tests.factories import PASSWORD, UserFactory
from tests.test_journey_map import second_touchpoint

pytestmark = pytest.mark.usefixtures("midday")

MIN_SAMPLE = 5
QUEUE = "等待时间"  # the aspect of 排队太久
FEES = "价格费用"  # the aspect of 手续费太贵
ATTITUDE = "服务态度"  # the aspect of 态度冷淡


@pytest.fixture(autouse=True)
def small_sample(settings):
    settings.CEM_MAP_MIN_SAMPLE = MIN_SAMPLE


def scored(
    world, *, nps, csat=None, text="", touchpoint=None, org_unit=None, customer="", ago=None
):
    """A response scored by the real scoring path (text analytics included)."""
    answers = {"nps_1": nps, **({"csat_1": csat} if csat is not None else {})}
    if text:
        answers["text_1"] = text
    with tenant_context(world.tenant):
        response = Response.objects.create(
            survey=world.survey,
            version=world.survey.live_version,
            touchpoint=touchpoint or world.touchpoint,
            org_unit=org_unit or world.branch,
            external_customer_id=customer,
            answers=answers,
            submitted_at=timezone.now() - (ago or timedelta(days=1)),
            status=Response.Status.COMPLETE,
        )
        response_score(response_id=response.pk)
    return response


@pytest.fixture
def planted(world):
    """40 NPS answers: 10 queue complaints, all detractors with a CSAT of 1 at the counter of
    the other branch; 10 fee complaints (4 promoters, 3 passives, 3 detractors: NPS 10, that
    of everyone else) in the app; 20 answers at the counter (14 promoters, 5 passives, one
    detractor: NPS 65), two of them cold about the staff's attitude: below the minimum."""
    app = second_touchpoint(world)
    for i in range(10):
        scored(
            world,
            nps=i % 4,
            csat=1,
            text="排队太久了，等了一个多小时",
            org_unit=world.other_branch,
            customer=f"Q{i}",
        )
    for i, nps in enumerate([10, 9, 10, 9, 8, 7, 8, 3, 5, 0]):
        scored(world, nps=nps, csat=3, text="手续费太贵了", touchpoint=app, customer=f"F{i}")
    for i, nps in enumerate([10] * 7 + [9] * 7 + [7, 8, 8] + [7, 8] + [2]):
        text = "柜员态度冷淡" if i in (15, 16) else "柜员很专业"
        scored(world, nps=nps, csat=5 if nps >= 9 else 4, text=text, customer=f"P{i}")
    world.app = app
    return world


def login(client, user):
    assert client.login(username=user.username, password=PASSWORD)
    return client


def drivers_url(world, **params) -> str:
    url = reverse("key_drivers", kwargs={"tenant_slug": world.tenant.slug})
    return url + (f"?{urlencode(params)}" if params else "")


def table(page: str, testid: str) -> str:
    return page.split(f'data-testid="{testid}"')[1].split("</table>")[0]


def row(page: str, testid: str, label: str) -> str:
    return table(page, testid).split(f'data-row="{label}"')[1].split("</tr>")[0]


def test_the_aspect_that_carries_a_low_nps_has_the_top_impact_and_a_neutral_one_none(
    client, planted
):
    reply = login(client, planted.manager).get(drivers_url(planted, days=30))
    assert reply.status_code == 200
    drivers = reply.context["drivers"]
    queue, fees = drivers.aspects[0], next(d for d in drivers.aspects if d.aspect == FEES)
    assert queue.aspect == QUEUE
    # The queue's 10 detractors (-100) against the other 30 (18 promoters, 4 detractors).
    assert (queue.low.n, queue.rest.n) == (10, 30)
    assert queue.gap == pytest.approx(146.7) and queue.impact == pytest.approx(36.7)
    assert queue.significant and queue.interval[0] > 0
    assert fees.gap == pytest.approx(0.0) and fees.impact == pytest.approx(0.0)
    assert not fees.significant
    page = reply.content.decode()
    assert "+36.7" in row(page, "aspect-drivers", QUEUE)
    assert "不显著" in row(page, "aspect-drivers", FEES)
    # Each aspect links to its negative verbatims on the text analytics page.
    text_page = reverse("text_analytics", kwargs={"tenant_slug": planted.tenant.slug})
    link = row(page, "aspect-drivers", QUEUE).split('href="')[1].split('"')[0]
    assert link.startswith(text_page) and "aspect=%E7%AD%89%E5%BE%85" in link
    verbatims = client.get(link.replace("&amp;", "&"))
    assert verbatims.status_code == 200 and "排队太久了" in verbatims.content.decode()
    assert "手续费太贵" not in verbatims.content.decode()


def test_an_aspect_below_the_minimum_sample_is_greyed_and_not_charted(client, planted):
    reply = login(client, planted.manager).get(drivers_url(planted, days=30))
    attitude = next(d for d in reply.context["drivers"].aspects if d.aspect == ATTITUDE)
    assert attitude.low.n == 2 and attitude.suppressed
    assert attitude.gap is None and attitude.impact is None and attitude.interval is None
    page = reply.content.decode()
    assert (
        'class="suppressed"'
        in table(page, "aspect-drivers").split(f'data-row="{ATTITUDE}"')[0][-40:]
    )
    assert "样本不足" in row(page, "aspect-drivers", ATTITUDE)
    assert ATTITUDE not in reply.context["aspect_chart"]
    assert reply.context["drivers"].aspects[-1].aspect == ATTITUDE  # suppressed rows last


def test_a_touchpoint_is_compared_customer_by_customer_on_its_low_csat(client, planted):
    reply = login(client, planted.manager).get(drivers_url(planted, days=30))
    drivers = reply.context["drivers"]
    counter = next(d for d in drivers.touchpoints if d.touchpoint == planted.touchpoint)
    app = next(d for d in drivers.touchpoints if d.touchpoint == planted.app)
    # At the counter: 10 customers gave a CSAT of 1 (all detractors), 20 gave 4-5 (NPS 65).
    assert (counter.low.n, counter.rest.n, drivers.customers) == (10, 20, 40)
    assert counter.gap == pytest.approx(165.0) and counter.impact == pytest.approx(41.25, abs=0.06)
    assert app.low.n == 0 and app.suppressed  # nobody rated the app low
    page = reply.content.decode()
    link = row(page, "touchpoint-drivers", counter.label).split('href="')[1].split('"')[0]
    assert f"touchpoint={planted.touchpoint.pk}" in link and f"journey={planted.journey.pk}" in link
    assert link.startswith(reverse("dashboard", kwargs={"tenant_slug": planted.tenant.slug}))


def group(promoters, passives, detractors):
    return [10] * promoters + [8] * passives + [0] * detractors


def test_a_customer_counts_once_by_the_latest_nps_answer(world):
    """Pure pandas: answers as the selector returns them. Customer A answered twice: a
    detractor at first, then a promoter; the later answer is theirs."""
    now = datetime(2026, 6, 10, 12, 0)
    tp = world.touchpoint.pk
    answers = [
        (1, "A", 1, tp, 0, 1, now - timedelta(days=3)),
        (2, "A", 2, tp, 10, 5, now - timedelta(days=1)),
        (3, "", 3, tp, 0, 1, now),  # no external id: the response is the customer
        (4, "", 4, tp, 10, 4, now),
        (5, "B", 5, None, 9, None, now),  # no touchpoint: counts among the customers only
    ]
    with tenant_context(world.tenant):
        drivers = key_drivers_read(
            rows=DriverRows(answers=answers, negative_aspects=[(3, QUEUE)]),
            catalogue=[world.touchpoint],
        )
    (counter,) = drivers.touchpoints
    assert drivers.customers == 4 and drivers.rated == 3
    # A rated the counter low once (min CSAT 1) and counts as the promoter they became.
    assert (counter.low.n, counter.low.promoters, counter.low.detractors) == (2, 1, 1)
    assert (counter.rest.n, counter.rest.promoters) == (1, 1)
    (queue,) = drivers.aspects
    assert (queue.low.n, queue.rest.n, drivers.answers) == (1, 4, 5)


def test_the_gap_interval_is_that_of_two_independent_nps():
    low, rest = Group(10, 0, 10), Group(30, 18, 4)
    driver = Driver(label="x", low=low, rest=rest, everyone=40, min_sample=5)
    # Variances of one answer's score: 0 for the all-detractor group; for the rest
    # p + d - (p - d)^2 with p = .6, d = .133.
    error = 100 * 1.96 * ((0.6 + 4 / 30 - (0.6 - 4 / 30) ** 2) / 30) ** 0.5
    assert driver.interval == pytest.approx((146.7 - error, 146.7 + error), abs=0.11)
    every_one_against_none = Driver(
        label="y", low=Group(10, 0, 10), rest=Group(30, 30, 0), everyone=40, min_sample=5
    )
    assert every_one_against_none.interval == (200.0, 200.0)
    assert driver.impact_interval == pytest.approx(
        (driver.interval[0] / 4, driver.interval[1] / 4), abs=0.06
    )


def test_the_dashboards_filters_narrow_the_drivers(client, planted):
    login(client, planted.manager)
    in_app = client.get(drivers_url(planted, days=30, channel="mobile_app")).context["drivers"]
    assert [d.aspect for d in in_app.aspects] == [FEES]
    assert [d.touchpoint for d in in_app.touchpoints] == [planted.app]
    branch = client.get(drivers_url(planted, days=30, unit=planted.branch.pk)).context["drivers"]
    assert QUEUE not in [d.aspect for d in branch.aspects]  # complained at the other branch
    for nps in group(0, 0, 6):
        scored(planted, nps=nps, text="排队太久了，等了一个多小时", ago=timedelta(days=20))
    week = client.get(drivers_url(planted, days=7)).context["drivers"]
    month = client.get(drivers_url(planted, days=30)).context["drivers"]
    assert next(d for d in week.aspects if d.aspect == QUEUE).low.n == 10
    assert next(d for d in month.aspects if d.aspect == QUEUE).low.n == 16
    refused = client.get(drivers_url(planted, start="2026-06-10", end="2026-06-01"))
    assert refused.status_code == 400 and "结束日期不能早于开始日期" in refused.content.decode()


def test_a_member_sees_the_drivers_of_their_scope_only(client, planted):
    mine = login(client, planted.agent).get(drivers_url(planted, days=30))  # the branch
    assert mine.status_code == 200
    assert QUEUE not in [d.aspect for d in mine.context["drivers"].aspects]
    assert mine.context["drivers"].answers == 30
    wider = client.get(drivers_url(planted, days=30, unit=planted.hq.pk))
    assert wider.status_code == 400 and "不在您的查看范围内" in wider.content.decode()
    assert wider.context["drivers"].answers == 30
    viewer = login(client, planted.viewer).get(drivers_url(planted, days=30))  # the region
    assert viewer.context["drivers"].aspects[0].aspect == QUEUE


def test_a_stranger_is_refused_and_another_tenant_sees_none_of_the_drivers(
    client, planted, other_world
):
    stranger = UserFactory(username="stranger")
    assert login(client, stranger).get(drivers_url(planted)).status_code == 404
    login(client, other_world.manager)
    assert client.get(drivers_url(planted)).status_code == 404
    theirs = client.get(drivers_url(other_world, days=30))
    assert theirs.status_code == 200
    drivers = theirs.context["drivers"]
    assert drivers.answers == 0 and drivers.aspects == [] and drivers.touchpoints == []
    assert "排队" not in theirs.content.decode()
    probing = client.get(
        drivers_url(other_world, unit=planted.branch.pk, touchpoint=planted.touchpoint.pk)
    )
    assert probing.status_code == 400 and probing.context["drivers"].answers == 0


def queries_for(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_the_page_runs_a_constant_number_of_queries(client, world):
    scored(world, nps=3, csat=1, text="排队太久了", customer="A")
    login(client, world.manager)
    urls = [drivers_url(world), drivers_url(world, days=7, journey=world.journey.pk)]
    few = [queries_for(client, url) for url in urls]
    for i in range(4):
        touchpoint = second_touchpoint(world, code=f"tp-{i}", name=f"触点{i}")
        for nps in (0, 9):
            scored(world, nps=nps, csat=2, text="手续费太贵，态度冷淡", touchpoint=touchpoint)
    assert [queries_for(client, url) for url in urls] == few
