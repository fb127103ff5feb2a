"""The dashboard over the daily metric rollups against the raw SQL aggregate it replaces, on a
big tenant, side by side in one run.

    python -m bench.dashboard [--rebuild] [--responses 1000000] [--runs 20] [--days 90]

The tenant is bench.journey_map's (HQ > 20 regions > 2,000 branches, 10 journeys x 50
touchpoints, `--responses` scored responses over the last 365 days), built by its builder in
its own database (cem_dashboard_bench, kept between runs: --rebuild makes it anew).

Then for the last `--days` days and the as many before, the whole tenant and one branch,
`--runs` times each:
  raw   what the dashboard needs, aggregated from the responses and their scores: the KPIs
        of both periods per touchpoint (responses, NPS answers, promoters, detractors, CSAT
        and CES answers and sums), the same per week of the current period, and per child
        unit of the unit shown (through the org-unit path prefix)
  page  the dashboard page (GET ?days=N[&unit=...]) through Django's test Client as the
        tenant's cx_manager: its server time and SQL queries, drawn (as the first viewer
        after a scoring batch or a change gets it) and kept (as every later viewer of the
        same view gets it until then: analytics/kept_pages.py)
  floor the cheapest page a signed-in member gets (the password change form), for scale
printing ms p50/p95, the queries of one read, and the ratio raw/page.
"""

from __future__ import annotations

import argparse
import os
import time
from datetime import timedelta
from typing import Any

from bench.http_submit import (
    POSTGRES_URL,
    database_fresh,
    django_migrate,
    django_start,
    percentile_ms,
    redis_flush,
)
from bench.journey_map import (
    BENCH_REDIS_URL,
    Place,
    _midnight,
    _restart_fresh,
    database_exists,
    maps_stale,
    measure,
    place_find,
    sql,
    table_sizes,
    tenant_build,
)

BENCH_DB = "cem_dashboard_bench"

_SUMS = """
    count(*), count(s.nps), count(*) FILTER (WHERE s.nps_category = 'promoter'),
    count(*) FILTER (WHERE s.nps_category = 'detractor'),
    count(s.csat), COALESCE(sum(s.csat), 0), count(s.ces), COALESCE(sum(s.ces), 0)
"""
_FROM = """
    FROM surveys_response r
    JOIN analytics_responsescore s ON s.response_id = r.id
    {unit_join}
    WHERE r.tenant_id = %(tenant)s AND r.submitted_at >= %(since)s AND r.submitted_at < %(end)s
"""
UNIT_JOIN = "JOIN cem_orgunit u ON u.id = r.org_unit_id AND u.path LIKE %(prefix)s"
BY_TOUCHPOINT = (
    "SELECT r.touchpoint_id, r.submitted_at >= %(current)s, " + _SUMS + _FROM + " GROUP BY 1, 2"
)
BY_WEEK = (
    "SELECT date_trunc('week', r.submitted_at AT TIME ZONE %(zone)s), "
    + _SUMS
    + _FROM
    + " AND r.submitted_at >= %(current)s GROUP BY 1"
)
BY_CHILD = (
    "SELECT c.id, r.submitted_at >= %(current)s, "
    + _SUMS
    + """
    FROM surveys_response r
    JOIN analytics_responsescore s ON s.response_id = r.id
    JOIN cem_orgunit u ON u.id = r.org_unit_id
    JOIN cem_orgunit c ON c.tenant_id = r.tenant_id AND {children}
      AND u.path LIKE c.path || '%%'
    WHERE r.tenant_id = %(tenant)s AND r.submitted_at >= %(since)s AND r.submitted_at < %(end)s
    GROUP BY 1, 2
"""
)


def raw_read(place: Place, unit: Any | None, days: int) -> int:
    """The dashboard's figures from the responses and their scores: three queries; the rows."""
    from django.utils import timezone

    from analytics.rollups import tenant_zone

    zone = tenant_zone(place.tenant)
    today = timezone.localdate(timezone.now(), zone)
    current = today - timedelta(days=days - 1)
    parameters = {
        "tenant": place.tenant.pk,
        "zone": str(zone),
        "current": _midnight(current, zone),
        "since": _midnight(current - timedelta(days=days), zone),
        "end": _midnight(today + timedelta(days=1), zone),
        "prefix": f"{unit.path}%" if unit is not None else "",
        "unit": unit.pk if unit is not None else None,
    }
    join = UNIT_JOIN if unit is not None else ""
    rows = sql(BY_TOUCHPOINT.format(unit_join=join), parameters)
    rows += sql(BY_WEEK.format(unit_join=join), parameters)
    children = "c.parent_id = %(unit)s" if unit is not None else "c.parent_id IS NULL"
    rows += sql(BY_CHILD.format(children=children), parameters)
    return len(rows)


