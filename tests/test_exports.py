"""Exports of responses: a background job writes CSV or Excel with a column per question that
stays put across survey versions, inert formulas, the dashboard's filters inside the member's
scope, and a file only its asker may download."""

from __future__ import annotations

import csv
import io
import os
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from analytics.exports import (
    RUNNING_PER_MEMBER,
    STALE_AFTER,
    export_files_expire,
    export_jobs_requeue,
    export_run,
    export_start,
)
from analytics.models import ExportJob
from analytics.services import response_score
from organizations.models import Role
from organizations.services import membership_create
from organizations.spreadsheets import xlsx_write
from organizations.tenancy import system_context, tenant_context
from surveys import builder
from surveys import services as survey_services
from surveys.models import Response
from tests.conftest import require_real_services, wait_until
from tests.factories import PASSWORD, UserFactory

SHANGHAI = ZoneInfo("Asia/Shanghai")
FIXED_COLUMNS = 16
HOSTILE = ['=HYPERLINK("http://evil.example","点我")', "+1", "@SUM(A1:A9)"]


def answered(world, *, nps, text="", org_unit=None, at=None, version=None, extra=None):
    """A complete response, scored in-process, submitted `at` (default: a day ago)."""
    answers = {"nps_1": nps, **({"text_1": text} if text else {}), **(extra or {})}
    with tenant_context(world.tenant):
        response = Response.objects.create(
            survey=world.survey,
            version=version or world.survey.live_version,
            touchpoint=world.touchpoint,
            org_unit=org_unit or world.branch,
            answers=answers,
            external_customer_id="-2+3",
            submitted_at=at or timezone.now() - timedelta(days=1),
            status=Response.Status.COMPLETE,
        )
        response_score(response_id=response.pk)
    return response


def second_version(world) -> None:
    """Publish v2 of the world's survey: CES dropped, a new question added at the end."""
    with tenant_context(world.tenant):
        survey_services.survey_draft_edit(
            survey=world.survey, edit=lambda d: builder.question_remove(d, key="ces_1")
        )
        survey_services.survey_question_add(
            survey=world.survey, qtype="short_text", text_zh="您的分行经理是谁？", text_en="Who?"
        )
        survey_services.survey_publish(survey=world.survey, by=world.manager)
        world.survey.refresh_from_db()


def csv_table(content: bytes) -> list[list[str]]:
    assert content.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))


def xlsx_table(content: bytes) -> list[list[object]]:
    workbook = openpyxl.load_workbook(io.BytesIO(content), read_only=True)
    return [list(row) for row in workbook.worksheets[0].iter_rows(values_only=True)]


def column(header: list, key: str) -> int:
    return next(i for i, title in enumerate(header) if str(title).startswith(f"{key} "))


def run_in_process(world, user, query: str, file_format: str = "csv") -> ExportJob:
    with tenant_context(world.tenant):
        job = export_start(query=query, file_format=file_format, by=user)
    export_run(job_id=job.pk)
    with tenant_context(world.tenant):
        return ExportJob.objects.get(pk=job.pk)


def file_of(job: ExportJob) -> bytes:
    with job.file.open("rb") as handle:
        return handle.read()


