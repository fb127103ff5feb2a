"""The journey map's read over the daily metric rollups against the raw SQL aggregate it replaces,
on a big tenant, side by side in one run.

    python -m bench.journey_map [--rebuild] [--responses 1000000] [--runs 20] [--rollups sql]

The tenant (database cem_journey_bench, kept between runs: --rebuild makes it anew) has HQ > 20
regions > 2,000 branches, 10 journeys x 5 stages x 10 touchpoints and `--responses` scored
responses spread evenly over the last 365 days, each at a random touchpoint and branch, NPS
skewed like a bank's, CSAT that agrees with it, 40 % with a text whose analysis comes from a
pool analysed once. Responses and scores are written in bulk SQL (generate_series), then the
metric rollups (MetricDaily): `--rollups sql` with one INSERT ... SELECT of the aggregate
bench.rollup_check compares scoring's rollups with, `--rollups service` with
analytics.services.metric_rollups_rebuild() (the service, slow at a million). Each step is
timed.

Then, for one journey (its 50 touchpoints), the last 30 days and the 30 before, the whole
tenant and one region (a twentieth of the branches), `--runs` times each:
  raw      the SQL aggregate the map needs, over the responses and their scores: per
           touchpoint responses, NPS answers, promoters, detractors, CSAT answers and sum,
           negative texts; the region through the org-unit path prefix
  drawn    the journey map page (journey_detail) through Django's test Client as a
           cx_manager, drawn anew from the rollups: the tenant's drawn maps are marked stale
           (untimed) before each request, as a scoring batch or a change marks them
  kept     the same page as later viewers get it until the next change, from the cache
           (analytics/kept_pages.py)
printing ms p50/p95, the SQL queries of one read, the ratios raw/page, and whether the
rollups (analytics.selectors.metric_totals) give the raw aggregate's numbers.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bench.http_submit import (
    POSTGRES_URL,
    _admin_execute,
    database_fresh,
    django_migrate,
    django_start,
    percentile_ms,
    redis_flush,
)
from bench.scoring_worker import question_keys, verbatim

BENCH_DB = "cem_journey_bench"
BENCH_REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/11")
SLUG = "jmap"
JOURNEYS, STAGES, TOUCHPOINTS_PER_STAGE = 10, 5, 10
REGIONS, BRANCHES = 20, 2000
DAYS = 365
TEXT_SHARE = 0.4
POOL_PER_BAND = 100  # texts per NPS band (detractor, passive, promoter) analysed once
CHUNK = 100_000  # responses per INSERT ... SELECT
NPS_WEIGHTS = [2, 1, 1, 2, 2, 4, 6, 10, 14, 14, 12]
WINDOW_DAYS = 30


def database_exists(name: str) -> bool:
    import psycopg2

    connection = psycopg2.connect(f"{POSTGRES_URL}/postgres")
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
            return cursor.fetchone() is not None
    finally:
        connection.close()


def timed(label: str, action: Callable[[], Any]) -> Any:
    started = time.perf_counter()
    result = action()
    print(f"build {label} seconds={time.perf_counter() - started:.1f}", flush=True)
    return result


def sql(statement: str, params: list | dict | None = None) -> list[tuple]:
    """Run one statement across tenants (past row-level security); its rows, if any."""
    from django.db import connection

    from organizations.tenancy import system_context

    with system_context(), connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.fetchall() if cursor.description else []


@dataclass(frozen=True)
class Place:
    tenant: Any
    manager: Any
    journey: Any  # the one whose map is read
    journey_touchpoint_ids: list[int]
    region: Any


def tree_build(world: Any) -> list[int]:
    """REGIONS regions under HQ, BRANCHES branches spread over them; the branch ids."""
    from organizations.models import OrgUnit
    from organizations.services import org_unit_create
    from organizations.tenancy import tenant_context

    with tenant_context(world.tenant):
        regions = [
            org_unit_create(
                name=f"区域{number:02d}",
                code=f"R{number:02d}",
                kind=OrgUnit.Kind.REGION,
                parent=world.hq,
            )
            for number in range(REGIONS)
        ]
        OrgUnit.objects.bulk_create(
            OrgUnit(
                tenant=world.tenant,
                name=f"支行{number:04d}",
                code=f"B{number:04d}",
                kind=OrgUnit.Kind.BRANCH,
                parent=regions[number % REGIONS],
            )
            for number in range(BRANCHES)
        )
    sql(
        "UPDATE cem_orgunit c SET path = p.path || lpad(c.id::text, 8, '0') || '/' "
        "FROM cem_orgunit p WHERE c.parent_id = p.id AND c.tenant_id = %s AND c.path = ''",
        [world.tenant.pk],
    )
    with tenant_context(world.tenant):
        return list(
            OrgUnit.objects.filter(code__startswith="B", kind=OrgUnit.Kind.BRANCH)
            .order_by("pk")
            .values_list("pk", flat=True)
        )


def journeys_build(world: Any) -> list[int]:
    """JOURNEYS journeys of STAGES stages of TOUCHPOINTS_PER_STAGE touchpoints; their ids."""
    from journeys.models import Channel, Journey, Stage, Touchpoint
    from organizations.tenancy import tenant_context

    channels = list(Channel.values)
    with tenant_context(world.tenant):
        journeys = Journey.objects.bulk_create(
            Journey(tenant=world.tenant, name=f"旅程{number:02d}") for number in range(JOURNEYS)
        )
        stages = Stage.objects.bulk_create(
            Stage(tenant=world.tenant, journey=journey, name=f"阶段{position}", position=position)
            for journey in journeys
            for position in range(1, STAGES + 1)
        )
        touchpoints = Touchpoint.objects.bulk_create(
            Touchpoint(
                tenant=world.tenant,
                stage=stage,
                name=f"触点{stage.journey_id}-{stage.position}-{number}",
                code=f"jm-{stage.pk}-{number}",
                channel=channels[number % len(channels)],
            )
            for stage in stages
            for number in range(TOUCHPOINTS_PER_STAGE)
        )
    return [touchpoint.pk for touchpoint in touchpoints]


def text_pool_load(world: Any, rng: random.Random) -> None:
    """A temporary table of texts per NPS band with their analyses by the tenant's dictionary."""
    import json

    from analytics.selectors import text_dictionary
    from analytics.text import text_analyze
    from organizations.tenancy import tenant_context

    rows = []
    with tenant_context(world.tenant):
        dictionary = text_dictionary()
        seen: set[str] = set()
        for band, nps in enumerate((3, 8, 10)):
            for slot in range(POOL_PER_BAND):
                text = verbatim(rng, nps)
                while text in seen:  # scores find their text's analysis by the text
                    text = verbatim(rng, nps)
                seen.add(text)
                analysis = text_analyze(text, dictionary=dictionary)
                rows.append(
                    (
                        band * POOL_PER_BAND + slot,
                        text,
                        analysis.sentiment_label,
                        analysis.sentiment_score,
                        json.dumps(analysis.keywords, ensure_ascii=False),
                        json.dumps(analysis.aspects, ensure_ascii=False),
                        json.dumps(analysis.risk_flags, ensure_ascii=False),
                        json.dumps(analysis.topics, ensure_ascii=False),
                        json.dumps(analysis.relations, ensure_ascii=False),
                    )
                )
    sql(
        "CREATE TEMPORARY TABLE bench_text (slot int PRIMARY KEY, text text, label text, "
        "score float, keywords jsonb, aspects jsonb, risk_flags jsonb, topics jsonb, "
        "relations jsonb)"
    )
    values = ", ".join(["(%s, %s, %s, %s, %s, %s, %s, %s, %s)"] * len(rows))
    sql(f"INSERT INTO bench_text VALUES {values}", [value for row in rows for value in row])


