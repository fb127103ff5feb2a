"""Reports of the dashboard: the view as an Excel workbook and a PDF (Chinese text in a CJK font,
charts drawn inline), inside the member's scope and audited; and scheduled reports mailed weekly
or monthly, per unit, once per period, with a log."""

from __future__ import annotations

import io
import re
import time
import unicodedata
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import openpyxl
import pytest
import time_machine
from celery import current_app as celery_app
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from analytics.models import ExportJob, ReportDelivery, ReportSchedule
from analytics.report_schedules import (
    delivery_send,
    period_last_complete,
    report_recipients,
    report_schedule_save,
    report_units,
    reports_send_due,
)
from organizations.models import AuditEvent, Membership, OrgUnit, Role, Tenant
from organizations.services import membership_create, org_unit_create
from organizations.tenancy import system_context, tenant_context
from tests.conftest import celery_beat, require_real_services, wait_until
from tests.factories import PASSWORD, UserFactory
from tests.test_exports import answered

SHANGHAI = ZoneInfo("Asia/Shanghai")
HOSTILE_NAME = '=HYPERLINK("http://evil.example","点我")'
# The schedules below are made on Wednesday 2026-06-10 (the `midday` fixture); the week they
# report runs Monday 8 to Sunday 14 June, and its report is due from Monday 15 June, 07:00.
DUE = datetime(2026, 6, 15, 9, 0, tzinfo=SHANGHAI)


def xlsx_sheets(content: bytes) -> dict[str, list[list[object]]]:
    workbook = openpyxl.load_workbook(io.BytesIO(content), read_only=True)
    return {
        sheet.title: [list(row) for row in sheet.iter_rows(values_only=True)] for sheet in workbook
    }


def pdf_text(content: bytes) -> str:
    """The text of a PDF; NFKC folds the Kangxi radicals some glyphs map back to (⼾, ⾏) into
    ideographs (戶, 行). A glyph a font shares between a radical and a simplified character
    comes back as the traditional one (户 as 戶), so titles are matched by `titled`."""
    pages = PdfReader(io.BytesIO(content)).pages
    return unicodedata.normalize("NFKC", "".join(page.extract_text() for page in pages))


def titled(unit_name: str, text: str) -> bool:
    return re.search(rf"{unit_name} 客[户戶]体验报告", text) is not None


def report_url(world, kind: str, query: str = "") -> str:
    return reverse(f"dashboard_report_{kind}", args=[world.tenant.slug]) + f"?{query}"


@pytest.fixture
def small_sample(settings):
    settings.CEM_MAP_MIN_SAMPLE = 2


@pytest.fixture
def answers(world, midday, small_sample):
    """Three answers at the branch, one at the other branch (too few for a score)."""
    for score in (10, 9, 3):
        answered(world, nps=score, text="柜员很耐心", org_unit=world.branch)
    answered(world, nps=8, org_unit=world.other_branch)


def member_with_email(world, username: str, role: str, org_unit: OrgUnit | None) -> Membership:
    user = UserFactory(username=username, email=f"{username}@example.com")
    with tenant_context(world.tenant):
        return membership_create(user=user, role=role, org_unit=org_unit)


# ---- Downloads


