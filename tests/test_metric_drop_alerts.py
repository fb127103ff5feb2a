"""Metric alerts on NPS, CSAT and CES drops (docs/metric-alerts.md): the test against a
series' own history, its daily detection, routing to the unit's owner, and the pages that
show and settle them."""

from __future__ import annotations

import time
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest
from celery import current_app as celery_app
from django.conf import settings
from django.utils import timezone

from analytics.metric_drops import MIN_WINDOW_ANSWERS, WeekScore, drop_test, week_ends
from analytics.metric_rollups import Totals, metric_rows_add, rows_for
from analytics.models import Metric, MetricAlert, MetricDaily
from analytics.services import metric_drops_detect
from analytics.tasks import detect_metric_drops
from notifications.models import Notification
from notifications.services import notification_preference_set, notifications_for_metric_alerts
from organizations.models import AuditEvent, OrgUnit
from organizations.tenancy import tenant_context
from tests.conftest import celery_beat, require_real_services, wait_until
from tests.factories import PASSWORD

# The tenant's today under the `midday` fixture (Wednesday 2026-06-10, Asia/Shanghai): the
# window is the seven days before it.
TODAY = date(2026, 6, 10)
WINDOW_END = TODAY - timedelta(days=1)
STEADY = [(36, 12), (35, 13), (37, 11), (36, 12), (34, 12), (38, 13)] * 2  # NPS ~ +40 of 60
DROP = (16, 22)  # of 64 answers: NPS about -9
SWINGING = [(36, 12), (18, 24)] * 6  # +40 and -10, week after week, of 60 each


def weeks_of(counts: list[tuple[int, int]], *, answers: int = 60) -> list[WeekScore]:
    ends = week_ends(WINDOW_END)[:-1]
    return [
        WeekScore(end, answers, promoters, detractors)
        for end, (promoters, detractors) in zip(ends, counts, strict=True)
    ]


def window(promoters: int, detractors: int, *, answers: int = 64) -> WeekScore:
    return WeekScore(WINDOW_END, answers, promoters, detractors)


# --- the test, without the database -------------------------------------------------------------


def test_a_planted_drop_is_a_drop():
    found = drop_test(history=weeks_of(STEADY), window=window(*DROP))
    assert found is not None and found.is_drop
    assert 35 < found.baseline < 45
    assert found.dispersion == 1.0  # steady weeks vary no more than sampling says


def test_a_steady_window_is_no_drop():
    found = drop_test(history=weeks_of(STEADY), window=window(35, 12))
    assert found is not None and not found.is_drop


def test_noise_of_the_same_size_is_no_drop():
    """Weeks that swing between +40 and -10 widen the limit: one more -10 is their usual."""
    found = drop_test(history=weeks_of(SWINGING), window=window(*DROP))
    assert found is not None and not found.is_drop
    assert found.dispersion > 3


def test_a_handful_of_answers_is_never_judged():
    """25 answers at NPS -40 lie below the limit drawn for them, but are too few to judge."""
    few = window(3, 13, answers=MIN_WINDOW_ANSWERS - 5)
    assert drop_test(history=weeks_of(STEADY), window=few) is None


def test_a_short_history_is_never_judged():
    history = weeks_of(STEADY)
    sparse = [week if i >= 9 else WeekScore(week.end) for i, week in enumerate(history)]
    assert drop_test(history=sparse, window=window(*DROP)) is None


# --- detection over the rollups -----------------------------------------------------------------


def plant(
    world,
    *,
    unit,
    day: date,
    answers: int,
    promoters: int,
    detractors: int,
    metric: str = Metric.NPS,
) -> None:
    """Rollup rows as scoring would write them for answers of the world's touchpoint: of CSAT
    and CES, promoters are the satisfied (low-effort) answers and detractors the unhappy."""
    totals = {(metric, ""): Totals(answers, 0.0, promoters, detractors)}
    rows = rows_for(
        day=day, touchpoint_id=world.touchpoint.pk, org_unit_path=unit.path, totals=totals
    )
    with tenant_context(world.tenant):
        metric_rows_add(MetricDaily, tenant_id=world.tenant.pk, rows=rows)


def plant_history(
    world,
    unit,
    counts: list[tuple[int, int]],
    *,
    window_end: date = WINDOW_END,
    metric: str = Metric.NPS,
):
    for end, (promoters, detractors) in zip(week_ends(window_end), counts, strict=False):
        # The week's answers on its first and last day: both count in that week only.
        half = promoters // 2
        plant(world, unit=unit, day=end, answers=30, promoters=half, detractors=0, metric=metric)
        plant(
            world,
            unit=unit,
            day=end - timedelta(days=6),
            answers=30,
            promoters=promoters - half,
            detractors=detractors,
            metric=metric,
        )