def responses_insert(
    world: Any, template_id: int, touchpoints: list[int], branches: list[int], count: int, seed: int
) -> None:
    """`count` complete responses copied from the template row with a random touchpoint,
    branch, time in the last DAYS days and answers; CHUNK per statement."""
    from surveys.models import Response

    keys = question_keys(world.survey.live_version.definition)
    nps_values = [nps for nps, weight in enumerate(NPS_WEIGHTS) for _ in range(weight)]
    fields = [field for field in Response._meta.concrete_fields if not field.primary_key]
    drawn = {
        "touchpoint_id": "g.touchpoint_id",
        "org_unit_id": "g.org_unit_id",
        "submitted_at": "g.at",
        "received_at": "g.at",
        "answers": (
            "jsonb_build_object(%(nps_key)s, g.nps, %(csat_key)s, "
            "greatest(1, least(5, round(g.nps / 2.5)::int + g.jitter))) || "
            "CASE WHEN g.text_slot IS NULL THEN '{}'::jsonb "
            "ELSE jsonb_build_object(%(text_key)s, t.text) END"
        ),
    }
    columns = ", ".join(field.column for field in fields)
    chosen = ", ".join(drawn.get(field.column, f"template.{field.column}") for field in fields)
    sql("SELECT setseed(%s)", [(seed % 1000) / 1000])
    for first in range(0, count, CHUNK):
        size = min(CHUNK, count - first)
        sql(
            f"""
            INSERT INTO surveys_response ({columns})
            SELECT {chosen}
            FROM (
                SELECT (%(touchpoints)s::bigint[])[1 + floor(random() * %(n_touchpoints)s)::int]
                           AS touchpoint_id,
                       (%(branches)s::bigint[])[1 + floor(random() * %(n_branches)s)::int]
                           AS org_unit_id,
                       now() - random() * interval '{DAYS} days' AS at,
                       nps, floor(random() * 3)::int - 1 AS jitter,
                       CASE WHEN random() < %(text_share)s
                            THEN (CASE WHEN nps <= 6 THEN 0 WHEN nps <= 8 THEN 1 ELSE 2 END)
                                 * %(per_band)s + floor(random() * %(per_band)s)::int
                       END AS text_slot
                FROM (
                    SELECT (%(nps_values)s::int[])[1 + floor(random() * %(n_nps)s)::int] AS nps
                    FROM generate_series(1, %(size)s)
                ) drawn
            ) g
            LEFT JOIN bench_text t ON t.slot = g.text_slot
            CROSS JOIN (SELECT * FROM surveys_response WHERE id = %(template)s) template
            """,
            {
                "touchpoints": touchpoints,
                "n_touchpoints": len(touchpoints),
                "branches": branches,
                "n_branches": len(branches),
                "text_share": TEXT_SHARE,
                "per_band": POOL_PER_BAND,
                "nps_values": nps_values,
                "n_nps": len(nps_values),
                "size": size,
                "template": template_id,
                "nps_key": keys["nps"],
                "csat_key": keys["csat"],
                "text_key": keys["text"],
            },
        )


