"""Bulk import of the org-unit tree (CSV and .xlsx): parents defined later or already there,
existing codes updated, a row-by-row report of every problem before anything is written, all
or nothing on a big file, progress recorded, and only owners and admins may import."""

import io

import openpyxl
import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from organizations.models import AuditEvent, OrgUnit, OrgUnitImport
from organizations.org_unit_import import (
    ImportRejected,
    org_unit_import_run,
    org_units_import,
    rows_check,
    rows_read,
)
from organizations.tenancy import tenant_context
from tests.factories import PASSWORD

HEADER = "code,name,kind,parent_code,manager_email\n"


def csv_bytes(*lines: str) -> bytes:
    return (HEADER + "".join(f"{line}\n" for line in lines)).encode()


def xlsx_bytes(rows: list[list]) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


@pytest.fixture
def owner(world):
    return get_user_model().objects.get(username=f"{world.tenant.slug}-owner")


def run(content: bytes, name: str, by):
    """Import a file in the current tenant; returns the outcome."""
    return org_units_import(rows=rows_read(content, name), by=by)


def problems_of(content: bytes, name: str, by) -> list[tuple[int, str]]:
    with pytest.raises(ImportRejected) as rejected:
        run(content, name, by)
    return [(problem.line, problem.column) for problem in rejected.value.problems]


def test_a_csv_builds_a_tree_whose_parents_come_later_or_exist(in_tenant, owner):
    world = in_tenant
    world.manager.email = "li@acme.example"
    world.manager.save()
    outcome = run(
        csv_bytes(
            "SZ-FT,福田支行,branch,SOUTH,LI@acme.example",
            "SOUTH,华南区,region,HQ,",
            "SZ-FT-T1,对公团队,team,SZ-FT,",
            "SH-PD-D1,运营部,部门,SH-PD,",
        ),
        "tree.csv",
        owner,
    )
    assert (outcome.created, outcome.updated) == (4, 0)
    south, futian, team = (OrgUnit.objects.get(code=c) for c in ("SOUTH", "SZ-FT", "SZ-FT-T1"))
    assert south.path == f"{world.hq.path}{south.pk:08d}/"
    assert futian.path == f"{south.path}{futian.pk:08d}/" and futian.manager == world.manager
    assert team.path == f"{futian.path}{team.pk:08d}/"
    department = OrgUnit.objects.get(code="SH-PD-D1")
    assert department.kind == "department" and department.parent == world.branch
    assert AuditEvent.objects.filter(action="org_unit.import").count() == 1


def test_an_xlsx_file_with_chinese_headers_and_numeric_codes_imports(in_tenant, owner):
    content = xlsx_bytes(
        [
            ["编码", "名称", "类型", "上级编码"],
            [1001, "苏州分行", "区域", "HQ"],
            [1002, "园区支行", "网点", 1001],
        ]
    )
    assert run(content, "机构.xlsx", owner).created == 2
    assert OrgUnit.objects.get(code="1002").parent == OrgUnit.objects.get(code="1001")


def test_existing_codes_update_name_kind_and_parent_and_their_subtree_follows(in_tenant, owner):
    world = in_tenant
    outcome = run(
        csv_bytes("NORTH,华北区,region,HQ,", "EAST,华东大区,region,NORTH,"), "t.csv", owner
    )
    assert (outcome.created, outcome.updated) == (1, 1)
    region = OrgUnit.objects.get(pk=world.region.pk)
    north = OrgUnit.objects.get(code="NORTH")
    assert region.name == "华东大区" and region.parent == north
    branch = OrgUnit.objects.get(pk=world.branch.pk)  # not in the file: its path follows
    assert branch.path == f"{north.path}{region.pk:08d}/{branch.pk:08d}/"
    assert sorted(outcome.moved_ids) == sorted(
        [world.region.pk, world.branch.pk, world.other_branch.pk]
    )


