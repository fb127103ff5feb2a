"""Memory of a web worker that serves every page a person uses, once each, in one gunicorn
sync worker.

    python -m bench.web_rss [--texts 200000] [--responses 400] [--database NAME]

A fresh PostgreSQL database (dropped at the end) gets the demo bank (`seed_demo` with
`--responses`: journeys, surveys, tickets, rules, members) and, when `--texts` is above 0, as
many more scored texts over 180 days at its touchpoints and branches (bulk-created as in
bench.text_page, rollups rebuilt), so that the text analytics page reads a large tenant.
Themes are found first, as the worker's beat does. Then gunicorn (one sync worker, the app
role under row-level security) serves, as the tenant's owner, every staff page of the
browser tests' accessibility walk (tests/test_browser_accessibility.py), the text analytics
page for 30, 90 and 365 days and drilled down, and the dictionary page; the worker's resident
memory (VmRSS, from /proc) is printed after start-up, after each page, and at the end with
its peak (VmHWM). The respondent and login pages are left out: they load nothing the staff
pages do not.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import quote

from bench.http_submit import (
    django_migrate,
    django_start,
    free_port,
    gunicorn_start,
    http_ready_wait,
    http_request,
    on_fresh_database,
    process_stop,
)

BENCH_DB = "cem_bench_web_rss"
BENCH_REDIS_URL = "redis://127.0.0.1:6379/14"
DRILL = "aspect=" + quote("等待时间") + "&polarity=negative"


def worker_pid(master_pid: int, timeout: float = 30.0) -> int:
    """The pid of the gunicorn master's one worker."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        children = Path(f"/proc/{master_pid}/task/{master_pid}/children").read_text().split()
        if children:
            return int(children[0])
        time.sleep(0.1)
    raise RuntimeError("gunicorn started no worker")


def memory_mb(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) of a process in MB."""
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
    )
    return tuple(int(fields[name].split()[0]) / 1024 for name in ("VmRSS", "VmHWM"))


def texts_add(tenant, count: int, rng: random.Random) -> str:
    """`count` scored texts at the demo tenant's touchpoints and branches, answering its first
    survey with a text question, as bench.text_page makes them; returns the rebuild's line."""
    from bench import text_page
    from bench.scoring_worker import question_keys
    from journeys.models import Touchpoint
    from organizations.models import OrgUnit
    from organizations.tenancy import tenant_context
    from surveys.models import Survey

    with tenant_context(tenant):
        survey = next(
            survey
            for survey in Survey.objects.filter(live_version__isnull=False).order_by("pk")
            if "text" in question_keys(survey.live_version.definition)
        )
        place = text_page.Place(
            tenant_slug=tenant.slug,
            manager=None,
            viewer=None,
            touchpoint_ids=list(Touchpoint.objects.values_list("pk", flat=True)),
            org_unit_ids=list(
                OrgUnit.objects.filter(kind=OrgUnit.Kind.BRANCH).values_list("pk", flat=True)
            ),
        )
    world = SimpleNamespace(tenant=tenant, survey=survey)  # what the text_page builders read
    text_page.scores_create(world, place, count, rng)
    return text_page.rollups_rebuild(world)


