"""PostgreSQL's tenant guard on every tenant-owned table (organizations/db/guard.py): the app role and
its grants, row-level security enabled and forced with one policy per table, and foreign keys
that include tenant_id. Later migrations' tables get the same from the post_migrate step."""

from django.db import migrations

from organizations.db.guard import tenant_guard_ensure, tenant_guard_remove


def guard_apply(apps, schema_editor):
    tenant_guard_ensure(schema_editor.connection, apps)


def guard_remove(apps, schema_editor):
    tenant_guard_remove(schema_editor.connection, apps)


class Migration(migrations.Migration):
    dependencies = [
        ("cem", "0002_distribution"),
        ("alerts", "0001_initial"),
        ("analytics", "0005_text_rollups"),
        ("customers", "0002_distribution"),
        ("integrations", "0001_initial"),
        ("journeys", "0001_initial"),
        ("surveys", "0004_invitation_delivered"),
    ]

    operations = [migrations.RunPython(guard_apply, guard_remove)]
