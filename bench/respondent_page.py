"""Server-side time to serve the respondent's pages of a multi-page survey, in one process.

Django's test Client calls the whole stack (middleware, view, templates, ORM) without HTTP or
a server process, against PostgreSQL (a fresh database, dropped at the end) and Redis (the
cache the rate limit counts in). The survey is the "branch_visit" template (two pages, a matrix
on the first), published. Measured, after a warm-up, one request at a time:
  respond_get        GET /s/<token>/ by a new respondent: page 1 rendered (nothing saved yet)
  respond_post_page  POST of page 1 by a new respondent: answers saved, 302 to page 2
and, for one request of each, the SQL queries it makes.
"""

from __future__ import annotations

import argparse
import functools
import os
import platform
import random
import re
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from bench.http_submit import (
    BENCH_REDIS_URL,
    cpu_model,
    django_migrate,
    django_start,
    on_fresh_database,
    percentile_ms,
)

BENCH_DB = "cem_bench_page"
TEMPLATE = "branch_visit"
PAGE_ONE_MARK = "第 1 / 2 页"


@dataclass
class Timings:
    name: str
    seconds: float
    latencies: list[float]
    queries: int
    statements: str  # the queries by kind, e.g. "SELECT=2"

    def percentile_ms(self, percent: float) -> float:
        return percentile_ms(self.latencies, percent)

    def line(self) -> str:
        return (
            f"{self.name:<17} requests={len(self.latencies)} p50_ms={self.percentile_ms(50):.1f} "
            f"p95_ms={self.percentile_ms(95):.1f} p99_ms={self.percentile_ms(99):.1f} "
            f"req_per_s={len(self.latencies) / self.seconds:.0f} "
            f"queries_per_request={self.queries} ({self.statements})"
        )


@dataclass(frozen=True)
class BenchSurvey:
    path: str
    link_id: int
    definition: dict


def bench_survey_publish() -> BenchSurvey:
    from organizations.tenancy import tenant_context
    from surveys import library, services
    from tests.factories import build_world

    world = build_world("bench")
    with tenant_context(world.tenant):
        survey = services.survey_create(
            name="到店体验",
            touchpoint=world.touchpoint,
            by=world.manager,
            definition=library.TEMPLATES[TEMPLATE].definition("到店体验"),
        )
        services.survey_publish(survey=survey, by=world.manager)
        link = survey.links.get()
        return BenchSurvey(f"/s/{link.token}/", link.pk, survey.live_version.definition)


def page_one_variants(definition: dict, count: int, seed: int = 7) -> list[dict[str, str]]:
    """Valid answers to every question of the first page, as the form posts them."""
    from surveys.definition import SCALES

    rng = random.Random(seed)
    variants = []
    for _ in range(count):
        fields = {}
        for question in definition["pages"][0]["questions"]:
            qtype, key = question["type"], question["key"]
            if qtype in SCALES:
                fields[f"q_{key}"] = str(rng.randint(SCALES[qtype].low, SCALES[qtype].high))
            elif qtype == "single_choice":
                fields[f"q_{key}"] = rng.choice(question["options"])["key"]
            elif qtype == "matrix":
                for row in question["rows"]:
                    fields[f"q_{key}__{row['key']}"] = rng.choice(question["options"])["key"]
            else:
                raise ValueError(f"no answers made up for {qtype!r} questions")
        variants.append({"page": definition["pages"][0]["key"], **fields})
    return variants


