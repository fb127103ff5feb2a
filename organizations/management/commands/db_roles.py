"""Create the app role (DATABASE_APP_ROLE) and grant it the rows of every table; idempotent.

`migrate` does the same, so this is for processes that start without migrating (worker, beat,
a web replica). Needs the login role to be a superuser or to have CREATEROLE.
"""

from django.core.management.base import BaseCommand
from django.db import DEFAULT_DB_ALIAS, connections

from organizations.db.guard import app_role, app_role_ensure, app_role_grants_ensure, owner_session


class Command(BaseCommand):
    help = "Create the PostgreSQL app role the platform's connections run as (no-op on SQLite)."

    def handle(self, *args, **options) -> None:
        connection = connections[DEFAULT_DB_ALIAS]
        role = app_role(connection)
        if connection.vendor != "postgresql" or not role:
            self.stdout.write("no app role: not PostgreSQL, or DATABASE_APP_ROLE is empty")
            return
        with owner_session():
            # The role belongs to the cluster: made from the maintenance database, so this works
            # before the application's database exists.
            with connection._nodb_cursor() as cursor:
                app_role_ensure(cursor, role)
            with connection.cursor() as cursor:
                app_role_grants_ensure(cursor, role)
        self.stdout.write(f"app role {role} ready")