def plant_window(
    world, unit, promoters: int, detractors: int, *, answers: int = 64, metric: str = Metric.NPS
):
    plant(
        world,
        unit=unit,
        day=WINDOW_END,
        answers=answers,
        promoters=promoters,
        detractors=detractors,
        metric=metric,
    )


def alerts_of(world) -> list[MetricAlert]:
    with tenant_context(world.tenant):
        return list(MetricAlert.objects.order_by("id"))


def detect(world) -> list[MetricAlert]:
    with tenant_context(world.tenant):
        return metric_drops_detect()


@pytest.mark.django_db
def test_a_planted_drop_raises_one_alert_at_the_branch_and_touchpoint_and_a_rerun_none(
    world, midday
):
    plant_history(world, world.branch, STEADY)
    plant_window(world, world.branch, *DROP)
    [alert] = detect(world)
    assert (alert.org_unit_id, alert.touchpoint_id) == (world.branch.pk, world.touchpoint.pk)
    assert (alert.window_start, alert.window_end) == (TODAY - timedelta(days=7), WINDOW_END)
    assert alert.answers == 64 and alert.value == pytest.approx(100 * (16 - 22) / 64)
    assert alert.value < alert.lower_limit < alert.baseline
    assert len(alert.weeks) == 13 and alert.weeks[-1]["end"] == WINDOW_END.isoformat()
    assert alert.status == MetricAlert.Status.OPEN
    assert detect(world) == []
    assert len(alerts_of(world)) == 1


@pytest.mark.django_db
def test_a_lasting_drop_is_not_raised_again_the_next_day(world, midday):
    plant_history(world, world.branch, STEADY)
    plant_window(world, world.branch, *DROP)
    detect(world)
    plant(world, unit=world.branch, day=TODAY, answers=40, promoters=8, detractors=16)
    with tenant_context(world.tenant):
        assert metric_drops_detect(today=TODAY + timedelta(days=1)) == []
    assert len(alerts_of(world)) == 1


@pytest.mark.django_db
def test_noise_of_the_same_size_raises_nothing(world, midday):
    plant_history(world, world.branch, SWINGING)
    plant_window(world, world.branch, *DROP)
    assert detect(world) == []


@pytest.mark.django_db
def test_a_drop_on_a_handful_of_answers_raises_nothing(world, midday):
    plant_history(world, world.branch, STEADY)
    plant_window(world, world.branch, 2, 18, answers=MIN_WINDOW_ANSWERS - 1)
    assert detect(world) == []


@pytest.mark.django_db
def test_answers_before_the_window_count_in_the_history_not_the_window(world, midday):
    """The drop planted the day before the window starts is last week's, not this one's."""
    plant_history(world, world.branch, STEADY)
    plant(
        world,
        unit=world.branch,
        day=TODAY - timedelta(days=8),
        answers=64,
        promoters=16,
        detractors=22,
    )
    plant_window(world, world.branch, 36, 12, answers=60)
    assert detect(world) == []


@pytest.mark.django_db
def test_the_alert_is_owned_by_the_unit_manager(world, midday):
    with tenant_context(world.tenant):
        world.branch.manager = world.manager
        world.branch.save(update_fields=["manager"])
    plant_history(world, world.branch, STEADY)
    plant_window(world, world.branch, *DROP)
    [alert] = detect(world)
    assert alert.owner_id == world.manager.pk


@pytest.mark.django_db
def test_another_tenant_has_no_alert_of_this_one(world, other_world, midday):
    plant_history(world, world.branch, STEADY)
    plant_window(world, world.branch, *DROP)
    detect(world)
    assert detect(other_world) == []
    assert alerts_of(other_world) == []
    assert timezone.localdate() == TODAY  # the frozen clock the windows were placed from


# --- CSAT and CES: the share of answers in the scale's top two points ---------------------------

SATISFIED_STEADY = [(48, 4), (47, 5), (49, 3)] * 4  # 80 % satisfied of 60; a few unhappy
SATISFIED_DROP = (29, 20)  # of 64 answers: 45 % satisfied


