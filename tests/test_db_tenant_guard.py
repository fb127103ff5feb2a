"""The database's own tenant guard: row-level security and tenant-consistent foreign keys.

These go around the ORM's scoping (raw SQL on the app's connection, `all_tenants`), so what
they check is what PostgreSQL itself refuses, whatever filter the code forgets.
"""

from __future__ import annotations

import pytest
from django.apps import apps
from django.db import DatabaseError, IntegrityError, connection, transaction

from organizations.db.guard import (
    POLICY,
    owner_session,
    tenant_guard_ensure,
    tenant_guard_remove,
    tenant_keys,
    tenant_tables,
)
from organizations.tenancy import TenantOwnedModel, system_context, tenant_context
from surveys.models import Response
from tests.conftest import on_postgres
from tests.helpers import BAD_ANSWERS, submit_and_score

pytestmark = pytest.mark.skipif(
    not on_postgres(), reason="row-level security is PostgreSQL's (set DATABASE_URL)"
)


def tenant_owned_tables() -> list[str]:
    return sorted(
        model._meta.db_table
        for model in apps.get_models()
        if issubclass(model, TenantOwnedModel) and not model._meta.proxy
    )


def rows(sql: str, params=None) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def rows_per_table(where: str, params=None) -> dict[str, int]:
    return {
        table: rows(f"SELECT count(*) FROM {table} WHERE {where}", params)[0][0]  # noqa: S608
        for table in tenant_owned_tables()
    }


@pytest.fixture
def two_tenants(world, other_world):
    """Both tenants with a scored bad response (and so a ticket), filling most tables."""
    submit_and_score(world, BAD_ANSWERS)
    submit_and_score(other_world, BAD_ANSWERS)
    return world, other_world


def test_app_connection_is_a_role_that_row_level_security_binds(db):
    user, superuser, bypass = rows(
        "SELECT current_user, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user"
    )[0]
    owned = rows(
        "SELECT count(*) FROM pg_class WHERE relowner = "
        "(SELECT oid FROM pg_roles WHERE rolname = current_user)"
    )[0][0]
    assert (user, superuser, bypass, owned) == ("cem_app", False, False, 0)


def test_tenant_a_sees_no_row_of_tenant_b_in_any_tenant_table(two_tenants):
    a, b = two_tenants
    with system_context():
        b_rows = rows_per_table("tenant_id = %s", [b.tenant.pk])
    filled = {table for table, count in b_rows.items() if count}
    assert len(filled) >= 15, f"tenant B should have rows in most tables, has {sorted(filled)}"
    with tenant_context(a.tenant):
        assert rows_per_table("tenant_id <> %s", [a.tenant.pk]) == dict.fromkeys(b_rows, 0)
        assert rows_per_table("true")["surveys_response"] == 1  # its own rows, no more


def test_tenant_a_cannot_write_rows_into_tenant_b(two_tenants):
    a, b = two_tenants
    with tenant_context(a.tenant):
        with pytest.raises(DatabaseError, match="row-level security"), transaction.atomic():
            rows(
                "INSERT INTO cem_auditevent (tenant_id, action, target_type, target_id, at)"
                " VALUES (%s, 'forged', 'x', '1', now()) RETURNING id",
                [b.tenant.pk],
            )
        with pytest.raises(DatabaseError, match="row-level security"), transaction.atomic():
            rows(
                "UPDATE journeys_journey SET tenant_id = %s WHERE tenant_id = %s RETURNING id",
                [b.tenant.pk, a.tenant.pk],
            )
        assert (
            rows(
                "UPDATE surveys_survey SET name = 'x' WHERE tenant_id = %s RETURNING id",
                [b.tenant.pk],
            )
            == []
        )
        assert (
            rows("DELETE FROM alerts_ticket WHERE tenant_id = %s RETURNING id", [b.tenant.pk]) == []
        )
    with system_context():
        assert Response.all_tenants.filter(tenant=b.tenant).count() == 1


def test_with_no_tenant_set_the_app_role_sees_and_writes_nothing(two_tenants):
    a, _ = two_tenants
    assert set(rows_per_table("true").values()) == {0}
    with pytest.raises(DatabaseError, match="row-level security"), transaction.atomic():
        rows(
            "INSERT INTO cem_auditevent (tenant_id, action, target_type, target_id, at)"
            " VALUES (%s, 'forged', 'x', '1', now()) RETURNING id",
            [a.tenant.pk],
        )


def test_a_reused_connection_does_not_keep_the_last_tenant(two_tenants, client):
    a, _ = two_tenants
    client.force_login(a.manager)
    assert client.get(f"/t/{a.tenant.slug}/tickets/").status_code == 200
    with tenant_context(a.tenant):
        assert rows("SELECT count(*) FROM surveys_response")[0][0] == 1
    # Same connection, the request and the block are over: no tenant, nothing visible.
    assert rows("SELECT count(*) FROM surveys_response")[0][0] == 0
    assert rows("SELECT count(*) FROM alerts_ticket")[0][0] == 0


@pytest.mark.django_db(transaction=True)
def test_a_row_of_tenant_b_cannot_point_at_tenant_a_survey(world, other_world):
    b_response = submit_and_score(other_world, BAD_ANSWERS)
    with system_context():
        with pytest.raises(IntegrityError, match="tenant_fk"), transaction.atomic():
            Response.all_tenants.filter(pk=b_response.pk).update(survey=world.survey)
        with pytest.raises(IntegrityError, match="tenant_fk"), transaction.atomic():
            rows(
                "UPDATE alerts_ticket SET response_id = %s WHERE tenant_id = %s RETURNING id",
                [submit_and_score(world, BAD_ANSWERS).pk, other_world.tenant.pk],
            )
        assert Response.all_tenants.get(pk=b_response.pk).survey_id == other_world.survey.pk


def test_every_tenant_table_has_row_level_security_enabled_forced_and_a_policy(db):
    tables = tenant_owned_tables()
    assert {t.table for t in tenant_tables(apps)} == set(tables)
    found = rows(
        "SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity, p.polname IS NOT NULL"
        " FROM pg_class c LEFT JOIN pg_policy p ON p.polrelid = c.oid AND p.polname = %s"
        " WHERE c.relname = ANY(%s)",
        [POLICY, tables],
    )
    assert sorted(found) == [(table, True, True, True) for table in tables]


def test_every_reference_between_tenant_tables_includes_the_tenant(db):
    keys = tenant_keys(apps)
    assert len(keys) >= 30  # 39 when written
    definitions = dict(
        rows(
            "SELECT c.relname || '.' || k.conname, pg_get_constraintdef(k.oid)"
            " FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid WHERE k.contype = 'f'"
        )
    )
    for key in keys:
        assert definitions.get(f"{key.table}.{key.name}") == (
            f"FOREIGN KEY (tenant_id, {key.columns[1]}) REFERENCES {key.target_table}"
            "(tenant_id, id) DEFERRABLE INITIALLY DEFERRED"
        )


def test_the_guard_can_be_removed_and_applied_again(db):
    with owner_session():
        tenant_guard_remove(connection, apps)
        assert rows("SELECT count(*) FROM pg_policy WHERE polname = %s", [POLICY]) == [(0,)]
        tenant_guard_ensure(connection, apps)
        tenant_guard_ensure(connection, apps)  # idempotent
    assert rows("SELECT count(*) FROM pg_policy WHERE polname = %s", [POLICY]) == [
        (len(tenant_owned_tables()),)
    ]