# ---- Through the real worker


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_worker_writes_an_export_with_a_question_column_stable_across_versions(
    world, celery_worker_process, client, file_format
):
    require_real_services()
    day = datetime(2026, 6, 9, 15, 0, tzinfo=SHANGHAI)
    with tenant_context(world.tenant):
        v1 = world.survey.live_version
    first = [answered(world, nps=9, text="柜员很耐心", at=day, version=v1) for _ in range(3)]
    second_version(world)
    later = [answered(world, nps=3, text="排队太久", at=day) for _ in range(2)]
    answered(world, nps=5, at=day - timedelta(days=30))  # outside the window
    with tenant_context(world.tenant):
        job = export_start(
            query="start=2026-06-01&end=2026-06-10", file_format=file_format, by=world.manager
        )

    def finished():
        with system_context():
            found = ExportJob.all_tenants.get(pk=job.pk)
        return found if found.status in ("done", "failed") else None

    job = wait_until(finished, timeout=60)
    assert job.status == "done", job.error
    assert job.rows_done == job.rows_total == 5
    client.login(username=world.manager.username, password=PASSWORD)
    reply = client.get(reverse("export_download", args=[world.tenant.slug, job.pk]))
    assert reply.status_code == 200
    assert reply["Content-Disposition"].startswith("attachment")
    content = b"".join(reply.streaming_content)
    header, *rows = csv_table(content) if file_format == "csv" else xlsx_table(content)
    assert len(rows) == 5
    nps, text, ces = column(header, "nps_1"), column(header, "text_1"), column(header, "ces_1")
    assert header[:FIXED_COLUMNS][0] == "回答编号" and nps >= FIXED_COLUMNS
    assert column(header, "short_text_1") == len(header) - 1  # new in v2: the last column
    by_id = {int(row[0]): row for row in rows}
    assert {str(by_id[r.pk][text]) for r in first} == {"柜员很耐心"}
    assert {str(by_id[r.pk][text]) for r in later} == {"排队太久"}
    assert {str(by_id[r.pk][nps]) for r in later} == {"3"}
    assert by_id[later[0].pk][ces] in ("", None)  # CES is no question of v2
    assert by_id[first[0].pk][1] == "2026-06-09 15:00:00"  # the tenant's local time


# ---- In-process: what the file holds and who may have it


@pytest.mark.usefixtures("midday")
@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_text_cells_that_start_a_formula_come_out_inert(world, file_format):
    for text in HOSTILE:
        answered(world, nps=1, text=text)
    job = run_in_process(world, world.manager, "days=30", file_format)
    header, *rows = (csv_table if file_format == "csv" else xlsx_table)(file_of(job))
    texts = sorted(str(row[column(header, "text_1")]) for row in rows)
    assert texts == sorted("'" + text for text in HOSTILE)
    assert {row[7] for row in rows} == {"'-2+3"}  # the external customer id
    if file_format == "xlsx":
        assert {row[column(header, "nps_1")] for row in rows} == {1}  # numbers stay numbers


@pytest.mark.usefixtures("midday")
def test_filters_narrow_the_rows_to_the_window_and_the_unit(world):
    answered(world, nps=9, org_unit=world.branch)
    answered(world, nps=8, org_unit=world.other_branch)
    answered(world, nps=7, org_unit=world.branch, at=timezone.now() - timedelta(days=40))
    everything = run_in_process(world, world.manager, "days=90")
    assert everything.rows_total == 3
    narrowed = run_in_process(world, world.manager, f"days=30&unit={world.branch.pk}")
    _header, *rows = csv_table(file_of(narrowed))
    assert narrowed.rows_total == len(rows) == 1
    assert rows[0][5] == world.branch.code


@pytest.mark.usefixtures("midday")
def test_a_unit_outside_the_members_scope_is_refused(world):
    scoped = UserFactory(username="acme-branch-manager")
    with tenant_context(world.tenant):
        membership_create(user=scoped, role=Role.CX_MANAGER, org_unit=world.branch)
        with pytest.raises(ValidationError):
            export_start(query=f"unit={world.other_branch.pk}", file_format="csv", by=scoped)
    answered(world, nps=9, org_unit=world.branch)
    answered(world, nps=8, org_unit=world.other_branch)
    job = run_in_process(world, scoped, "days=30")
    assert job.rows_total == 1  # the scope applies without a unit asked for