def test_every_bad_row_is_reported_with_line_and_column_and_nothing_is_written(in_tenant, owner):
    before = OrgUnit.objects.count()
    content = csv_bytes(
        "A1,甲,branch,HQ,",  # line 2: fine
        "A1,甲二,branch,HQ,",  # 3: duplicate code
        "A2,乙,branch,NOWHERE,",  # 4: unknown parent
        "A3,丙,planet,HQ,",  # 5: bad kind
        "A4,,branch,HQ,",  # 6: empty name
        "C1,环一,team,C2,",  # 7: cycle C1 -> C2 -> C1
        "C2,环二,team,C1,",  # 8
        "A5,丁\x00,branch,HQ,",  # 9: NUL
        "A6,戊,branch,HQ,nobody@example.com",  # 10: not a member
        "EAST,华东,region,SH-PD,",  # 11: existing region under its own branch
    )
    assert problems_of(content, "bad.csv", owner) == [
        (3, "code"),
        (4, "parent_code"),
        (5, "kind"),
        (6, "name"),
        (7, "parent_code"),
        (8, "parent_code"),
        (9, "name"),
        (10, "manager_email"),
        (11, "parent_code"),
    ]
    assert OrgUnit.objects.count() == before


@pytest.mark.parametrize(
    ("content", "name", "reason"),
    [
        (b"%PDF-1.4 ...", "tree.pdf", "只接受 CSV 或 Excel"),
        (b"\xd0\xcf\x11\xe0 old excel", "tree.xls", "只接受 CSV 或 Excel"),
        (b"PK\x03\x04 not really a workbook", "tree.xlsx", "不是有效的 .xlsx 文件"),
        (b"code,name\nA,B\n", "tree.csv", "缺少这一列"),
        (b"", "tree.csv", "文件是空的"),
        (b"x" * (10 * 1024 * 1024 + 1), "tree.csv", "文件超过 10 MB"),
    ],
)
def test_a_file_that_cannot_be_read_is_refused_with_a_reason(content, name, reason):
    with pytest.raises(ImportRejected) as rejected:
        rows_read(content, name)
    assert reason in rejected.value.problems[0].reason


def test_a_big_file_with_one_bad_row_at_the_end_writes_nothing(in_tenant, owner):
    lines = [
        f"B{n:05d},第{n}支行,branch,{'HQ' if n % 50 == 0 else f'B{n - n % 50:05d}'},"
        for n in range(3000)
    ]
    lines.append("LAST,最后一行,branch,NO-SUCH-PARENT,")
    content = csv_bytes(*lines)
    before = OrgUnit.objects.count()
    job = OrgUnitImport.objects.create(file_name="big.csv", content=content, created_by=owner)
    assert org_unit_import_run(job_id=job.pk) == OrgUnitImport.Status.REJECTED
    job.refresh_from_db()
    assert job.problems == [
        {"line": 3002, "column": "parent_code", "reason": job.problems[0]["reason"]}
    ]
    assert "NO-SUCH-PARENT" in job.problems[0]["reason"]
    assert (job.rows_total, job.rows_checked) == (3001, 3001)
    assert OrgUnit.objects.count() == before
    assert bytes(job.content) == b"" and job.finished_at is not None


def test_the_check_reports_progress_and_a_job_records_it_and_runs_once(in_tenant, owner):
    content = csv_bytes(*(f"P{n:04d},第{n}网点,branch,HQ," for n in range(1200)))
    seen = []
    rows_check(rows_read(content, "p.csv"), on_progress=seen.append)
    assert seen == [500, 1000, 1200]
    job = OrgUnitImport.objects.create(file_name="p.csv", content=content, created_by=owner)
    assert org_unit_import_run(job_id=job.pk) == OrgUnitImport.Status.DONE
    job.refresh_from_db()
    assert (job.units_created, job.rows_total, job.rows_checked) == (1200, 1200, 1200)
    assert job.problems == []
    assert org_unit_import_run(job_id=job.pk) == OrgUnitImport.Status.DONE  # not again
    assert OrgUnit.objects.filter(code__startswith="P").count() == 1200


