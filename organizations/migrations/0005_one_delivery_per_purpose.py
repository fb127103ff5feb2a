from django.db import migrations, models

# A message is sent at most once for its purpose. Before, a reminder was logged under its
# invitation's purpose: attempts that would share a purpose keep the first one's and have
# their own id appended, so the constraint holds for what was sent before it.


def purposes_apart(apps, schema_editor):
    OutboundMessage = apps.get_model("organizations", "OutboundMessage")
    seen = set()
    for message in (
        OutboundMessage._base_manager.filter(status__in=["queued", "sent"])
        .exclude(purpose="")
        .order_by("pk")
        .only("pk", "tenant_id", "purpose")
    ):
        key = (message.tenant_id, message.purpose)
        if key in seen:
            OutboundMessage._base_manager.filter(pk=message.pk).update(
                purpose=f"{message.purpose}:{message.pk}"[:64]
            )
        seen.add(key)


class Migration(migrations.Migration):
    dependencies = [("organizations", "0004_ticket_assignment")]

    operations = [
        migrations.RunPython(purposes_apart, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="outboundmessage",
            index=models.Index(fields=["tenant", "purpose"], name="outbound_tenant_purpose"),
        ),
        migrations.AddConstraint(
            model_name="outboundmessage",
            constraint=models.UniqueConstraint(
                condition=models.Q(("status__in", ("queued", "sent")))
                & ~models.Q(("purpose", "")),
                fields=("tenant", "purpose"),
                name="outbound_one_delivery_per_purpose",
            ),
        ),
    ]
