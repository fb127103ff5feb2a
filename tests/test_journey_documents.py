"""Journeys created whole from a document (templates, JSON import, the API): one validation
that names every problem by its path and writes nothing when there is one."""

import copy

import pytest
from django.core.exceptions import PermissionDenied
from rest_framework.test import APIClient

from journeys.journey_templates import TEMPLATES
from journeys.models import Journey, Stage, Touchpoint
from journeys.services import JourneyDocumentError, journey_create, journey_export
from organizations.tenancy import tenant_context


def document(**changes) -> dict:
    base = {
        "name": "贷款旅程",
        "description": "申请到放款",
        "stages": [
            {
                "name": "申请",
                "touchpoints": [
                    {"code": "loan-apply", "name": "线上申请", "channel": "mobile_app"},
                    {
                        "code": "loan-branch",
                        "name": "网点咨询",
                        "channel": "branch_counter",
                        "key_moment": "low",
                        "org_unit": "SH-PD",
                    },
                ],
            },
            {"name": "放款", "touchpoints": []},
        ],
    }
    base.update(changes)
    return base


def problems_of(world, doc) -> dict[str, str]:
    with tenant_context(world.tenant), pytest.raises(JourneyDocumentError) as raised:
        journey_create(document=doc, by=world.manager)
    return {problem.where: problem.message for problem in raised.value.problems}


@pytest.mark.parametrize("key", sorted(TEMPLATES))
def test_every_template_creates_its_journey_and_exports_back_to_itself(world, key):
    template = TEMPLATES[key]["document"]
    with tenant_context(world.tenant):
        journey = journey_create(document=copy.deepcopy(template), by=world.manager)
        exported = journey_export(journey)
        moments = set(
            Touchpoint.objects.filter(stage__journey=journey).values_list("key_moment", flat=True)
        )
    assert exported == {"format": 1, **template}
    assert {"low", "peak", "end"} <= moments  # every template marks its key moments


def test_a_document_with_problems_names_each_by_its_path_and_writes_nothing(world):
    doc = document()
    doc["stages"][0]["touchpoints"][1]["code"] = "loan-apply"  # twice in the document
    doc["stages"][0]["touchpoints"][0]["channel"] = "fax"
    doc["stages"][1]["touchpoints"] = [
        {"code": "counter", "name": "柜台", "channel": "branch_counter"},  # the world's own
        {"code": "Bad Code", "name": "x", "channel": "web", "org_unit": "NOWHERE"},
    ]
    problems = problems_of(world, doc)
    assert set(problems) == {
        "stages[0].touchpoints[1].code",
        "stages[0].touchpoints[0].channel",
        "stages[1].touchpoints[0].code",
        "stages[1].touchpoints[1].code",
        "stages[1].touchpoints[1].org_unit",
    }
    assert "NOWHERE" in problems["stages[1].touchpoints[1].org_unit"]
    with tenant_context(world.tenant):
        assert not Journey.objects.filter(name="贷款旅程").exists()
        assert not Stage.objects.filter(name="放款").exists()


@pytest.mark.parametrize(
    "doc, where",
    [
        ([], ""),
        ({"stages": []}, "name"),
        (document(stages=[]), "stages"),
        (document(stages=["申请"]), "stages[0]"),
        (document(stages=[{"name": "", "touchpoints": []}]), "stages[0].name"),
        (document(stages=[{"name": "a", "touchpoints": "x"}]), "stages[0].touchpoints"),
        (document(name="a" * 201), "name"),
        (document(name="a\x00b"), "name"),
        (document(format=2), "format"),
        (document(extra=1), ""),
    ],
)
def test_malformed_documents_are_refused_with_where(world, doc, where):
    assert where in problems_of(world, doc)


def test_a_second_journey_of_the_same_name_is_refused(world):
    with tenant_context(world.tenant):
        journey_create(document=document(), by=world.manager)
    clash = document()
    for stage in clash["stages"]:
        for touchpoint in stage["touchpoints"]:
            touchpoint["code"] += "-2"
    assert "name" in problems_of(world, clash)


@pytest.mark.parametrize("who", ["viewer", "agent"])
def test_viewers_and_agents_may_not_create_journeys(world, who):
    with tenant_context(world.tenant), pytest.raises(PermissionDenied):
        journey_create(document=document(), by=getattr(world, who))


def test_another_tenants_codes_and_units_are_neither_taken_nor_reachable(world, other_world):
    with tenant_context(other_world.tenant):
        journey_create(document=document(), by=other_world.manager)  # same codes, its own
    doc = document()
    doc["stages"][0]["touchpoints"][1]["org_unit"] = "SH-PD"  # both tenants have one
    with tenant_context(world.tenant):
        journey = journey_create(document=doc, by=world.manager)
        unit = Touchpoint.objects.get(stage__journey=journey, code="loan-branch").org_unit
    assert unit.tenant_id == world.tenant.pk


@pytest.fixture
def api(world):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {world.api_key_plaintext}")
    return client


def test_the_api_creates_a_journey_whole_and_lists_it(api, world):
    reply = api.post("/api/v1/journeys/", document(), format="json")
    assert reply.status_code == 201, reply.json()
    created = reply.json()
    assert [stage["name"] for stage in created["stages"]] == ["申请", "放款"]
    touchpoint = created["stages"][0]["touchpoints"][1]
    assert touchpoint["code"] == "loan-branch" and touchpoint["org_unit"] == "SH-PD"
    names = [journey["name"] for journey in api.get("/api/v1/journeys/").json()["results"]]
    assert "贷款旅程" in names


def test_the_api_answers_a_bad_document_with_each_problem_by_path(api, world):
    doc = document()
    doc["stages"][0]["touchpoints"][0]["code"] = "counter"
    reply = api.post("/api/v1/journeys/", doc, format="json")
    assert reply.status_code == 400
    error = reply.json()["error"]
    assert error["code"] == "invalid"
    assert list(error["fields"]) == ["stages[0].touchpoints[0].code"]
    with tenant_context(world.tenant):
        assert not Journey.objects.filter(name="贷款旅程").exists()


def test_a_partner_of_another_tenant_cannot_name_this_tenants_units(world, other_world):
    from organizations.models import OrgUnit
    from organizations.services import org_unit_create

    with tenant_context(world.tenant):
        org_unit_create(name="A 独有", code="A-ONLY", kind=OrgUnit.Kind.BRANCH, parent=world.hq)
    b_api = APIClient()
    b_api.credentials(HTTP_AUTHORIZATION=f"Api-Key {other_world.api_key_plaintext}")
    doc = document()
    doc["stages"][0]["touchpoints"][1]["org_unit"] = "A-ONLY"
    reply = b_api.post("/api/v1/journeys/", doc, format="json")
    assert reply.status_code == 400
    assert list(reply.json()["error"]["fields"]) == ["stages[0].touchpoints[1].org_unit"]
    doc["stages"][0]["touchpoints"][1]["org_unit"] = "SH-PD"  # B's own branch of that code
    assert b_api.post("/api/v1/journeys/", doc, format="json").status_code == 201
    with tenant_context(world.tenant):
        assert not Journey.objects.filter(name="贷款旅程").exists()