def test_a_satisfaction_share_drop_is_a_drop_and_the_unhappy_do_not_count_twice():
    steady = [
        WeekScore(week.end, week.answers, week.good, 0) for week in weeks_of(SATISFIED_STEADY)
    ]
    found = drop_test(history=steady, window=WeekScore(WINDOW_END, 64, 29, 0))
    assert found is not None and found.is_drop
    assert found.value == pytest.approx(100 * 29 / 64) and found.baseline == pytest.approx(80.0)
    steady_window = drop_test(history=steady, window=WeekScore(WINDOW_END, 64, 50, 0))
    assert steady_window is not None and not steady_window.is_drop


@pytest.mark.django_db
@pytest.mark.parametrize("metric", [Metric.CSAT, Metric.CES])
def test_a_planted_csat_or_ces_drop_raises_an_alert_of_its_metric(world, midday, metric):
    plant_history(world, world.branch, SATISFIED_STEADY, metric=metric)
    plant_window(world, world.branch, *SATISFIED_DROP, metric=metric)
    [alert] = detect(world)
    assert alert.metric == metric
    assert (alert.org_unit_id, alert.touchpoint_id) == (world.branch.pk, world.touchpoint.pk)
    # The share of satisfied (low-effort) answers: the unhappy are not subtracted.
    assert alert.value == pytest.approx(100 * 29 / 64) and alert.baseline == pytest.approx(80.0)
    assert alert.weeks[-1]["value"] == pytest.approx(alert.value)


@pytest.mark.django_db
def test_csat_noise_of_the_same_size_raises_nothing(world, midday):
    swinging = [(48, 4), (29, 20)] * 6  # 80 % and 48 %, week after week
    plant_history(world, world.branch, swinging, metric=Metric.CSAT)
    plant_window(world, world.branch, *SATISFIED_DROP, metric=Metric.CSAT)
    assert detect(world) == []


@pytest.mark.django_db
def test_an_nps_and_a_csat_drop_raise_one_alert_each_once_and_the_pages_name_the_metric(
    client, world, midday
):
    plant_history(world, world.branch, STEADY)
    plant_window(world, world.branch, *DROP)
    plant_history(world, world.branch, SATISFIED_STEADY, metric=Metric.CSAT)
    plant_window(world, world.branch, *SATISFIED_DROP, metric=Metric.CSAT)
    raised = detect(world)
    assert sorted(alert.metric for alert in raised) == [Metric.CSAT, Metric.NPS]
    assert detect(world) == []
    csat = next(alert for alert in raised if alert.metric == Metric.CSAT)
    html = page(client, world.manager, world.tenant, csat.pk).content.decode()
    assert "满意率（CSAT） 下降：" in html and f"{csat.value:.1f}" in html
    client.login(username=world.manager.username, password=PASSWORD)
    dashboard = client.get(f"/t/{world.tenant.slug}/dashboard/").content.decode()
    assert "满意率（CSAT） 下降：" in dashboard and "NPS 下降：" in dashboard


# --- the pages ----------------------------------------------------------------------------------


@pytest.fixture
def alert(world, midday) -> MetricAlert:
    plant_history(world, world.branch, STEADY)
    plant_window(world, world.branch, *DROP)
    [raised] = detect(world)
    return raised


def page(client, user, tenant, alert_id: int, **post: str):
    client.login(username=user.username, password=PASSWORD)
    url = f"/t/{tenant.slug}/metric-alerts/{alert_id}/"
    return client.post(url, post) if post else client.get(url)


def status_of(world, alert: MetricAlert) -> str:
    with tenant_context(world.tenant):
        return MetricAlert.objects.get(pk=alert.pk).status


@pytest.mark.django_db
def test_the_dashboard_shows_the_open_alert_with_its_chart(client, world, alert):
    client.login(username=world.manager.username, password=PASSWORD)
    html = client.get(f"/t/{world.tenant.slug}/dashboard/").content.decode()
    assert 'data-testid="metric-alerts"' in html
    assert f"/t/{world.tenant.slug}/metric-alerts/{alert.pk}/" in html
    assert "data-plotly" in html and "控制下限" in html


@pytest.mark.django_db
def test_the_dashboard_of_another_unit_does_not_show_the_alert(client, world, alert):
    client.login(username=world.manager.username, password=PASSWORD)
    url = f"/t/{world.tenant.slug}/dashboard/?unit="
    assert 'data-testid="metric-alerts"' in client.get(url + str(world.region.pk)).content.decode()
    other = client.get(url + str(world.other_branch.pk)).content.decode()
    assert 'data-testid="metric-alerts"' not in other


