"""Shared fixtures: tenant worlds, a real Celery worker, and Chromium through Playwright.

Locally without PostgreSQL/Redis the suite runs on SQLite with eager tasks and skips the
tests that need the real services; with CI=true a missing service fails the run instead.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings

from organizations.tenancy import tenant_context
from tests.factories import build_world

ROOT = Path(__file__).resolve().parent.parent
# Playwright's sync API runs an event loop in the test thread; the ORM calls the tests make
# around it are still plain synchronous calls.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
IN_CI = os.environ.get("CI", "").lower() == "true"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")


def on_postgres() -> bool:
    return settings.DATABASES["default"]["ENGINE"].endswith("postgresql")


def real_services_available() -> bool:
    return on_postgres() and bool(settings.REDIS_URL)


def pytest_addoption(parser):
    parser.addoption(
        "--clock",
        default=os.environ.get("CEM_TEST_CLOCK", ""),
        help="run the whole session with the clock set to this instant, ticking on from there: "
        "an ISO date-time with its offset, or HH:MM for the nearest such time in TIME_ZONE "
        "(e.g. 23:50 and 00:10 around the tenant's midnight); env CEM_TEST_CLOCK",
    )


def clock_instant(value: str, *, now: datetime) -> datetime:
    """The instant `--clock` names; a bare HH:MM is the one nearest `now` in TIME_ZONE, so the
    worker process and PostgreSQL (which keep the real clock) are at most 12 hours apart."""
    if "T" in value:
        instant = datetime.fromisoformat(value)
        if instant.tzinfo is None:
            raise pytest.UsageError(f"--clock={value}: give the offset, e.g. +08:00")
        return instant
    zone = ZoneInfo(settings.TIME_ZONE)
    local_time = datetime.strptime(value, "%H:%M").time()
    today = now.astimezone(zone).date()
    candidates = [
        datetime.combine(today + timedelta(days=days), local_time, tzinfo=zone)
        for days in (-1, 0, 1)
    ]
    return min(candidates, key=lambda candidate: abs(candidate - now))


def pytest_configure(config):
    if IN_CI and not real_services_available():
        raise pytest.UsageError(
            "CI=true needs PostgreSQL (DATABASE_URL) and Redis (REDIS_URL); refusing to skip."
        )
    # Hashing the test users' passwords with the production hasher (PBKDF2, a million rounds)
    # was nine tenths of building a world. Logins in this process (the test client, the live
    # server) check with the same fast hasher; nothing here tests the hasher itself.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Files the tests make (exports) go to a folder of this run, shared with its worker.
    settings.MEDIA_ROOT = tempfile.mkdtemp(prefix="cem-test-media-")
    _flush_retrying_deadlocks()
    if config.getoption("--clock"):
        import time_machine

        instant = clock_instant(config.getoption("--clock"), now=datetime.now().astimezone())
        config.clock_traveller = time_machine.travel(instant, tick=True)
        config.clock_traveller.start()


# What a test module names when its tests place data on days counted from "now" or compare with
# the date: under --clock only these modules run (the rest cannot see the clock move), and of
# them only the tests that do not set a clock of their own (`midday`).
CLOCK_WORDS = re.compile(
    r"timezone\.now|localdate|localtime|date\.today|datetime\.now|timedelta|days=|time_machine"
)


def pytest_collection_modifyitems(config, items):
    if not config.getoption("--clock"):
        return
    sees_clock: dict[str, bool] = {}

    def module_sees_clock(path) -> bool:
        key = str(path)
        if key not in sees_clock:
            sees_clock[key] = bool(CLOCK_WORDS.search(Path(key).read_text(encoding="utf-8")))
        return sees_clock[key]

    kept, left = [], []
    for item in items:
        clock_free = "midday" in item.fixturenames or not module_sees_clock(item.path)
        (left if clock_free else kept).append(item)
    if left:
        config.hook.pytest_deselected(items=left)
        items[:] = kept


def _flush_retrying_deadlocks() -> None:
    """Empty the database after a transactional test again when PostgreSQL chose the TRUNCATE
    as a deadlock's victim: the Celery worker may still be finishing the test's last task
    (its foreign-key locks against the TRUNCATE's), and it is done a moment later."""
    from django.core.management.base import CommandError
    from django.test import TransactionTestCase

    teardown = TransactionTestCase._fixture_teardown

    def retried(self) -> None:
        for attempt in range(3):
            try:
                return teardown(self)
            except CommandError as error:
                if attempt == 2 or "deadlock detected" not in str(error.__cause__):
                    raise
                time.sleep(0.5)

    TransactionTestCase._fixture_teardown = retried


def pytest_unconfigure(config):
    shutil.rmtree(settings.MEDIA_ROOT, ignore_errors=True)
    if hasattr(config, "clock_traveller"):
        config.clock_traveller.stop()


def pytest_report_header(config):
    if hasattr(config, "clock_traveller"):
        return f"clock: {datetime.now().astimezone(ZoneInfo(settings.TIME_ZONE)).isoformat()}"


def require_real_services() -> None:
    if not real_services_available():
        pytest.skip("needs PostgreSQL and Redis (set DATABASE_URL and REDIS_URL)")


# An ordinary moment of the tenant's day, a Wednesday noon far from any midnight, week or month
# end: tests that place data on days counted back from "now" run at it, so that what falls in
# a period does not depend on the hour the suite runs. The clock ticks on from there.
MIDDAY = datetime.fromisoformat("2026-06-10T12:00:00+08:00")


@pytest.fixture
def midday():
    import time_machine

    with time_machine.travel(MIDDAY, tick=True):
        yield MIDDAY


@pytest.fixture
def world(db):
    return build_world("acme")


@pytest.fixture
def other_world(db):
    return build_world("globex")


@pytest.fixture
def in_tenant(world):
    with tenant_context(world.tenant):
        yield world


def celery_process_env(**extra: str) -> dict[str, str]:
    """The environment of a Celery process started by a test: the test database and Redis."""
    database = settings.DATABASES["default"]
    return {
        **os.environ,
        "DATABASE_URL": (
            f"postgres://{database['USER']}:{database['PASSWORD']}@{database['HOST']}:"
            f"{database['PORT'] or 5432}/{database['NAME']}"
        ),
        "REDIS_URL": settings.REDIS_URL,
        "DB_CONN_MAX_AGE": "0",
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        **extra,
    }


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup, django_db_blocker):
    """A real `celery worker` process on the Redis broker, using the test database."""
    require_real_services()
    from celery import current_app as app

    env = celery_process_env()
    app.control.purge()
    (ROOT / "var").mkdir(exist_ok=True)
    log = open(ROOT / "var" / f"test-worker-{os.getpid()}.log", "w")  # noqa: SIM115 - closed with the worker
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "cem",
            "worker",
            "--pool",
            "solo",
            "-Q",
            "default,scoring,alerts,notifications,reports",
            "--hostname",
            f"test-worker-{os.getpid()}@%h",
            "--loglevel",
            "INFO",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("celery worker exited at start-up; see var/test-worker-<pid>.log")
        if app.control.ping(timeout=1.0):
            break
    else:
        process.terminate()
        raise RuntimeError("celery worker did not answer a ping within 60 s")
    yield process
    process.terminate()
    process.wait(timeout=30)
    log.close()