def test_an_upload_runs_as_a_job_and_its_page_shows_the_result(
    client, world, owner, eager_tasks, django_capture_on_commit_callbacks
):
    client.login(username=owner.username, password=PASSWORD)
    upload = SimpleUploadedFile(
        "tree.xlsx",
        xlsx_bytes([["code", "name", "kind", "parent_code"], ["GZ", "广州分行", "region", "HQ"]]),
    )
    with django_capture_on_commit_callbacks(execute=True):
        reply = client.post(reverse("org_unit_import", args=[world.tenant.slug]), {"file": upload})
    assert reply.status_code == 302
    page = client.get(reply["Location"]).content.decode()
    assert "新建 1 个单位" in page and 'data-running="false"' in page
    with tenant_context(world.tenant):
        assert OrgUnit.objects.filter(code="GZ", name="广州分行").exists()


def test_a_running_job_page_updates_itself_and_shows_its_progress(client, world, owner):
    with tenant_context(world.tenant):
        job = OrgUnitImport.objects.create(
            file_name="t.csv",
            status=OrgUnitImport.Status.CHECKING,
            rows_total=4000,
            rows_checked=1500,
            created_by=owner,
        )
    client.login(username=owner.username, password=PASSWORD)
    page = client.get(reverse("org_unit_import_job", args=[world.tenant.slug, job.pk]))
    html = page.content.decode()
    assert 'data-running="true"' in html and "import-job.js" in html
    assert 'value="1500"' in html and "1500 / 4000" in html
    assert f'href="{page.wsgi_request.path}"' in html  # the reload link, without JavaScript


@pytest.mark.parametrize("who", ["manager", "agent", "viewer"])
def test_only_owners_and_admins_reach_the_tree_pages(client, world, who):
    client.login(username=getattr(world, who).username, password=PASSWORD)
    slug = world.tenant.slug
    upload = SimpleUploadedFile("t.csv", csv_bytes("X1,某,branch,HQ,"))
    attempts = [
        ("org_units", [], {"name": "X", "code": "X1", "kind": "team"}),
        ("org_unit_edit", [world.branch.pk], {"action": "update", "name": "X", "code": "X"}),
        ("org_unit_edit", [world.branch.pk], {"action": "move", "parent": world.hq.pk}),
        ("org_unit_edit", [world.branch.pk], {"action": "deactivate"}),
        ("org_unit_edit", [world.branch.pk], {"action": "delete"}),
        ("org_unit_import", [], {"file": upload}),
    ]
    for name, args, data in attempts:
        assert client.post(reverse(name, args=[slug, *args]), data).status_code == 403
    with tenant_context(world.tenant):
        branch = OrgUnit.objects.get(pk=world.branch.pk)
        assert (branch.name, branch.parent_id, branch.is_active) == (
            "浦东支行",
            world.region.pk,
            True,
        )
        assert not OrgUnitImport.objects.exists()


def test_an_admin_moves_a_unit_in_the_page_and_a_cycle_is_refused_in_chinese(client, world, owner):
    client.login(username=owner.username, password=PASSWORD)
    edit = reverse("org_unit_edit", args=[world.tenant.slug, world.region.pk])
    refused = client.post(edit, {"action": "move", "parent": world.branch.pk})
    assert refused.status_code == 400
    assert "不能把「华东区」移到它自己或它的下级单位「浦东支行」之下" in refused.content.decode()
    other = client.post(edit, {"action": "move", "parent": 10**9})
    assert other.status_code == 404
    with tenant_context(world.tenant):
        assert OrgUnit.objects.get(pk=world.region.pk).parent_id == world.hq.pk


def test_a_job_left_queued_is_handed_to_the_workers_again(world, owner, eager_tasks):
    """The broker was down at the upload: the sweeper queues it again, and it runs once."""
    import time_machine
    from django.utils import timezone

    from organizations.org_unit_import import org_unit_imports_requeue

    with tenant_context(world.tenant):
        job = OrgUnitImport.objects.create(
            file_name="late.csv", content=csv_bytes("LATE,迟到的网点,branch,HQ,"), created_by=owner
        )
    assert org_unit_imports_requeue() == 0  # just uploaded: its own task may still come
    with time_machine.travel(timezone.now() + timezone.timedelta(minutes=2), tick=False):
        assert org_unit_imports_requeue() == 1
        assert org_unit_imports_requeue() == 0  # it ran
    with tenant_context(world.tenant):
        job.refresh_from_db()
        assert job.status == OrgUnitImport.Status.DONE
        assert OrgUnit.objects.filter(code="LATE").exists()
