"""Schemathesis against a live server on PostgreSQL: every check, at least 1,000 generated
cases, with a real key of a seeded tenant; no server errors, no schema violations (issue 9)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer

from tests.conftest import ROOT, on_postgres
from tests.factories import build_world
from tests.helpers import BAD_ANSWERS, submit_and_score

CONFIG = Path(__file__).with_name("schemathesis.toml")
EXAMPLES_PER_OPERATION = 40
MINIMUM_CASES = 1000
REQUEST_TIMEOUT_SECONDS = 60


# A live server and a subprocess on the real clock: left out of the fake-clock runs in CI.
@pytest.mark.integration
def test_schemathesis_finds_no_server_errors_or_schema_violations(
    live_server, transactional_db, local_cache, settings, tmp_path
):
    if not on_postgres():
        pytest.skip("fuzzes against PostgreSQL, whose JSON refuses what SQLite keeps")
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"api_address": "100000/minute", "api_key": "100000/minute"},
    }
    world = build_world("fuzz")
    submit_and_score(world, BAD_ANSWERS)  # a response with scores and ticket 1
    schema_file = tmp_path / "schema.json"
    schema = SchemaGenerator().get_schema(request=None, public=True)
    schema_file.write_bytes(OpenApiJsonRenderer().render(schema, renderer_context={}))
    config = tmp_path / "schemathesis.toml"
    config.write_text(CONFIG.read_text().replace("SURVEY_ID", str(world.survey.pk)))
    report = tmp_path / "report.json"
    command = [Path(sys.executable).parent / "schemathesis", "--config-file", config, "run"]
    command += [schema_file, "--url", live_server.url, "--checks", "all", "--seed", "9"]
    command += ["--max-examples", str(EXAMPLES_PER_OPERATION), "--workers", "1", "--no-color"]
    # What is checked is the answers, not their speed: a batch of 1,000 invitations takes a
    # few seconds on a quiet machine and more than the default 10 on a loaded one.
    command += ["--request-timeout", str(REQUEST_TIMEOUT_SECONDS)]
    command += ["--header", f"Authorization: Api-Key {world.api_key_plaintext}"]
    command += ["--report", "json", "--report-json-path", report]
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "SCHEMATHESIS_HOOKS": "tests.schemathesis_hooks",
    }
    # In tmp_path, where schemathesis keeps its cache of crashes (.schemathesis/).
    run = subprocess.run(
        command, capture_output=True, text=True, timeout=900, env=env, cwd=tmp_path
    )
    print(run.stdout[-3000:])  # shown with -rP or on failure: phases, cases, failures
    assert run.returncode == 0, run.stdout[-20000:] + run.stderr[-4000:]
    summary = json.loads(report.read_text())
    assert summary["failures"] == [] and summary["errors"] == []
    assert summary["operations"]["tested"] == summary["operations"]["total"]
    assert summary["test_cases"]["generated"] >= MINIMUM_CASES, summary["test_cases"]