def pages(tenant) -> list[tuple[str, str]]:
    """(name, path) of every staff page, with the demo tenant's objects."""
    from django.urls import reverse

    from alerts.models import AlertRule, Ticket
    from analytics.models import ResponseScore
    from journeys.models import Journey
    from organizations.models import Membership, OrgUnit
    from organizations.tenancy import tenant_context
    from surveys.models import Survey

    with tenant_context(tenant):
        journey = Journey.objects.order_by("pk").first()
        survey = Survey.objects.filter(live_version__isnull=False).order_by("pk").first()
        ticket = Ticket.objects.order_by("pk").first()
        rule = AlertRule.objects.order_by("pk").first()
        score = ResponseScore.objects.exclude(verbatim="").order_by("pk").first()
        member = Membership.objects.exclude(role="owner").order_by("pk").first()
        unit = OrgUnit.objects.filter(kind=OrgUnit.Kind.BRANCH).order_by("pk").first()

    def url(name: str, **kwargs) -> str:
        return reverse(name, kwargs={"tenant_slug": tenant.slug, **kwargs})

    text_page = url("text_analytics")
    return [
        ("dashboard", url("dashboard")),
        ("journeys", url("journey_map")),
        ("new journey", url("journey_new")),
        ("journey editor", url("journey_edit", journey_id=journey.pk)),
        ("journey map", url("journey_detail", journey_id=journey.pk)),
        ("journey metrics", url("journey_metrics", journey_id=journey.pk)),
        ("surveys", url("survey_index")),
        ("survey builder", url("survey_builder", survey_id=survey.pk)),
        ("preview", url("survey_preview", survey_id=survey.pk)),
        ("distribution", url("distribution_dashboard")),
        ("survey distribution", url("survey_distribution", survey_id=survey.pk)),
        ("ticket queue", url("ticket_queue")),
        ("ticket detail", url("ticket_detail", number=ticket.number)),
        ("alert rules", url("alert_rules")),
        ("new alert rule", url("alert_rule_new")),
        ("alert rule editor", url("alert_rule_edit", rule_id=rule.pk)),
        ("text analytics 30d", f"{text_page}?days=30"),
        ("text analytics 90d", f"{text_page}?days=90"),
        ("text analytics 365d", f"{text_page}?days=365"),
        ("text analytics drilled", f"{text_page}?days=90&{DRILL}"),
        ("dictionary", url("text_dictionary")),
        ("response detail", url("response_detail", response_id=score.response_id)),
        ("API keys", url("api_keys")),
        ("theme", url("tenant_theme")),
        ("members", url("members")),
        ("member editor", url("member_edit", membership_id=member.pk)),
        ("first-run checklist", url("onboarding")),
        ("org units", url("org_units")),
        ("org unit editor", url("org_unit_edit", unit_id=unit.pk)),
        ("org unit import", url("org_unit_import")),
    ]


def session_cookie(username: str) -> str:
    """A logged-in session of `username`, as the Cookie header."""
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import Client

    client = Client()
    client.force_login(
        get_user_model().objects.get(username=username),
        backend="django.contrib.auth.backends.ModelBackend",
    )
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


def bench_run(args: argparse.Namespace, database_url: str) -> int:
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    # gunicorn_start's key: the session made here must pass the server's check.
    os.environ["SECRET_KEY"] = "bench-only-secret-key"  # noqa: S105 - a bench database
    django_start(database_url, BENCH_REDIS_URL)
    django_migrate()
    from analytics.services import text_themes_discover
    from bench.text_page import database_size_line
    from demo.seeding import TENANT_SLUG, demo_seed
    from organizations.models import Tenant
    from organizations.tenancy import tenant_context

    print(f"machine cores={os.cpu_count()} loadavg_1m={os.getloadavg()[0]:.2f}", flush=True)
    started = time.perf_counter()
    demo_seed(responses=args.responses, seed=args.seed)
    tenant = Tenant.objects.get(slug=TENANT_SLUG)
    print(f"demo responses={args.responses} seconds={time.perf_counter() - started:.0f}")
    if args.texts:
        print(texts_add(tenant, args.texts, random.Random(args.seed)), flush=True)
    print(database_size_line(), flush=True)  # vacuumed and analysed, as autovacuum would
    with tenant_context(tenant):
        found = text_themes_discover()
    print(f"themes found={len(found.themes)} among texts={found.texts} (as the worker does)")
    walk = pages(tenant)
    cookie = session_cookie("owner")

    port = free_port()
    server = gunicorn_start(workers=1, port=port, database_url=database_url)
    try:
        http_ready_wait(server, port)
        worker = worker_pid(server.pid)
        rss, _peak = memory_mb(worker)
        print(f"worker started rss_mb={rss:.0f}", flush=True)
        for name, path in walk:
            before = time.perf_counter()
            reply = http_request(port, "GET", path, headers={"Cookie": cookie})
            seconds = time.perf_counter() - before
            if reply.status != 200:
                raise RuntimeError(f"GET {path}: HTTP {reply.status}")
            rss, _peak = memory_mb(worker)
            print(f"page {name:<24} ms={seconds * 1000:.0f} rss_mb={rss:.0f}", flush=True)
        rss, peak = memory_mb(worker)
        print(f"worker after_every_page rss_mb={rss:.0f} peak_rss_mb={peak:.0f} pages={len(walk)}")
    finally:
        process_stop(server)
    return 0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.web_rss", description=__doc__)
    parser.add_argument("--texts", type=int, default=200_000, help="more scored texts")
    parser.add_argument("--responses", type=int, default=400, help="demo responses seeded")
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
