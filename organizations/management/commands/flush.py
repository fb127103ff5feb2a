"""`flush` as the tables' owner: the app role that connections otherwise use may not do it."""

from django.core.management.commands import flush

from organizations.db.guard import owner_session


class Command(flush.Command):
    def handle(self, *args, **options):
        with owner_session():
            return super().handle(*args, **options)