@pytest.mark.usefixtures("answers")
def test_the_excel_report_holds_the_summary_the_league_and_the_trend(world, client):
    with tenant_context(world.tenant):
        OrgUnit.objects.filter(pk=world.other_branch.pk).update(name=HOSTILE_NAME)
    client.login(username=world.manager.username, password=PASSWORD)
    reply = client.get(report_url(world, "xlsx", f"days=30&unit={world.region.pk}"))
    assert reply.status_code == 200
    assert reply["Content-Disposition"].startswith('attachment; filename="cx-report-')
    sheets = xlsx_sheets(reply.content)
    assert list(sheets) == ["概览", "排行", "按周趋势"]
    summary = {row[0]: row[1:] for row in sheets["概览"] if row and row[0]}
    assert summary["回复数"][0] == 4 and summary["NPS 回答数"][0] == 4
    assert summary["组织单位"][0] == world.region.name
    header, *league = sheets["排行"]
    assert header[:4] == ["排行", "名称", "回答数", "NPS"]
    units = {row[1]: row for row in league if row[0] == "下级单位"}
    touchpoints = [row for row in league if row[0] == "触点"]
    assert len(units) == 2 and len(touchpoints) == 1
    branch = units[world.branch.name]
    assert branch[2] == 3 and branch[3] == pytest.approx(33.3) and branch[11] in ("", None)
    assert branch[4] is not None and branch[4] <= branch[3] <= branch[5]  # the interval
    hostile = units["'" + HOSTILE_NAME]  # the formula guard: shown as text, never run
    assert hostile[2] == 1 and hostile[3] is None and hostile[11] == "是"  # suppressed
    trend_header, *weeks = sheets["按周趋势"]
    assert trend_header[0] == "周" and sum(row[1] for row in weeks) == 4


@pytest.fixture
def pdf_report_asked(client, world, django_capture_on_commit_callbacks):
    """Ask for the PDF report of the dashboard's view `query` as its form does; the job runs
    in-process (eager_tasks) once its transaction commits."""

    def ask(query: str):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(
                reverse("export_create", args=[world.tenant.slug]),
                {"filters": query, "kind": "report", "format": "pdf"},
            )

    return ask


@pytest.mark.usefixtures("answers", "eager_tasks")
def test_the_pdf_report_is_printed_by_a_worker_with_the_chinese_title_and_the_charts(
    world, client, pdf_report_asked
):
    client.login(username=world.manager.username, password=PASSWORD)
    reply = pdf_report_asked(f"days=30&unit={world.region.pk}")
    assert reply.status_code == 302 and reply["Location"].endswith("/exports/")
    with tenant_context(world.tenant):
        job = ExportJob.objects.get()
    assert (job.kind, job.format, job.status, job.rows_done) == ("report", "pdf", "done", 1)
    download = client.get(reverse("export_download", args=[world.tenant.slug, job.pk]))
    assert download.status_code == 200 and download["Content-Type"] == "application/pdf"
    content = b"".join(download.streaming_content)
    assert content.startswith(b"%PDF")
    assert 'filename="cx-report-' in download["Content-Disposition"]
    text = pdf_text(content)
    assert titled(world.region.name, text)
    assert "下级单位排行" in text and world.branch.name in text and "样本不足" in text


@pytest.mark.usefixtures("answers", "eager_tasks")
def test_the_pdf_report_is_printed_in_the_tenants_language(world, client, pdf_report_asked):
    with tenant_context(world.tenant):
        Tenant.objects.filter(pk=world.tenant.pk).update(locale="en")
    client.login(username=world.manager.username, password=PASSWORD)
    pdf_report_asked(f"days=30&unit={world.region.pk}")
    with tenant_context(world.tenant):
        job = ExportJob.objects.get()
    download = client.get(reverse("export_download", args=[world.tenant.slug, job.pk]))
    text = pdf_text(b"".join(download.streaming_content))
    assert f"{world.region.name} customer experience report" in text


