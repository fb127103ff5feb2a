"""`migrate` as the tables' owner: the app role that connections otherwise use may not do it."""

from django.core.management.commands import migrate

from organizations.db.guard import owner_session


class Command(migrate.Command):
    def handle(self, *args, **options):
        with owner_session():
            return super().handle(*args, **options)
