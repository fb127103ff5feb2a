"""Step 1 of one ticket per response: the table of the rules a ticket matched, beside the old
one-rule column (made optional so that step 2 can merge and step 3 can drop it)."""

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("alerts", "0002_core_models_in_organizations"),
    ]

    operations = [
        migrations.CreateModel(
            name="TicketRule",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("matched_at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "rule",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="alerts.alertrule",
                    ),
                ),
                (
                    "tenant",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="organizations.tenant",
                    ),
                ),
                (
                    "ticket",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="matches",
                        to="alerts.ticket",
                    ),
                ),
            ],
            options={
                "ordering": ["matched_at", "id"],
                "indexes": [models.Index(fields=["tenant", "rule"], name="ticketrule_rule")],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("tenant", "ticket", "rule"), name="ticketrule_once_per_ticket"
                    )
                ],
            },
        ),
        migrations.AlterField(
            model_name="ticket",
            name="rule",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="tickets",
                to="alerts.alertrule",
            ),
        ),
        migrations.AlterField(
            model_name="ticketevent",
            name="kind",
            field=models.CharField(
                choices=[
                    ("created", "创建"),
                    ("claimed", "认领"),
                    ("note", "跟进记录"),
                    ("status", "状态变更"),
                    ("escalated", "升级"),
                    ("reopened", "重开"),
                    ("matched", "新增命中"),
                    ("merged", "合并"),
                ],
                max_length=16,
            ),
        ),
    ]