@pytest.mark.usefixtures("answers", "eager_tasks")
def test_a_viewer_gets_the_reports_of_their_scope_and_an_agent_may_not(
    world, client, pdf_report_asked
):
    client.login(username=world.viewer.username, password=PASSWORD)  # scoped to the region
    assert client.get(report_url(world, "xlsx", "days=30")).status_code == 200
    assert pdf_report_asked("days=30").status_code == 302
    with tenant_context(world.tenant):
        job = ExportJob.objects.get()
    download = client.get(reverse("export_download", args=[world.tenant.slug, job.pk]))
    assert titled(world.region.name, pdf_text(b"".join(download.streaming_content)))
    exports = reverse("export_create", args=[world.tenant.slug])
    responses = {"filters": "days=30", "kind": "responses", "format": "csv"}
    assert client.post(exports, responses).status_code == 403  # a manager's export only
    report_as_csv = {"filters": "days=30", "kind": "report", "format": "csv"}
    assert "报告只能生成 PDF" in client.post(exports, report_as_csv, follow=True).content.decode()
    client.login(username=world.agent.username, password=PASSWORD)
    assert client.get(report_url(world, "xlsx", "days=30")).status_code == 403
    assert pdf_report_asked("days=30").status_code == 403
    with tenant_context(world.tenant):
        assert ExportJob.objects.count() == 1


@pytest.mark.usefixtures("answers", "eager_tasks")
def test_a_unit_outside_the_scope_is_refused_not_widened(world, client, pdf_report_asked):
    client.login(username=world.viewer.username, password=PASSWORD)  # scoped to the region
    reply = client.get(report_url(world, "xlsx", f"days=30&unit={world.hq.pk}"))
    assert reply.status_code == 400 and "范围" in reply.content.decode()
    asked = pdf_report_asked(f"days=30&unit={world.hq.pk}")
    assert asked.status_code == 302 and "/dashboard/" in asked["Location"]
    assert "范围" in client.get(asked["Location"]).content.decode()
    with tenant_context(world.tenant):
        assert not ExportJob.objects.exists()


@pytest.mark.usefixtures("answers")
def test_filters_too_long_to_read_whole_are_refused_not_cut_short(world, client):
    client.login(username=world.viewer.username, password=PASSWORD)
    padding = "&channel=" + "x" * 600
    reply = client.get(report_url(world, "xlsx", f"days=30{padding}&unit={world.hq.pk}"))
    assert reply.status_code == 400 and reply["Content-Type"].startswith("text/plain")
    assert "筛选条件过长" in reply.content.decode()


@pytest.mark.usefixtures("answers")
def test_a_download_is_audited_and_linked_from_the_dashboard(world, client):
    client.login(username=world.manager.username, password=PASSWORD)
    page = client.get(reverse("dashboard", args=[world.tenant.slug]) + "?days=30").content.decode()
    assert 'name="filters" value="days=30"><input type="hidden" name="kind" value="report">' in page
    assert "/dashboard/report.xlsx?days=30" in page
    assert client.get(report_url(world, "xlsx", "days=30")).status_code == 200
    with tenant_context(world.tenant):
        event = AuditEvent.objects.get(action="report.download")
    assert event.actor_user == world.manager and event.after["format"] == "xlsx"


def test_another_tenants_member_gets_404_for_every_report_url(world, other_world, client):
    with tenant_context(world.tenant):
        schedule = report_schedule_save(
            schedule=None,
            name="A 的周报",
            frequency="weekly",
            org_unit=None,
            per_unit_kind="branch",
            filters="",
            recipients=[],
            by=world.manager,
        )
    client.login(username=other_world.manager.username, password=PASSWORD)
    for slug in (world.tenant.slug, other_world.tenant.slug):
        for url in (
            reverse("dashboard_report_xlsx", args=[slug]) + f"?unit={world.branch.pk}",
            reverse("report_schedule_edit", args=[slug, schedule.pk]),
        ):
            assert client.get(url).status_code in (404, 400), url
        deleted = client.post(reverse("report_schedule_delete", args=[slug, schedule.pk]))
        assert deleted.status_code == 404
    listed = client.get(reverse("report_schedules", args=[other_world.tenant.slug]))
    assert "A 的周报" not in listed.content.decode()
    with tenant_context(world.tenant):
        assert ReportSchedule.objects.filter(pk=schedule.pk).exists()


# ---- Scheduled reports


