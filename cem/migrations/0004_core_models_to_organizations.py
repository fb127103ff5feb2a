"""The organisation core's models leave the `cem` app label for `organizations` (whose 0001 took
them over, on the same tables): removed from cem's state only, once every foreign key of the
other apps points at organizations; the content types follow, so permissions and admin log
entries keep pointing at the same rows."""

from django.db import migrations

MOVED_MODELS = ("tenant", "orgunit", "membership", "apikey", "auditevent", "outboundmessage")


def content_types_move(apps, schema_editor, *, source="cem", target="organizations"):
    ContentType = apps.get_model("contenttypes", "ContentType")
    db = schema_editor.connection.alias
    taken = set(
        ContentType.objects.using(db)
        .filter(app_label=target, model__in=MOVED_MODELS)
        .values_list("model", flat=True)
    )
    ContentType.objects.using(db).filter(app_label=source, model__in=MOVED_MODELS).exclude(
        model__in=taken
    ).update(app_label=target)


def content_types_move_back(apps, schema_editor):
    content_types_move(apps, schema_editor, source="organizations", target="cem")


class Migration(migrations.Migration):
    dependencies = [
        ("cem", "0003_tenant_guard"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("organizations", "0001_initial"),
        ("alerts", "0002_core_models_in_organizations"),
        ("analytics", "0006_core_models_in_organizations"),
        ("customers", "0003_core_models_in_organizations"),
        ("integrations", "0002_core_models_in_organizations"),
        ("journeys", "0002_core_models_in_organizations"),
        ("surveys", "0007_core_models_in_organizations"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(
                    model_name='auditevent',
                    name='actor_api_key',
                ),
                migrations.RemoveField(
                    model_name='auditevent',
                    name='actor_user',
                ),
                migrations.RemoveField(
                    model_name='auditevent',
                    name='tenant',
                ),
                migrations.RemoveField(
                    model_name='membership',
                    name='org_unit',
                ),
                migrations.RemoveField(
                    model_name='membership',
                    name='tenant',
                ),
                migrations.RemoveField(
                    model_name='membership',
                    name='user',
                ),
                migrations.RemoveField(
                    model_name='orgunit',
                    name='parent',
                ),
                migrations.RemoveField(
                    model_name='orgunit',
                    name='tenant',
                ),
                migrations.RemoveField(
                    model_name='outboundmessage',
                    name='tenant',
                ),
                migrations.DeleteModel(
                    name='ApiKey',
                ),
                migrations.DeleteModel(
                    name='AuditEvent',
                ),
                migrations.DeleteModel(
                    name='Membership',
                ),
                migrations.DeleteModel(
                    name='OrgUnit',
                ),
                migrations.DeleteModel(
                    name='OutboundMessage',
                ),
                migrations.DeleteModel(
                    name='Tenant',
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(content_types_move, content_types_move_back),
    ]
