"""Bulk import of the org-unit tree from a CSV or .xlsx file (docs/org-units.md).

The file is read whole, every row is checked against the file and the tenant's tree, and only a
file without a single problem is written: in one transaction, with bulk statements and paths
computed in memory. A problem names its line, its column and the reason. An import runs as a
background job (OrgUnitImport, organizations.tasks) that records its progress.
"""

from __future__ import annotations

import csv
import io
import logging
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from organizations.access import actor_require_permission
from organizations.db.rows import update_many
from organizations.models import Membership, OrgUnit, OrgUnitImport
from organizations.org_units import (
    PATH_MAX,
    code_problem,
    name_problem,
    org_units_moved_announce,
    tree_lock,
)
from organizations.services import Actor, audit_record
from organizations.tenancy import current_tenant, system_context, tenant_context

logger = logging.getLogger(__name__)

MAX_BYTES = 10 * 1024 * 1024
MAX_ROWS = 20_000
PROGRESS_EVERY = 500
WRITE_BATCH = 1000
# Each column with the header names it answers to (the English name first).
COLUMNS: dict[str, tuple[str, ...]] = {
    "code": ("code", "编码", "单位编码"),
    "name": ("name", "名称", "单位名称"),
    "kind": ("kind", "类型", "单位类型"),
    "parent_code": ("parent_code", "上级编码", "上级单位编码"),
    "manager_email": ("manager_email", "负责人邮箱"),
}
REQUIRED_COLUMNS = ("code", "name", "kind", "parent_code")
# A kind may be given by its value or by its Chinese label.
KINDS = {
    **{value: value for value in OrgUnit.Kind.values},
    **{str(label): value for value, label in OrgUnit.Kind.choices},
    "网点": OrgUnit.Kind.BRANCH,
    "门店": OrgUnit.Kind.BRANCH,
}
XLSX_MAGIC = b"PK\x03\x04"


def kind_value(text: str) -> str | None:
    """The kind a cell names, by value or label (None: no such kind)."""
    return KINDS.get(text) or KINDS.get(text.lower())


@dataclass(frozen=True)
class ImportProblem:
    """What is wrong where: a line of the file (1 is the header; 0 the file as a whole), the
    column, and the reason."""

    line: int
    column: str
    reason: str

    def as_dict(self) -> dict:
        return {"line": self.line, "column": self.column, "reason": self.reason}


class ImportRejected(ValueError):
    def __init__(self, problems: list[ImportProblem]):
        self.problems = sorted(problems, key=lambda problem: problem.line)
        super().__init__(f"{len(problems)} problems")


@dataclass
class ImportRow:
    line: int
    code: str
    name: str
    kind: str
    parent_code: str
    manager_email: str = ""


@dataclass
class ImportOutcome:
    created: int
    updated: int
    moved_ids: list[int] = field(default_factory=list)


# ---- Reading the file


def _file_problem(reason: str) -> ImportRejected:
    return ImportRejected([ImportProblem(0, "", reason)])


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a numeric code typed into Excel: 1001.0 means "1001"
    return str(value).strip()


def _xlsx_records(content: bytes) -> list[tuple[int, list[str]]]:
    import openpyxl

    try:
        workbook = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as error:
        raise _file_problem(_("不是有效的 .xlsx 文件。")) from error
    try:
        sheet = workbook.worksheets[0]
        records = []
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            if number > MAX_ROWS + 1:
                raise _file_problem(_("文件最多 %(n)d 行。") % {"n": MAX_ROWS})
            records.append((number, [_cell_text(value) for value in values]))
        return records
    finally:
        workbook.close()


def _csv_records(content: bytes) -> list[tuple[int, list[str]]]:
    for encoding in ("utf-8-sig", "gb18030"):  # Excel in China saves CSV in GB18030
        try:
            text = content.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise _file_problem(_("无法识别文件编码，请保存为 UTF-8 的 CSV。"))
    reader = csv.reader(io.StringIO(text, newline=""))
    records = []
    try:
        for values in reader:
            if reader.line_num > MAX_ROWS + 1:
                raise _file_problem(_("文件最多 %(n)d 行。") % {"n": MAX_ROWS})
            records.append((reader.line_num, [value.strip() for value in values]))
    except csv.Error as error:
        raise ImportRejected(
            [ImportProblem(reader.line_num, "", _("CSV 格式错误：%(e)s") % {"e": error})]
        ) from error
    return records


