"""What the database's tenant guard (docs/security.md) costs, in one process on PostgreSQL.

On a fresh database, one tenant world, measured one statement or request at a time:
  scope_prefix      the same primary-key SELECT of a response, alone and with the
                    `set_config` prefix a tenant switch adds to it: the prefix's cost
  rls_lookup        that SELECT as the app role (policy applied) and as the owner in
                    system scope (a superuser: no policy): the policy's cost per statement
  respond_post      POST of a respondent page through the Django test client (middleware,
                    view, ORM): the scope changes it makes and what they cost it
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from bench.http_submit import django_migrate, django_start, on_fresh_database, percentile_ms

BENCH_DB = "cem_bench_tenant_guard"
BENCH_REDIS_URL = "redis://127.0.0.1:6379/12"


def timed(action, repeat: int) -> list[float]:
    latencies = []
    for _ in range(repeat):
        before = time.perf_counter()
        action()
        latencies.append(time.perf_counter() - before)
    return latencies


def line(name: str, latencies: list[float], extra: str = "") -> str:
    return (
        f"{name:<24} n={len(latencies)} p50_us={percentile_ms(latencies, 50) * 1000:.0f} "
        f"p99_us={percentile_ms(latencies, 99) * 1000:.0f} {extra}".rstrip()
    )


def bench_run(args: argparse.Namespace, database_url: str) -> None:
    os.environ["CEM_PUBLIC_SUBMIT_RATE"] = "1000000"  # measure the page, not the rate limit
    django_start(database_url, BENCH_REDIS_URL)
    django_migrate()
    from django.db import connection
    from django.test import Client

    from organizations.db.guard import owner_session
    from organizations.db.postgresql.base import scope_statement
    from organizations.tenancy import tenant_context
    from tests.factories import build_world
    from tests.helpers import GOOD_ANSWERS, submit_and_score

    world = build_world("bench")
    response = submit_and_score(world, GOOD_ANSWERS)
    select = "SELECT id, status FROM surveys_response WHERE id = %s"
    scope = (world.tenant.pk, False)

    with tenant_context(world.tenant), connection.cursor() as cursor:
        raw = cursor.cursor  # psycopg2's own cursor: no Django wrappers, no prefix logic
        plain = timed(lambda: (raw.execute(select, [response.pk]), raw.fetchall()), args.repeat)
        prefixed_sql = scope_statement(scope) + select
        prefixed = timed(
            lambda: (raw.execute(prefixed_sql, [response.pk]), raw.fetchall()), args.repeat
        )
        print(line("scope_prefix:without", plain), flush=True)
        print(line("scope_prefix:with", prefixed), flush=True)
        app_role = timed(lambda: (raw.execute(select, [response.pk]), raw.fetchall()), args.repeat)
    with owner_session(), connection.cursor() as cursor:
        raw = cursor.cursor
        raw.execute(scope_statement((None, True)))
        owner = timed(lambda: (raw.execute(select, [response.pk]), raw.fetchall()), args.repeat)
    print(line("rls_lookup:app_role", app_role), flush=True)
    print(line("rls_lookup:owner", owner), flush=True)

    sent = []
    wrapper = connection.execute_wrappers[0]

    def counting(execute, sql, params, many, context):
        before = connection.tenant_scope_sent
        result = wrapper(execute, sql, params, many, context)
        if connection.tenant_scope_sent != before:
            sent.append(sql.split(None, 1)[0])
        return result

    connection.execute_wrappers[0] = counting
    client = Client()
    path = f"/s/{world.link.token}/"
    form = {"nps_1": "9", "csat_1": "5"}
    posts = timed(lambda: client.post(path, form), args.requests)
    per_request = len(sent) / args.requests
    print(
        line(
            "respond_post",
            posts,
            f"scope_changes_per_request={per_request:.1f} (each a prefix on a statement)",
        ),
        flush=True,
    )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3000, help="statements per measurement")
    parser.add_argument("--requests", type=int, default=300, help="respondent page POSTs")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return on_fresh_database(BENCH_DB, BENCH_REDIS_URL, lambda url: bench_run(args, url))


if __name__ == "__main__":
    sys.exit(main())