def page_read(place: Place, unit: Any | None, days: int):
    from django.test import Client
    from django.urls import reverse

    path = reverse("dashboard", kwargs={"tenant_slug": place.tenant.slug}) + f"?days={days}"
    if unit is not None:
        path += f"&unit={unit.pk}"
    client = Client()
    client.force_login(place.manager)

    def get() -> Any:
        reply = client.get(path)
        if reply.status_code != 200:
            raise RuntimeError(f"GET {path}: HTTP {reply.status_code}")
        return reply

    return get


def floor_read(place: Place):
    """The cheapest page a signed-in member gets (the password change form: no figures), the
    floor under any dashboard: sessions, middleware and the header."""
    from django.test import Client
    from django.urls import reverse

    client = Client()
    client.force_login(place.manager)
    path = reverse("password_change")

    def get() -> Any:
        reply = client.get(path)
        if reply.status_code != 200:
            raise RuntimeError(f"GET {path}: HTTP {reply.status_code}")
        return reply

    return get


def a_branch(place: Place) -> Any:
    from organizations.models import OrgUnit
    from organizations.tenancy import tenant_context

    with tenant_context(place.tenant):
        return OrgUnit.objects.filter(parent=place.region).order_by("pk").first()


def compare(place: Place, runs: int, days: int) -> None:
    branch = a_branch(place)
    print(
        f"window=last {days} days + previous {days} runs={runs} "
        f"loadavg_1m={os.getloadavg()[0]:.2f}",
        flush=True,
    )
    for scope, unit in (("tenant", None), (f"branch {branch.code}", branch)):
        raw_timing, _rows = measure(lambda unit=unit: raw_read(place, unit, days), runs)
        page = page_read(place, unit, days)
        # Drawn: the page as its first viewer after a scoring batch or a change gets it (the
        # tenant's kept pages marked stale, untimed, before each request). Kept: as every later
        # viewer of the same view gets it until the next change (analytics/kept_pages.py).
        drawn, _reply = measure(page, runs, before=lambda: maps_stale(place.tenant.pk))
        kept, _reply = measure(page, runs)
        raw_p50 = percentile_ms(raw_timing.latencies, 50)
        print(
            f"{scope:<12} raw SQL aggregate: {raw_timing.cells()} | dashboard drawn: "
            f"{drawn.cells()} raw/page p50={raw_p50 / percentile_ms(drawn.latencies, 50):.1f}x "
            f"| dashboard kept: {kept.cells()} "
            f"raw/page p50={raw_p50 / percentile_ms(kept.latencies, 50):.1f}x",
            flush=True,
        )
    floor, _reply = measure(floor_read(place), runs)
    print(f"floor        signed-in page without figures: {floor.cells()}", flush=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    print(f"machine cores={os.cpu_count()} loadavg_1m={os.getloadavg()[0]:.2f}", flush=True)
    fresh = args.rebuild or not database_exists(args.database)
    if fresh:
        database_fresh(args.database)
    redis_flush(BENCH_REDIS_URL)
    django_start(f"{POSTGRES_URL}/{args.database}", BENCH_REDIS_URL)
    django_migrate()
    place = place_find()
    if place is None:
        if not fresh:  # a build that was interrupted: start again from empty
            _restart_fresh(args.database)
        started = time.perf_counter()
        tenant_build(args)
        print(f"build total seconds={time.perf_counter() - started:.1f}", flush=True)
        place = place_find()
    else:
        print(
            f"build reused (tenant {place.tenant.slug} with "
            f"{place.tenant.settings['journey_map_bench']}); --rebuild to make it anew",
            flush=True,
        )
    print(table_sizes(), flush=True)
    compare(place, args.runs, args.days)
    return 0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.dashboard", description=__doc__)
    parser.add_argument("--rebuild", action="store_true", help="build the tenant anew")
    parser.add_argument("--responses", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=20, help="measured reads per case")
    parser.add_argument("--days", type=int, choices=(7, 30, 90), default=90)
    parser.add_argument("--rollups", choices=("sql", "service"), default="sql")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--database", default=BENCH_DB)
    return parser.parse_args(argv)


if __name__ == "__main__":
    raise SystemExit(main())
