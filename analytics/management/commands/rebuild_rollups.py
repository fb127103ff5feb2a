"""`manage.py rebuild_rollups`: recount the text rollups and mentions and the metric rollups
from the scores."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError, CommandParser

from analytics.services import metric_rollups_rebuild, text_rollups_rebuild
from organizations.models import Tenant
from organizations.tenancy import tenant_context


class Command(BaseCommand):
    help = (
        "Recount the daily text rollups and mentions of the text analytics page and the daily "
        "metric rollups of the journey map from the scores, replacing them: every tenant, or "
        "those named with --tenant. Safe to run again."
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
                metric_rows = metric_rollups_rebuild()
            self.stdout.write(
                f"{tenant.slug}: {rebuilt.texts} texts, {rebuilt.rollup_rows} text rollup rows, "
                f"{rebuilt.mentions} mentions, {metric_rows} metric rollup rows "
                f"in {time.perf_counter() - started:.1f} s"
            )
