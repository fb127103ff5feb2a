"""The dashboard: its numbers read from the daily metric rollups equal the raw aggregate, filters
parse in one place, stay in the URL and narrow every number, bad input is refused with a
message (400), the member's scope applies on top, and the league tables drill down the org
hierarchy with a confidence interval, change, benchmarks and suppression of small samples, in
a constant number of queries."""

from __future__ import annotations

import io
import re
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.db.models import Q
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics.dashboard import SUMMARY_METRICS, dashboard_read, nps_interval
from analytics.exports import responses_filtered
from analytics.filters import dashboard_filters
from analytics.models import MetricAlert, ResponseScore
from analytics.selectors import metric_summary, metric_sums, response_sums, touchpoint_catalogue
from analytics.services import response_score
from customers.models import Customer
from journeys.models import Channel, KeyMoment, Touchpoint
from organizations.models import OrgUnit
from organizations.services import org_unit_create
from organizations.tenancy import tenant_context
from surveys import services as survey_services
from surveys.models import Response
from tests.factories import PASSWORD, STANDARD_QUESTIONS, member

pytestmark = pytest.mark.usefixtures("midday")

TODAY = date(2026, 6, 10)  # the midday fixture's day


@pytest.fixture(autouse=True)
def small_sample(settings):
    settings.CEM_MAP_MIN_SAMPLE = 3


@pytest.fixture
def app(world):
    """A second touchpoint of the world's journey: the app, a peak moment."""
    with tenant_context(world.tenant):
        return Touchpoint.objects.create(
            stage=world.touchpoint.stage,
            name="手机银行登录",
            code="app-login",
            channel=Channel.MOBILE_APP,
            key_moment=KeyMoment.PEAK,
        )


def answered(world, *, nps, csat=None, ces=None, org_unit=None, touchpoint=None, ago=None, text=""):
    """A response scored in-process: the rollups are kept by the real scoring path."""
    answers = {"nps_1": nps}
    if csat is not None:
        answers["csat_1"] = csat
    if ces is not None:
        answers["ces_1"] = ces
    if text:
        answers["text_1"] = text
    with tenant_context(world.tenant):
        response = Response.objects.create(
            survey=world.survey,
            version=world.survey.live_version,
            touchpoint=touchpoint,
            org_unit=org_unit,
            answers=answers,
            submitted_at=timezone.now() - (ago if ago is not None else timedelta(days=1)),
            status=Response.Status.COMPLETE,
        )
        response_score(response_id=response.pk)
    return response


def login(client, user):
    assert client.login(username=user.username, password=PASSWORD)
    return client


