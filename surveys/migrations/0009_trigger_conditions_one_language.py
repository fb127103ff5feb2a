from django.db import migrations

# Trigger conditions are written in the platform's one condition language
# (organizations/conditions.py): the customer-tag shorthands become leaves of it.
#   {"tag": "vip"}      -> {"customer": "tags", "op": "contains", "value": "vip"}
#   {"not_tag": "vip"}  -> {"not": {"customer": "tags", "op": "contains", "value": "vip"}}


def _tag_leaf(tag):
    return {"customer": "tags", "op": "contains", "value": tag}


def _to_language(leaf):
    if "tag" in leaf:
        return _tag_leaf(leaf["tag"])
    if "not_tag" in leaf:
        return {"not": _tag_leaf(leaf["not_tag"])}
    return leaf


def _to_shorthand(leaf):
    if leaf.get("customer") == "tags" and leaf.get("op") == "contains":
        return {"tag": leaf["value"]}
    inner = leaf.get("not")
    if isinstance(inner, dict) and inner.get("customer") == "tags" and inner.get("op") == "contains":
        return {"not_tag": inner["value"]}
    return leaf


def _rewrite(apps, change):
    Trigger = apps.get_model("surveys", "Trigger")
    for trigger in Trigger._base_manager.exclude(conditions={}).only("pk", "conditions"):
        leaves = (trigger.conditions or {}).get("all")
        if not isinstance(leaves, list):
            continue
        rewritten = {**trigger.conditions, "all": [change(leaf) for leaf in leaves]}
        if rewritten != trigger.conditions:
            Trigger._base_manager.filter(pk=trigger.pk).update(conditions=rewritten)


def forwards(apps, schema_editor):
    _rewrite(apps, _to_language)


def backwards(apps, schema_editor):
    _rewrite(apps, _to_shorthand)


class Migration(migrations.Migration):
    dependencies = [("surveys", "0008_touchpoints_protected")]

    operations = [migrations.RunPython(forwards, backwards)]