def test_periods_are_the_last_whole_week_and_month():
    wednesday = datetime(2026, 6, 10).date()
    week = period_last_complete("weekly", today=wednesday)
    assert (week.start.isoformat(), week.end.isoformat()) == ("2026-06-01", "2026-06-07")
    month = period_last_complete("monthly", today=datetime(2026, 3, 1).date())
    assert (month.start.isoformat(), month.end.isoformat()) == ("2026-02-01", "2026-02-28")


def weekly_to(world, recipients, **changes) -> ReportSchedule:
    fields = {
        "schedule": None,
        "name": "华东区周报",
        "frequency": "weekly",
        "org_unit": world.region,
        "per_unit_kind": "",
        "filters": f"days=30&unit={world.branch.pk}&channel=branch_counter",
        "recipients": recipients,
        "by": world.manager,
        **changes,
    }
    with tenant_context(world.tenant):
        return report_schedule_save(**fields)


def deliveries(world) -> list[ReportDelivery]:
    with tenant_context(world.tenant):
        return list(ReportDelivery.objects.order_by("pk"))


@pytest.mark.usefixtures("answers", "eager_tasks")
def test_a_weekly_report_is_mailed_once_with_both_attachments_and_logged(world):
    head = member_with_email(world, "east-head", Role.VIEWER, world.region)
    schedule = weekly_to(world, [head])
    assert schedule.filters == "channel=branch_counter"  # the window and unit are each send's
    with time_machine.travel(DUE.replace(hour=6), tick=True):
        assert reports_send_due() == 0  # before 07:00 the week before is due: made after it
    with time_machine.travel(DUE, tick=True):
        assert reports_send_due() == 1
        assert reports_send_due() == 0  # a second beat sends nothing twice
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["east-head@example.com"]
    assert message.subject == "华东区 客户体验报告 2026-06-08 – 2026-06-14"
    (pdf_name, pdf, _), (xlsx_name, xlsx, _) = message.attachments
    assert pdf_name.endswith(".pdf") and titled("华东区", pdf_text(pdf))
    summary = {row[0]: row[1:] for row in xlsx_sheets(xlsx)["概览"] if row and row[0]}
    assert summary["回复数"][0] == 4 and summary["渠道"][0] == "网点柜台"
    assert xlsx_name.endswith(".xlsx")
    (logged,) = deliveries(world)
    assert logged.status == "sent" and logged.recipients == ["east-head@example.com"]
    assert (logged.period_start.isoformat(), logged.period_end.isoformat()) == (
        "2026-06-08",
        "2026-06-14",
    )


@pytest.mark.usefixtures("answers", "eager_tasks")
def test_per_unit_each_branch_and_its_manager_get_its_own_report(world):
    pudong = member_with_email(world, "pd-manager", Role.CX_MANAGER, world.branch)
    xihu = member_with_email(world, "xh-viewer", Role.VIEWER, world.other_branch)
    with tenant_context(world.tenant):  # a branch without members is logged as skipped
        empty = org_unit_create(
            name="空支行", code="EMPTY", kind=OrgUnit.Kind.BRANCH, parent=world.region
        )
        # The other branch's manager (OrgUnit.manager) sits at head office: they get it too.
        world.manager.email = "manager@example.com"
        world.manager.save(update_fields=["email"])
        OrgUnit.objects.filter(pk=world.other_branch.pk).update(manager=world.manager)
    weekly_to(world, [], per_unit_kind="branch", filters="")
    with time_machine.travel(DUE, tick=True):
        assert reports_send_due() == 3  # one task per branch; the empty one's skips
    sent = {tuple(message.to): message for message in mail.outbox}
    to_xihu = ("manager@example.com", xihu.user.email)
    assert set(sent) == {(pudong.user.email,), to_xihu}
    assert world.branch.name in sent[(pudong.user.email,)].subject
    xihu_sheet = xlsx_sheets(sent[to_xihu].attachments[1][1])["概览"]
    assert {row[0]: row[1:] for row in xihu_sheet if row and row[0]}["回复数"][0] == 1
    by_unit = {delivery.org_unit_id: delivery.status for delivery in deliveries(world)}
    assert by_unit == {world.branch.pk: "sent", world.other_branch.pk: "sent", empty.pk: "skipped"}


