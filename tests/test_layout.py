"""The house's dependency direction (DESIGN.md section 2), read from each app's imports: no app
imports the project package `cem`, and the organisation core imports no feature app."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from django.apps import apps

ROOT = Path(__file__).resolve().parent.parent
PROJECT_PACKAGE = "cem"
CORE = "organizations"
FEATURE_APPS = {
    "customers",
    "journeys",
    "surveys",
    "analytics",
    "alerts",
    "improvements",
    "notifications",
    "integrations",
    "demo",
}


def project_apps() -> list[str]:
    """The installed apps that live in this repository (not Django's or a library's)."""
    return sorted(
        config.name
        for config in apps.get_app_configs()
        if Path(config.path).resolve().parent == ROOT
    )


def imported_modules(app: str) -> dict[str, set[str]]:
    """Each of the app's .py files (by path from the root) with the absolute modules it imports."""
    found = {}
    for path in sorted((ROOT / app).rglob("*.py")):
        modules = set()
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                modules.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules.add(node.module)
        found[str(path.relative_to(ROOT))] = modules
    return found


def imports_of(app: str, packages: set[str]) -> list[str]:
    """Every import of `app` that names one of `packages`, as "file: module"."""
    return [
        f"{path}: {module}"
        for path, modules in imported_modules(app).items()
        for module in sorted(modules)
        if module.split(".")[0] in packages
    ]


def test_the_house_has_the_apps_this_test_knows():
    assert set(project_apps()) == {PROJECT_PACKAGE, CORE, *FEATURE_APPS}


@pytest.mark.parametrize("app", sorted({CORE, *FEATURE_APPS}))
def test_no_app_imports_the_project_package(app):
    assert imports_of(app, {PROJECT_PACKAGE}) == []


def test_the_organisation_core_imports_no_feature_app():
    assert imports_of(CORE, FEATURE_APPS | {PROJECT_PACKAGE}) == []


def test_the_check_sees_an_import_of_cem(tmp_path, monkeypatch):
    """The walk itself: a file importing cem in either form is reported."""
    app = tmp_path / "someapp"
    app.mkdir()
    (app / "views.py").write_text("import cem.settings\nfrom cem.urls import urlpatterns\n")
    (app / "models.py").write_text("from organizations.models import Tenant\nfrom . import views\n")
    monkeypatch.setattr(f"{__name__}.ROOT", tmp_path)
    assert imports_of("someapp", {PROJECT_PACKAGE}) == [
        "someapp/views.py: cem.settings",
        "someapp/views.py: cem.urls",
    ]