@pytest.mark.parametrize("role", ["viewer", "agent"])
def test_viewers_and_agents_may_not_export(world, client, role):
    user = getattr(world, role)
    with tenant_context(world.tenant), pytest.raises(PermissionDenied):
        export_start(query="", file_format="csv", by=user)
    client.login(username=user.username, password=PASSWORD)
    url = reverse("export_create", args=[world.tenant.slug])
    assert client.post(url, {"filters": "", "format": "csv"}).status_code == 403
    # The list is a viewer's too (their PDF reports), never an agent's.
    listed = client.get(reverse("exports", args=[world.tenant.slug])).status_code
    assert listed == (200 if role == "viewer" else 403)


def test_start_is_audited_and_the_window_kept_as_dates(world, midday):
    with tenant_context(world.tenant):
        job = export_start(query="days=7", file_format="xlsx", by=world.manager)
        assert "start=2026-06-04" in job.filters and "end=2026-06-10" in job.filters
        from organizations.models import AuditEvent

        assert AuditEvent.objects.filter(action="export.start", target_id=str(job.pk)).exists()


@pytest.mark.usefixtures("midday")
def test_dashboard_export_button_starts_a_job_listed_with_its_progress(world, client):
    client.login(username=world.manager.username, password=PASSWORD)
    dashboard = client.get(reverse("dashboard", args=[world.tenant.slug]) + "?days=30")
    assert 'data-testid="export-form"' in dashboard.content.decode()
    reply = client.post(
        reverse("export_create", args=[world.tenant.slug]), {"filters": "days=30", "format": "csv"}
    )
    assert reply.status_code == 302
    page = client.get(reverse("exports", args=[world.tenant.slug])).content.decode()
    assert "<progress" in page and 'http-equiv="refresh"' in page


@pytest.mark.usefixtures("midday")
def test_an_export_larger_than_the_tenants_quota_is_refused_with_its_size(world, client, settings):
    for nps in (9, 3, 7):
        answered(world, nps=nps)
    settings.CEM_EXPORT_MAX_ROWS = 3
    assert run_in_process(world, world.manager, "days=30").rows_total == 3
    with tenant_context(world.tenant):
        world.tenant.settings = {**world.tenant.settings, "export_max_rows": 2}
        world.tenant.save(update_fields=["settings"])
    client.login(username=world.manager.username, password=PASSWORD)
    reply = client.post(
        reverse("export_create", args=[world.tenant.slug]),
        {"filters": "days=30", "format": "xlsx"},
        follow=True,
    )
    page = reply.content.decode()
    assert "这次导出有 3 条回答，超过了每次导出 2 条的上限" in page
    assert reply.redirect_chain[-1][0].endswith("?days=30")  # back to the same dashboard view
    with tenant_context(world.tenant):
        assert ExportJob.objects.count() == 1  # nothing started
        with pytest.raises(ValidationError):
            export_start(query="days=30", file_format="csv", by=world.manager)


@pytest.mark.usefixtures("midday")
def test_filters_too_long_start_no_export_and_say_so(world, client):
    client.login(username=world.manager.username, password=PASSWORD)
    reply = client.post(
        reverse("export_create", args=[world.tenant.slug]),
        {"filters": "days=30&tag=" + "x" * 600, "format": "csv"},
        follow=True,
    )
    assert "筛选条件过长" in reply.content.decode()
    assert reply.redirect_chain[-1][0] == reverse("dashboard", args=[world.tenant.slug])
    with tenant_context(world.tenant):
        assert not ExportJob.objects.exists()


@pytest.mark.usefixtures("midday")
def test_other_tenant_cannot_see_or_download_the_export(world, other_world, client):
    answered(world, nps=9)
    job = run_in_process(world, world.manager, "days=30")
    client.login(username=other_world.manager.username, password=PASSWORD)
    for slug in (other_world.tenant.slug, world.tenant.slug):
        assert client.get(reverse("export_download", args=[slug, job.pk])).status_code == 404
    listed = client.get(reverse("exports", args=[other_world.tenant.slug])).content.decode()
    assert f"/exports/{job.pk}/download/" not in listed