@pytest.mark.django_db
def test_the_list_shows_the_alerts_of_the_member_scope_closed_ones_on_request(
    client, world, other_world, alert
):
    def listed(user, tenant, query: str = "") -> bool:
        client.login(username=user.username, password=PASSWORD)
        reply = client.get(f"/t/{tenant.slug}/metric-alerts/{query}")
        assert reply.status_code == 200
        return f"/metric-alerts/{alert.pk}/" in reply.content.decode()

    assert listed(world.viewer, world.tenant) and listed(world.agent, world.tenant)
    assert not listed(world.other_agent, world.tenant)
    assert not listed(other_world.manager, other_world.tenant)
    page(client, world.manager, world.tenant, alert.pk, action="close")
    assert not listed(world.manager, world.tenant)
    assert listed(world.manager, world.tenant, "?status=all")


@pytest.mark.django_db
def test_the_alert_page_shows_its_figures_and_chart(client, world, alert):
    html = page(client, world.viewer, world.tenant, alert.pk).content.decode()
    assert "浦东支行" in html and "网点柜台" in html
    assert f"{alert.value:.1f}" in html and "data-plotly" in html
    assert "确认" not in html  # a viewer has no buttons


@pytest.mark.django_db
def test_a_cx_manager_acknowledges_then_closes_the_alert_audited(client, world, alert):
    assert (
        page(client, world.manager, world.tenant, alert.pk, action="acknowledge").status_code == 302
    )
    assert status_of(world, alert) == MetricAlert.Status.ACKNOWLEDGED
    page(client, world.manager, world.tenant, alert.pk, action="close")
    assert status_of(world, alert) == MetricAlert.Status.CLOSED
    with tenant_context(world.tenant):
        actions = list(
            AuditEvent.objects.filter(target_id=str(alert.pk), target_type="analytics.metricalert")
            .order_by("id")
            .values_list("action", "actor_user_id", "after")
        )
    assert actions == [
        ("metric_alert.acknowledge", world.manager.pk, {"status": "acknowledged"}),
        ("metric_alert.close", world.manager.pk, {"status": "closed"}),
    ]
    html = client.get(f"/t/{world.tenant.slug}/dashboard/").content.decode()
    assert 'data-testid="metric-alerts"' not in html  # closed: off the dashboard


@pytest.mark.django_db
def test_a_closed_alert_cannot_be_acknowledged(client, world, alert):
    page(client, world.manager, world.tenant, alert.pk, action="close")
    page(client, world.manager, world.tenant, alert.pk, action="acknowledge")
    assert status_of(world, alert) == MetricAlert.Status.CLOSED


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["viewer", "agent"])
def test_viewer_and_agent_cannot_acknowledge_or_close(client, world, alert, role):
    user = getattr(world, role)
    assert page(client, user, world.tenant, alert.pk).status_code == 200  # in their scope
    for action in ("acknowledge", "close"):
        assert page(client, user, world.tenant, alert.pk, action=action).status_code == 403
    assert status_of(world, alert) == MetricAlert.Status.OPEN


@pytest.mark.django_db
def test_an_agent_of_another_branch_does_not_see_the_alert(client, world, alert):
    assert page(client, world.other_agent, world.tenant, alert.pk).status_code == 404
    html = client.get(f"/t/{world.tenant.slug}/dashboard/").content.decode()
    assert 'data-testid="metric-alerts"' not in html


@pytest.mark.django_db
def test_another_tenant_cannot_see_or_change_the_alert(client, world, other_world, alert):
    other = other_world.manager
    assert page(client, other, other_world.tenant, alert.pk).status_code == 404
    assert page(client, other, other_world.tenant, alert.pk, action="close").status_code == 404
    assert page(client, other, world.tenant, alert.pk).status_code == 404  # not a member of A
    assert status_of(world, alert) == MetricAlert.Status.OPEN
    html = client.get(f"/t/{other_world.tenant.slug}/dashboard/").content.decode()
    assert 'data-testid="metric-alerts"' not in html


# --- routing to the unit's owner ----------------------------------------------------------------


def manage_branch(world, user, *, channels: list[str]) -> None:
    user.email = "boss@example.com"
    user.save(update_fields=["email"])
    with tenant_context(world.tenant):
        OrgUnit.objects.filter(pk=world.branch.pk).update(manager=user)
        notification_preference_set(
            user=user, kinds=["metric_drop"], channels=channels, quiet_from=None, quiet_until=None
        )