def scores_insert(world: Any, template_id: int, model_version: str) -> None:
    """A score per bench response, its text's analysis taken from the pool."""
    keys = question_keys(world.survey.live_version.definition)
    sql(
        """
        INSERT INTO analytics_responsescore (tenant_id, response_id, nps, nps_category, csat,
            ces, verbatim, sentiment_label, sentiment_score, keywords, aspects, risk_flags,
            topics, relations, model_version, scored_at)
        SELECT r.tenant_id, r.id, (r.answers ->> %(nps)s)::int,
               CASE WHEN (r.answers ->> %(nps)s)::int >= 9 THEN 'promoter'
                    WHEN (r.answers ->> %(nps)s)::int >= 7 THEN 'passive'
                    ELSE 'detractor' END,
               (r.answers ->> %(csat)s)::int, NULL, COALESCE(t.text, ''), COALESCE(t.label, ''),
               t.score, COALESCE(t.keywords, '[]'), COALESCE(t.aspects, '[]'),
               COALESCE(t.risk_flags, '[]'), COALESCE(t.topics, '[]'),
               COALESCE(t.relations, '[]'), %(version)s,
               r.submitted_at
        FROM surveys_response r LEFT JOIN bench_text t ON t.text = r.answers ->> %(text)s
        WHERE r.tenant_id = %(tenant)s AND r.id > %(template)s
        """,
        {
            "nps": keys["nps"],
            "csat": keys["csat"],
            "text": keys["text"],
            "version": model_version,
            "tenant": world.tenant.pk,
            "template": template_id,
        },
    )