def test_a_branch_report_reads_its_units_and_recipients_in_a_constant_number_of_queries(world):
    member_with_email(world, "pd-manager", Role.CX_MANAGER, world.branch)
    schedule = weekly_to(world, [], per_unit_kind="branch", filters="")

    def read() -> tuple[int, int, int]:
        with tenant_context(world.tenant), CaptureQueriesContext(connection) as queries:
            units = report_units(schedule)
            recipients = report_recipients(schedule, world.branch)
        return len(units), len(recipients), len(queries)

    branches, members, few = read()
    with tenant_context(world.tenant):
        for i in range(5):
            unit = org_unit_create(
                name=f"新支行{i}", code=f"NEW-{i}", kind=OrgUnit.Kind.BRANCH, parent=world.region
            )
            member_with_email(world, f"new-{i}", Role.VIEWER, unit)
            member_with_email(world, f"pd-{i}", Role.VIEWER, world.branch)
    assert read() == (branches + 5, members + 5, few)


@pytest.mark.usefixtures("answers", "eager_tasks")
def test_a_failed_send_is_logged_and_tried_again_by_the_next_beat(world, settings):
    head = member_with_email(world, "east-head", Role.VIEWER, world.region)
    weekly_to(world, [head])
    # A real SMTP connection to a port nothing listens on.
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 9
    with time_machine.travel(DUE, tick=True):
        assert reports_send_due() == 1
        (failed,) = deliveries(world)
        assert failed.status == "failed" and failed.error and failed.attempts == 1
        settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
        assert reports_send_due() == 1
        assert reports_send_due() == 0
    (sent,) = deliveries(world)
    assert sent.status == "sent" and sent.attempts == 2 and len(mail.outbox) == 1


@pytest.mark.usefixtures("answers", "eager_tasks")
def test_a_report_left_sending_by_a_dead_worker_goes_out_after_half_an_hour(world):
    head = member_with_email(world, "east-head", Role.VIEWER, world.region)
    weekly_to(world, [head])
    with time_machine.travel(DUE, tick=True):
        assert reports_send_due() == 1
        with tenant_context(world.tenant):  # as if its worker had died before the mail left
            ReportDelivery.objects.update(status="sending")
    with time_machine.travel(DUE + timedelta(minutes=20), tick=True):
        assert reports_send_due() == 0  # it may still be on its way
    with time_machine.travel(DUE + timedelta(minutes=31), tick=True):
        assert reports_send_due() == 1
    (logged,) = deliveries(world)
    assert logged.status == "sent" and logged.attempts == 2 and len(mail.outbox) == 2


@pytest.mark.usefixtures("midday")
def test_schedules_are_for_managers_inside_their_scope(world, client):
    for role in ("viewer", "agent"):
        with tenant_context(world.tenant), pytest.raises(PermissionDenied):
            weekly_to(world, [], per_unit_kind="branch", by=getattr(world, role))
        client.login(username=getattr(world, role).username, password=PASSWORD)
        assert client.get(reverse("report_schedules", args=[world.tenant.slug])).status_code == 403
    branch_manager = member_with_email(world, "pd-manager", Role.CX_MANAGER, world.branch)
    with pytest.raises(ValidationError):
        weekly_to(world, [branch_manager], org_unit=world.region, by=branch_manager.user)
    xihu = member_with_email(world, "xh-viewer", Role.VIEWER, world.other_branch)
    with pytest.raises(ValidationError):  # the region's report to a member of one branch
        weekly_to(world, [xihu])
    with tenant_context(world.tenant), pytest.raises(ValidationError):
        weekly_to(world, [], org_unit=world.branch)  # nobody to send to


