"""HTTP throughput of the submission paths beside bare Django floors, in one run.

Targets, interleaved in rounds (--rounds) against the same gunicorn server:
  floor_insert   POST that stores one row with raw SQL (bench/floor.py): the submission floor
  floor_page     GET of a form as large as the survey's, rendered from a template: the page floor
  respond_get    a new respondent's first GET of the survey link (nothing stored)
  respond_post   the page's POST alone, each with a form respond_get was served (one response)
  respond_visit  GET then POST by a new respondent, counted as one request
  api_submit     POST /api/v1/surveys/<id>/responses/ with an API key (one response)
Every stored row is checked against the successes, and every response against the list of
those waiting for the scoring workers (with a task queued to take them).
"""

from __future__ import annotations

import argparse
import collections
import html
import http.client
import json
import os
import platform
import random
import re
import resource
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

ROOT = Path(__file__).resolve().parent.parent
LOG_DIR = ROOT / "var" / "bench"
# Server of the bench databases (trust auth); each bench creates and drops its own database.
POSTGRES_URL = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432")
BENCH_DB = "cem_bench"
# Submissions enqueue scoring here; no worker consumes it during the bench. Flushed before
# and after: give the bench a Redis database of its own.
BENCH_REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/10")
SCORING_QUEUE = "scoring"
SCORING_TASK = "analytics.tasks.score_waiting_responses"
WARMUP_SECONDS = 2.0
REQUEST_TIMEOUT = 30.0
ANSWER_VARIANTS = 200
TEXTS = [
    "排队时间太长了，等了快一个小时。",
    "柜员态度很好，业务办得很快。",
    "手机银行转账经常失败，希望尽快修复。",
    "大堂经理主动帮我填单，非常贴心。",
    "手续费太高，而且事先没有说明。",
    "整体体验不错，下次还会来。",
]


# ---------------------------------------------------------------- databases, broker, Django


def _admin_execute(sql: str) -> None:
    import psycopg2

    connection = psycopg2.connect(f"{POSTGRES_URL}/postgres")
    connection.autocommit = True  # CREATE/DROP DATABASE refuse to run inside a transaction
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql)
    finally:
        connection.close()


def database_drop(name: str) -> None:
    # FORCE ends the sessions a killed server or worker may have left open.
    _admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def database_fresh(name: str) -> str:
    """Drop and create the database `name`; return its URL."""
    database_drop(name)
    _admin_execute(f'CREATE DATABASE "{name}"')
    return f"{POSTGRES_URL}/{name}"


def redis_flush(url: str) -> None:
    import redis

    redis.Redis.from_url(url).flushdb()


def redis_queue_length(url: str, queue: str) -> int:
    import redis

    return int(redis.Redis.from_url(url).llen(queue))


def django_start(database_url: str, redis_url: str) -> None:
    """Point this process's settings at the bench database and broker, then set Django up."""
    os.environ["DATABASE_URL"] = database_url
    os.environ["REDIS_URL"] = redis_url
    os.environ["DJANGO_SETTINGS_MODULE"] = "cem.settings"
    os.environ["DEBUG"] = "0"  # DEBUG would keep every query of the bench in memory
    import django

    django.setup()


def django_migrate() -> None:
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)


def django_disconnect() -> None:
    """Close this process's connections so the database can be dropped."""
    from django.apps import apps

    if apps.ready:
        from django.db import connections

        connections.close_all()


def stop_on_sigterm() -> None:
    """Turn SIGTERM into SystemExit so that `finally` blocks stop servers and drop databases."""

    def _exit(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, _exit)


# ---------------------------------------------------------------- server processes


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def process_start(args: list[str], env: Mapping[str, str], log_name: str) -> subprocess.Popen:
    """Start a child in its own session (Ctrl-C reaches us only, and we stop it), logging to
    var/bench/<log_name>."""
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    with open(LOG_DIR / log_name, "w") as log:
        return subprocess.Popen(
            args,
            cwd=ROOT,
            env=dict(env),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def solo_worker_start(
    *, queue: str, env: Mapping[str, str], log_name: str, loglevel: str = "WARNING"
) -> subprocess.Popen:
    """One Celery worker of the app, `--pool solo --concurrency 1` (one process: what it
    does is what one core does), consuming `queue`, with `env` as its environment."""
    args = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "cem",
        "worker",
        "--pool",
        "solo",
        "--concurrency",
        "1",
        "-Q",
        queue,
        "--hostname",
        f"bench-{queue}-{os.getpid()}@{socket.gethostname()}",
        "--loglevel",
        loglevel,
    ]
    return process_start(args, env, log_name)


