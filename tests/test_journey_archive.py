"""Removing parts of a journey without losing data (deleted when nothing points at them,
archived when data does), reordering stages as a drag leaves them, and the API's PUT that
replaces a journey with a whole document checked as an import is."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from journeys.models import Journey, Stage, Touchpoint
from journeys.selectors import journey_list
from journeys.services import JourneyDocumentError, journey_export, touchpoint_add
from organizations.models import AuditEvent
from organizations.tenancy import tenant_context
from surveys.models import Response
from tests.factories import PASSWORD


@pytest.fixture
def manager(client, world):
    client.login(username=world.manager.username, password=PASSWORD)
    return client


def edit(client, world, journey, **form):
    return client.post(reverse("journey_edit", args=[world.tenant.slug, journey.pk]), form)


def answered_at(world, touchpoint) -> Response:
    with tenant_context(world.tenant):
        return Response.objects.create(
            survey=world.survey,
            version=world.survey.live_version,
            touchpoint=touchpoint,
            answers={"nps_1": 3},
            submitted_at=timezone.now(),
            status=Response.Status.COMPLETE,
        )


def spare_touchpoint(world, code="lobby") -> Touchpoint:
    with tenant_context(world.tenant):
        stage = Stage.objects.get(journey=world.journey)
        return touchpoint_add(
            stage=stage,
            fields={"code": code, "name": "大堂", "channel": "branch_counter"},
            by=world.manager,
        )


def test_a_touchpoint_without_data_is_deleted(manager, world):
    spare = spare_touchpoint(world)
    reply = edit(manager, world, world.journey, action="remove_touchpoint", touchpoint=spare.pk)
    assert reply.status_code == 302
    with tenant_context(world.tenant):
        assert not Touchpoint.objects.filter(pk=spare.pk).exists()
        assert AuditEvent.objects.filter(action="touchpoint.deleted").count() == 1


def test_a_touchpoint_with_responses_is_archived_its_data_kept_and_its_code_still_taken(
    manager, world
):
    spare = spare_touchpoint(world)
    response = answered_at(world, spare)
    edit(manager, world, world.journey, action="remove_touchpoint", touchpoint=spare.pk)
    with tenant_context(world.tenant):
        spare.refresh_from_db()
        assert spare.archived_at is not None
        assert Response.objects.get(pk=response.pk).touchpoint_id == spare.pk
        shown = [tp.pk for s in journey_list()[0].stages.all() for tp in s.touchpoints.all()]
        assert spare.pk not in shown
        with pytest.raises(JourneyDocumentError, match="编码已被其他触点使用"):
            touchpoint_add(
                stage=spare.stage,
                fields={"code": "lobby", "name": "新大堂", "channel": "store"},
                by=world.manager,
            )
    edit(manager, world, world.journey, action="restore_touchpoint", touchpoint=spare.pk)
    with tenant_context(world.tenant):
        assert Touchpoint.objects.get(pk=spare.pk).archived_at is None


def test_a_journey_with_data_is_archived_and_restored_one_without_is_deleted(manager, world):
    answered_at(world, world.touchpoint)
    reply = edit(manager, world, world.journey, action="remove_journey")
    assert reply.status_code == 302
    with tenant_context(world.tenant):
        assert Journey.objects.get(pk=world.journey.pk).archived_at is not None
        assert world.journey.pk not in [j.pk for j in journey_list()]
    listing = manager.get(reverse("journey_map", args=[world.tenant.slug])).content.decode()
    assert "已归档的旅程" in listing
    edit(manager, world, world.journey, action="restore_journey")
    with tenant_context(world.tenant):
        assert Journey.objects.get(pk=world.journey.pk).archived_at is None
        empty = Journey.objects.create(name="空旅程")
        Stage.objects.create(journey=empty, name="唯一阶段")
    edit(manager, world, empty, action="remove_journey")
    with tenant_context(world.tenant):
        assert not Journey.objects.filter(pk=empty.pk).exists()


def test_only_an_empty_stage_can_be_removed_and_never_the_last(manager, world):
    with tenant_context(world.tenant):
        full = Stage.objects.get(journey=world.journey)
    refused = edit(manager, world, world.journey, action="remove_stage", stage=full.pk)
    assert refused.status_code == 400 and "请先移走" in refused.content.decode()
    with tenant_context(world.tenant):
        empty = Stage.objects.create(journey=world.journey, name="回访", position=0)
    assert (
        edit(manager, world, world.journey, action="remove_stage", stage=empty.pk).status_code
        == 302
    )
    with tenant_context(world.tenant):
        assert list(
            Stage.objects.filter(journey=world.journey).values_list("position", flat=True)
        ) == [0]


def test_stages_take_the_order_a_drag_posts_and_a_wrong_order_changes_nothing(manager, world):
    with tenant_context(world.tenant):
        first = Stage.objects.get(journey=world.journey)
        second = Stage.objects.create(journey=world.journey, name="回访", position=1)
    reply = edit(
        manager, world, world.journey, action="reorder_stages", order=f"{second.pk},{first.pk}"
    )
    assert reply.status_code == 302
    with tenant_context(world.tenant):
        order = Stage.objects.filter(journey=world.journey).order_by("position")
        assert [s.pk for s in order] == [second.pk, first.pk]
    for wrong in (f"{second.pk}", f"{second.pk},{second.pk}", f"{first.pk},{second.pk},999"):
        refused = edit(manager, world, world.journey, action="reorder_stages", order=wrong)
        assert refused.status_code == 400
    with tenant_context(world.tenant):
        order = Stage.objects.filter(journey=world.journey).order_by("position")
        assert [s.pk for s in order] == [second.pk, first.pk]


@pytest.mark.parametrize("who", ["viewer", "agent"])
@pytest.mark.parametrize(
    "action", ["remove_touchpoint", "remove_journey", "reorder_stages", "remove_stage"]
)
def test_viewers_and_agents_cannot_remove_or_reorder(client, world, who, action):
    client.login(username=getattr(world, who).username, password=PASSWORD)
    reply = edit(client, world, world.journey, action=action, touchpoint=world.touchpoint.pk)
    assert reply.status_code == 403
    with tenant_context(world.tenant):
        assert Touchpoint.objects.filter(pk=world.touchpoint.pk, archived_at=None).exists()


# ---- The API's PUT


@pytest.fixture
def api(world):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {world.api_key_plaintext}")
    return client


def put(api, pk, document):
    return api.put(f"/api/v1/journeys/{pk}/", document, format="json")


def test_a_put_replaces_the_journey_keeping_touchpoints_by_code(api, world):
    spare = spare_touchpoint(world)
    with_data = spare_touchpoint(world, code="vip-room")
    answered_at(world, with_data)
    with tenant_context(world.tenant):
        document = journey_export(world.journey)
    document["name"] = "个人开户（新版）"
    counter = document["stages"][0]["touchpoints"][0]
    document["stages"][0]["touchpoints"] = []
    document["stages"].append(
        {
            "name": "回访",
            "touchpoints": [
                counter,
                {"code": "callback", "name": "电话回访", "channel": "call_center"},
            ],
        }
    )
    reply = put(api, world.journey.pk, document)
    assert reply.status_code == 200, reply.content
    body = reply.json()
    assert body["name"] == "个人开户（新版）"
    assert [s["name"] for s in body["stages"]] == [document["stages"][0]["name"], "回访"]
    moved = body["stages"][1]["touchpoints"]
    assert [tp["code"] for tp in moved] == ["counter", "callback"]
    assert moved[0]["id"] == world.touchpoint.pk  # the same touchpoint, its data with it
    with tenant_context(world.tenant):
        assert not Touchpoint.objects.filter(pk=spare.pk).exists()
        assert Touchpoint.objects.get(pk=with_data.pk).archived_at is not None
        assert AuditEvent.objects.filter(action="journey.update").count() == 1


def test_a_put_with_problems_says_where_and_changes_nothing(api, world, other_world):
    spare_touchpoint(world, code="lobby")
    with tenant_context(world.tenant):
        other = Journey.objects.create(name="其他旅程")
        stage = Stage.objects.create(journey=other, name="阶段")
        Touchpoint.objects.create(stage=stage, name="大厅", code="hall", channel="store")
        before = journey_export(world.journey)
    document = {
        "name": "其他旅程",
        "stages": [
            {
                "name": "阶段",
                "touchpoints": [{"code": "hall", "name": "大厅", "channel": "store"}],
            }
        ],
    }
    reply = put(api, world.journey.pk, document)
    assert reply.status_code == 400
    errors = reply.json()
    flat = str(errors)
    assert "已有同名旅程" in flat and "编码已被其他触点使用" in flat
    with tenant_context(world.tenant):
        assert journey_export(Journey.objects.get(pk=world.journey.pk)) == before
    assert put(api, other_world.journey.pk, before).status_code == 404
