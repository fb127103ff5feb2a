"""What importing an org-unit tree from an .xlsx file costs, in one process on PostgreSQL.

On a fresh database with one tenant, a generated workbook of --rows rows (regions, then
branches and teams in shuffled order, so many rows name a parent defined further down) is:
  read      parsed with openpyxl (read-only mode) into rows
  check     every row checked against the file and the tree (the job's progress pass)
  import    checked again under the tree's lock and written: one transaction, bulk
            INSERT and UPDATEs, paths computed in memory (with its statement count)
  reimport  the same file once more: every code exists, nothing changes
The target (issue 10): 5,000 rows in under 30 s.
"""

from __future__ import annotations

import argparse
import io
import random
import sys
import time

from bench.http_submit import django_migrate, django_start, on_fresh_database

BENCH_DB = "cem_bench_org_import"
BENCH_REDIS_URL = "redis://127.0.0.1:6379/12"


def workbook_bytes(rows: int, seed: int = 7) -> bytes:
    """A header and `rows` units: 1 in 100 a region under HQ, then branches under regions and
    teams under branches, shuffled so parents often come later in the file."""
    import openpyxl

    generator = random.Random(seed)
    regions = [f"R{n:03d}" for n in range(max(1, rows // 100))]
    units = [(code, f"区域{code}", "region", "HQ") for code in regions]
    branches: list[str] = []
    while len(units) < rows:
        if branches and generator.random() < 0.2:
            parent = generator.choice(branches)
            units.append((f"T{len(units):06d}", f"团队{len(units)}", "team", parent))
        else:
            code = f"B{len(units):06d}"
            branches.append(code)
            units.append((code, f"支行{len(units)}", "branch", generator.choice(regions)))
    generator.shuffle(units)
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet()
    sheet.append(["code", "name", "kind", "parent_code"])
    for unit in units:
        sheet.append(list(unit))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def timed(action):
    before = time.perf_counter()
    result = action()
    return result, time.perf_counter() - before


def bench_run(args: argparse.Namespace, database_url: str) -> None:
    django_start(database_url, args.redis_url)
    django_migrate()
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from organizations.models import OrgUnit
    from organizations.org_unit_import import org_units_import, rows_check, rows_read
    from organizations.services import tenant_create
    from organizations.tenancy import tenant_context

    owner = get_user_model().objects.create_user(username="bench-owner")
    tenant = tenant_create(slug="bench", name="基准银行", owner=owner)
    content, built = timed(lambda: workbook_bytes(args.rows))
    print(f"workbook      rows={args.rows} bytes={len(content)} built_s={built:.2f}", flush=True)
    with tenant_context(tenant):
        rows, read_s = timed(lambda: rows_read(content, "bench.xlsx"))
        _, check_s = timed(lambda: rows_check(rows))
        with CaptureQueriesContext(connection) as queries:
            outcome, import_s = timed(lambda: org_units_import(rows=rows, by=owner))
        units = OrgUnit.objects.count()
        again, reimport_s = timed(lambda: org_units_import(rows=rows, by=owner))
    total = read_s + check_s + import_s
    print(f"read          s={read_s:.2f}", flush=True)
    print(f"check         s={check_s:.2f}", flush=True)
    print(
        f"import        s={import_s:.2f} created={outcome.created} statements={len(queries)}",
        flush=True,
    )
    print(f"reimport      s={reimport_s:.2f} updated={again.updated}", flush=True)
    print(
        f"total         s={total:.2f} rows_per_s={args.rows / total:.0f} units={units} "
        f"target_s=30 {'ok' if total < 30 else 'SLOW'}",
        flush=True,
    )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5000, help="units in the workbook")
    parser.add_argument("--database", default=BENCH_DB, help="database created and dropped")
    parser.add_argument("--redis-url", default=BENCH_REDIS_URL, help="flushed before and after")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return on_fresh_database(args.database, args.redis_url, lambda url: bench_run(args, url))


if __name__ == "__main__":
    sys.exit(main())