def rollups_build(world: Any, how: str) -> None:
    from analytics.services import metric_rollups_rebuild
    from bench.rollup_check import METRIC_RAW
    from organizations.tenancy import tenant_context

    if how == "service":
        with tenant_context(world.tenant):
            metric_rollups_rebuild()
        return
    from organizations.db.guard import owner_session

    # Millions of rows: indexes built once afterwards cost a fraction of keeping them per row.
    with owner_session():
        constraints = sql(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = 'analytics_metricdaily'::regclass AND contype = 'u'"
        )
        indexes = sql(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'analytics_metricdaily' "
            "AND indexname <> 'analytics_metricdaily_pkey' AND NOT indexname = ANY(%s)",
            [[name for name, _definition in constraints]],
        )
        for name, _definition in constraints:
            sql(f'ALTER TABLE analytics_metricdaily DROP CONSTRAINT "{name}"')
        for name, _definition in indexes:
            sql(f'DROP INDEX "{name}"')
        sql("SET work_mem = '256MB'; SET maintenance_work_mem = '512MB'")
        sql("DELETE FROM analytics_metricdaily WHERE tenant_id = %s", [world.tenant.pk])
        sql(
            "INSERT INTO analytics_metricdaily (tenant_id, day, touchpoint_id, org_unit_id, "
            f"metric, key, n, total, good, bad) SELECT * FROM ({METRIC_RAW}) raw "
            "WHERE tenant_id = %s",
            [world.tenant.pk],
        )
        for _name, definition in indexes:
            sql(definition)
        for name, definition in constraints:
            sql(f'ALTER TABLE analytics_metricdaily ADD CONSTRAINT "{name}" {definition}')
        sql("RESET work_mem; RESET maintenance_work_mem")


def tenant_build(args: argparse.Namespace) -> None:
    from django.db import connection

    from analytics.selectors import text_dictionary
    from analytics.text import analyzer_version
    from organizations.tenancy import tenant_context
    from surveys.models import Response
    from tests.factories import build_world

    rng = random.Random(args.seed)
    world = timed("tenant", lambda: build_world(SLUG))
    branches = timed("org_units", lambda: tree_build(world))
    touchpoints = timed("journeys", lambda: journeys_build(world))
    timed("text_pool", lambda: text_pool_load(world, rng))
    with tenant_context(world.tenant):
        template = Response.objects.create(
            survey=world.survey,
            version=world.survey.live_version,
            answers={},
            status=Response.Status.COMPLETE,
            source=Response.Source.IMPORT,
        )
        model_version = analyzer_version(text_dictionary())
    timed(
        f"responses n={args.responses}",
        lambda: responses_insert(
            world, template.pk, touchpoints, branches, args.responses, args.seed
        ),
    )
    timed("scores", lambda: scores_insert(world, template.pk, model_version))
    sql("DELETE FROM surveys_response WHERE id = %s", [template.pk])
    timed(f"metric_rollups via {args.rollups}", lambda: rollups_build(world, args.rollups))
    timed("vacuum_analyze", lambda: _vacuum(connection))
    world.tenant.settings["journey_map_bench"] = {"responses": args.responses}
    world.tenant.save(update_fields=["settings"])


