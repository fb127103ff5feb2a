"""The journey editor in the browser's terms (Django's test client): create from a template, a
file or blank; rename, add and reorder stages; add and change touchpoints; export; roles."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from journeys.journey_templates import TEMPLATES
from journeys.models import Journey, Stage, Touchpoint
from organizations.models import AuditEvent
from organizations.tenancy import tenant_context
from tests.factories import PASSWORD


@pytest.fixture
def manager(client, world):
    client.login(username=world.manager.username, password=PASSWORD)
    return client


def url(world, name, *args):
    return reverse(name, args=[world.tenant.slug, *args])


def stage_names(world, journey) -> list[str]:
    with tenant_context(world.tenant):
        return list(
            Stage.objects.filter(journey=journey)
            .order_by("position", "id")
            .values_list("name", flat=True)
        )


def test_a_manager_starts_a_journey_from_a_template_and_lands_in_its_editor(manager, world):
    reply = manager.post(url(world, "journey_new"), {"source": "template", "template": "bank-loan"})
    with tenant_context(world.tenant):
        journey = Journey.objects.get(name="个人贷款")
    assert reply.status_code == 302 and reply["Location"] == url(world, "journey_edit", journey.pk)
    page = manager.get(reply["Location"]).content.decode()
    for stage in TEMPLATES["bank-loan"]["document"]["stages"]:
        assert stage["name"] in page
    assert "bank-loan-apply" in page


def test_a_blank_journey_needs_its_name_and_first_stage(manager, world):
    refused = manager.post(url(world, "journey_new"), {"source": "blank", "name": "退休金"})
    assert refused.status_code == 400
    assert "stages[0].name" in refused.content.decode()
    made = manager.post(
        url(world, "journey_new"), {"source": "blank", "name": "退休金", "first_stage": "咨询"}
    )
    assert made.status_code == 302
    with tenant_context(world.tenant):
        assert stage_names(world, Journey.objects.get(name="退休金")) == ["咨询"]


def test_an_import_with_bad_json_or_a_bad_row_says_where_and_writes_nothing(manager, world):
    broken = SimpleUploadedFile("j.json", b'{"name": "x", ', content_type="application/json")
    reply = manager.post(url(world, "journey_new"), {"source": "import", "file": broken})
    assert reply.status_code == 400 and "JSON" in reply.content.decode()
    document = json.loads(json.dumps(TEMPLATES["retail"]["document"]))
    document["stages"][-1]["touchpoints"][-1]["channel"] = "fax"
    upload = SimpleUploadedFile("j.json", json.dumps(document).encode(), "application/json")
    reply = manager.post(url(world, "journey_new"), {"source": "import", "file": upload})
    assert reply.status_code == 400
    assert "stages[3].touchpoints[1].channel" in reply.content.decode()
    with tenant_context(world.tenant):
        assert not Journey.objects.filter(name="门店购物").exists()


def test_stages_are_added_renamed_and_moved_without_javascript(manager, world):
    edit = url(world, "journey_edit", world.journey.pk)
    first = stage_names(world, world.journey)[0]
    assert manager.post(edit, {"action": "add_stage", "name": "回访"}).status_code == 302
    assert stage_names(world, world.journey) == [first, "回访"]
    with tenant_context(world.tenant):
        added = Stage.objects.get(journey=world.journey, name="回访")
    manager.post(edit, {"action": "stage_up", "stage": added.pk})
    assert stage_names(world, world.journey) == ["回访", first]
    manager.post(edit, {"action": "stage_up", "stage": added.pk})  # already first: stays
    assert stage_names(world, world.journey) == ["回访", first]
    manager.post(edit, {"action": "rename_stage", "stage": added.pk, "name": "事后回访"})
    assert stage_names(world, world.journey) == ["事后回访", first]
    refused = manager.post(edit, {"action": "rename_stage", "stage": added.pk, "name": " "})
    assert refused.status_code == 400
    assert stage_names(world, world.journey) == ["事后回访", first]


def test_touchpoints_are_added_and_changed_with_the_same_checks_as_an_import(manager, world):
    edit = url(world, "journey_edit", world.journey.pk)
    stage = world.touchpoint.stage
    fields = {"name": "App 预约", "code": "app-booking", "channel": "mobile_app"}
    reply = manager.post(edit, {"action": "add_touchpoint", "stage": stage.pk, **fields})
    assert reply.status_code == 302
    duplicate = manager.post(
        edit, {"action": "add_touchpoint", "stage": stage.pk, **fields, "name": "另一个"}
    )
    assert duplicate.status_code == 400
    assert "编码已被其他触点使用" in duplicate.content.decode()
    changed = manager.post(
        edit,
        {
            "action": "update_touchpoint",
            "touchpoint": world.touchpoint.pk,
            "name": "柜台服务",
            "code": "counter-service",
            "channel": "branch_counter",
            "key_moment": "peak",
            "org_unit": "HZ-XH",
        },
    )
    assert changed.status_code == 302
    with tenant_context(world.tenant):
        touchpoint = Touchpoint.objects.select_related("org_unit").get(pk=world.touchpoint.pk)
        assert Touchpoint.objects.filter(name="另一个").count() == 0
        audit = AuditEvent.objects.filter(action="touchpoint.update").get()
    assert (touchpoint.code, touchpoint.key_moment) == ("counter-service", "peak")
    assert touchpoint.org_unit.code == "HZ-XH"
    assert audit.before["code"] == "counter" and audit.after["code"] == "counter-service"


def test_the_export_reads_back_as_a_new_journey(manager, world):
    exported = manager.get(url(world, "journey_export", world.journey.pk))
    assert exported["Content-Disposition"].startswith("attachment")
    document = json.loads(exported.content)
    document["name"] += "（副本）"
    for stage in document["stages"]:
        for touchpoint in stage["touchpoints"]:
            touchpoint["code"] += "-copy"
    upload = SimpleUploadedFile("j.json", json.dumps(document).encode(), "application/json")
    reply = manager.post(url(world, "journey_new"), {"source": "import", "file": upload})
    assert reply.status_code == 302


@pytest.mark.parametrize("who", ["viewer", "agent"])
def test_viewers_and_agents_may_look_but_not_edit(client, world, who):
    client.login(username=getattr(world, who).username, password=PASSWORD)
    assert client.get(url(world, "journey_map")).status_code == 200
    assert "新建旅程" not in client.get(url(world, "journey_map")).content.decode()
    for name, args in [
        ("journey_new", ()),
        ("journey_edit", (world.journey.pk,)),
        ("journey_export", (world.journey.pk,)),
    ]:
        assert client.get(url(world, name, *args)).status_code == 403
    edit = url(world, "journey_edit", world.journey.pk)
    assert client.post(edit, {"action": "add_stage", "name": "x"}).status_code == 403
    assert stage_names(world, world.journey) == [world.touchpoint.stage.name]


def test_another_tenants_stage_cannot_be_named_in_this_journey(manager, world, other_world):
    edit = url(world, "journey_edit", world.journey.pk)
    foreign = other_world.touchpoint.stage.pk
    assert (
        manager.post(edit, {"action": "rename_stage", "stage": foreign, "name": "x"}).status_code
        == 404
    )
    assert manager.get(url(world, "journey_edit", other_world.journey.pk)).status_code == 404
