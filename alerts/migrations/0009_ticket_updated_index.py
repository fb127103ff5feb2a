"""Tickets in the order they changed, per tenant: a partner's sync pages through them so."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("alerts", "0008_ticket_sla_working_time"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="ticket",
            index=models.Index(fields=["tenant", "updated_at", "id"], name="ticket_tenant_updated"),
        ),
    ]
