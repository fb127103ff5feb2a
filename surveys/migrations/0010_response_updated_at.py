"""Responses get `updated_at`, which moves on every change a partner's sync must see (a save,
a scoring), and an index to page through them in that order per tenant. Stored responses
start from when they last changed before: their receipt or submission, whichever is later."""

from django.db import migrations, models
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone


def updated_at_backfill(apps, schema_editor):
    Response = apps.get_model("surveys", "Response")
    Response._base_manager.update(
        updated_at=Greatest("received_at", Coalesce("submitted_at", "received_at"))
    )


class Migration(migrations.Migration):
    dependencies = [
        ("surveys", "0009_trigger_conditions_one_language"),
    ]

    operations = [
        migrations.AddField(
            model_name="response",
            name="updated_at",
            field=models.DateTimeField(auto_now=True, default=timezone.now),
            preserve_default=False,
        ),
        migrations.RunPython(updated_at_backfill, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="response",
            index=models.Index(
                fields=["tenant", "updated_at", "id"], name="response_tenant_updated"
            ),
        ),
    ]