class Respondents:
    """New respondents one after another, each a browser without cookies: the GET is a first
    visit, and each POST sends the page with the form token and resume key a GET served."""

    def __init__(self, bench: BenchSurvey, variants: list[dict[str, str]]):
        from django.test import Client

        self.bench = bench
        self.variants = variants
        self.client = Client()

    def _page(self) -> dict[str, str]:
        reply = self.client.get(self.bench.path)
        if reply.status_code != 200 or PAGE_ONE_MARK not in reply.content.decode():
            raise RuntimeError(f"GET {self.bench.path}: HTTP {reply.status_code}, not page 1")
        return {
            name.decode(): value.decode()
            for name, value in re.findall(
                rb'name="(resume_key|form_token)" value="([^"]*)"', reply.content
            )
        }

    def get(self) -> None:
        self._page()

    def form(self) -> dict[str, str]:
        """The hidden fields of a page a new respondent was served, to post once."""
        return self._page()

    def post_page(self, form: dict[str, str]) -> None:
        fields = {**form, **random.choice(self.variants)}
        reply = self.client.post(self.bench.path, fields)
        if reply.status_code != 302 or "?r=" not in reply.get("Location", ""):
            raise RuntimeError(
                f"POST page 1: HTTP {reply.status_code} {reply.content[:300].decode()!r}"
            )
        self.client.cookies.clear()  # the next respondent


def queries_of(action: Callable[[], None], show: bool) -> tuple[int, str]:
    """The SQL one request runs: how many statements (BEGIN/COMMIT included), and by kind."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        action()
    if show:
        for query in captured.captured_queries:
            print(f"    {query['sql'][:160]}")
    kinds = Counter(query["sql"].split(None, 1)[0].upper() for query in captured.captured_queries)
    return len(captured.captured_queries), ",".join(f"{kind}={n}" for kind, n in kinds.items())


def measure(
    name: str,
    action: Callable[[], None],
    requests: int,
    warmup: int,
    show: bool,
    prepare: Callable[[], object] | None = None,
):
    """Time `action` alone; with `prepare`, each call gets what prepare made beforehand
    (a served form for a POST), outside the timing."""
    calls = [
        functools.partial(action, prepare()) if prepare else action
        for _ in range(warmup + 1 + requests)
    ]
    for call in calls[:warmup]:
        call()
    queries, statements = queries_of(calls[warmup], show)
    latencies = []
    started = time.perf_counter()
    for call in calls[warmup + 1 :]:
        before = time.perf_counter()
        call()
        latencies.append(time.perf_counter() - before)
    return Timings(name, time.perf_counter() - started, latencies, queries, statements)


def partial_responses() -> int:
    from organizations.tenancy import system_context
    from surveys.models import Response

    with system_context():
        return Response.all_tenants.filter(status=Response.Status.PARTIAL).count()


def machine_line(args: argparse.Namespace) -> str:
    return (
        f"machine cores={os.cpu_count()} cpu={cpu_model()!r} python={platform.python_version()} "
        f"client=django.test.Client (one process, one request at a time) template={TEMPLATE} "
        f"warmup={args.warmup} loadavg_1m={os.getloadavg()[0]:.2f}"
    )


def bench_run(args: argparse.Namespace, database_url: str) -> int:
    # Every request comes from the same address: the per-address limit must not bite.
    os.environ["CEM_PUBLIC_SUBMIT_RATE"] = "1000000000"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    django_start(database_url, BENCH_REDIS_URL)
    django_migrate()
    bench = bench_survey_publish()
    respondents = Respondents(bench, page_one_variants(bench.definition, 200))
    print(machine_line(args), flush=True)
    saved_before = partial_responses()
    results = [
        measure("respond_get", respondents.get, args.requests, args.warmup, args.show_queries),
        measure(
            "respond_post_page",
            respondents.post_page,
            args.requests,
            args.warmup,
            args.show_queries,
            prepare=respondents.form,
        ),
    ]
    for result in results:
        print(result.line(), flush=True)
    saved = partial_responses() - saved_before
    posts = args.warmup + 1 + args.requests
    print(f"partial responses saved/page-1 posts: {saved}/{posts}")
    if saved != posts:
        print("MISMATCH between page-1 posts and saved partial responses", file=sys.stderr)
        return 1
    return 0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.respondent_page", description=__doc__)
    parser.add_argument("--requests", type=int, default=2000, help="measured requests per kind")
    parser.add_argument("--warmup", type=int, default=200, help="unmeasured requests first")
    parser.add_argument(
        "--show-queries", action="store_true", help="print the SQL of the counted requests"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return on_fresh_database(BENCH_DB, BENCH_REDIS_URL, lambda url: bench_run(args, url))


if __name__ == "__main__":
    sys.exit(main())
