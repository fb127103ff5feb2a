"""`manage.py rebuild_text_rollups`: recount text rollups and mentions from the scores."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError, CommandParser

from analytics.services import text_rollups_rebuild
from organizations.models import Tenant
from organizations.tenancy import tenant_context


class Command(BaseCommand):
    help = (
        "Recount the daily text rollups and mentions of the text analytics page from the "
        "scores, replacing them: every tenant, or those named with --tenant. Safe to run again."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--tenant", action="append", default=[], help="tenant slug (repeatable)"
        )

    def handle(self, *args, **options) -> None:
        tenants = Tenant.objects.order_by("pk")
        if options["tenant"]:
            tenants = tenants.filter(slug__in=options["tenant"])
            missing = set(options["tenant"]) - {tenant.slug for tenant in tenants}
            if missing:
                raise CommandError(f"no such tenant: {', '.join(sorted(missing))}")
        for tenant in tenants:
            started = time.perf_counter()
            with tenant_context(tenant):
                rebuilt = text_rollups_rebuild()
            self.stdout.write(
                f"{tenant.slug}: {rebuilt.texts} texts, {rebuilt.rollup_rows} rollup rows, "
                f"{rebuilt.mentions} mentions in {time.perf_counter() - started:.1f} s"
            )
