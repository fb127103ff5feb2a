"""Redis down, answers kept: gunicorn on a Redis of the test's own, which the test stops; every
submission through the API and the respondent form is stored, and scored once the sweeper
runs on a real worker."""

from __future__ import annotations

import http.client
import json
import os
import re
import socket
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

import pytest
from django.conf import settings

from analytics.models import ResponseScore
from analytics.services import unscored_responses_enqueue
from organizations.tenancy import system_context
from surveys.models import Response
from tests.conftest import ROOT, require_real_services, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

API_SUBMISSIONS = 20
FORM_SUBMISSIONS = 10


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def port_open(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), 0.5).close()
    except OSError:
        return False
    return True


@pytest.fixture
def own_redis():
    """A Redis server of this test's own, on a free port: stopping it harms no one else."""
    require_real_services()
    port = free_port()
    server = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while not port_open(port):
        if time.monotonic() > deadline:
            server.kill()
            pytest.fail("the test's own redis-server did not start")
        time.sleep(0.05)
    yield server, f"redis://127.0.0.1:{port}/0"
    server.kill()
    server.wait()


@pytest.fixture
def gunicorn_on(own_redis):
    """gunicorn serving the test database, with Redis (cache, limits, broker) on own_redis."""
    _server, redis_url = own_redis
    database = settings.DATABASES["default"]
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{database['USER']}:{database['PASSWORD']}@"
        f"{database['HOST']}:{database['PORT'] or 5432}/{database['NAME']}",
        "REDIS_URL": redis_url,
        "CEM_RATELIMIT_REDIS_URL": redis_url,
        "DB_CONN_MAX_AGE": "0",
    }
    log_path = Path(ROOT) / "var" / f"outage-gunicorn-{os.getpid()}.log"
    log_path.parent.mkdir(exist_ok=True)
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "cem.wsgi",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "2",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 60
            while not port_open(port):
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"gunicorn did not start:\n{log_path.read_text()[-2000:]}")
                time.sleep(0.1)
            yield port
        finally:
            process.terminate()
            process.wait(timeout=30)


def request(port: int, method: str, path: str, body: bytes = b"", headers=None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request(method, path, body=body, headers=headers or {})
    reply = connection.getresponse()
    payload = reply.read()
    connection.close()
    return reply.status, dict(reply.getheaders()), payload


def form_submit(port: int, token: str, nps: int) -> int:
    """A respondent's whole visit: open the page, answer, submit; the status of the submit."""
    _status, _headers, page = request(port, "GET", f"/s/{token}/")
    fields = dict(re.findall(r'name="(resume_key|form_token|page)" value="([^"]*)"', page.decode()))
    body = urlencode({**fields, "q_nps_1": nps, "q_csat_1": 1, "q_text_1": "网点排队太久"})
    status, _headers, _page = request(
        port,
        "POST",
        f"/s/{token}/",
        body.encode(),
        {"Content-Type": "application/x-www-form-urlencoded"},
    )
    return status


def api_submit(port: int, world, index: int) -> int:
    body = {
        "answers": {"nps_1": 2, "csat_1": 1, "text_1": "客服一直打不通"},
        "client_submission_id": f"outage-{index}",
    }
    status, _headers, _payload = request(
        port,
        "POST",
        f"/api/v1/surveys/{world.survey.pk}/responses/",
        json.dumps(body).encode(),
        {"Authorization": f"Api-Key {world.api_key_plaintext}", "Content-Type": "application/json"},
    )
    return status


def test_with_redis_down_every_answer_is_stored_and_later_scored(
    world, own_redis, gunicorn_on, celery_worker_process
):
    server, _url = own_redis
    port = gunicorn_on
    status, _headers, health = request(port, "GET", "/healthz")
    assert status == 200 and json.loads(health)["checks"]["redis"] == "ok"

    server.kill()
    server.wait()
    status, _headers, health = request(port, "GET", "/healthz")
    report = json.loads(health)
    assert status == 200 and report["status"] == "degraded"
    assert report["checks"]["redis"].startswith("down") and report["checks"]["database"] == "ok"
    assert report["checks"]["broker"].startswith("down")

    started = time.monotonic()
    api_codes = [api_submit(port, world, index) for index in range(API_SUBMISSIONS)]
    form_codes = [form_submit(port, world.link.token, nps=3) for _ in range(FORM_SUBMISSIONS)]
    elapsed = time.monotonic() - started
    assert form_codes == [302] * FORM_SUBMISSIONS
    assert api_codes == [201] * API_SUBMISSIONS
    with system_context():  # the server wrote them; the test reads across tenants
        stored = list(Response.all_tenants.filter(status="complete").values_list("pk", flat=True))
        assert not ResponseScore.all_tenants.exists()
    assert len(stored) == API_SUBMISSIONS + FORM_SUBMISSIONS
    print(f"{len(stored)} submissions with Redis down in {elapsed:.1f} s")

    assert unscored_responses_enqueue(older_than=timedelta(0)) == len(stored)
    scores = ResponseScore.all_tenants.filter(response_id__in=stored)

    def all_scored() -> bool:
        with system_context():
            return scores.count() == len(stored)

    wait_until(all_scored, timeout=120)