def _vacuum(connection) -> None:
    """Statistics for the planner, and the visibility map the rollups' index-only scan needs;
    as the tables' owner (the app role may not vacuum them)."""
    from organizations.db.guard import owner_session

    with owner_session(), connection.cursor() as cursor:
        for table in ("surveys_response", "analytics_responsescore", "analytics_metricdaily"):
            cursor.execute(f"VACUUM ANALYZE {table}")


def place_find() -> Place | None:
    from journeys.models import Journey, Touchpoint
    from organizations.models import Membership, OrgUnit, Role, Tenant
    from organizations.tenancy import system_context, tenant_context

    with system_context():
        tenant = Tenant.objects.filter(slug=SLUG).first()
        if tenant is None or "journey_map_bench" not in tenant.settings:
            return None
        manager = (
            Membership.all_tenants.filter(tenant=tenant, role=Role.CX_MANAGER)
            .select_related("user")
            .first()
            .user
        )
    with tenant_context(tenant):
        journey = Journey.objects.filter(name__startswith="旅程").order_by("pk").first()
        touchpoint_ids = list(
            Touchpoint.objects.filter(stage__journey=journey).values_list("pk", flat=True)
        )
        region = OrgUnit.objects.get(code="R00")
    return Place(tenant, manager, journey, touchpoint_ids, region)


def windows(zone: ZoneInfo) -> tuple[tuple[date, date], tuple[date, date]]:
    """The last WINDOW_DAYS days (today included) and the WINDOW_DAYS before, tenant days."""
    from django.utils import timezone

    today = timezone.localdate(timezone.now(), zone)
    current = (today - timedelta(days=WINDOW_DAYS - 1), today)
    previous = (current[0] - timedelta(days=WINDOW_DAYS), current[0] - timedelta(days=1))
    return current, previous


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, datetime.min.time(), tzinfo=zone)


RAW_AGGREGATE = """
    SELECT r.touchpoint_id, r.submitted_at >= %(current)s AS current,
           count(*), count(s.nps), count(*) FILTER (WHERE s.nps_category = 'promoter'),
           count(*) FILTER (WHERE s.nps_category = 'detractor'),
           count(s.csat), COALESCE(sum(s.csat), 0),
           count(*) FILTER (WHERE s.verbatim <> '' AND s.sentiment_label = 'negative')
    FROM surveys_response r
    JOIN analytics_responsescore s ON s.response_id = r.id
    {unit_join}
    WHERE r.tenant_id = %(tenant)s AND r.submitted_at >= %(start)s AND r.submitted_at < %(end)s
      AND r.touchpoint_id = ANY(%(touchpoints)s)
    GROUP BY 1, 2
"""
UNIT_JOIN = "JOIN cem_orgunit u ON u.id = r.org_unit_id AND u.path LIKE %(prefix)s"
# Each cell also names its top negative aspect in the period: counted from the scores' aspects.
RAW_ASPECTS = """
    SELECT r.touchpoint_id, a ->> 'aspect', count(*)
    FROM surveys_response r
    JOIN analytics_responsescore s ON s.response_id = r.id
    CROSS JOIN LATERAL jsonb_array_elements(s.aspects) a
    {unit_join}
    WHERE r.tenant_id = %(tenant)s AND r.submitted_at >= %(current)s AND r.submitted_at < %(end)s
      AND r.touchpoint_id = ANY(%(touchpoints)s) AND a ->> 'polarity' = 'negative'
    GROUP BY 1, 2
"""

Figures = dict[tuple[int, bool], tuple[int, int, int, int, int, float, int]]


