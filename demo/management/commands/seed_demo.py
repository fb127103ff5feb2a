"""`manage.py seed_demo`: the demo tenant (demo/seeding.py), once, or afresh with --reset."""

from __future__ import annotations

import contextlib
import logging
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from alerts.models import OPEN_STATUSES, Ticket, TicketStatus
from analytics.models import ResponseScore
from demo.seeding import (
    DEMO_PASSWORD,
    DEMO_URL,
    TENANT_SLUG,
    USERS,
    demo_seed,
    tenant_data_delete,
)
from journeys.models import Journey, Touchpoint
from organizations.models import OrgUnit, Tenant
from organizations.tenancy import system_context, tenant_context
from surveys.models import Response, Survey


class Command(BaseCommand):
    help = "Seed the demo tenant 'demo-bank' (a Chinese retail bank) through the services."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--responses", type=int, default=400, help="responses to seed")
        parser.add_argument("--seed", type=int, default=20261126, help="random seed")
        parser.add_argument(
            "--reset", action="store_true", help="delete the demo tenant's data first"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        count = options["responses"]
        if count < 0:
            raise CommandError("--responses must be 0 or more")
        started = time.monotonic()
        # One transaction: a failed seed leaves nothing behind, so "the tenant exists" always
        # means "fully seeded". Scoring is called explicitly below, so the scoring that the
        # submissions enqueue on commit finds every response already scored.
        with _eager_task_logs_quiet(), transaction.atomic():
            existing = Tenant.objects.filter(slug=TENANT_SLUG).first()
            if existing is not None and not options["reset"]:
                self.stdout.write(
                    f"租户 {TENANT_SLUG} 已存在，未做任何更改（用 --reset 删除后重新生成）。"
                )
                self.logins_write()
                return
            if existing is not None:
                with system_context():  # a whole tenant goes, by the same lists as the ORM's
                    tenant_data_delete(existing)
                self.stdout.write(f"已删除租户 {TENANT_SLUG} 的全部数据。")
            tenant = demo_seed(responses=count, seed=options["seed"])
        self.summary_write(tenant, elapsed=time.monotonic() - started)

    def summary_write(self, tenant: Tenant, *, elapsed: float) -> None:
        with tenant_context(tenant):
            statuses = Counter(Ticket.objects.values_list("status", flat=True))
            counts = {
                "组织单元": OrgUnit.objects.count(),
                "旅程": Journey.objects.count(),
                "触点": Touchpoint.objects.count(),
                "问卷": Survey.objects.count(),
                "回复": Response.objects.count(),
                "已评分": ResponseScore.objects.count(),
                "工单（未结）": sum(statuses[status] for status in OPEN_STATUSES),
                "工单（已解决）": statuses[TicketStatus.RESOLVED],
                "工单（已关闭）": statuses[TicketStatus.CLOSED],
            }
        self.stdout.write(
            self.style.SUCCESS(
                f"已生成演示租户「{tenant.name}」（{tenant.slug}），用时 {elapsed:.1f} 秒。"
            )
        )
        for label, value in counts.items():
            self.stdout.write(f"  {label}：{value}")
        self.logins_write()

    def logins_write(self) -> None:
        self.stdout.write("登录账号：")
        for spec in USERS:
            self.stdout.write(f"  {spec.username} / {DEMO_PASSWORD} ({spec.label})")
        self.stdout.write(f"打开 {DEMO_URL}")


@contextlib.contextmanager
def _eager_task_logs_quiet() -> Iterator[None]:
    """Eager Celery logs a line per task run on commit; hundreds of them would bury the summary."""
    logger = logging.getLogger("celery.app.trace")
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)