def dashboard_url(world, **params) -> str:
    url = reverse("dashboard", kwargs={"tenant_slug": world.tenant.slug})
    return url + ("?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else "")


def parsed(world, user, **params):
    return dashboard_filters(
        {key: str(value) for key, value in params.items()},
        membership=member(user, world.tenant),
        today=TODAY,
    )


def raw_summary(world, filters, touchpoints=None):
    """The raw aggregate the dashboard's KPIs must equal; `touchpoints` may hold None: the
    responses without one."""
    since, until = filters.window.instants(ZoneInfo(world.tenant.time_zone))
    scores = ResponseScore.objects.filter(
        response__submitted_at__gte=since, response__submitted_at__lt=until
    )
    if filters.org_unit is not None:
        scores = scores.filter(response__org_unit__path__startswith=filters.org_unit.path)
    if touchpoints is not None:
        named = Q(response__touchpoint__in=[tp for tp in touchpoints if tp is not None])
        scores = scores.filter(
            named | Q(response__touchpoint__isnull=True) if None in touchpoints else named
        )
    return metric_summary(scores)


def close(a, b):
    return (a is None and b is None) or (a is not None and b is not None and abs(a - b) < 0.011)


def same_numbers(rolled, raw):
    assert rolled.responses == raw.responses
    assert (rolled.nps_count, rolled.csat_count, rolled.ces_count) == (
        raw.nps_count,
        raw.csat_count,
        raw.ces_count,
    )
    assert close(rolled.nps, raw.nps) and close(rolled.csat, raw.csat)
    assert close(rolled.ces, raw.ces)


answer = st.fixed_dictionaries(
    {
        "nps": st.integers(0, 10),
        "csat": st.none() | st.integers(1, 5),
        "ces": st.none() | st.integers(1, 7),
        "unit": st.integers(0, 4),
        "touchpoint": st.integers(0, 2),
        "minutes_ago": st.integers(0, 70 * 24 * 60),
    }
)


def counted_as_rolled(filters, catalogue):
    """The sums counted from the scored responses (the path of a survey or customer-tag
    filter) equal the rollups' for the same filters, per touchpoint, day and child unit."""
    chosen = filters.touchpoints_of(catalogue)
    window, before = filters.window, filters.window.previous
    unit = filters.org_unit
    children = list(OrgUnit.objects.filter(parent=unit)) if unit else []
    for by, units in (("touchpoint_id", [unit]), ("day", [unit]), ("org_unit_id", children)):
        common = {
            "periods": [(window.start, window.end), (before.start, before.end)],
            "touchpoint_ids": None if chosen is None else [tp.pk for tp in chosen],
            "by": by,
        }
        rolled = metric_sums(
            org_unit_ids=[u.pk if u else 0 for u in units], metrics=SUMMARY_METRICS, **common
        )
        assert response_sums(org_units=units, **common) == rolled


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(batch=st.lists(answer, min_size=1, max_size=12))
def test_rollup_numbers_equal_the_raw_aggregate(world, app, batch):
    units = [None, world.hq, world.region, world.branch, world.other_branch]
    touchpoints = [None, world.touchpoint, app]
    for one in batch:
        answered(
            world,
            nps=one["nps"],
            csat=one["csat"],
            ces=one["ces"],
            org_unit=units[one["unit"]],
            touchpoint=touchpoints[one["touchpoint"]],
            ago=timedelta(minutes=one["minutes_ago"]),
        )
    with tenant_context(world.tenant):
        catalogue = touchpoint_catalogue()
        for params, narrowed in [
            ({}, None),
            ({"days": 7}, None),
            ({"days": "quarter", "unit": world.region.pk}, None),
            ({"days": 30, "unit": world.branch.pk}, None),
            ({"start": "2026-04-01", "end": "2026-05-31", "channel": "mobile_app"}, [app]),
            ({"days": 90, "journey": world.journey.pk}, [world.touchpoint, app]),
            (
                {"days": 90, "touchpoint": world.touchpoint.pk, "unit": world.hq.pk},
                [world.touchpoint],
            ),
        ]:
            filters = parsed(world, world.manager, **params)
            assert filters.problems == []
            board = dashboard_read(filters=filters, catalogue=catalogue)
            same_numbers(board.summary, raw_summary(world, filters, narrowed))
            weekly = sum(week.responses for _monday, week in board.trend)
            assert weekly == board.summary.responses
            previous = parsed(
                world,
                world.manager,
                start=filters.window.previous.start.isoformat(),
                end=filters.window.previous.end.isoformat(),
                **{k: v for k, v in params.items() if k not in ("days", "start", "end")},
            )
            same_numbers(board.previous, raw_summary(world, previous, narrowed))
            counted_as_rolled(filters, catalogue)
            for row in board.units.rows if board.units else []:
                child = parsed(world, world.manager, **{**params, "unit": row.unit.pk})
                same_numbers(row.summary, raw_summary(world, child, narrowed))
            for row in board.touchpoints.rows:
                same_numbers(row.summary, raw_summary(world, filters, [row.touchpoint]))
            by_touchpoint = sum(row.summary.responses for row in board.touchpoints.rows)
            assert by_touchpoint == board.summary.responses


def test_filters_parse_presets_the_quarter_and_a_custom_range(world, app):
    with tenant_context(world.tenant):
        week = parsed(world, world.manager, days=7)
        assert (week.window.start, week.window.end, week.preset) == (
            date(2026, 6, 4),
            TODAY,
            "7",
        )
        quarter = parsed(world, world.manager, days="quarter")
        assert (quarter.window.start, quarter.window.end) == (date(2026, 4, 1), TODAY)
        custom = parsed(world, world.manager, start="2026-01-05", end="2026-02-04")
        assert (custom.window.days, custom.preset) == (31, None)
        assert custom.window.previous.end == date(2026, 1, 4)
        default = parsed(world, world.manager)
        assert (default.window.days, default.preset, default.problems) == (90, "90", [])
        narrowed = parsed(
            world,
            world.manager,
            days=30,
            unit=world.branch.pk,
            journey=world.journey.pk,
            channel="mobile_app",
            key_moment="peak",
        )
        assert narrowed.touchpoints_of(touchpoint_catalogue()) == [app]
        assert narrowed.query() == (
            f"days=30&unit={world.branch.pk}&journey={world.journey.pk}"
            "&channel=mobile_app&key_moment=peak"
        )
        assert parsed(world, world.manager).touchpoints_of(touchpoint_catalogue()) is None


def test_filters_narrow_every_number_table_and_verbatim_on_the_page(client, world, app):
    answered(
        world,
        nps=10,
        csat=5,
        touchpoint=world.touchpoint,
        org_unit=world.branch,
        text="柜员非常专业，很满意",
    )
    answered(
        world, nps=0, csat=1, touchpoint=app, org_unit=world.branch, text="App老是闪退，登录不上"
    )
    answered(world, nps=2, touchpoint=app, org_unit=world.other_branch, ago=timedelta(days=20))
    login(client, world.manager)
    everything = client.get(dashboard_url(world, days=30)).content.decode()
    assert "闪退" in everything and "很满意" in everything
    page = client.get(dashboard_url(world, days=30, channel="mobile_app")).content.decode()
    kpi = page.split('data-testid="kpi-responses"')[1].split("</div>")[0]
    assert '<p class="value">2</p>' in kpi
    by_touchpoint = page.split('data-testid="by-touchpoint"')[1].split("</table>")[0]
    assert "手机银行登录" in by_touchpoint and "网点柜台" not in by_touchpoint
    assert "闪退" in page and "很满意" not in page
    # Kept in the form, so the view is bookmarkable and the next filter keeps this one.
    assert '<option value="mobile_app" selected>' in page
    week = client.get(dashboard_url(world, days=7, unit=world.branch.pk)).content.decode()
    kpi = week.split('data-testid="kpi-responses"')[1].split("</div>")[0]
    assert '<p class="value">2</p>' in kpi


def test_a_survey_or_a_customer_tag_narrows_every_number_verbatim_and_export(client, world):
    with tenant_context(world.tenant):
        second = survey_services.survey_create(
            name="理财回访", touchpoint=world.touchpoint, by=world.manager
        )
        for question in STANDARD_QUESTIONS:
            survey_services.survey_question_add(survey=second, **question)
        survey_services.survey_publish(survey=second, by=world.manager)
        vip = Customer.objects.create(external_id="C-VIP", tags=["VIP", "私行"])
        plain = Customer.objects.create(external_id="C-1", tags=["普通"])
    for nps, customer, text in ((10, vip, "理财经理很专业"), (2, plain, "排队太久"), (9, None, "")):
        response = answered(world, nps=nps, text=text, org_unit=world.branch)
        with tenant_context(world.tenant):
            Response.objects.filter(pk=response.pk).update(customer=customer)
    with tenant_context(world.tenant):
        other = Response.objects.create(
            survey=second,
            version=second.live_version,
            org_unit=world.branch,
            answers={"nps_1": 0, "text_1": "回访电话太多"},
            submitted_at=timezone.now() - timedelta(days=2),
            status=Response.Status.COMPLETE,
            customer=vip,
        )
        response_score(response_id=other.pk)
    login(client, world.manager)

    def kpi(**params) -> tuple[str, str]:
        page = client.get(dashboard_url(world, days=30, **params)).content.decode()
        responses = page.split('data-testid="kpi-responses"')[1].split("</div>")[0]
        return responses, page

    everything, _page = kpi()
    assert '<p class="value">4</p>' in everything
    of_survey, page = kpi(survey=world.survey.pk)
    assert '<p class="value">3</p>' in of_survey and "回访电话太多" not in page
    assert f'<option value="{world.survey.pk}" selected>' in page
    of_vips, page = kpi(tag="VIP")
    assert '<p class="value">2</p>' in of_vips and 'value="VIP"' in page
    assert "理财经理很专业" in page and "排队太久" not in page
    both, page = kpi(tag="VIP", survey=second.pk, unit=world.region.pk)
    assert '<p class="value">1</p>' in both and "回访电话太多" in page
    with tenant_context(world.tenant):
        filters = parsed(world, world.manager, days=30, tag="VIP")
        assert responses_filtered(filters, zone=ZoneInfo(world.tenant.time_zone)).count() == 2


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"survey": "12x"}, "所选问卷不存在"),
        ({"tag": "x" * 65}, "客户标签最长 64 个字符"),
        ({"start": "2026-06-10", "end": "2026-01-01"}, "结束日期不能早于开始日期"),
        ({"start": "0001-01-01", "end": "0001-01-31"}, "日期超出可查询的范围"),
        ({"start": "2026-13-01", "end": "2026-01-01"}, "请输入有效的开始和结束日期"),
        ({"start": "2024-01-01", "end": "2026-01-01"}, "时间范围最长"),
        ({"days": "5"}, "请选择列出的时间范围"),
        ({"journey": "abc"}, "所选旅程不存在"),
        ({"touchpoint": "99999999"}, "所选触点不存在"),
        ({"channel": "fax"}, "所选渠道不存在"),
        ({"key_moment": "<b>"}, "所选关键时刻不存在"),
        ({"unit": "99999999999999999999999"}, "不在您的查看范围内"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(client, world, params, message):
    reply = login(client, world.manager).get(dashboard_url(world, **params))
    assert reply.status_code == 400
    assert message in reply.content.decode()


def test_a_unit_outside_the_viewers_scope_is_refused_not_widened(client, world):
    answered(world, nps=0, org_unit=world.hq, touchpoint=world.touchpoint)
    answered(world, nps=10, org_unit=world.branch, touchpoint=world.touchpoint)
    login(client, world.viewer)  # scoped to 华东区
    mine = client.get(dashboard_url(world))
    assert mine.status_code == 200
    assert '<p class="value">1</p>' in mine.content.decode().split('data-testid="kpi-responses"')[1]
    refused = client.get(dashboard_url(world, unit=world.hq.pk))
    page = refused.content.decode()
    assert refused.status_code == 400 and "不在您的查看范围内" in page
    kpi = page.split('data-testid="kpi-responses"')[1].split("</div>")[0]
    assert '<p class="value">1</p>' in kpi  # the viewer's own scope, never head office's
    assert f'value="{world.hq.pk}"' not in page


def test_another_tenants_unit_is_refused(client, world, other_world):
    answered(world, nps=0, org_unit=world.branch, touchpoint=world.touchpoint)
    login(client, other_world.manager)
    reply = client.get(
        reverse("dashboard", kwargs={"tenant_slug": other_world.tenant.slug})
        + f"?unit={world.branch.pk}&touchpoint={world.touchpoint.pk}"
    )
    assert reply.status_code == 400
    page = reply.content.decode()
    assert "不在您的查看范围内" in page
    assert "所选触点不存在" in page and world.touchpoint.stage.journey.name not in page


def test_the_nps_interval_is_that_of_a_difference_of_two_proportions():
    assert nps_interval(50, 20, 100) == (14.7, 45.3)
    assert nps_interval(10, 0, 10) == (100.0, 100.0)
    assert nps_interval(0, 0, 0) is None
    low, high = nps_interval(1, 1, 3)
    assert low >= -100 and high <= 100


def test_the_league_drills_down_from_head_office_to_the_responses(client, world):
    for nps in (10, 10, 9, 0):
        answered(world, nps=nps, org_unit=world.branch, touchpoint=world.touchpoint)
    for nps in (10, 6):  # two answers: below the minimum sample of 3
        answered(world, nps=nps, org_unit=world.other_branch, touchpoint=world.touchpoint)
    for nps in (0, 0, 0):  # the previous 30 days, for the change
        answered(
            world,
            nps=nps,
            org_unit=world.branch,
            touchpoint=world.touchpoint,
            ago=timedelta(days=40),
        )
    login(client, world.manager)
    top = client.get(dashboard_url(world, days=30)).content.decode()
    units = top.split('data-testid="by-unit"')[1].split("</table>")[0]
    assert world.hq.name in units
    assert f"unit={world.hq.pk}" in units
    region = client.get(dashboard_url(world, days=30, unit=world.hq.pk)).content.decode()
    assert f"unit={world.region.pk}" in region.split('data-testid="by-unit"')[1]
    page = client.get(dashboard_url(world, days=30, unit=world.region.pk)).content.decode()
    table = page.split('data-testid="by-unit"')[1].split("</table>")[0]
    branch_row = table.split(f'data-row="{world.branch.name}"')[1].split("</tr>")[0]
    low, high = nps_interval(3, 1, 4)
    assert "50.0" in branch_row and f"{low} – {high}" in branch_row
    assert "+150.0" in branch_row  # 50 against -100 in the 30 days before
    # Against the parent (the region: 4 promoters, 2 detractors of 6 = 33.3) and the peers'
    # median (50.0: the other branch is suppressed).
    assert "+16.7" in branch_row and "+0.0" in branch_row
    other_row = table.split(f'data-row="{world.other_branch.name}"')[1].split("</tr>")[0]
    assert "样本不足" in other_row and "100.0" not in other_row
    assert table.index(world.branch.name) < table.index(world.other_branch.name)
    assert "上级 NPS 33.3" in page and "同级中位数 50.0" in page
    branch = client.get(dashboard_url(world, days=30, unit=world.branch.pk)).content.decode()
    assert 'data-testid="by-unit"' not in branch
    touchpoints = branch.split('data-testid="by-touchpoint"')[1].split("</table>")[0]
    cell = reverse(
        "journey_cell_responses",
        kwargs={
            "tenant_slug": world.tenant.slug,
            "journey_id": world.journey.pk,
            "touchpoint_id": world.touchpoint.pk,
        },
    )
    assert (
        f'href="{cell}?start=2026-05-12&amp;end=2026-06-10&amp;unit={world.branch.pk}"'
        in touchpoints
    )
    responses = client.get(f"{cell}?start=2026-05-12&end=2026-06-10&unit={world.branch.pk}")
    assert responses.status_code == 200
    assert responses.content.decode().count("/responses/") >= 4
    assert f"?days=30&amp;unit={world.region.pk}" in branch  # one level up


def queries_for(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_the_dashboard_runs_a_constant_number_of_queries_whatever_the_units(client, world, app):
    answered(world, nps=9, org_unit=world.branch, touchpoint=world.touchpoint, text="很满意")
    login(client, world.manager)
    urls = [
        dashboard_url(world),
        dashboard_url(world, unit=world.region.pk, channel="branch_counter"),
        dashboard_url(world, days=7, unit=world.hq.pk, journey=world.journey.pk),
        dashboard_url(world, unit=world.region.pk, survey=world.survey.pk, tag="VIP"),
    ]
    few = [queries_for(client, url) for url in urls]
    with tenant_context(world.tenant):
        for i in range(6):
            unit = org_unit_create(
                name=f"新网点{i}", code=f"NEW-{i}", kind=OrgUnit.Kind.BRANCH, parent=world.region
            )
            touchpoint = Touchpoint.objects.create(
                stage=world.touchpoint.stage, name=f"触点{i}", code=f"tp-{i}", channel=Channel.WEB
            )
            answered(world, nps=i, org_unit=unit, touchpoint=touchpoint, text="排队太久了")
    assert [queries_for(client, url) for url in urls] == few
    assert max(few) <= 15


def test_plotly_loads_only_where_a_chart_is_drawn(client, world):
    login(client, world.manager)
    empty = client.get(dashboard_url(world)).content.decode()
    assert "plotly.min.js" not in empty
    answered(world, nps=9, org_unit=world.branch, touchpoint=world.touchpoint)
    drawn = client.get(dashboard_url(world)).content.decode()
    assert 'src="/static/plotly/plotly.min.js"' in drawn and "data-plotly" in drawn


def test_the_collected_plotly_is_served_compressed(tmp_path, settings):
    """As the image collects the static files (CEM_MANIFEST_STATIC=1): whitenoise then answers
    a browser that accepts gzip with the compressed plotly.js, a third of its size."""
    from django.contrib.staticfiles.storage import staticfiles_storage
    from django.core.management import call_command
    from whitenoise import WhiteNoise

    settings.STATIC_ROOT = tmp_path
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
    call_command("collectstatic", "--noinput", verbosity=0)
    url = staticfiles_storage.url("plotly/plotly.min.js")
    served = WhiteNoise(None, root=tmp_path, prefix=settings.STATIC_URL)
    reply = served.files[url].get_response("GET", {"HTTP_ACCEPT_ENCODING": "gzip, deflate"})
    headers = dict(reply.headers)
    assert headers["Content-Encoding"] == "gzip"
    original = (tmp_path / "plotly" / "plotly.min.js").stat().st_size
    assert int(headers["Content-Length"]) < original / 3


def test_the_rebuild_command_repairs_the_numbers_the_dashboard_reads(client, world):
    from django.core.management import call_command

    from analytics.models import MetricDaily

    for nps in (10, 0, 9):
        answered(world, nps=nps, org_unit=world.branch, touchpoint=world.touchpoint)
    with tenant_context(world.tenant):
        MetricDaily.objects.filter(org_unit_id=0).delete()  # lost rows
    login(client, world.manager)
    lost = client.get(dashboard_url(world)).content.decode()
    assert '<p class="value">0</p>' in lost.split('data-testid="kpi-responses"')[1]
    call_command("rebuild_rollups", tenant=[world.tenant.slug], stdout=io.StringIO())
    page = client.get(dashboard_url(world)).content.decode()
    assert '<p class="value">3</p>' in page.split('data-testid="kpi-responses"')[1]
    assert '<p class="value">33.3</p>' in page.split('data-testid="kpi-nps"')[1]


# --- the drawn dashboard, kept until what it shows changes -------------------------------------


def _page(client, url) -> tuple[str, list[str]]:
    with CaptureQueriesContext(connection) as queries:
        reply = client.get(url)
    assert reply.status_code == 200
    return reply.content.decode(), [query["sql"] for query in queries.captured_queries]


def _without_csrf(html: str) -> str:
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", html)


def test_a_dashboard_seen_again_is_taken_from_the_cache_without_reading_the_rollups(client, world):
    answered(world, nps=9, org_unit=world.branch, touchpoint=world.touchpoint, text="很满意")
    login(client, world.manager)
    url = dashboard_url(world, unit=world.region.pk, days=30)
    drawn, drawing = _page(client, url)
    kept, keeping = _page(client, url)
    assert any("analytics_metricdaily" in sql for sql in drawing)
    assert not any(
        table in sql for sql in keeping for table in ("analytics_", "journeys_", "surveys_")
    )
    assert len(keeping) < len(drawing)
    assert _without_csrf(kept) == _without_csrf(drawn) and "很满意" in kept


def test_a_new_answer_or_metric_alert_shows_on_the_kept_dashboard_at_once(client, world):
    answered(world, nps=9, org_unit=world.branch, touchpoint=world.touchpoint)
    login(client, world.manager)
    assert "1 份回答" in client.get(dashboard_url(world)).content.decode()
    answered(world, nps=2, org_unit=world.branch, touchpoint=world.touchpoint, text="排队太久")
    again = client.get(dashboard_url(world)).content.decode()
    assert "2 份回答" in again and "排队太久" in again
    assert 'data-testid="metric-alerts"' not in again
    with tenant_context(world.tenant):
        MetricAlert.objects.create(
            org_unit=world.branch,
            touchpoint=world.touchpoint,
            window_start=TODAY - timedelta(days=7),
            window_end=TODAY - timedelta(days=1),
            answers=64,
            value=-10.0,
            baseline=40.0,
            lower_limit=10.0,
            history_answers=720,
            dispersion=1.0,
            weeks=[
                {"end": str(TODAY - timedelta(days=8)), "value": 42.0, "answers": 70},
                {"end": str(TODAY - timedelta(days=1)), "value": -10.0, "answers": 64},
            ],
        )
    assert 'data-testid="metric-alerts"' in client.get(dashboard_url(world)).content.decode()


def test_each_member_gets_their_own_scope_actions_and_form_token_on_a_kept_dashboard(client, world):
    answered(world, nps=9, org_unit=world.branch, touchpoint=world.touchpoint)
    answered(world, nps=0, org_unit=world.other_branch, touchpoint=world.touchpoint)
    manager = login(client, world.manager).get(dashboard_url(world)).content.decode()
    assert "2 份回答" in manager and 'data-testid="export-form"' in manager
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', manager).group(1)
    client.logout()
    agent = login(client, world.agent).get(dashboard_url(world)).content.decode()
    assert "1 份回答" in agent  # the agent's branch only
    assert 'data-testid="export-form"' not in agent and 'data-testid="report-links"' not in agent
    assert token not in agent
    client.logout()
    viewer = login(client, world.viewer).get(dashboard_url(world)).content.decode()
    assert 'data-testid="export-form"' not in viewer and 'data-testid="report-links"' in viewer
    english = client.get(dashboard_url(world), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Experience dashboard" in english and "体验仪表盘" not in english