def process_stop(process: subprocess.Popen | None, timeout: float = 20.0) -> None:
    """SIGTERM the child's process group, SIGKILL it if it lingers."""
    if process is None or process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=timeout)
    except ProcessLookupError:
        pass


def log_tail(log_name: str, lines: int = 20) -> str:
    path = LOG_DIR / log_name
    return (
        "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""
    )


def gunicorn_start(
    *, workers: int, port: int, database_url: str, profile: bool = False
) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": BENCH_REDIS_URL,
        "CEM_ROOT_URLCONF": "bench.urls",
        "DEBUG": "0",
        "SECRET_KEY": "bench-only-secret-key",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        # Every request comes from 127.0.0.1: the per-address and per-key limits must not bite.
        "CEM_PUBLIC_SUBMIT_RATE": "1000000000",
        "CEM_API_RATE": "1000000000/second",
        "CEM_API_ADDRESS_RATE": "1000000000/second",
        "LOG_LEVEL": "WARNING",
    }
    # With `profile`, each worker profiles the requests by kind (see bench/profiling.py).
    app = ["bench.profiling:application", "-c", "bench/profiling.py"] if profile else ["cem.wsgi"]
    args = [
        sys.executable,
        "-m",
        "gunicorn",
        *app,
        "--workers",
        str(workers),
        "--worker-class",
        "sync",
        "--bind",
        f"127.0.0.1:{port}",
        "--log-level",
        "warning",
    ]
    return process_start(args, env, "gunicorn.log")


