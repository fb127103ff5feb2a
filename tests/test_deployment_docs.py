"""docs/deployment.md stays true: it lists every variable the settings read, its production
environment passes `manage.py check --deploy`, and docker-compose.yml passes that environment
to the app's processes."""

from __future__ import annotations

import re
import secrets
import subprocess
import sys

import yaml

from tests.conftest import ROOT

DOCS = (ROOT / "docs" / "deployment.md").read_text()
SETTINGS = (ROOT / "cem" / "settings.py").read_text()
READ = re.compile(r"""(?:os\.environ\.get\(|os\.getenv\(|env_\w+\(|os\.environ\[)\s*"(\w+)""")


def documented_variables() -> set[str]:
    """The variables named in the first column of the environment table."""
    table = DOCS.split("## Environment variables", 1)[1].split("\n\n| variable", 1)[1]
    rows = [line for line in table.split("\n\n", 1)[0].splitlines() if line.startswith("| `")]
    return {name for row in rows for name in re.findall(r"`(\w+)`", row.split(" | ")[0])}


def production_environment() -> dict[str, str]:
    block = re.search(r"```env\n(.*?)```", DOCS, re.S).group(1)
    return dict(line.split("=", 1) for line in block.splitlines() if line and line[0] != "#")


def test_the_docs_list_every_variable_the_settings_read_and_no_other():
    assert documented_variables() == set(READ.findall(SETTINGS))


def test_check_deploy_is_clean_with_the_documented_production_environment():
    environment = {
        **production_environment(),
        "SECRET_KEY": secrets.token_urlsafe(50),  # the docs hold a placeholder
        "PATH": "/usr/bin:/bin",
    }
    assert set(production_environment()) <= documented_variables()
    check = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert "System check identified no issues" in check.stdout


def test_compose_passes_the_documented_production_environment_to_the_app():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    app_environment = compose["x-app"]["environment"]
    assert set(production_environment()) <= set(app_environment)
    for service in ("web", "worker", "beat"):
        assert compose["services"][service]["environment"] == app_environment
