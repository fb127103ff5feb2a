"""Tickets at scale (issue 11, "Speed"): the escalation sweep, the ticket queue page and the
notifications one worker sends to group robots, side by side in one run.

    python -m bench.tickets [--rebuild] [--tickets 50000] [--runs 30] [--sweeps 5]
                            [--backlog 60] [--notifications 2000]

The tenant (database cem_tickets_bench, kept between runs: --rebuild makes it anew; Redis db 7,
flushed at start) has HQ > 20 regions > 2,000 branches. HQ's manager is the tenant's
cx_manager; each region has a manager, and every 10th branch (200) a manager and an agent.
`--tickets` open tickets (one response with a detractor score each) are spread evenly over the
branches, created over the last CREATED_DAYS days, priorities mixed, with due times as
alerts/sla.py gives them in the default calendar (Mon-Fri 9-18, mainland holidays); some have
had a first response (in progress), some are reopened or waiting on the customer (paused).
The escalation state is as if the sweep had run until `--backlog` working minutes ago (default
60: beat stopped for an hour): each ticket has climbed the steps of the default chain
(alerts/escalation.py: 80/100/150/200 % of its resolution target) that fell due before then
and is looked at next when its next step falls due, so those whose step fell due since are
due now. Rows are written in bulk SQL, then VACUUM ANALYZE. A reused database is put back as
built before measuring (escalations, notifications, deliveries and robots of the last run
removed).

Figures:
  sweep    alerts.services.tickets_escalate_due() (the beat task's body) on that backlog,
           `--sweeps` times, the tickets put back as built (untimed) between runs: per run its
           seconds, the escalation events written, events per second and SQL queries (the
           notifications the events give, created after each batch's commit, included); the
           p50/p95 of those runs; then one more run on what the last left (nothing new due:
           a sweep's steady state on beat). Region managers want DingTalk notifications: the
           deliveries a run enqueued (notifications queue length) are counted, then dropped
           unsent.
  queue    GET of the ticket queue page (ticket_queue, the open tickets by SLA, first 200)
           through django.test.Client, as the agent of one branch, HQ's cx_manager and the
           owner: p50/p95 ms over `--runs` requests after one warm-up, and the SQL queries of
           one request, with how many tickets the member's scope holds open.
  notify   `--notifications` tickets of staffed branches assigned to their agent, one
           `assigned` event each, notified through notifications.services (which enqueues one
           send per channel the agent wants: half want the tenant's DingTalk robot, half its
           Feishu robot). Both robots point at a threaded HTTP receiver on 127.0.0.1 started
           here, which checks the signatures. Then ONE Celery worker (solo pool) consumes the
           notifications queue: deliveries per second from its first answered ping until all
           are sent (the receiver's requests and the Delivery log), its CPU per delivery, the
           p50/p95 of one logged attempt (the POST and its status saved; the rest of a send is
           the task's own: broker, reads, the log row), and the checks: each notification
           sent exactly once, every signature valid.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import os
import random
import re
import secrets
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from bench.http_submit import (
    POSTGRES_URL,
    database_fresh,
    django_migrate,
    django_start,
    group_cpu_seconds,
    log_tail,
    percentile_ms,
    process_stop,
    redis_flush,
    redis_queue_length,
    solo_worker_start,
)
from bench.journey_map import (
    _restart_fresh,
    database_exists,
    measure,
    sql,
    timed,
    tree_build,
)
from bench.scoring_worker import COMPLAINTS, worker_ready_wait

BENCH_DB = "cem_tickets_bench"
BENCH_REDIS_URL = "redis://127.0.0.1:6379/7"
NOTIFICATIONS_QUEUE = "notifications"
SLUG = "tix"
STAFF_EVERY = 10  # every 10th branch has a manager and an agent
CREATED_DAYS = 10  # tickets were opened over the last this many days
SLOTS = 500  # distinct opening instants whose due times are reckoned by alerts/sla.py
PRIORITY_WEIGHTS = {"low": 5, "normal": 20, "high": 65, "urgent": 10}
# The robots' signing secrets, new each run.
DINGTALK_SECRET = f"SEC{secrets.token_hex(16)}"
FEISHU_SECRET = secrets.token_urlsafe(16)
WORKER_LOG = "tickets-worker.log"
POLL_SECONDS = 0.1
NOTIFY_BATCH = 500  # events handed to notifications at once, as a sweep batch does


# ---------------------------------------------------------------- build


def people_build(world: Any, branch_ids: list[int]) -> None:
    """Managers of HQ (the tenant's cx_manager), of each region and of the staffed branches;
    an agent per staffed branch. One password hash for all."""
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import User

    from organizations.models import Membership, OrgUnit, Role
    from organizations.tenancy import tenant_context
    from tests.factories import PASSWORD

    with tenant_context(world.tenant):
        regions = list(OrgUnit.objects.filter(kind=OrgUnit.Kind.REGION, code__startswith="R"))
        staffed = branch_ids[::STAFF_EVERY]
        password = make_password(PASSWORD)
        wanted = (
            [(f"{SLUG}-rm-{unit.code}", Role.CX_MANAGER, unit.pk, True) for unit in regions]
            + [(f"{SLUG}-bm-{pk}", Role.CX_MANAGER, pk, True) for pk in staffed]
            + [(f"{SLUG}-ag-{pk}", Role.AGENT, pk, False) for pk in staffed]
        )
        users = User.objects.bulk_create(
            User(username=name, password=password, first_name=name) for name, *_rest in wanted
        )
        Membership.objects.bulk_create(
            Membership(tenant=world.tenant, user=user, role=role, org_unit_id=unit_id)
            for user, (_name, role, unit_id, _manages) in zip(users, wanted, strict=True)
        )
    managed = [
        (unit_id, user.pk)
        for user, (_name, _role, unit_id, manages) in zip(users, wanted, strict=True)
        if manages
    ] + [(world.hq.pk, world.manager.pk)]
    sql(
        "UPDATE cem_orgunit u SET manager_id = m.user_id "
        "FROM unnest(%s::bigint[], %s::int[]) AS m(unit_id, user_id) WHERE u.id = m.unit_id",
        [[unit for unit, _user in managed], [user for _unit, user in managed]],
    )
    sql(
        "CREATE TEMPORARY TABLE bench_agent AS SELECT * FROM "
        "unnest(%s::bigint[], %s::int[]) AS a(org_unit_id, user_id)",
        [
            [unit for _n, role, unit, _m in wanted if role == Role.AGENT],
            [u.pk for u, (_n, role, *_r) in zip(users, wanted, strict=True) if role == Role.AGENT],
        ],
    )


def slots_load(world: Any, rule: Any, rng: random.Random) -> None:
    """SLOTS opening instants over the last CREATED_DAYS days and, for each priority, the due
    times alerts/sla.py gives them and when each step of the escalation chain falls due
    (alerts/escalation.py)."""
    from django.utils import timezone

    from alerts.escalation import escalation_chain, step_due_at
    from alerts.models import Ticket
    from alerts.sla import due_times, sla_policy
    from organizations.business_hours import tenant_calendar

    tenant = world.tenant
    calendar, policy, chain = tenant_calendar(tenant), sla_policy(tenant), escalation_chain(tenant)
    now = timezone.now()
    rows = []
    for slot in range(SLOTS):
        opened = now - timedelta(seconds=rng.uniform(60, CREATED_DAYS * 86400))
        for priority in PRIORITY_WEIGHTS:
            due = due_times(
                priority=priority,
                hours=rule.sla_hours,
                calendar=calendar,
                policy=policy,
                start=opened,
            )
            probe = Ticket(
                priority=priority,
                sla_minutes=due.resolution_minutes,
                sla_due_at=due.resolution_due_at,
            )
            steps = [step_due_at(probe, step, calendar=calendar, policy=policy) for step in chain]
            rows.append(
                (
                    slot,
                    priority,
                    opened,
                    due.resolution_due_at,
                    due.resolution_minutes,
                    due.first_response_due_at,
                    due.first_response_minutes,
                    steps,
                )
            )
    sql(
        "CREATE TEMPORARY TABLE bench_slot (slot int, priority text, opened timestamptz, "
        "sla_due_at timestamptz, sla_minutes int, fr_due_at timestamptz, fr_minutes int, "
        "steps timestamptz[], PRIMARY KEY (slot, priority))"
    )
    values = ", ".join(["(%s, %s, %s, %s, %s, %s, %s, %s::timestamptz[])"] * len(rows))
    sql(f"INSERT INTO bench_slot VALUES {values}", [value for row in rows for value in row])


def sweep_stopped_at(world: Any, backlog: int) -> Any:
    """When the sweep last ran: `backlog` working minutes ago."""
    from django.utils import timezone

    from organizations.business_hours import tenant_calendar, working_time_before

    return working_time_before(tenant_calendar(world.tenant), timezone.now(), backlog)


def plan_load(branch_ids: list[int], count: int, seed: int) -> None:
    """Per ticket: its response and ticket ids (from their sequences), branch, opening slot,
    priority and two dice."""
    priorities = [name for name, weight in PRIORITY_WEIGHTS.items() for _ in range(weight)]
    sql("SELECT setseed(%s)", [(seed % 1000) / 1000])
    sql(
        """
        CREATE TEMPORARY TABLE bench_plan AS
        SELECT g AS i,
               nextval(pg_get_serial_sequence('surveys_response', 'id')) AS response_id,
               nextval(pg_get_serial_sequence('alerts_ticket', 'id')) AS ticket_id,
               (%(branches)s::bigint[])[1 + (g %% %(n_branches)s)] AS org_unit_id,
               floor(random() * %(slots)s)::int AS slot,
               (%(priorities)s::text[])[1 + floor(random() * %(n_priorities)s)::int]
                   AS priority,
               random() AS roll, random() AS roll2
        FROM generate_series(0, %(count)s - 1) g
        """,
        {
            "branches": branch_ids,
            "n_branches": len(branch_ids),
            "slots": SLOTS,
            "priorities": priorities,
            "n_priorities": len(priorities),
            "count": count,
        },
    )


def responses_insert(world: Any, template_id: int) -> None:
    """A complete detractor response per planned ticket, copied from the template row, and
    its score (a complaint from bench.scoring_worker's pool, negative)."""
    from bench.scoring_worker import question_keys
    from surveys.models import Response

    keys = question_keys(world.survey.live_version.definition)
    fields = [field for field in Response._meta.concrete_fields if not field.primary_key]
    drawn = {
        "org_unit_id": "p.org_unit_id",
        "touchpoint_id": "%(touchpoint)s",
        "submitted_at": "s.opened - interval '2 minutes'",
        "received_at": "s.opened - interval '2 minutes'",
        "answers": (
            "jsonb_build_object(%(nps_key)s, floor(p.roll2 * 7)::int, %(csat_key)s, "
            "1 + floor(p.roll2 * 2)::int, %(text_key)s, "
            "(%(texts)s::text[])[1 + floor(p.roll * %(n_texts)s)::int])"
        ),
    }
    columns = ", ".join(field.column for field in fields)
    chosen = ", ".join(drawn.get(field.column, f"template.{field.column}") for field in fields)
    parameters = {
        "touchpoint": world.touchpoint.pk,
        "nps_key": keys["nps"],
        "csat_key": keys["csat"],
        "text_key": keys["text"],
        "texts": COMPLAINTS,
        "n_texts": len(COMPLAINTS),
        "template": template_id,
    }
    sql(
        f"""
        INSERT INTO surveys_response (id, {columns})
        SELECT p.response_id, {chosen}
        FROM bench_plan p JOIN bench_slot s ON s.slot = p.slot AND s.priority = p.priority
        CROSS JOIN (SELECT * FROM surveys_response WHERE id = %(template)s) template
        """,
        parameters,
    )
    sql(
        """
        INSERT INTO analytics_responsescore (tenant_id, response_id, nps, nps_category, csat,
            ces, verbatim, sentiment_label, sentiment_score, keywords, aspects, risk_flags,
            topics, relations, model_version, scored_at)
        SELECT r.tenant_id, r.id, (r.answers ->> %(nps)s)::int, 'detractor',
               (r.answers ->> %(csat)s)::int, NULL, r.answers ->> %(text)s, 'negative', 0.1,
               '[]', '[]', '[]', '[]', '[]', 'bench', r.submitted_at + interval '1 minute'
        FROM bench_plan p JOIN surveys_response r ON r.id = p.response_id
        """,
        {"nps": keys["nps"], "csat": keys["csat"], "text": keys["text"]},
    )


STATUS_CASE = """CASE WHEN p.roll < 0.45 THEN 'open' WHEN p.roll < 0.85 THEN 'in_progress'
                      WHEN p.roll < 0.90 THEN 'reopened' ELSE 'waiting_customer' END"""


def tickets_insert(world: Any, rule: Any, swept: Any) -> None:
    """The planned tickets, their matched rule and `created` event. Statuses: 45 % open, 40 %
    in progress, 5 % reopened, 10 % waiting on the customer (clock paused); all but the open
    ones have had a first response and belong to the branch's agent where it has one. Each has
    climbed the escalation steps that fell due before `swept` (the sweep's last run) and is
    looked at next when its next step falls due: now, for those whose step fell due since."""
    tenant = world.tenant.pk
    sql(
        f"""
        INSERT INTO alerts_ticket (id, tenant_id, number, response_id, org_unit_id,
            assignee_id, status, priority, sla_due_at, sla_minutes, first_response_due_at,
            first_response_minutes, first_responded_at, sla_paused_at, sla_left_minutes,
            escalation_level, escalated_at, escalation_check_at, root_cause_id, resolution,
            created_at, updated_at, closed_at)
        SELECT p.ticket_id, %(tenant)s, p.i + 1, p.response_id, p.org_unit_id,
               CASE WHEN x.status <> 'open' THEN a.user_id END, x.status, p.priority,
               s.sla_due_at, s.sla_minutes, s.fr_due_at, s.fr_minutes,
               CASE WHEN x.status <> 'open' THEN x.responded END,
               CASE WHEN x.status = 'waiting_customer' THEN x.responded END,
               CASE WHEN x.status = 'waiting_customer'
                    THEN greatest(0, s.sla_minutes - s.fr_minutes) END,
               x.level, s.steps[x.level], s.steps[x.level + 1], NULL, '', s.opened,
               greatest(CASE WHEN x.status <> 'open' THEN x.responded ELSE s.opened END,
                        s.steps[x.level]), NULL
        FROM bench_plan p
        JOIN bench_slot s ON s.slot = p.slot AND s.priority = p.priority
        LEFT JOIN bench_agent a ON a.org_unit_id = p.org_unit_id
        CROSS JOIN LATERAL (
            SELECT {STATUS_CASE} AS status,
                   least(now(), s.opened + (s.fr_due_at - s.opened) * p.roll2) AS responded,
                   (SELECT count(*) FROM unnest(s.steps) d WHERE d <= %(swept)s)::int AS level
        ) x
        """,
        {"tenant": tenant, "swept": swept},
    )
    sql(
        "INSERT INTO alerts_ticketrule (tenant_id, ticket_id, rule_id, matched_at) "
        "SELECT %s, p.ticket_id, %s, s.opened FROM bench_plan p "
        "JOIN bench_slot s ON s.slot = p.slot AND s.priority = p.priority",
        [tenant, rule.pk],
    )
    sql(
        "INSERT INTO alerts_ticketevent (tenant_id, ticket_id, kind, from_status, to_status, "
        "note, at) SELECT %s, t.id, 'created', '', 'open', %s, t.created_at "
        "FROM bench_plan p JOIN alerts_ticket t ON t.id = p.ticket_id",
        [tenant, f"命中规则：{rule.name}"],
    )


def start_state_keep() -> None:
    """What the measures change on the tickets, as built: put back before each run."""
    from organizations.db.guard import owner_session

    with owner_session():
        sql("DROP TABLE IF EXISTS bench_ticket_start")
        sql(
            "CREATE TABLE bench_ticket_start AS SELECT id AS ticket_id, assignee_id, "
            "escalation_level, escalated_at, escalation_check_at, updated_at FROM alerts_ticket"
        )
        sql("ALTER TABLE bench_ticket_start ADD PRIMARY KEY (ticket_id)")


def tenant_build(args: argparse.Namespace) -> None:
    from alerts.models import AlertRule
    from organizations.tenancy import tenant_context
    from surveys.models import Response
    from tests.factories import build_world

    rng = random.Random(args.seed)
    world = timed("tenant", lambda: build_world(SLUG))
    branch_ids = timed("org_units", lambda: tree_build(world))
    timed("people", lambda: people_build(world, branch_ids))
    with tenant_context(world.tenant):
        rule = AlertRule.objects.order_by("pk").first()
        template = Response.objects.create(
            survey=world.survey,
            version=world.survey.live_version,
            answers={},
            status=Response.Status.COMPLETE,
            source=Response.Source.IMPORT,
        )
    timed("sla_slots", lambda: slots_load(world, rule, rng))
    timed("plan", lambda: plan_load(branch_ids, args.tickets, args.seed))
    timed(f"responses_and_scores n={args.tickets}", lambda: responses_insert(world, template.pk))
    swept = sweep_stopped_at(world, args.backlog)
    timed(f"tickets n={args.tickets}", lambda: tickets_insert(world, rule, swept))
    sql("DELETE FROM surveys_response WHERE id = %s", [template.pk])
    timed("start_state", start_state_keep)
    timed("vacuum_analyze", vacuum)
    world.tenant.settings["tickets_bench"] = {"tickets": args.tickets, "backlog": args.backlog}
    world.tenant.save(update_fields=["settings"])


TABLES = (
    "surveys_response",
    "analytics_responsescore",
    "alerts_ticket",
    "alerts_ticketrule",
    "alerts_ticketevent",
    "notifications_notification",
    "notifications_delivery",
    "cem_orgunit",
    "cem_membership",
)


def vacuum() -> None:
    """Statistics for the planner and a clean visibility map, as the tables' owner."""
    from django.db import connection

    from organizations.db.guard import owner_session

    with owner_session(), connection.cursor() as cursor:
        for table in TABLES:
            cursor.execute(f"VACUUM ANALYZE {table}")


def start_state_restore(tenant_id: int) -> int:
    """Undo the last run: escalation and assignment events, notifications, deliveries and
    robots removed, the tickets' escalation and assignee as built. Rows touched."""
    from organizations.db.guard import owner_session

    with owner_session():
        touched = sql(
            """
            WITH deliveries AS (
                DELETE FROM notifications_delivery WHERE tenant_id = %(t)s RETURNING 1
            ), notifications AS (
                DELETE FROM notifications_notification WHERE tenant_id = %(t)s RETURNING 1
            )
            SELECT (SELECT count(*) FROM deliveries) + (SELECT count(*) FROM notifications)
            """,
            {"t": tenant_id},
        )[0][0]
        sql("DELETE FROM notifications_grouprobot WHERE tenant_id = %s", [tenant_id])
        touched += sql(
            "WITH gone AS (DELETE FROM alerts_ticketevent WHERE tenant_id = %s "
            "AND kind IN ('escalated', 'assigned') RETURNING 1) SELECT count(*) FROM gone",
            [tenant_id],
        )[0][0]
        touched += sql(
            """
            WITH changed AS (
                UPDATE alerts_ticket t SET escalation_level = s.escalation_level,
                       escalated_at = s.escalated_at, escalation_check_at = s.escalation_check_at,
                       assignee_id = s.assignee_id, updated_at = s.updated_at
                FROM bench_ticket_start s
                WHERE s.ticket_id = t.id AND (t.escalation_level <> s.escalation_level
                      OR t.assignee_id IS DISTINCT FROM s.assignee_id
                      OR t.escalation_check_at IS DISTINCT FROM s.escalation_check_at)
                RETURNING 1
            ) SELECT count(*) FROM changed
            """
        )[0][0]
    return touched


class Place:
    """The built tenant and the members the bench acts as."""

    def __init__(self, tenant: Any) -> None:
        from django.contrib.auth.models import User

        from organizations.models import Membership, OrgUnit, Role
        from organizations.tenancy import system_context, tenant_context

        self.tenant = tenant
        with system_context():
            members = Membership.all_tenants.filter(tenant=tenant).select_related("user")
            self.manager = members.get(role=Role.CX_MANAGER, org_unit__isnull=True).user
            self.owner = members.get(role=Role.OWNER).user
        with tenant_context(tenant):
            self.branch = (
                OrgUnit.objects.filter(kind=OrgUnit.Kind.BRANCH, code__startswith="B")
                .order_by("pk")
                .first()
            )
            self.agent = User.objects.get(username=f"{SLUG}-ag-{self.branch.pk}")
            self.region_managers = list(
                User.objects.filter(username__startswith=f"{SLUG}-rm-").order_by("pk")
            )


def place_find() -> Place | None:
    from organizations.models import Tenant
    from organizations.tenancy import system_context

    with system_context():
        tenant = Tenant.objects.filter(slug=SLUG).first()
    if tenant is None or "tickets_bench" not in tenant.settings:
        return None
    return Place(tenant)


def table_sizes() -> str:
    rows = sql(
        "SELECT relname, n_live_tup, pg_total_relation_size(relid) FROM pg_stat_user_tables "
        "WHERE relname IN ('alerts_ticket', 'alerts_ticketevent', 'surveys_response') "
        "ORDER BY relname"
    )
    return "tables " + " ".join(
        f"{name}={count}rows/{size / 2**20:.0f}MB" for name, count, size in rows
    )


def ticket_mix(tenant_id: int) -> str:
    (total, open_, due, paused, staffed, units) = sql(
        """
        SELECT count(*),
               count(*) FILTER (WHERE status IN ('open', 'in_progress', 'waiting_customer',
                                                 'reopened')),
               count(*) FILTER (WHERE escalation_check_at <= now() AND sla_paused_at IS NULL),
               count(*) FILTER (WHERE sla_paused_at IS NOT NULL),
               count(*) FILTER (WHERE assignee_id IS NOT NULL),
               count(DISTINCT org_unit_id)
        FROM alerts_ticket WHERE tenant_id = %s
        """,
        [tenant_id],
    )[0]
    breached = sql(
        "SELECT count(*) FROM alerts_ticket WHERE tenant_id = %s AND sla_due_at < now() "
        "AND sla_paused_at IS NULL",
        [tenant_id],
    )[0][0]
    return (
        f"tickets={total} open={open_} units={units} escalation_due_now={due} "
        f"past_resolution_due={breached} paused={paused} assigned={staffed}"
    )


# ---------------------------------------------------------------- 1. escalation sweep


def sweep_once(label: str) -> tuple[float, int, int]:
    """One timed tickets_escalate_due(): (seconds, escalation events, SQL queries)."""
    from django.db import connection

    from alerts.services import tickets_escalate_due

    statements: list[str] = []

    def count(execute, statement, params, many, context):
        statements.append(statement)
        return execute(statement, params, many, context)

    with connection.execute_wrapper(count):
        started = time.perf_counter()
        escalated = tickets_escalate_due()
        elapsed = time.perf_counter() - started
    print(
        f"sweep {label} seconds={elapsed:.2f} escalated={escalated} "
        f"escalated_per_s={escalated / elapsed:.0f} queries={len(statements)}",
        flush=True,
    )
    return elapsed, escalated, len(statements)


def sweep_measure(place: Place, runs: int) -> None:
    """`runs` sweeps of the same backlog (put back as built, untimed, between them), then one
    more on what the last left: the steady state of a sweep on beat."""
    from alerts.services import ESCALATION_BATCH
    from notifications.services import notification_preference_set
    from organizations.tenancy import tenant_context

    with tenant_context(place.tenant):
        for user in place.region_managers:  # they want their escalations in the group
            notification_preference_set(
                user=user,
                kinds=["assigned", "reassigned", "escalated"],
                channels=["dingtalk"],
                quiet_from=None,
                quiet_until=None,
            )
    print(
        f"sweep tickets_escalate_due(batch={ESCALATION_BATCH}) on the backlog, {runs} runs "
        f"(state put back between them); loadavg_1m={os.getloadavg()[0]:.2f}",
        flush=True,
    )
    seconds, escalated, notified, enqueued = [], [], [], []
    for run in range(1, runs + 1):
        if run > 1:
            start_state_restore(place.tenant.pk)
        redis_flush(BENCH_REDIS_URL)
        before = notification_count(place.tenant.pk)
        elapsed, events, _queries = sweep_once(f"backlog run={run}")
        seconds.append(elapsed)
        escalated.append(events)
        notified.append(notification_count(place.tenant.pk) - before)
        enqueued.append(redis_queue_length(BENCH_REDIS_URL, NOTIFICATIONS_QUEUE))
    steady, _events, _queries = sweep_once("next run (nothing new due)")
    redis_flush(BENCH_REDIS_URL)  # the managers' deliveries: not sent, not measured
    print(
        f"sweep summary runs={runs} seconds_p50={percentile_ms(seconds, 50) / 1000:.2f} "
        f"seconds_p95={percentile_ms(seconds, 95) / 1000:.2f} "
        f"escalated_per_run={escalated[-1]} "
        f"escalated_per_s={sum(escalated) / sum(seconds):.0f} "
        f"notifications_per_run={notified[-1]} deliveries_enqueued_per_run={enqueued[-1]} "
        f"(region managers want DingTalk; dropped unsent) steady_run_s={steady:.3f} "
        f"loadavg_1m={os.getloadavg()[0]:.2f}",
        flush=True,
    )


def notification_count(tenant_id: int) -> int:
    return sql("SELECT count(*) FROM notifications_notification WHERE tenant_id = %s", [tenant_id])[
        0
    ][0]


# ---------------------------------------------------------------- 2. queue page


def queue_measure(place: Place, runs: int) -> None:
    from django.test import Client
    from django.urls import reverse

    from alerts.selectors import ticket_list
    from organizations.models import Membership
    from organizations.tenancy import tenant_context

    path = reverse("ticket_queue", kwargs={"tenant_slug": place.tenant.slug})
    print(
        f"queue GET {path} runs={runs} loadavg_1m={os.getloadavg()[0]:.2f}",
        flush=True,
    )
    for label, user in (
        ("agent (one branch)", place.agent),
        ("head office cx_manager", place.manager),
        ("owner", place.owner),
    ):
        with tenant_context(place.tenant):
            scope = Membership.objects.select_related("org_unit").get(user=user).scope_path
            in_scope = ticket_list(scope_path=scope, open_only=True).count()
        client = Client()
        client.force_login(user)

        def get(client=client) -> Any:
            reply = client.get(path)
            if reply.status_code != 200:
                raise RuntimeError(f"GET {path}: HTTP {reply.status_code}")
            return reply

        timing, reply = measure(get, runs)
        rows = reply.content.count(b"data-ticket=")
        print(
            f"queue {label:<24} open_in_scope={in_scope} rows={rows} {timing.cells()}",
            flush=True,
        )


# ---------------------------------------------------------------- 3. notifications


class Receiver:
    """A threaded webhook receiver on 127.0.0.1 that checks DingTalk's and Feishu's signatures
    as their documentation specifies, keeps what it was sent and answers as they do."""

    TICKET = re.compile(r"/tickets/(\d+)/")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.tickets: list[int] = []
        self.unsigned = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                parts = urlsplit(self.path)
                signed = receiver.signature_valid(parts.path, parse_qs(parts.query), body)
                found = receiver.TICKET.search(json.dumps(body, ensure_ascii=False))
                with receiver.lock:
                    receiver.tickets.append(int(found.group(1)) if found else 0)
                    receiver.unsigned += 0 if signed else 1
                payload = json.dumps(
                    {"errcode": 0, "code": 0} if signed else {"errcode": 310000}
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_port}{path}"

    @staticmethod
    def signature_valid(path: str, query: dict, body: dict) -> bool:
        try:
            if path.startswith("/dingtalk"):
                timestamp, sign = query["timestamp"][0], query["sign"][0]
                text = f"{timestamp}\n{DINGTALK_SECRET}".encode()
                expected = hmac.new(DINGTALK_SECRET.encode(), text, hashlib.sha256).digest()
                fresh = abs(time.time() * 1000 - int(timestamp)) < 3_600_000
                return fresh and base64.b64encode(expected).decode() == sign
            if path.startswith("/feishu"):
                key = f"{body['timestamp']}\n{FEISHU_SECRET}".encode()
                expected = hmac.new(key, b"", hashlib.sha256).digest()
                fresh = abs(time.time() - int(body["timestamp"])) < 3600
                return fresh and base64.b64encode(expected).decode() == body["sign"]
        except (KeyError, ValueError):
            return False
        return False

    def received(self) -> int:
        with self.lock:
            return len(self.tickets)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def notifications_enqueue(place: Place, receiver: Receiver, count: int) -> tuple[int, float]:
    """Robots for the tenant pointing at the receiver; `count` open tickets of staffed
    branches given to their agent with an `assigned` event each (as automatic assignment
    writes them), then notified through the service, NOTIFY_BATCH events at a time. Returns
    the notifications created and the seconds the service took."""
    from django.conf import settings
    from django.db import transaction
    from django.utils import timezone

    from alerts.models import TicketEvent
    from alerts.signals import ticket_events_created_on_commit
    from notifications.services import group_robot_add, notification_preference_set
    from organizations.tenancy import tenant_context

    settings.CEM_WEBHOOK_ALLOW_PRIVATE = ["127.0.0.1"]
    agents = sql(
        "SELECT u.id, u.username FROM auth_user u WHERE u.username LIKE %s ORDER BY u.id",
        [f"{SLUG}-ag-%"],
    )
    with tenant_context(place.tenant):
        group_robot_add(
            kind="dingtalk",
            org_unit=None,
            webhook_url=receiver.url("/dingtalk"),
            secret=DINGTALK_SECRET,
            by=place.owner,
        )
        group_robot_add(
            kind="feishu",
            org_unit=None,
            webhook_url=receiver.url("/feishu"),
            secret=FEISHU_SECRET,
            by=place.owner,
        )
        from django.contrib.auth.models import User

        for position, user in enumerate(User.objects.filter(pk__in=[a[0] for a in agents])):
            notification_preference_set(
                user=user,
                kinds=["assigned", "reassigned", "escalated"],
                channels=["dingtalk" if position % 2 == 0 else "feishu"],
                quiet_from=None,
                quiet_until=None,
            )
    now = timezone.now()
    chosen = sql(
        """
        WITH picked AS (
            SELECT t.id, a.user_id FROM alerts_ticket t
            JOIN cem_membership a ON a.org_unit_id = t.org_unit_id AND a.role = 'agent'
                 AND a.tenant_id = t.tenant_id
            WHERE t.tenant_id = %(t)s AND t.status = 'open' AND t.assignee_id IS NULL
            ORDER BY t.id LIMIT %(n)s
        )
        UPDATE alerts_ticket t SET assignee_id = p.user_id, updated_at = %(now)s
        FROM picked p WHERE t.id = p.id RETURNING t.id, p.user_id
        """,
        {"t": place.tenant.pk, "n": count, "now": now},
    )
    created = 0
    started = time.perf_counter()
    for first in range(0, len(chosen), NOTIFY_BATCH):
        with tenant_context(place.tenant), transaction.atomic():
            events = TicketEvent.objects.bulk_create(
                TicketEvent(
                    tenant_id=place.tenant.pk,
                    ticket_id=ticket_id,
                    kind=TicketEvent.Kind.ASSIGNED,
                    note="分派给坐席（轮流）",
                    at=now,
                )
                for ticket_id, _user_id in chosen[first : first + NOTIFY_BATCH]
            )
            ticket_events_created_on_commit([event.pk for event in events])
        created += len(events)
    return created, time.perf_counter() - started


def worker_start(database_url: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": BENCH_REDIS_URL,
        "DEBUG": "0",
        "DJANGO_SETTINGS_MODULE": "bench.tickets_settings",
    }
    return solo_worker_start(queue=NOTIFICATIONS_QUEUE, env=env, log_name=WORKER_LOG)


def deliveries_sent(tenant_id: int) -> tuple[int, int, int]:
    """(sent, distinct notifications sent, failed attempts) in the delivery log."""
    return sql(
        "SELECT count(*) FILTER (WHERE status = 'sent'), "
        "count(DISTINCT notification_id) FILTER (WHERE status = 'sent'), "
        "count(*) FILTER (WHERE status = 'failed') "
        "FROM notifications_delivery WHERE tenant_id = %s",
        [tenant_id],
    )[0]


def attempt_ms(tenant_id: int) -> tuple[float, float]:
    """The p50 and p95 ms of one logged attempt, from its row's creation to its finish: the
    robot's POST and the status saved; the rest of a task's time is the task's own."""
    return sql(
        "SELECT 1000 * percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM "
        "finished_at - created_at)), 1000 * percentile_cont(0.95) WITHIN GROUP (ORDER BY "
        "extract(epoch FROM finished_at - created_at)) FROM notifications_delivery "
        "WHERE tenant_id = %s AND status = 'sent'",
        [tenant_id],
    )[0]


def notify_measure(place: Place, database_url: str, count: int) -> None:
    receiver = Receiver()
    worker = None
    try:
        created, enqueue_seconds = notifications_enqueue(place, receiver, count)
        queued = redis_queue_length(BENCH_REDIS_URL, NOTIFICATIONS_QUEUE)
        print(
            f"notify notifications={created} enqueue_s={enqueue_seconds:.2f} "
            f"tasks_queued={queued} robots=dingtalk+feishu -> {receiver.url('/')} "
            f"loadavg_1m={os.getloadavg()[0]:.2f}",
            flush=True,
        )
        worker = worker_start(database_url)
        worker_ready_wait(worker, log=WORKER_LOG)
        started, already = time.perf_counter(), receiver.received()
        cpu_before = group_cpu_seconds(worker.pid)
        deadline = time.monotonic() + 60 + created  # a stall fails instead of hanging
        while receiver.received() < created or deliveries_sent(place.tenant.pk)[0] < created:
            if worker.poll() is not None:
                raise RuntimeError(f"celery worker died:\n{log_tail(WORKER_LOG)}")
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"only {receiver.received()}/{created} received; {log_tail(WORKER_LOG)}"
                )
            time.sleep(POLL_SECONDS)
        seconds = time.perf_counter() - started
        cpu_ms = 1000 * (group_cpu_seconds(worker.pid) - cpu_before) / max(1, created - already)
        time.sleep(1.0)  # anything sent twice would arrive now
    finally:
        process_stop(worker)
        receiver.stop()
    sent, distinct, failed = deliveries_sent(place.tenant.pk)
    attempt_p50, attempt_p95 = attempt_ms(place.tenant.pk)
    per_ticket = Counter(receiver.tickets)
    duplicates = sum(n - 1 for n in per_ticket.values() if n > 1)
    exactly_once = (
        "yes"
        if sent == distinct == created and len(per_ticket) == created and not duplicates
        else "NO"
    )
    print(
        f"notify worker=celery --pool solo -Q {NOTIFICATIONS_QUEUE} delivered={created - already} "
        f"(+{already} before its first ping answer) seconds={seconds:.1f} "
        f"sent_per_s={(created - already) / seconds:.1f} "
        f"worker_cpu_ms_per_send={cpu_ms:.1f} attempt_ms_p50={attempt_p50:.1f} "
        f"attempt_ms_p95={attempt_p95:.1f} received={receiver.received()} "
        f"delivery_log_sent={sent} failed_attempts={failed} duplicates={duplicates} "
        f"exactly_once={exactly_once} signatures_invalid={receiver.unsigned} "
        f"loadavg_1m={os.getloadavg()[0]:.2f}",
        flush=True,
    )


# ---------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    print(
        f"machine cores={os.cpu_count()} loadavg_1m={os.getloadavg()[0]:.2f} "
        f"loadavg_5m={os.getloadavg()[1]:.2f}",
        flush=True,
    )
    fresh = args.rebuild or not database_exists(args.database)
    if fresh:
        database_fresh(args.database)
    url = f"{POSTGRES_URL}/{args.database}"
    redis_flush(BENCH_REDIS_URL)
    django_start(url, BENCH_REDIS_URL)
    django_migrate()
    place = place_find()
    wanted = {"tickets": args.tickets, "backlog": args.backlog}
    if place is not None and place.tenant.settings["tickets_bench"] != wanted:
        print(
            f"build had {place.tenant.settings['tickets_bench']}, {wanted} asked: building anew",
            flush=True,
        )
        place, fresh = None, False
    if place is None:
        if not fresh:  # an interrupted build or another size: start again from empty
            _restart_fresh(args.database)
        started = time.perf_counter()
        tenant_build(args)
        print(f"build total seconds={time.perf_counter() - started:.1f}", flush=True)
        place = place_find()
    else:
        touched = timed("restore_start_state", lambda: start_state_restore(place.tenant.pk))
        if touched:
            timed("vacuum_analyze", vacuum)
        print(
            f"build reused (tenant {SLUG} with {place.tenant.settings['tickets_bench']}, "
            f"{touched} rows put back as built); --rebuild to make it anew",
            flush=True,
        )
    print(table_sizes(), flush=True)
    print(ticket_mix(place.tenant.pk), flush=True)
    # The queue first, before the sweep changes which tickets show as escalated.
    queue_measure(place, args.runs)
    sweep_measure(place, args.sweeps)
    notify_measure(place, url, args.notifications)
    print(f"loadavg_1m_after={os.getloadavg()[0]:.2f}", flush=True)
    return 0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.tickets", description=__doc__)
    parser.add_argument("--rebuild", action="store_true", help="build the tenant anew")
    parser.add_argument("--tickets", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=30, help="measured requests per member")
    parser.add_argument("--sweeps", type=int, default=5, help="timed sweeps of the backlog")
    parser.add_argument(
        "--backlog",
        type=int,
        default=60,
        help="working minutes since the sweep last ran, as built: the steps due meanwhile wait",
    )
    parser.add_argument("--notifications", type=int, default=2000)
    parser.add_argument("--database", default=BENCH_DB)
    parser.add_argument("--seed", type=int, default=2024)
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(main())
