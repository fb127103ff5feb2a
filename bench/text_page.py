"""Server time of the text analytics page over a tenant with many scored texts, in one process.

    python -m bench.text_page [--texts 200000] [--requests 10] [--seed 2024] [--database NAME]

A fresh PostgreSQL database (dropped at the end) gets one tenant: HQ > 3 regions > 12 branches,
3 journeys with 10 touchpoints, a topic taxonomy, and `--texts` scored responses spread evenly
over the last 180 days, each at a random touchpoint and branch (some at none). The scores are
bulk-created, not made by the scoring service (hours at this size): their analyses come from
a pool of texts analysed once with the tenant's dictionary, half bank feedback like the demo's
and half real e-commerce reviews (../shared/data/sentiment/online_shopping_test.csv), which
give the keywords a long tail; a few carry a risk phrase (银保监会, 曝光, 起诉, 销户). The text
rollups and mentions are then rebuilt from the scores, timed (what a backfill takes), checked
against an aggregate of the raw scores (bench.rollup_check), the tables vacuumed and their
sizes printed, and the themes found as the worker finds them
(services.text_themes_discover, timed).

Then Django's test Client (the whole stack without HTTP) requests, one at a time, after one
unmeasured request:
  page_30d, page_90d      /t/<slug>/text-analytics/?days=30 (90) as the tenant-wide manager
  page_90d_drill          the same, drilled down to 等待时间 negative
  page_90d_region         days=90 as a viewer scoped to one region (a quarter of the texts)
printing ms p50/p95/max, the SQL queries of one request, and first_ms: the unmeasured first
request. The page's worker-side memory is measured by bench.web_rss.
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import resource
import sys
import time
import warnings
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from bench import SENTIMENT_DATA
from bench.http_submit import (
    django_migrate,
    django_start,
    on_fresh_database,
    percentile_ms,
)
from bench.rollup_check import rollups_check
from bench.scoring_worker import question_keys, verbatim

BENCH_DB = "cem_bench_textpage"
# The page caches discovered themes here; flushed before and after.
BENCH_REDIS_URL = "redis://127.0.0.1:6379/13"
REVIEWS = SENTIMENT_DATA / "online_shopping_test.csv"
DAYS = 180
POOL_TEXTS = 3000
BATCH = 5000
RISK_PHRASES = ["再不解决就投诉到银保监会。", "我要去微博曝光。", "准备起诉你们。", "我要销户。"]
RISK_SHARE = 0.03
NO_PLACE_SHARE = 0.05  # responses with no touchpoint or org unit (API submissions, imports)
# Besides the taxonomy of bench.scoring_throughput (排队等候, 手机银行, 信用卡, 理财).
MORE_TOPICS = {"手续费": "手续费 收费", "物流": "物流 快递 送货", "质量": "质量 做工 材质"}
JOURNEYS = {
    "开户": ["网点柜台", "大堂引导", "手机银行开户"],
    "贷款": ["在线申请", "审批沟通", "放款"],
    "日常服务": ["客服热线", "手机银行", "ATM", "网上商城"],
}
REGIONS = {
    "长三角区": ["浦东", "西湖", "鼓楼", "徐汇"],
    "华南区": ["天河", "福田", "南山", "越秀"],
    "华北区": ["朝阳", "海淀", "和平", "历下"],
}
DRILL = "aspect=等待时间&polarity=negative"


@dataclass(frozen=True)
class Place:
    tenant_slug: str
    manager: Any
    viewer: Any  # scoped to one region
    touchpoint_ids: list[int | None]
    org_unit_ids: list[int | None]


def place_build() -> tuple[Any, Place]:
    """The tenant, its org tree, journeys and touchpoints, topics, and the two members."""
    from analytics.services import topic_keywords_add
    from bench.scoring_throughput import tenant_dictionary_fill
    from journeys.models import Channel, Journey, Stage, Touchpoint
    from organizations.models import OrgUnit, Role
    from organizations.services import membership_create, org_unit_create
    from organizations.tenancy import tenant_context
    from tests.factories import UserFactory, build_world

    world = build_world("bench")
    tenant_dictionary_fill(world)
    with tenant_context(world.tenant):
        for name, keywords in MORE_TOPICS.items():
            topic_keywords_add(name=name, keywords=keywords, by=world.manager)
        branches, viewer = [], UserFactory(username="bench-region-viewer")
        for number, (region_name, names) in enumerate(REGIONS.items()):
            region = org_unit_create(
                name=region_name, code=f"R{number}", kind=OrgUnit.Kind.REGION, parent=world.hq
            )
            if number == 0:
                membership_create(user=viewer, role=Role.VIEWER, org_unit=region)
            branches += [
                org_unit_create(
                    name=f"{name}支行",
                    code=f"R{number}-B{i}",
                    kind=OrgUnit.Kind.BRANCH,
                    parent=region,
                )
                for i, name in enumerate(names)
            ]
        touchpoints = []
        for journey_name, touchpoint_names in JOURNEYS.items():
            journey = Journey.objects.create(name=journey_name)
            stage = Stage.objects.create(journey=journey, name=journey_name, position=1)
            touchpoints += [
                Touchpoint.objects.create(
                    stage=stage, name=name, code=f"{journey.pk}-{i}", channel=Channel.WEB
                )
                for i, name in enumerate(touchpoint_names)
            ]
    place = Place(
        tenant_slug=world.tenant.slug,
        manager=world.manager,
        viewer=viewer,
        touchpoint_ids=[touchpoint.pk for touchpoint in touchpoints],
        org_unit_ids=[branch.pk for branch in branches],
    )
    return world, place


def pool_analyse(world: Any, rng: random.Random) -> list[tuple[str, Any]]:
    """POOL_TEXTS texts with their analyses by the tenant's dictionary."""
    from analytics.selectors import text_dictionary
    from analytics.sentiment import read_labelled_csv
    from analytics.text import text_analyze
    from organizations.tenancy import tenant_context

    reviews = [text for _label, text in read_labelled_csv(REVIEWS)]
    rng.shuffle(reviews)
    texts = [verbatim(rng, rng.choice([2, 5, 8, 10])) for _ in range(POOL_TEXTS // 2)]
    texts += reviews[: POOL_TEXTS - len(texts)]
    texts = [
        text + rng.choice(RISK_PHRASES) if rng.random() < RISK_SHARE else text for text in texts
    ]
    with tenant_context(world.tenant):
        dictionary = text_dictionary()
        return [(text, text_analyze(text, dictionary=dictionary)) for text in texts]


def scores_create(world: Any, place: Place, count: int, rng: random.Random) -> float:
    """`count` complete responses, each with its score, in batches; returns the seconds taken."""
    from django.utils import timezone

    from analytics.models import ResponseScore
    from analytics.selectors import text_dictionary
    from analytics.text import analyzer_version
    from organizations.tenancy import tenant_context
    from surveys.models import Response

    pool = pool_analyse(world, rng)
    with tenant_context(world.tenant):  # row-level security hides tenant rows without it
        version = world.survey.live_version
        model_version = analyzer_version(text_dictionary())
    text_key = question_keys(version.definition)["text"]
    now = timezone.now()
    started = time.perf_counter()
    with tenant_context(world.tenant):
        for first in range(0, count, BATCH):
            size = min(BATCH, count - first)
            picks = [rng.choice(pool) for _ in range(size)]
            responses = Response.objects.bulk_create(
                [
                    Response(
                        tenant=world.tenant,
                        survey=world.survey,
                        version=version,
                        touchpoint_id=_maybe(rng, place.touchpoint_ids),
                        org_unit_id=_maybe(rng, place.org_unit_ids),
                        answers={text_key: text},
                        submitted_at=now - timedelta(seconds=rng.uniform(0, DAYS * 86400)),
                        status=Response.Status.COMPLETE,
                        source=Response.Source.IMPORT,
                    )
                    for text, _analysis in picks
                ]
            )
            ResponseScore.objects.bulk_create(
                [
                    ResponseScore(
                        tenant=world.tenant,
                        response=response,
                        verbatim=text,
                        sentiment_label=analysis.sentiment_label,
                        sentiment_score=analysis.sentiment_score,
                        keywords=analysis.keywords,
                        aspects=analysis.aspects,
                        risk_flags=analysis.risk_flags,
                        topics=analysis.topics,
                        model_version=model_version,
                    )
                    for response, (text, analysis) in zip(responses, picks, strict=True)
                ]
            )
    return time.perf_counter() - started


def rollups_rebuild(world: Any) -> str:
    """Count the bulk-created scores in the text rollups, as `manage.py rebuild_text_rollups`
    does after a backfill; returns the figures line."""
    from analytics.services import text_rollups_rebuild
    from organizations.tenancy import tenant_context

    started = time.perf_counter()
    with tenant_context(world.tenant):
        rebuilt = text_rollups_rebuild()
    return (
        f"rollups_rebuild seconds={time.perf_counter() - started:.0f} texts={rebuilt.texts} "
        f"rollup_rows={rebuilt.rollup_rows} mentions={rebuilt.mentions}"
    )


def themes_discover(world: Any) -> str:
    """Find the themes as the worker does after a rescoring or on the beat; the figures line."""
    from analytics.services import text_themes_discover
    from organizations.tenancy import tenant_context

    started = time.perf_counter()
    with tenant_context(world.tenant):
        found = text_themes_discover()
    return (
        f"themes_discover seconds={time.perf_counter() - started:.1f} texts={found.texts} "
        f"themes={len(found.themes)} (on the worker)"
    )


def _maybe(rng: random.Random, ids: list[int]) -> int | None:
    return None if rng.random() < NO_PLACE_SHARE else rng.choice(ids)


@dataclass
class Timings:
    name: str
    first_ms: float
    latencies: list[float]
    queries: int

    def percentile_ms(self, percent: float) -> float:
        return percentile_ms(self.latencies, percent)

    def line(self) -> str:
        return (
            f"{self.name:<16} requests={len(self.latencies)} p50_ms={self.percentile_ms(50):.0f} "
            f"p95_ms={self.percentile_ms(95):.0f} max_ms={max(self.latencies) * 1000:.0f} "
            f"queries={self.queries} first_ms={self.first_ms:.0f}"
        )


def page_measure(name: str, user: Any, path: str, requests: int) -> Timings:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    client.force_login(user)

    def get() -> float:
        before = time.perf_counter()
        reply = client.get(path)
        if reply.status_code != 200:
            raise RuntimeError(f"GET {path}: HTTP {reply.status_code}")
        return time.perf_counter() - before

    first = get()
    with CaptureQueriesContext(connection) as captured:
        get()
    queries = len(captured)  # before the next request clears the log (request_started)
    latencies = [get() for _ in range(requests)]
    return Timings(name, first * 1000, latencies, queries)


def database_size_line() -> str:
    """Sizes and rows of the tables behind the page, after VACUUM ANALYZE as their owner (the
    app role may not vacuum them, and sees no row outside a tenant): without it, the page's
    index-only scans visit every row's heap page until autovacuum comes by."""
    from django.db import connection

    from organizations.db.guard import owner_session

    with owner_session(), connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
        cursor.execute(
            "SELECT relname, pg_total_relation_size(relid) FROM pg_stat_user_tables "
            "WHERE relname IN ('surveys_response', 'analytics_responsescore', "
            "'analytics_textdaily', 'analytics_textterm', 'analytics_textmention') "
            "ORDER BY relname"
        )
        sizes = cursor.fetchall()
        counts = []
        for name, _size in sizes:
            cursor.execute(f'SELECT count(*) FROM "{name}"')
            counts.append(cursor.fetchone()[0])
    return "tables " + " ".join(
        f"{name}={count}rows/{size / 2**20:.0f}MB"
        for (name, size), count in zip(sizes, counts, strict=True)
    )


def bench_run(args: argparse.Namespace, database_url: str) -> None:
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    # The page links static files by name; whether collectstatic ran does not matter here.
    warnings.filterwarnings("ignore", message="No directory at", category=UserWarning)
    django_start(database_url, BENCH_REDIS_URL)
    django_migrate()
    rng = random.Random(args.seed)
    world, place = place_build()
    print(
        f"machine cores={os.cpu_count()} loadavg_1m={os.getloadavg()[0]:.2f} "
        "client=django.test.Client (one process, one request at a time)",
        flush=True,
    )
    seconds = scores_create(world, place, args.texts, rng)
    print(f"data texts={args.texts} days={DAYS} bulk_create_s={seconds:.0f}", flush=True)
    print(rollups_rebuild(world), flush=True)
    print(rollups_check(metric=False).line(), flush=True)  # the text rollups alone
    print(database_size_line(), flush=True)
    print(themes_discover(world), flush=True)
    # As cem/wsgi.py does in a web worker: what the process holds so far (here the bench's own
    # data besides Django) is set aside from the cyclic collector, which would otherwise walk
    # it on every full collection that a request's many new objects start.
    gc.freeze()
    page = f"/t/{place.tenant_slug}/text-analytics/"
    cases = [
        ("page_30d", place.manager, f"{page}?days=30"),
        ("page_90d", place.manager, f"{page}?days=90"),
        ("page_90d_drill", place.manager, f"{page}?days=90&{DRILL}"),
        ("page_90d_region", place.viewer, f"{page}?days=90"),
    ]
    for name, user, path in cases:
        print(page_measure(name, user, path, args.requests).line(), flush=True)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"process peak_rss_mb={peak:.0f}")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.text_page", description=__doc__)
    parser.add_argument("--texts", type=int, default=200_000, help="scored texts in 180 days")
    parser.add_argument("--requests", type=int, default=10, help="measured requests per case")
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument(
        "--database", default=BENCH_DB, help="PostgreSQL database created and dropped for it"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return on_fresh_database(args.database, BENCH_REDIS_URL, lambda url: bench_run(args, url))


if __name__ == "__main__":
    sys.exit(main())