@pytest.mark.usefixtures("midday")
def test_a_manager_creates_edits_and_deletes_a_schedule_and_the_log_stays(world, client):
    head = member_with_email(world, "east-head", Role.VIEWER, world.region)
    client.login(username=world.manager.username, password=PASSWORD)
    new = reverse("report_schedule_create", args=[world.tenant.slug])
    form = client.get(f"{new}?days=7&unit={world.region.pk}&channel=branch_counter")
    assert form.status_code == 200 and 'value="channel=branch_counter"' in form.content.decode()
    reply = client.post(
        new,
        {
            "name": "华东区周报",
            "frequency": "weekly",
            "org_unit": world.region.pk,
            "recipients": [head.pk],
            "is_active": "on",
            "filters": "channel=branch_counter",
        },
    )
    assert reply.status_code == 302
    with tenant_context(world.tenant):
        schedule = ReportSchedule.objects.get()
    edit = reverse("report_schedule_edit", args=[world.tenant.slug, schedule.pk])
    reply = client.post(
        edit,
        {"name": "华东区月报", "frequency": "monthly", "org_unit": world.region.pk,
         "per_unit_kind": "branch", "filters": ""},
    )  # fmt: skip
    assert reply.status_code == 302
    with tenant_context(world.tenant):
        schedule.refresh_from_db()
        assert (schedule.name, schedule.frequency, schedule.is_active) == (
            "华东区月报",
            "monthly",
            False,
        )
        assert not schedule.recipients.exists()
        ReportDelivery.objects.create(
            schedule=schedule,
            schedule_name=schedule.name,
            org_unit=world.branch,
            period_start=datetime(2026, 5, 1).date(),
            period_end=datetime(2026, 5, 31).date(),
            status="sent",
        )
    page = client.get(reverse("report_schedules", args=[world.tenant.slug])).content.decode()
    assert "华东区月报" in page and "2026-05-01" in page
    delete = reverse("report_schedule_delete", args=[world.tenant.slug, schedule.pk])
    assert client.post(delete).status_code == 302
    with tenant_context(world.tenant):
        assert not ReportSchedule.objects.exists()
        assert ReportDelivery.objects.get().schedule_name == "华东区月报"
        actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"report_schedule.create", "report_schedule.update", "report_schedule.delete"} <= actions


def test_a_schedule_of_one_tenant_never_reaches_another(world, other_world):
    weekly_to(world, [], per_unit_kind="branch", filters="")
    with system_context():
        assert ReportSchedule.all_tenants.filter(tenant=other_world.tenant).count() == 0
    with tenant_context(other_world.tenant):
        assert not ReportSchedule.objects.exists()


@pytest.mark.usefixtures("answers")
def test_the_dashboard_offers_each_role_the_report_links_it_may_use(world, client):
    dashboard = reverse("dashboard", args=[world.tenant.slug]) + "?days=30"
    for user, downloads, schedules in [
        (world.manager, True, True),
        (world.viewer, True, False),
        (world.agent, False, False),
    ]:
        client.login(username=user.username, password=PASSWORD)
        page = client.get(dashboard).content.decode()
        assert ('name="kind" value="report"' in page) is downloads, user
        assert ("/reports/schedules/new/" in page) is schedules, user