@pytest.mark.django_db
def test_the_unit_manager_is_told_in_the_centre_and_by_email_with_a_deep_link_once(
    client, world, midday, eager_tasks, mailoutbox, django_capture_on_commit_callbacks
):
    manage_branch(world, world.manager, channels=["email"])
    plant_history(world, world.branch, STEADY)
    plant_window(world, world.branch, *DROP)
    with django_capture_on_commit_callbacks(execute=True):
        [alert] = detect(world)
    with tenant_context(world.tenant):
        [told] = Notification.objects.filter(recipient=world.manager)
    assert (told.kind, told.metric_alert_id, told.ticket_id) == ("metric_drop", alert.pk, None)
    link = f"/t/{world.tenant.slug}/metric-alerts/{alert.pk}/"
    [mail] = mailoutbox
    assert mail.to == ["boss@example.com"] and link in mail.body and "浦东支行" in mail.subject

    with django_capture_on_commit_callbacks(execute=True):
        assert detect(world) == []
    assert notifications_for_metric_alerts(alert_ids=[alert.pk]) == []  # announced again
    assert len(mailoutbox) == 1

    client.login(username=world.manager.username, password=PASSWORD)
    centre = client.get(f"/t/{world.tenant.slug}/notifications/").content.decode()
    assert "NPS 下降：浦东支行" in centre
    opened = client.post(f"/t/{world.tenant.slug}/notifications/{told.pk}/read/", {"open": "1"})
    assert opened.status_code == 302 and opened.url == link


@pytest.mark.django_db
def test_a_unit_without_a_manager_keeps_the_alert_in_its_queue(
    world, midday, django_capture_on_commit_callbacks
):
    plant_history(world, world.branch, STEADY)
    plant_window(world, world.branch, *DROP)
    with django_capture_on_commit_callbacks(execute=True):
        [alert] = detect(world)
    assert alert.owner_id is None
    with tenant_context(world.tenant):
        assert not Notification.objects.exists()


# --- the daily detection, through a real worker and beat ----------------------------------------


def test_beat_schedules_the_detection_daily():
    entry = settings.CELERY_BEAT_SCHEDULE["detect-metric-drops"]
    assert entry["task"] == detect_metric_drops.name == "analytics.tasks.detect_metric_drops"
    assert entry["schedule"] == 86400.0
    assert entry["task"] in celery_app.tasks


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_beat_and_a_worker_raise_the_planted_drop_once(world, celery_worker_process, tmp_path):
    """The worker and beat keep the real clock: the drop is planted on the eight local days up
    to today, so the window holds it whatever the hour (a midnight passing during the test
    moves the window by one day, still over the drop)."""
    require_real_services()
    today = timezone.localdate(timezone=ZoneInfo(world.tenant.time_zone))
    plant_history(world, world.branch, STEADY, window_end=today - timedelta(days=1))
    for days_ago in range(8):
        day = today - timedelta(days=days_ago)
        plant(world, unit=world.branch, day=day, answers=10, promoters=2, detractors=4)

    with celery_beat(tmp_path, CEM_METRIC_DROP_SWEEP_SECONDS="1"):
        wait_until(lambda: alerts_of(world), timeout=90)
        time.sleep(3)  # beat keeps sending the detection: a second run adds nothing
    celery_app.control.purge()  # no run left queued to overlap the next tests' flush
    [alert] = alerts_of(world)
    assert (alert.org_unit_id, alert.touchpoint_id) == (world.branch.pk, world.touchpoint.pk)
    assert alert.value < alert.lower_limit


@pytest.mark.django_db
def test_a_manager_who_turned_the_event_off_is_not_told(
    world, midday, eager_tasks, mailoutbox, django_capture_on_commit_callbacks
):
    manage_branch(world, world.manager, channels=["email"])
    with tenant_context(world.tenant):
        notification_preference_set(
            user=world.manager,
            kinds=["assigned"],
            channels=["email"],
            quiet_from=None,
            quiet_until=None,
        )
    plant_history(world, world.branch, STEADY)
    plant_window(world, world.branch, *DROP)
    with django_capture_on_commit_callbacks(execute=True):
        [alert] = detect(world)
    assert alert.owner_id == world.manager.pk
    with tenant_context(world.tenant):
        assert not Notification.objects.exists()
    assert mailoutbox == []


@pytest.mark.django_db
def test_a_deactivated_unit_raises_nothing(world, midday):
    plant_history(world, world.branch, STEADY)
    plant_window(world, world.branch, *DROP)
    with tenant_context(world.tenant):
        OrgUnit.objects.filter(pk=world.branch.pk).update(is_active=False)
    [alert] = detect(world)  # the region it counts in still drops
    assert (alert.org_unit_id, alert.touchpoint_id) == (world.region.pk, world.touchpoint.pk)