def rows_read(content: bytes, file_name: str) -> list[ImportRow]:
    """The data rows of a CSV or .xlsx file; raises ImportRejected for a file that cannot be
    read (wrong type, too big, no header, unknown or missing columns)."""
    if len(content) > MAX_BYTES:
        raise _file_problem(_("文件超过 %(mb)d MB。") % {"mb": MAX_BYTES // (1024 * 1024)})
    suffix = file_name.lower().rsplit(".", 1)[-1] if "." in file_name else ""
    if content.startswith(XLSX_MAGIC) and suffix in ("xlsx", ""):
        records = _xlsx_records(content)
    elif suffix in ("csv", "txt", ""):
        records = _csv_records(content)
    else:
        raise _file_problem(_("只接受 CSV 或 Excel（.xlsx）文件。"))
    records = [(line, values) for line, values in records if any(values)]
    if not records:
        raise _file_problem(_("文件是空的。"))
    header_line, header = records[0]
    positions: dict[str, int] = {}
    problems = []
    for position, title in enumerate(header):
        column = next((name for name, titles in COLUMNS.items() if title.lower() in titles), None)
        if column is None and title:
            problems.append(ImportProblem(header_line, title, _("未知的列。")))
        elif column is not None:
            positions[column] = position
    for column in REQUIRED_COLUMNS:
        if column not in positions:
            problems.append(ImportProblem(header_line, column, _("缺少这一列。")))
    if problems:
        raise ImportRejected(problems)

    def cell(values: list[str], column: str) -> str:
        position = positions.get(column)
        return values[position] if position is not None and position < len(values) else ""

    return [
        ImportRow(line, *(cell(values, column) for column in COLUMNS))
        for line, values in records[1:]
    ]


# ---- Checking the rows against the file and the tree


@dataclass
class _Tree:
    """The tenant's units as the check and the write need them, read in two queries."""

    units: dict[str, dict]  # code -> values of the unit
    code_of: dict[int, str]
    manager_by_email: dict[str, int | None]  # None: the email names several members

    @classmethod
    def read(cls) -> _Tree:
        units = {
            unit["code"]: unit
            for unit in OrgUnit.objects.values(
                "pk", "code", "name", "kind", "parent_id", "path", "manager_id", "is_active"
            )
        }
        manager_by_email: dict[str, int | None] = {}
        for user_id, email in Membership.objects.filter(deactivated_at__isnull=True).values_list(
            "user_id", "user__email"
        ):
            if email:
                key = email.lower()
                manager_by_email[key] = None if key in manager_by_email else user_id
        return cls(
            units=units,
            code_of={unit["pk"]: code for code, unit in units.items()},
            manager_by_email=manager_by_email,
        )


def _row_problems(row: ImportRow, tree: _Tree, first_line: dict[str, int]) -> list[ImportProblem]:
    problems = []
    for column in ("code", "name", "kind", "parent_code", "manager_email"):
        if "\x00" in getattr(row, column):
            problems.append(ImportProblem(row.line, column, _("含有 NUL 字符。")))
    if problems:
        return problems
    reason = code_problem(row.code)
    if reason:
        problems.append(ImportProblem(row.line, "code", reason))
    elif row.code in first_line:
        problems.append(
            ImportProblem(
                row.line,
                "code",
                _("编码 %(code)s 与第 %(line)d 行重复。")
                % {"code": row.code, "line": first_line[row.code]},
            )
        )
    else:
        first_line[row.code] = row.line
    reason = name_problem(row.name)
    if reason:
        problems.append(ImportProblem(row.line, "name", reason))
    if kind_value(row.kind) is None:
        kinds = ", ".join(f"{value}（{label}）" for value, label in OrgUnit.Kind.choices)
        problems.append(
            ImportProblem(
                row.line,
                "kind",
                _("类型 %(kind)s 无效，须为：%(kinds)s") % {"kind": row.kind, "kinds": kinds},
            )
        )
    if row.manager_email:
        user_id = tree.manager_by_email.get(row.manager_email.lower(), 0)
        if user_id == 0:
            problems.append(
                ImportProblem(row.line, "manager_email", _("没有这个邮箱的本租户成员。"))
            )
        elif user_id is None:
            problems.append(ImportProblem(row.line, "manager_email", _("多个成员使用这个邮箱。")))
    return problems


def _parent_problems(rows: dict[str, ImportRow], tree: _Tree) -> list[ImportProblem]:
    """Unknown or deactivated parents, cycles and too deep a tree, on the tree as it would be."""
    problems = []
    parent_of = {code: tree.code_of.get(unit["parent_id"]) for code, unit in tree.units.items()}
    for code, row in rows.items():
        existing_parent = tree.units.get(row.parent_code)
        if row.parent_code == code:
            problems.append(ImportProblem(row.line, "parent_code", _("上级不能是它自己。")))
        elif row.parent_code and row.parent_code not in rows and existing_parent is None:
            problems.append(
                ImportProblem(
                    row.line,
                    "parent_code",
                    _("上级编码 %(code)s 既不在文件中，也不是已有单位。")
                    % {"code": row.parent_code},
                )
            )
        elif existing_parent is not None and not existing_parent["is_active"]:
            problems.append(
                ImportProblem(
                    row.line,
                    "parent_code",
                    _("上级单位 %(code)s 已停用。") % {"code": row.parent_code},
                )
            )
        else:
            parent_of[code] = row.parent_code or None
            continue
        parent_of[code] = None  # reported; keep it out of the cycle walk
    depth: dict[str, int] = {}  # 1 for a root; -1 in or under a cycle
    for start in rows:
        chain: list[str] = []
        seen: set[str] = set()
        code: str | None = start
        while code is not None and code not in depth:
            if code in seen:  # a cycle: report it on the file's rows in it
                loop = chain[chain.index(code) :]
                described = " → ".join([*loop, code])
                problems.extend(
                    ImportProblem(
                        rows[member].line,
                        "parent_code",
                        _("上级关系形成循环：%(loop)s") % {"loop": described},
                    )
                    for member in loop
                    if member in rows
                )
                depth.update(dict.fromkeys(loop, -1))
                chain = chain[: chain.index(code)]
                break
            chain.append(code)
            seen.add(code)
            code = parent_of.get(code)
        base = depth.get(code, 0) if code is not None else 0
        for member in reversed(chain):
            base = base + 1 if base >= 0 else -1
            depth[member] = base
    too_deep = PATH_MAX // 9
    problems.extend(
        ImportProblem(row.line, "parent_code", _("层级超过 %(n)d 层。") % {"n": too_deep})
        for code, row in rows.items()
        if depth.get(code, 0) > too_deep
    )
    return problems


def rows_check(
    rows: list[ImportRow], *, on_progress: Callable[[int], None] | None = None
) -> tuple[_Tree, dict[str, ImportRow]]:
    """Check every row; raises ImportRejected with every problem found, or returns the tree
    and the rows by code for rows_write."""
    tree = _Tree.read()
    problems: list[ImportProblem] = []
    first_line: dict[str, int] = {}
    for number, row in enumerate(rows, start=1):
        problems.extend(_row_problems(row, tree, first_line))
        if on_progress and number % PROGRESS_EVERY == 0:
            on_progress(number)
    if on_progress:
        on_progress(len(rows))
    if not rows:
        problems.append(ImportProblem(0, "", _("文件中没有数据行。")))
    by_code = {row.code: row for row in rows if first_line.get(row.code) == row.line}
    problems.extend(_parent_problems(by_code, tree))
    if problems:
        raise ImportRejected(problems)
    return tree, by_code


# ---- Writing


def _units_update(units: list[OrgUnit]) -> None:
    """Write the units' names, kinds, managers, parents and paths in one statement."""
    update_many(units, ["name", "kind", "manager", "parent", "path"])


def rows_write(tree: _Tree, rows: dict[str, ImportRow]) -> ImportOutcome:
    """Create the new units and update the existing ones named in `rows`, and give every unit
    whose place changed its new path: a bulk INSERT and one UPDATE, paths computed in memory
    (a new unit's path holds its id, known once inserted)."""
    new_units = [
        OrgUnit(
            code=row.code,
            name=row.name,
            kind=kind_value(row.kind),
            manager_id=tree.manager_by_email.get(row.manager_email.lower()),
            path="",
        )
        for code, row in rows.items()
        if code not in tree.units
    ]
    tenant = current_tenant()
    for unit in new_units:
        unit.tenant = tenant
    OrgUnit.objects.bulk_create(new_units, batch_size=WRITE_BATCH)
    unit_of: dict[str, OrgUnit] = {unit.code: unit for unit in new_units}
    for code, values in tree.units.items():
        unit_of[code] = OrgUnit(
            pk=values["pk"],
            tenant=tenant,
            code=code,
            name=values["name"],
            kind=values["kind"],
            parent_id=values["parent_id"],
            path=values["path"],
            manager_id=values["manager_id"],
        )
    changed: dict[str, OrgUnit] = {unit.code: unit for unit in new_units}
    updated = 0
    for code, row in rows.items():
        unit = unit_of[code]
        kind = kind_value(row.kind)
        manager_id = tree.manager_by_email.get(row.manager_email.lower(), unit.manager_id)
        parent_id = unit_of[row.parent_code].pk if row.parent_code else None
        fields = (row.name, kind, manager_id, parent_id)
        if code in tree.units and fields != (unit.name, unit.kind, unit.manager_id, unit.parent_id):
            unit.name, unit.kind, unit.manager_id, unit.parent_id = fields
            changed[code] = unit
            updated += 1
        unit.parent_id = parent_id
    moved_ids = []
    paths: dict[int, str] = {}
    by_pk = {unit.pk: unit for unit in unit_of.values()}

    def path_of(unit: OrgUnit) -> str:
        chain = []
        while unit.pk not in paths:
            chain.append(unit)
            if unit.parent_id is None:
                break
            unit = by_pk[unit.parent_id]
        for link in reversed(chain):
            parent_path = paths.get(link.parent_id, "") if link.parent_id else ""
            paths[link.pk] = OrgUnit.child_path(parent_path, link.pk)
        return paths[chain[0].pk] if chain else paths[unit.pk]

    for code, unit in unit_of.items():
        path = path_of(unit)
        if path != unit.path:
            if code in tree.units:
                moved_ids.append(unit.pk)
            unit.path = path
            changed[code] = unit
    _units_update(list(changed.values()))
    return ImportOutcome(created=len(new_units), updated=updated, moved_ids=moved_ids)


def org_units_import(*, rows: list[ImportRow], by: Actor, source=None) -> ImportOutcome:
    """Check `rows` and write them in one transaction, or raise ImportRejected and write
    nothing. The check runs under the tree's lock, so an edit made meanwhile cannot slip past
    it (the job checks once before, for its progress and its report). `source` (the job, by
    default the tenant) is what the audit event names."""
    actor_require_permission(by, "org.manage")
    with transaction.atomic():
        tree_lock()
        tree, by_code = rows_check(rows)
        outcome = rows_write(tree, by_code)
        audit_record(
            by=by,
            action="org_unit.import",
            target=source or current_tenant(),
            after={"created": outcome.created, "updated": outcome.updated},
        )
        org_units_moved_announce(outcome.moved_ids)
    return outcome


# ---- The background job


def org_unit_import_start(*, file_name: str, content: bytes, by: AbstractBaseUser) -> OrgUnitImport:
    """Record an upload as a job and hand it to a worker once committed (in-process on the
    embedded default)."""
    from organizations.broker import publish
    from organizations.tasks import run_org_unit_import

    actor_require_permission(by, "org.manage")
    job = OrgUnitImport.objects.create(file_name=file_name[:200], content=content, created_by=by)
    transaction.on_commit(lambda: publish(run_org_unit_import, job.pk))
    return job


def org_unit_imports_requeue(*, older_than: timedelta = timedelta(minutes=1)) -> int:
    """Hand the jobs still queued after `older_than` to the workers again (all tenants): the
    broker was down when they were uploaded, or their task was lost. A job runs once, so a
    job queued twice is harmless. Returns how many were handed over."""
    from organizations.broker import publish
    from organizations.tasks import run_org_unit_import

    with system_context():
        waiting = list(
            OrgUnitImport.all_tenants.filter(
                status=OrgUnitImport.Status.QUEUED, created_at__lte=timezone.now() - older_than
            ).values_list("pk", flat=True)[:100]
        )
    return sum(publish(run_org_unit_import, job_id) for job_id in waiting)


def _job_update(job_id: int, **values) -> None:
    OrgUnitImport.objects.filter(pk=job_id).update(**values)


def org_unit_import_run(*, job_id: int) -> str:
    """Run a queued import job; safe to run twice (a job runs once). Returns its status."""
    with system_context():
        job = OrgUnitImport.all_tenants.select_related("tenant", "created_by").get(pk=job_id)
    with tenant_context(job.tenant):
        started = OrgUnitImport.objects.filter(
            pk=job_id, status=OrgUnitImport.Status.QUEUED
        ).update(status=OrgUnitImport.Status.CHECKING)
        if not started:
            return OrgUnitImport.objects.get(pk=job_id).status
        status, outcome, problems = OrgUnitImport.Status.FAILED, None, []
        try:
            rows = rows_read(bytes(job.content), job.file_name)
            _job_update(job_id, rows_total=len(rows))
            rows_check(rows, on_progress=lambda n: _job_update(job_id, rows_checked=n))
            _job_update(job_id, status=OrgUnitImport.Status.WRITING)
            outcome = org_units_import(rows=rows, by=job.created_by, source=job)
            status = OrgUnitImport.Status.DONE
        except ImportRejected as rejected:
            status, problems = OrgUnitImport.Status.REJECTED, rejected.problems
        except Exception:
            logger.exception("org-unit import %s failed", job_id)
            problems = [ImportProblem(0, "", _("导入失败，未写入任何数据；请稍后重试。"))]
        _job_update(
            job_id,
            status=status,
            problems=[problem.as_dict() for problem in problems],
            units_created=outcome.created if outcome else 0,
            units_updated=outcome.updated if outcome else 0,
            content=b"",
            finished_at=timezone.now(),
        )
        return status