def raw_read(place: Place, unit: Any | None) -> Figures:
    """The map's figures straight from the responses and their scores: the metrics of both
    periods in one query, the negative aspects of the current one in another."""
    from analytics.rollups import tenant_zone

    zone = tenant_zone(place.tenant)
    current, previous = windows(zone)
    join = UNIT_JOIN if unit is not None else ""
    parameters = {
        "current": _midnight(current[0], zone),
        "start": _midnight(previous[0], zone),
        "end": _midnight(current[1] + timedelta(days=1), zone),
        "tenant": place.tenant.pk,
        "touchpoints": place.journey_touchpoint_ids,
        "prefix": f"{unit.path}%" if unit is not None else "",
    }
    rows = sql(RAW_AGGREGATE.format(unit_join=join), parameters)
    sql(RAW_ASPECTS.format(unit_join=join), parameters)
    return {(row[0], row[1]): tuple(row[2:]) for row in rows}


def rollup_read(place: Place, unit: Any | None) -> Figures:
    """The same figures from analytics.selectors.metric_totals, one call per window."""
    from analytics.models import Metric
    from analytics.rollups import tenant_zone
    from analytics.selectors import metric_totals
    from organizations.tenancy import tenant_context

    current, previous = windows(tenant_zone(place.tenant))
    figures: Figures = {}
    with tenant_context(place.tenant):
        for is_current, (start, end) in ((True, current), (False, previous)):
            totals = metric_totals(
                org_unit_id=unit.pk if unit is not None else 0,
                start=start,
                end=end,
                touchpoint_ids=place.journey_touchpoint_ids,
            )
            for touchpoint_id in place.journey_touchpoint_ids:
                responses = totals.get((touchpoint_id, Metric.RESPONSES, ""))
                if responses is None:
                    continue
                nps = totals.get((touchpoint_id, Metric.NPS, ""))
                csat = totals.get((touchpoint_id, Metric.CSAT, ""))
                text = totals.get((touchpoint_id, Metric.TEXT, ""))
                figures[(touchpoint_id, is_current)] = (
                    responses.n,
                    nps.n if nps else 0,
                    nps.good if nps else 0,
                    nps.bad if nps else 0,
                    csat.n if csat else 0,
                    csat.total if csat else 0,
                    text.bad if text else 0,
                )
    return figures


def page_read(place: Place, unit: Any | None) -> Callable[[], Any]:
    """A GET of the journey map page as the tenant's cx_manager."""
    from django.test import Client
    from django.urls import reverse

    from analytics.rollups import tenant_zone

    current, _previous = windows(tenant_zone(place.tenant))
    path = reverse(
        "journey_detail",
        kwargs={"tenant_slug": place.tenant.slug, "journey_id": place.journey.pk},
    )
    query = f"?start={current[0].isoformat()}&end={current[1].isoformat()}"
    if unit is not None:
        query += f"&unit={unit.pk}"
    client = Client()
    client.force_login(place.manager)

    def get() -> Any:
        reply = client.get(path + query)
        if reply.status_code != 200:
            raise RuntimeError(f"GET {path}{query}: HTTP {reply.status_code}")
        return reply

    return get


@dataclass
class Timing:
    latencies: list[float]
    queries: int

    def cells(self) -> str:
        return (
            f"p50_ms={percentile_ms(self.latencies, 50):.1f} "
            f"p95_ms={percentile_ms(self.latencies, 95):.1f} queries={self.queries}"
        )


def measure(
    read: Callable[[], Any], runs: int, *, before: Callable[[], Any] | None = None
) -> tuple[Timing, Any]:
    """`runs` timed calls of `read` after an untimed one that counts its queries; `before`,
    when given, runs untimed ahead of each call."""
    from django.db import connection

    statements = []

    def count(execute, sql, params, many, context):
        statements.append(sql)
        return execute(sql, params, many, context)

    # A wrapper, not connection.queries: a request through the test Client resets that log.
    if before is not None:
        before()
    with connection.execute_wrapper(count):
        result = read()  # unmeasured: warms caches and counts the queries
    latencies = []
    for _ in range(runs):
        if before is not None:
            before()
        started = time.perf_counter()
        read()
        latencies.append(time.perf_counter() - started)
    return Timing(latencies, len(statements)), result


