"""PostgreSQL as the app role, with the current tenant sent along with the queries.

The row-level security policies (organizations/db/guard.py) read two settings of the session,
`cem.tenant_id` and `cem.system`. This backend keeps them equal to organizations.tenancy's
current tenant and system scope, lazily: only before a statement that runs while they differ
from what the connection was last told, and then as a prefix of that same statement, so
switching tenant costs no extra round trip and staying on one costs nothing. A connection
reused by the next request (CONN_MAX_AGE) is told again before its first statement, so it never
inherits a tenant.
"""

from __future__ import annotations

from django.db.backends.postgresql import base, creation

from organizations.db.guard import owner_session, owner_session_active

# What the connection was told is not known (after a rollback or a failed statement).
_UNKNOWN = object()
# A new session has neither setting: the policies then let nothing through.
_NOTHING = (None, False)
# Statements a tenant prefix may be glued to; anything else gets it as a statement of its own.
_PREFIXABLE = ("select", "insert", "update", "delete", "with")
# Savepoint statements touch no rows and must work in a failed transaction: never prefixed.
_TRANSACTION_CONTROL = ("savepoint", "release", "rollback")


def scope_statement(scope: tuple[int | None, bool]) -> str:
    """The statement that sets the policies' settings to `scope` for the session."""
    tenant_id, system = scope
    tenant = "" if tenant_id is None else str(int(tenant_id))
    return (
        f"SELECT set_config('cem.tenant_id', '{tenant}', false), "
        f"set_config('cem.system', '{'on' if system else ''}', false); "
    )


class DatabaseCreation(creation.DatabaseCreation):
    """The test database is created, migrated and dropped by the owner, not the app role."""

    def create_test_db(self, *args, **kwargs):
        with owner_session():
            return super().create_test_db(*args, **kwargs)

    def destroy_test_db(self, *args, **kwargs):
        with owner_session():
            return super().destroy_test_db(*args, **kwargs)


class DatabaseWrapper(base.DatabaseWrapper):
    creation_class = DatabaseCreation

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.tenant_scope_sent: object = _UNKNOWN
        self.execute_wrappers.append(self._send_tenant_scope)

    def init_connection_state(self) -> None:
        super().init_connection_state()
        self.tenant_scope_sent = _NOTHING

    def _configure_role(self, connection) -> bool:
        # `migrate`, `flush` and the test database's creation run as the login role (the owner).
        if owner_session_active():
            return False
        return super()._configure_role(connection)

    def _rollback(self) -> None:
        # A rollback also undoes a set_config made in the transaction.
        self.tenant_scope_sent = _UNKNOWN
        super()._rollback()

    def _savepoint_rollback(self, sid) -> None:
        super()._savepoint_rollback(sid)
        self.tenant_scope_sent = _UNKNOWN

    def _send_tenant_scope(self, execute, sql, params, many, context):
        from organizations.tenancy import database_scope

        scope = database_scope()
        if scope == self.tenant_scope_sent or self.needs_rollback:
            return execute(sql, params, many, context)
        head = sql.lstrip()[:9].lower() if isinstance(sql, str) else ""
        if head.startswith(_TRANSACTION_CONTROL):
            return execute(sql, params, many, context)
        self.tenant_scope_sent = _UNKNOWN
        if head.startswith(_PREFIXABLE) and not many and context["cursor"].cursor.name is None:
            result = execute(scope_statement(scope) + sql, params, many, context)
        else:
            with self.wrap_database_errors, self.connection.cursor() as cursor:
                cursor.execute(scope_statement(scope))
            result = execute(sql, params, many, context)
        self.tenant_scope_sent = scope
        return result
