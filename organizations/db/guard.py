"""The database's own tenant guard on PostgreSQL (docs/security.md).

- The app role (DATABASE_APP_ROLE, `cem_app`): may log in, is no superuser, cannot bypass
  row-level security, owns nothing, and may only read and write rows. Connections `SET ROLE` to
  it; `migrate`, `flush` and the test database's set-up run as the login role, the owner.
- Row-level security, enabled and forced, on every tenant-owned table: a row is visible and
  writable only when its tenant_id is the session's `cem.tenant_id`, or `cem.system` is on
  (organizations.tenancy.system_context). With neither set, nothing is.
- Tenant-consistent foreign keys: a tenant-owned row pointing at another tenant-owned row also
  has (tenant_id, x_id) -> target (tenant_id, id), so it cannot point into another tenant.

`tenant_guard_ensure` is idempotent and derived from the models: migration cem.0003 applies it,
and every later `migrate` applies it again (post_migrate) for what later migrations add.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

from django.core.exceptions import FieldDoesNotExist
from django.db import connections, transaction
from django.db.backends.utils import truncate_name

POLICY = "tenant_guard"
TENANT_MODEL_LABELS = ("organizations.tenant", "cem.tenant")
GUARD_MIGRATION = ("cem", "0003_tenant_guard")
# The settings are read in a scalar sub-select so PostgreSQL evaluates them once per query
# (an InitPlan), not once per row, and can use them in an index condition.
ROW_MATCHES_SCOPE = (
    "{column} = (SELECT NULLIF(current_setting('cem.tenant_id', true), '')::bigint)"
    " OR (SELECT current_setting('cem.system', true)) = 'on'"
)
APP_ROLE_ATTRIBUTES = "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS NOINHERIT"
ROW_PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "DELETE")

_owner_sessions = 0


@dataclass(frozen=True)
class TenantTable:
    table: str
    tenant_column: str


@dataclass(frozen=True)
class TenantKey:
    """A composite foreign key that keeps a reference inside its tenant."""

    table: str
    columns: tuple[str, str]
    target_table: str
    target_columns: tuple[str, str]

    @property
    def name(self) -> str:
        return truncate_name(f"{self.table}_{self.columns[1]}_tenant_fk", 63)

    @property
    def target_unique_name(self) -> str:
        return truncate_name(f"{self.target_table}_{'_'.join(self.target_columns)}_uniq", 63)


def app_role(connection) -> str:
    return connection.settings_dict.get("OPTIONS", {}).get("assume_role") or ""


def owner_session_active() -> bool:
    return _owner_sessions > 0


@contextlib.contextmanager
def owner_session() -> Iterator[None]:
    """Run schema work (migrate, flush, the test database) as the owner, across all tenants.

    New connections skip `SET ROLE` while it lasts; open ones `RESET ROLE` and go back after.
    """
    from organizations.tenancy import system_context

    global _owner_sessions
    _owner_sessions += 1
    if _owner_sessions == 1:
        _switch_open_connections(to_owner=True)
    try:
        with system_context():
            yield
    finally:
        _owner_sessions -= 1
        if _owner_sessions == 0:
            _switch_open_connections(to_owner=False)


def _switch_open_connections(*, to_owner: bool) -> None:
    for connection in connections.all(initialized_only=True):
        role = app_role(connection)
        if connection.vendor != "postgresql" or not role or connection.connection is None:
            continue
        statement = "RESET ROLE" if to_owner else connection.ops.compose_sql("SET ROLE %s", [role])
        with connection.wrap_database_errors, connection.connection.cursor() as cursor:
            cursor.execute(statement)


def app_role_ensure(cursor, role: str) -> None:
    """Create the app role if it is missing and let the login role `SET ROLE` to it."""
    quoted = '"{}"'.format(role.replace('"', '""'))
    cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
    if cursor.fetchone() is None:
        # Two processes starting together may both try: the loser's error is swallowed.
        cursor.execute(
            f"DO $$ BEGIN CREATE ROLE {quoted} {APP_ROLE_ATTRIBUTES}; "
            "EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$"
        )
    cursor.execute(
        "SELECT rolsuper OR pg_has_role(current_user, %s, 'MEMBER') FROM pg_roles "
        "WHERE rolname = current_user",
        [role],
    )
    if not cursor.fetchone()[0]:
        cursor.execute(f"GRANT {quoted} TO CURRENT_USER")


def app_role_grants_ensure(cursor, role: str) -> None:
    """Row privileges on every table and sequence of the schema, now and for later tables."""
    quoted = '"{}"'.format(role.replace('"', '""'))
    cursor.execute(
        "SELECT count(*) FROM pg_class c WHERE c.relnamespace = to_regnamespace(current_schema())"
        " AND ((c.relkind IN ('r', 'p') AND NOT (has_table_privilege(%(role)s, c.oid, 'SELECT')"
        " AND has_table_privilege(%(role)s, c.oid, 'INSERT')"
        " AND has_table_privilege(%(role)s, c.oid, 'UPDATE')"
        " AND has_table_privilege(%(role)s, c.oid, 'DELETE')))"
        " OR (c.relkind = 'S' AND NOT has_sequence_privilege(%(role)s, c.oid, 'USAGE')))",
        {"role": role},
    )
    if not cursor.fetchone()[0]:
        return
    privileges = ", ".join(ROW_PRIVILEGES)
    cursor.execute("SELECT quote_ident(current_schema())")
    schema = cursor.fetchone()[0]
    for statement in (
        f"GRANT USAGE ON SCHEMA {schema} TO {quoted}",
        f"GRANT {privileges} ON ALL TABLES IN SCHEMA {schema} TO {quoted}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {schema} TO {quoted}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT {privileges} ON TABLES TO {quoted}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT USAGE, SELECT ON SEQUENCES TO {quoted}",
    ):
        cursor.execute(statement)


def is_tenant_owned(model) -> bool:
    """A concrete table with a `tenant` foreign key to the Tenant model (historical models too:
    the model was `cem.Tenant` before it moved to organizations, on the same table)."""
    if not model._meta.managed or model._meta.proxy:
        return False
    try:
        field = model._meta.get_field("tenant")
    except FieldDoesNotExist:
        return False
    return field.many_to_one and field.related_model._meta.label_lower in TENANT_MODEL_LABELS


def tenant_tables(apps) -> list[TenantTable]:
    return [
        TenantTable(model._meta.db_table, model._meta.get_field("tenant").column)
        for model in apps.get_models()
        if is_tenant_owned(model)
    ]


def tenant_keys(apps) -> list[TenantKey]:
    """Every foreign key from a tenant-owned table to a tenant-owned table."""
    keys = []
    for model in apps.get_models():
        if not is_tenant_owned(model):
            continue
        tenant_column = model._meta.get_field("tenant").column
        for field in model._meta.local_concrete_fields:
            target = field.related_model
            if not field.is_relation or field.name == "tenant" or not is_tenant_owned(target):
                continue
            keys.append(
                TenantKey(
                    table=model._meta.db_table,
                    columns=(tenant_column, field.column),
                    target_table=target._meta.db_table,
                    target_columns=(
                        target._meta.get_field("tenant").column,
                        field.target_field.column,
                    ),
                )
            )
    return keys


def _existing(cursor, tables: list[str]) -> tuple[dict[str, tuple[bool, bool, bool]], set]:
    cursor.execute(
        "SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity,"
        " EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid AND p.polname = %s)"
        " FROM pg_class c"
        " WHERE c.relnamespace = to_regnamespace(current_schema()) AND c.relname = ANY(%s)",
        [POLICY, tables],
    )
    security = {name: (enabled, forced, policy) for name, enabled, forced, policy in cursor}
    cursor.execute(
        "SELECT c.relname, k.conname FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid"
        " WHERE c.relnamespace = to_regnamespace(current_schema()) AND c.relname = ANY(%s)",
        [tables],
    )
    return security, set(cursor)


def tenant_guard_ensure(connection, apps) -> None:
    """Create whatever part of the guard is missing; a no-op on other databases."""
    if connection.vendor != "postgresql":
        return
    quote = connection.ops.quote_name
    tables = tenant_tables(apps)
    keys = tenant_keys(apps)
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        role = app_role(connection)
        if role:
            app_role_ensure(cursor, role)
            app_role_grants_ensure(cursor, role)
        security, constraints = _existing(cursor, [t.table for t in tables])
        statements = []
        for table in tables:
            if table.table not in security:
                continue  # not created yet at this point of the migrations
            enabled, forced, policy = security[table.table]
            name = quote(table.table)
            if not enabled:
                statements.append(f"ALTER TABLE {name} ENABLE ROW LEVEL SECURITY")
            if not forced:
                statements.append(f"ALTER TABLE {name} FORCE ROW LEVEL SECURITY")
            if not policy:
                match = ROW_MATCHES_SCOPE.format(column=quote(table.tenant_column))
                statements.append(
                    f"CREATE POLICY {POLICY} ON {name} USING ({match}) WITH CHECK ({match})"
                )
        for key in keys:
            if key.table not in security or key.target_table not in security:
                continue
            unique = (key.target_table, key.target_unique_name)
            if unique not in constraints:
                constraints.add(unique)
                statements.append(
                    f"ALTER TABLE {quote(key.target_table)} ADD CONSTRAINT"
                    f" {quote(key.target_unique_name)} UNIQUE"
                    f" ({', '.join(map(quote, key.target_columns))})"
                )
            if (key.table, key.name) not in constraints:
                # Deferred like Django's own foreign keys, so deletes and cycles keep working.
                statements.append(
                    f"ALTER TABLE {quote(key.table)} ADD CONSTRAINT {quote(key.name)}"
                    f" FOREIGN KEY ({', '.join(map(quote, key.columns))})"
                    f" REFERENCES {quote(key.target_table)}"
                    f" ({', '.join(map(quote, key.target_columns))})"
                    " DEFERRABLE INITIALLY DEFERRED"
                )
        for statement in statements:
            cursor.execute(statement)


def tenant_guard_remove(connection, apps) -> None:
    """Undo tenant_guard_ensure (the app role and its grants stay: they are harmless)."""
    if connection.vendor != "postgresql":
        return
    quote = connection.ops.quote_name
    keys = tenant_keys(apps)
    statements = [
        f"ALTER TABLE {quote(key.table)} DROP CONSTRAINT IF EXISTS {quote(key.name)}"
        for key in keys
    ]
    statements += [
        f"ALTER TABLE {quote(target)} DROP CONSTRAINT IF EXISTS {quote(name)}"
        for target, name in sorted({(k.target_table, k.target_unique_name) for k in keys})
    ]
    for table in tenant_tables(apps):
        name = quote(table.table)
        statements += [
            f"DROP POLICY IF EXISTS {POLICY} ON {name}",
            f"ALTER TABLE {name} NO FORCE ROW LEVEL SECURITY",
            f"ALTER TABLE {name} DISABLE ROW LEVEL SECURITY",
        ]
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)