@contextlib.contextmanager
def celery_beat(schedule_dir: Path, **env: str) -> Iterator[subprocess.Popen]:
    """A real `celery beat` process for the block (beside celery_worker_process), with these
    settings in its environment, e.g. CEM_ESCALATION_SWEEP_SECONDS="1"."""
    (ROOT / "var").mkdir(exist_ok=True)
    log = open(ROOT / "var" / f"test-beat-{os.getpid()}.log", "w")  # noqa: SIM115 - closed with beat
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "cem",
            "beat",
            "--schedule",
            str(schedule_dir / "beat-schedule"),
            "--loglevel",
            "INFO",
        ],
        cwd=ROOT,
        env=celery_process_env(**env),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        yield process
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


@pytest.fixture(autouse=True)
def default_language():
    """Each test starts in the site's language: a request in English activates English for the
    rest of the thread (Django's LocaleMiddleware never deactivates it), which would otherwise
    leak into the next test's lazy texts."""
    from django.utils import translation

    translation.deactivate()
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def rate_limits_of_this_test(settings, monkeypatch):
    """Each test counts request limits afresh, in-process: tests share one client address.
    Tests of the Redis-backed limiter point CEM_RATELIMIT_REDIS_URL at a Redis of their own."""
    import organizations.ratelimit

    settings.CEM_RATELIMIT_REDIS_URL = ""
    monkeypatch.setattr(organizations.ratelimit, "_local", organizations.ratelimit._LocalCounts())


@pytest.fixture
def local_cache(settings):
    """A cache of this test's own: clearing it must not flush the Redis that is the broker."""
    from django.core.cache import cache

    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "t"}
    }
    cache.clear()


@pytest.fixture
def scoring_worker(request):
    """Where scoring runs: a real worker when Redis is configured, else in-process (eager)."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        yield None
    else:
        yield request.getfixturevalue("celery_worker_process")


@pytest.fixture
def eager_tasks():
    """Tasks run in-process, as on the embedded default, whatever broker the suite has."""
    from celery import current_app

    previous = current_app.conf.task_always_eager
    current_app.conf.task_always_eager = True
    yield
    current_app.conf.task_always_eager = previous


def wait_until(predicate, *, timeout: float = 30.0, interval: float = 0.2):
    """Poll `predicate` until it returns something truthy; fail clearly after `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout} s")


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        if IN_CI:
            raise RuntimeError(f"Chromium not found at {CHROMIUM}; `make setup` installs it")
        pytest.skip(f"Chromium not found at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
                "--disable-sync",
            ],
        )
        yield chromium
        chromium.close()


@pytest.fixture
def open_page(browser):
    """Open a page in a new browser context; every context is closed after the test."""
    from tests.browser_pages import PHONE

    contexts = []
    csp_violations: list[str] = []

    def open_page(*, phone: bool = False, **options):
        context = browser.new_context(**{"locale": "zh-CN", **(PHONE if phone else {}), **options})
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        # Every page a test opens must live within the Content-Security-Policy.
        page.on(
            "console",
            lambda message: (
                csp_violations.append(message.text)
                if "Content Security Policy" in message.text
                else None
            ),
        )
        return page

    yield open_page
    for context in contexts:
        context.close()
    assert csp_violations == [], csp_violations