@pytest.mark.usefixtures("midday")
def test_another_member_of_the_tenant_cannot_download_ones_export(world, client):
    answered(world, nps=9)
    job = run_in_process(world, world.manager, "days=30")
    owner = UserFactory(username="acme-second-manager")
    with tenant_context(world.tenant):
        membership_create(user=owner, role=Role.CX_MANAGER)
    client.login(username=owner.username, password=PASSWORD)
    assert (
        client.get(reverse("export_download", args=[world.tenant.slug, job.pk])).status_code == 404
    )


def test_a_sheet_longer_than_excel_allows_goes_on_in_another(monkeypatch):
    monkeypatch.setattr("organizations.spreadsheets.XLSX_MAX_ROWS", 3)
    handle = io.BytesIO()
    xlsx_write([("回答", iter([["id"], [1], [2], [3], [4], [5]]))], handle)
    workbook = openpyxl.load_workbook(io.BytesIO(handle.getvalue()), read_only=True)
    sheets = [[row[0] for row in sheet.iter_rows(values_only=True)] for sheet in workbook]
    assert sheets == [["id", 1, 2], ["id", 3, 4], ["id", 5]]


@pytest.mark.usefixtures("midday")
def test_a_running_job_whose_worker_died_is_taken_again_and_a_live_one_is_left(world):
    answered(world, nps=9)
    with tenant_context(world.tenant):
        job = export_start(query="days=30", file_format="csv", by=world.manager)
        running = ExportJob.objects.filter(pk=job.pk)
        running.update(status="running", progress_at=timezone.now() - timedelta(minutes=5))
    assert export_run(job_id=job.pk) == "running"  # its worker is still at it
    with tenant_context(world.tenant):
        running.update(progress_at=timezone.now() - STALE_AFTER - timedelta(minutes=1))
    assert export_run(job_id=job.pk) == "done"
    with tenant_context(world.tenant):
        assert running.get().rows_done == 1


@pytest.mark.usefixtures("midday")
def test_the_sweeper_hands_over_queued_and_stale_jobs_only(world, monkeypatch):
    handed = []
    monkeypatch.setattr(
        "organizations.broker.publish", lambda task, job_id: handed.append(job_id) or True
    )
    long_ago = timezone.now() - timedelta(hours=1)
    with tenant_context(world.tenant):
        jobs = {
            status: ExportJob.objects.create(
                format="csv",
                status=status,
                created_by=world.manager,
                created_at=long_ago,
                progress_at=long_ago if status == "running" else None,
            )
            for status in ("queued", "running", "done")
        }
        fresh = ExportJob.objects.create(format="csv", created_by=world.manager)
    assert export_jobs_requeue() == 2
    assert sorted(handed) == sorted([jobs["queued"].pk, jobs["running"].pk])
    assert fresh.pk not in handed


def test_a_member_may_have_only_a_few_exports_running_at_once(world):
    with tenant_context(world.tenant):
        for _ in range(RUNNING_PER_MEMBER):
            export_start(query="", file_format="csv", by=world.manager)
        with pytest.raises(ValidationError):
            export_start(query="", file_format="csv", by=world.manager)


@pytest.mark.usefixtures("midday")
def test_files_of_old_exports_are_removed_and_the_job_marked_expired(world, settings):
    answered(world, nps=9)
    old = run_in_process(world, world.manager, "days=30")
    recent = run_in_process(world, world.manager, "days=30")
    path = old.file.path
    with tenant_context(world.tenant):
        days_ago = timezone.now() - timedelta(days=settings.CEM_EXPORT_KEEP_DAYS + 1)
        ExportJob.objects.filter(pk=old.pk).update(finished_at=days_ago)
    assert export_files_expire() == 1
    with tenant_context(world.tenant):
        old.refresh_from_db()
        recent.refresh_from_db()
    assert old.status == "expired" and not old.file
    assert not os.path.exists(path)
    assert recent.status == "done" and os.path.exists(recent.file.path)