def same(raw: Figures, rolled: Figures) -> bool:
    if raw.keys() != rolled.keys():
        return False
    return all(
        all(abs(float(a) - float(b)) < 1e-6 for a, b in zip(raw[key], rolled[key], strict=True))
        for key in raw
    )


def compare(place: Place, runs: int) -> None:

    print(
        f"journey={place.journey.name} touchpoints={len(place.journey_touchpoint_ids)} "
        f"windows=last {WINDOW_DAYS} days + previous {WINDOW_DAYS} runs={runs} "
        f"loadavg_1m={os.getloadavg()[0]:.2f}",
        flush=True,
    )
    for scope, unit in (("tenant", None), (f"region {place.region.code}", place.region)):
        raw_timing, raw = measure(lambda unit=unit: raw_read(place, unit), runs)
        same_numbers = "yes" if same(raw, rollup_read(place, unit)) else "NO"
        page = page_read(place, unit)
        # Drawn: the page as its first viewer after a scoring batch or a change gets it (the
        # tenant's drawn maps marked stale, untimed, before each request). Kept: as every
        # later viewer gets it until the next change (analytics/kept_pages.py).
        drawn, _reply = measure(page, runs, before=lambda: maps_stale(place.tenant.pk))
        kept, _reply = measure(page, runs)
        raw_p50 = percentile_ms(raw_timing.latencies, 50)
        print(
            f"{scope:<12} raw SQL aggregate: {raw_timing.cells()} | map page drawn: "
            f"{drawn.cells()} raw/page p50={raw_p50 / percentile_ms(drawn.latencies, 50):.1f}x "
            f"| map page kept: {kept.cells()} "
            f"raw/page p50={raw_p50 / percentile_ms(kept.latencies, 50):.1f}x "
            f"| rollups_equal_raw={same_numbers}",
            flush=True,
        )


def maps_stale(tenant_id: int) -> None:
    from analytics.kept_pages import kept_pages_stale

    kept_pages_stale(tenant_id)


def table_sizes() -> str:
    rows = sql(
        "SELECT relname, n_live_tup, pg_total_relation_size(relid) FROM pg_stat_user_tables "
        "WHERE relname IN ('surveys_response', 'analytics_responsescore', "
        "'analytics_metricdaily') ORDER BY relname"
    )
    return "tables " + " ".join(
        f"{name}={count}rows/{size / 2**20:.0f}MB" for name, count, size in rows
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    print(f"machine cores={os.cpu_count()} loadavg_1m={os.getloadavg()[0]:.2f}", flush=True)
    fresh = args.rebuild or not database_exists(args.database)
    if fresh:
        database_fresh(args.database)
    url = f"{POSTGRES_URL}/{args.database}"
    redis_flush(BENCH_REDIS_URL)
    django_start(url, BENCH_REDIS_URL)
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
            f"build reused (tenant {SLUG} with {place.tenant.settings['journey_map_bench']}); "
            "--rebuild to make it anew",
            flush=True,
        )
    print(table_sizes(), flush=True)
    compare(place, args.runs)
    return 0


def _restart_fresh(name: str) -> None:
    from django.db import connections

    connections.close_all()
    _admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    _admin_execute(f'CREATE DATABASE "{name}"')
    django_migrate()


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.journey_map", description=__doc__)
    parser.add_argument("--rebuild", action="store_true", help="build the tenant anew")
    parser.add_argument("--responses", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=20, help="measured reads per case")
    parser.add_argument("--rollups", choices=("sql", "service"), default="sql")
    parser.add_argument("--database", default=BENCH_DB)
    parser.add_argument("--seed", type=int, default=2024)
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(main())