@pytest.mark.usefixtures("answers", "eager_tasks")
def test_a_report_the_broker_could_not_take_goes_with_a_later_beat(world):
    """The claim is logged before the task is queued: with the broker down the report waits,
    claimed, and the first beat after its claim is stale hands it over again."""
    import organizations.broker

    head = member_with_email(world, "east-head", Role.VIEWER, world.region)
    weekly_to(world, [head])

    def broker_at(url: str) -> None:
        celery_app.conf.broker_url = url
        celery_app._pool = None
        celery_app.amqp._producer_pool = None
        organizations.broker._broker_down_until = 0.0  # forget what the breaker remembers

    real_url = celery_app.conf.broker_url
    celery_app.conf.task_always_eager = False  # the broker, not this process, takes tasks
    broker_at("redis://127.0.0.1:9/0")  # where nothing listens
    try:
        with time_machine.travel(DUE, tick=True):
            assert reports_send_due() == 0
    finally:
        broker_at(real_url)
        celery_app.conf.task_always_eager = True
    (claimed,) = deliveries(world)
    assert claimed.status == "sending" and mail.outbox == []
    with time_machine.travel(DUE + timedelta(minutes=20), tick=True):
        assert reports_send_due() == 0  # its worker might still come
    with time_machine.travel(DUE + timedelta(minutes=31), tick=True):
        assert reports_send_due() == 1
    (logged,) = deliveries(world)
    assert logged.status == "sent" and logged.attempts == 2 and len(mail.outbox) == 1


@pytest.mark.usefixtures("answers")
def test_a_report_whose_schedule_was_deleted_after_its_claim_is_logged_as_skipped(world):
    head = member_with_email(world, "east-head", Role.VIEWER, world.region)
    schedule = weekly_to(world, [head])
    with tenant_context(world.tenant):
        delivery = ReportDelivery.objects.create(
            schedule=schedule,
            schedule_name=schedule.name,
            org_unit=world.region,
            period_start=DUE.date() - timedelta(days=7),
            period_end=DUE.date() - timedelta(days=1),
        )
        ReportSchedule.objects.filter(pk=schedule.pk).delete()
    assert delivery_send(delivery.pk) is False
    (logged,) = deliveries(world)
    assert logged.status == "skipped" and logged.error == "定期报告已删除。"
    assert mail.outbox == []


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_beat_and_a_worker_send_the_report_once(world, celery_worker_process, tmp_path):
    """Beat and the worker keep the real clock: a schedule made two months ago has a period
    due whatever the hour; beat keeps asking every second, and the report goes once."""
    require_real_services()
    head = member_with_email(world, "east-head", Role.VIEWER, world.region)
    schedule = weekly_to(world, [head])
    with tenant_context(world.tenant):
        ReportSchedule.objects.filter(pk=schedule.pk).update(
            created_at=timezone.now() - timedelta(days=60)
        )

    def logged_as_sent():
        found = deliveries(world)
        return found if found and found[0].status == "sent" else None

    with celery_beat(tmp_path, CEM_REPORTS_SWEEP_SECONDS="1"):
        wait_until(logged_as_sent, timeout=120)
        time.sleep(3)  # beat keeps sending the task: the runs after the first send nothing
    celery_app.control.purge()  # no run left queued to overlap the next tests' flush
    (logged,) = deliveries(world)
    assert reports_send_due() == 0  # a second beat, here in this process, sends nothing
    assert len(deliveries(world)) == 1
    assert logged.status == "sent" and logged.recipients == ["east-head@example.com"]
    assert logged.period_end - logged.period_start == timedelta(days=6)


@pytest.mark.usefixtures("answers", "eager_tasks")
def test_a_monthly_report_goes_from_7_on_the_first_of_the_tenants_month(world):
    """07:00 on 1 July in Shanghai is 23:00 on 30 June in UTC: the tenant's day decides."""
    head = member_with_email(world, "east-head", Role.VIEWER, world.region)
    weekly_to(world, [head], frequency="monthly", name="华东区月报")
    with time_machine.travel(datetime.fromisoformat("2026-06-30T22:30:00+00:00"), tick=True):
        assert reports_send_due() == 0  # 06:30 in Shanghai
    with time_machine.travel(datetime.fromisoformat("2026-06-30T23:30:00+00:00"), tick=True):
        assert reports_send_due() == 1
    (logged,) = deliveries(world)
    assert (logged.period_start.isoformat(), logged.period_end.isoformat()) == (
        "2026-06-01",
        "2026-06-30",
    )
    assert mail.outbox[0].subject.endswith("2026-06-01 – 2026-06-30")