def http_ready_wait(process: subprocess.Popen, port: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited at start-up:\n{log_tail('gunicorn.log')}")
        try:
            if http_request(port, "GET", "/healthz").status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not answer /healthz within {timeout:.0f} s")


# ---------------------------------------------------------------- HTTP clients


@dataclass(frozen=True)
class Reply:
    status: int
    headers: http.client.HTTPMessage
    body: bytes


def http_request(
    port: int, method: str, path: str, body: bytes = b"", headers: Mapping[str, str] | None = None
) -> Reply:
    """One request on a new connection: gunicorn's sync workers close it after each reply."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT)
    try:
        connection.request(method, path, body=body, headers=dict(headers or {}))
        response = connection.getresponse()
        return Reply(response.status, response.headers, response.read())
    finally:
        connection.close()


def _problem(reply: Reply) -> str:
    return f"HTTP {reply.status}: {reply.body[:200].decode('utf-8', errors='replace')}"


class Client(Protocol):
    def send(self) -> str | None:
        """Make one request; None when it did what it should, else what went wrong."""


class FloorClient:
    def __init__(self, port: int):
        self.port = port

    def send(self) -> str | None:
        reply = http_request(self.port, "POST", "/bench/floor/", body=uuid.uuid4().hex.encode())
        return None if reply.status == 201 else _problem(reply)


class FloorPageClient:
    def __init__(self, port: int):
        self.port = port

    def send(self) -> str | None:
        reply = http_request(self.port, "GET", "/bench/floor-page/")
        return None if reply.status == 200 and b"</form>" in reply.body else _problem(reply)


class PoolExhaustedError(Exception):
    """A client has nothing left to send: its thread stops before the deadline."""


@dataclass(frozen=True)
class RespondForm:
    """What a respondent's browser keeps from the first GET to post the page back: the form's
    hidden fields (page, resume key, form token, ...), in page order."""

    hidden: tuple[tuple[str, str], ...]


HIDDEN_FIELD = re.compile(rb'<input type="hidden" name="([^"]+)" value="([^"]*)"')
FORM_NEEDS = {"page", "resume_key", "form_token"}


def respond_page_get(port: int, path: str) -> tuple[Reply, RespondForm | None]:
    """GET the survey page as a new respondent (no cookies): the page and its form's fields."""
    reply = http_request(port, "GET", path)
    hidden = tuple(
        (name.decode(), html.unescape(value.decode()))
        for name, value in HIDDEN_FIELD.findall(reply.body)
    )
    if reply.status != 200 or not FORM_NEEDS.issubset(name for name, _value in hidden):
        return reply, None
    return reply, RespondForm(hidden)


def respond_page_post(
    port: int, path: str, form: RespondForm, answers: list[tuple[str, str]]
) -> str | None:
    """POST the page (the bench survey has one) with the form's fields; it should thank."""
    fields = [*form.hidden, *answers]
    reply = http_request(
        port,
        "POST",
        path,
        body=urllib.parse.urlencode(fields).encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    if reply.status == 302 and reply.headers.get("Location", "").endswith("/thanks/"):
        return None
    return _problem(reply)


class RespondGetClient:
    """A new respondent opening the link: the page's first GET. Each form it is given is kept
    in `forms` for RespondPostClient (nothing is stored until a page is posted)."""

    def __init__(self, port: int, token: str, forms: collections.deque[RespondForm]):
        self.port = port
        self.path = f"/s/{token}/"
        self.forms = forms

    def send(self) -> str | None:
        reply, form = respond_page_get(self.port, self.path)
        if form is None:
            return _problem(reply)
        self.forms.append(form)
        return None


class RespondPostClient:
    """The page's POST alone, each with a form a RespondGetClient was served (one use each,
    as a browser posts it); stops when they run out."""

    def __init__(
        self,
        port: int,
        token: str,
        forms: collections.deque[RespondForm],
        variants: list[list[tuple[str, str]]],
    ):
        self.port = port
        self.path = f"/s/{token}/"
        self.forms = forms
        self.variants = variants

    def send(self) -> str | None:
        try:
            form = self.forms.popleft()
        except IndexError:
            raise PoolExhaustedError from None
        return respond_page_post(self.port, self.path, form, random.choice(self.variants))


class RespondVisitClient:
    """A whole visit of a new respondent: GET the page, answer, POST it, be redirected to the
    thanks page (whose GET is not counted). One visit is one request in the figures."""

    def __init__(self, port: int, token: str, variants: list[list[tuple[str, str]]]):
        self.port = port
        self.path = f"/s/{token}/"
        self.variants = variants

    def send(self) -> str | None:
        reply, form = respond_page_get(self.port, self.path)
        if form is None:
            return _problem(reply)
        return respond_page_post(self.port, self.path, form, random.choice(self.variants))


class ApiClient:
    def __init__(self, port: int, survey_id: int, api_key: str, variants: list[dict[str, Any]]):
        self.port = port
        self.path = f"/api/v1/surveys/{survey_id}/responses/"
        self.headers = {"Authorization": f"Api-Key {api_key}", "Content-Type": "application/json"}
        self.variants = variants

    def send(self) -> str | None:
        payload = {
            "answers": random.choice(self.variants),
            "client_submission_id": uuid.uuid4().hex,
        }
        reply = http_request(
            self.port, "POST", self.path, body=json.dumps(payload).encode(), headers=self.headers
        )
        return None if reply.status == 201 else _problem(reply)


# ---------------------------------------------------------------- answers


def answer_variants(definition: Mapping[str, Any], count: int, seed: int = 7) -> list[dict]:
    """Valid answers to every question of the definition, as JSON values keyed by question."""
    from surveys.definition import SCALES, iter_questions

    rng = random.Random(seed)
    variants = []
    for _ in range(count):
        answers: dict[str, Any] = {}
        for question in iter_questions(definition):
            qtype, key = question["type"], question["key"]
            if qtype in SCALES:
                answers[key] = rng.randint(SCALES[qtype].low, SCALES[qtype].high)
            elif qtype == "single_choice":
                answers[key] = rng.choice(question["options"])["key"]
            elif qtype == "multiple_choice":
                options = [option["key"] for option in question["options"]]
                answers[key] = rng.sample(options, rng.randint(1, len(options)))
            else:
                answers[key] = rng.choice(TEXTS)
        variants.append(answers)
    return variants


def form_fields(answers: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The respondent form's fields (q_<key>, one pair per chosen option) for JSON answers."""
    fields = []
    for key, value in answers.items():
        for item in value if isinstance(value, list) else [value]:
            fields.append((f"q_{key}", str(item)))
    return fields


# ---------------------------------------------------------------- load


@dataclass
class LoadResult:
    name: str
    seconds: float
    latencies: list[float] = field(default_factory=list)  # successful requests only
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    client_cpu_seconds: float = 0.0
    server_cpu_seconds: float = 0.0  # gunicorn master and workers

    def percentile_ms(self, percent: float) -> float:
        return percentile_ms(self.latencies, percent)

    def rate(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def line(self) -> str:
        return (
            f"{self.name:<14} req_per_s={self.rate():.0f} p50_ms={self.percentile_ms(50):.1f} "
            f"p99_ms={self.percentile_ms(99):.1f} n={len(self.latencies)} errors={self.errors} "
            f"server_cpu_ms_per_req={self.server_cpu_ms_per_request():.1f} "
            f"client_cpu={100 * self.client_cpu_seconds / self.seconds:.0f}% "
            f"seconds={self.seconds:.1f}"
        )

    def merged(self, other: LoadResult) -> LoadResult:
        """This result and another measured of the same target, as one."""
        return LoadResult(
            name=self.name,
            seconds=self.seconds + other.seconds,
            latencies=self.latencies + other.latencies,
            errors=self.errors + other.errors,
            error_samples=self.error_samples + other.error_samples,
            client_cpu_seconds=self.client_cpu_seconds + other.client_cpu_seconds,
            server_cpu_seconds=self.server_cpu_seconds + other.server_cpu_seconds,
        )

    def server_cpu_ms_per_request(self) -> float:
        # Unlike req/s, this hardly moves when other programs share the cores.
        return 1000 * self.server_cpu_seconds / len(self.latencies) if self.latencies else 0.0


def process_cpu_seconds() -> float:
    """CPU time of this process, all threads."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def group_cpu_seconds(pgid: int) -> float:
    """CPU time used so far by the live processes of one process group, from /proc."""
    ticks = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the process ended meanwhile
        # After "pid (comm)": state ppid pgrp ... utime is field 14 and stime 15 of stat(5).
        if int(fields[2]) == pgid:
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def load_run(name: str, clients: list[Client], seconds: float, server_pgid: int) -> LoadResult:
    """Each client in its own thread sends requests back to back until `seconds` have passed."""
    result = LoadResult(name=name, seconds=seconds)
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def drive(client: Client) -> None:
        latencies, problems = [], []
        while time.monotonic() < deadline:
            started = time.perf_counter()
            try:
                problem = client.send()
            except PoolExhaustedError:
                break
            except (OSError, http.client.HTTPException) as error:
                problem = repr(error)
            if problem is None:
                latencies.append(time.perf_counter() - started)
            else:
                problems.append(problem)
        with lock:
            result.latencies.extend(latencies)
            result.errors += len(problems)
            result.error_samples.extend(problems[: max(0, 3 - len(result.error_samples))])

    cpu_before, server_before = process_cpu_seconds(), group_cpu_seconds(server_pgid)
    started = time.monotonic()
    # Daemon threads: on Ctrl-C the main thread goes to cleanup without waiting for them.
    threads = [threading.Thread(target=drive, args=(client,), daemon=True) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result.seconds = time.monotonic() - started
    result.client_cpu_seconds = process_cpu_seconds() - cpu_before
    result.server_cpu_seconds = group_cpu_seconds(server_pgid) - server_before
    return result


def target_measure(
    name: str, clients: list[Client], seconds: float, server_pgid: int
) -> tuple[LoadResult, int]:
    """Warm up (a worker's first requests load URLconf, templates, connections), then measure.
    Returns the measured result and the successes of both runs, to check against stored rows."""
    warmup = load_run(name, clients, WARMUP_SECONDS, server_pgid)
    measured = load_run(name, clients, seconds, server_pgid)
    for sample in warmup.error_samples + measured.error_samples:
        print(f"  {name} error: {sample}", file=sys.stderr)
    return measured, len(warmup.latencies) + len(measured.latencies)


# ---------------------------------------------------------------- the bench


@dataclass(frozen=True)
class BenchWorld:
    survey_id: int
    token: str
    api_key: str
    definition: dict


def bench_world_build() -> BenchWorld:
    from organizations.tenancy import tenant_context
    from tests.factories import build_world

    world = build_world("bench")
    with tenant_context(world.tenant):
        definition = world.survey.live_version.definition
    return BenchWorld(
        survey_id=world.survey.pk,
        token=world.link.token,
        api_key=world.api_key_plaintext,
        definition=definition,
    )


def stored_counts() -> dict[str, int]:
    from bench.floor import floor_row_count
    from organizations.tenancy import system_context
    from surveys.models import Response

    with system_context():
        return {
            "floor_insert": floor_row_count(),
            "respond_form": Response.all_tenants.filter(source=Response.Source.LINK).count(),
            "api_submit": Response.all_tenants.filter(source=Response.Source.API).count(),
        }


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo, or "unknown"."""
    cpuinfo = Path("/proc/cpuinfo")
    found = re.search(r"model name\s*:\s*(.+)", cpuinfo.read_text()) if cpuinfo.exists() else None
    return found.group(1).strip() if found else "unknown"


def machine_line(args: argparse.Namespace) -> str:
    return (
        f"machine cores={os.cpu_count()} cpu={cpu_model()!r} python={platform.python_version()} "
        f"gunicorn_workers={args.workers} worker_class=sync client_threads={args.concurrency} "
        f"seconds={args.seconds:g} rounds={args.rounds} loadavg_1m={os.getloadavg()[0]:.2f} "
        "(client threads share the cores with the server)"
    )


# Which floor each path is compared with: the bare insert for submissions, the bare form page
# for the first GET, both one after the other for a whole visit (GET and POST).
FLOORS = {
    "respond_get": ("floor_page",),
    "respond_post": ("floor_insert",),
    "respond_visit": ("floor_page", "floor_insert"),
    "api_submit": ("floor_insert",),
}


def floor_shares(results: Mapping[str, LoadResult]) -> list[str]:
    """Each path's rate as a share of its floor's, and the same by server CPU per request."""
    lines = []
    for name, floors in FLOORS.items():
        if name not in results or not all(floor in results for floor in floors):
            continue
        floor_cpu_ms = sum(results[floor].server_cpu_ms_per_request() for floor in floors)
        # A floor visit takes one request of each floor, back to back.
        floor_rate = 1 / sum(1 / results[floor].rate() for floor in floors)
        path_cpu_ms = results[name].server_cpu_ms_per_request()
        lines.append(
            f"share {name}/{'+'.join(floors)}: {100 * results[name].rate() / floor_rate:.1f} % "
            f"of the floor's req/s ({results[name].rate():.0f} vs {floor_rate:.0f}); "
            f"by server CPU {100 * floor_cpu_ms / path_cpu_ms if path_cpu_ms else 0:.1f} % "
            f"({path_cpu_ms:.2f} vs {floor_cpu_ms:.2f} ms)"
        )
    return lines


def page_sizes(port: int, token: str) -> str:
    floor = http_request(port, "GET", "/bench/floor-page/")
    survey, _form = respond_page_get(port, f"/s/{token}/")
    return f"page bytes: floor_page={len(floor.body)} respond_get={len(survey.body)}"


def bench_run(args: argparse.Namespace, database_url: str) -> int:
    from bench.floor import floor_table_create
    from bench.profiling import KINDS, profile_report, profiles_clear
    from organizations.db.guard import owner_session

    django_start(database_url, BENCH_REDIS_URL)
    django_migrate()
    with owner_session():  # the floor's table is schema work; gunicorn serves as the app role
        floor_table_create()
    world = bench_world_build()
    variants = answer_variants(world.definition, ANSWER_VARIANTS)
    form_variants = [form_fields(answers) for answers in variants]
    # Forms served by respond_get's GETs, each posted once by respond_post.
    forms: collections.deque[RespondForm] = collections.deque()
    port = free_port()
    if args.profile:
        profiles_clear()
    server = gunicorn_start(
        workers=args.workers, port=port, database_url=database_url, profile=args.profile
    )
    try:
        http_ready_wait(server, port)
        targets: dict[str, Callable[[], Client]] = {
            "floor_insert": lambda: FloorClient(port),
            "floor_page": lambda: FloorPageClient(port),
            "respond_get": lambda: RespondGetClient(port, world.token, forms),
            "respond_post": lambda: RespondPostClient(port, world.token, forms, form_variants),
            "respond_visit": lambda: RespondVisitClient(port, world.token, form_variants),
            "api_submit": lambda: ApiClient(port, world.survey_id, world.api_key, variants),
        }
        chosen = [name for name in targets if name in args.only] if args.only else list(targets)
        if "respond_post" in chosen and "respond_get" not in chosen:
            chosen.insert(chosen.index("respond_post"), "respond_get")  # it serves the forms
        print(machine_line(args), flush=True)
        print(page_sizes(port, world.token), flush=True)
        results: dict[str, LoadResult] = {}
        successes: dict[str, int] = collections.Counter()
        # Rounds interleave the targets, so that other work on the machine that comes and goes
        # during the run weighs on each target alike instead of on the ones measured then.
        for _round in range(args.rounds):
            for name in chosen:
                clients = [targets[name]() for _ in range(args.concurrency)]
                measured, succeeded = target_measure(
                    name, clients, args.seconds / args.rounds, server.pid
                )
                results[name] = results[name].merged(measured) if name in results else measured
                successes[name] += succeeded
        for name in chosen:
            print(results[name].line(), flush=True)
    finally:
        process_stop(server)
    for line in floor_shares(results):
        print(line)
    if args.profile:
        for kind in KINDS.values():
            print(profile_report(kind, args.profile_top))
    return stored_check(successes)


def stored_check(successes: Mapping[str, int]) -> int:
    """Compare the rows in the database with the requests that reported success: one response
    per respondent POST or API call, none for a GET."""
    from organizations.broker import BATCH_KEY_PREFIX

    stored = stored_counts()
    # Responses wait in the scoring workers' list; a task to take them waits in their queue.
    waiting = redis_queue_length(BENCH_REDIS_URL, BATCH_KEY_PREFIX + SCORING_TASK)
    queued = redis_queue_length(BENCH_REDIS_URL, SCORING_QUEUE)
    posted_forms = successes.get("respond_post", 0) + successes.get("respond_visit", 0)
    expected = {
        "floor_insert": successes.get("floor_insert", 0),
        "respond_form": posted_forms,
        "api_submit": successes.get("api_submit", 0),
    }
    summary = " ".join(f"{name}={stored[name]}/{expected[name]}" for name in expected)
    print(
        f"stored rows/successful writes: {summary} "
        f"(respond_form = respond_post + respond_visit) "
        f"waiting_for_scoring={waiting}/{posted_forms + expected['api_submit']} "
        f"scoring_tasks_queued={queued}"
    )
    if stored != expected or waiting != posted_forms + expected["api_submit"] or not queued:
        print("MISMATCH between successes and stored rows or queued tasks", file=sys.stderr)
        return 1
    return 0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.http_submit", description=__doc__)
    parser.add_argument("--seconds", type=float, default=20.0, help="measured seconds per target")
    parser.add_argument(
        "--rounds",
        type=int,
        default=4,
        help="rounds that interleave the targets, each measuring seconds/rounds per target",
    )
    parser.add_argument("--concurrency", type=int, default=8, help="client threads")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers")
    parser.add_argument(
        "--only",
        nargs="+",
        metavar="TARGET",
        help="measure only these targets (respond_post brings respond_get, which serves it)",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="run the workers under cProfile and print each kind of request's top functions",
    )
    parser.add_argument("--profile-top", type=int, default=25, help="functions per list")
    return parser.parse_args(argv)


def on_fresh_database(name: str, redis_url: str, run: Callable[[str], int | None]) -> int:
    """run(database_url) on a database created for it, dropped afterwards, with the bench's
    Redis database flushed before and after (tasks nobody consumed); 130 on Ctrl-C or SIGTERM.
    """
    stop_on_sigterm()
    redis_flush(redis_url)
    try:
        return run(database_fresh(name)) or 0
    except KeyboardInterrupt:
        print("interrupted: bench database dropped", file=sys.stderr)
        return 130
    finally:
        redis_flush(redis_url)
        django_disconnect()
        database_drop(name)


def percentile_ms(latencies: Sequence[float], percent: float) -> float:
    """The nearest-rank percentile of latencies in seconds, in milliseconds (nan if none)."""
    if not latencies:
        return float("nan")
    ordered = sorted(latencies)
    rank = max(0, min(len(ordered) - 1, int(len(ordered) * percent / 100 + 0.5) - 1))
    return ordered[rank] * 1000


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return on_fresh_database(BENCH_DB, BENCH_REDIS_URL, lambda url: bench_run(args, url))


if __name__ == "__main__":
    sys.exit(main())
