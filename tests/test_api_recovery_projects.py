"""The partner API for customer recovery and improvement projects (issue 11): a CRM logs a
call or visit with its outcome and a recovery action with its cost on a ticket, through the
same services as the agent's page, and reads the improvement projects with their actions and
tickets; bad input is a 400 in the one error shape, another tenant's key gets 404, and the
schema stays valid and describes the new operations."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from openapi_spec_validator import validate
from rest_framework.test import APIClient

from alerts.models import Ticket, TicketContact, TicketEvent, TicketRecovery
from improvements.models import ImprovementProject, ProjectAction, ProjectTicket
from organizations.models import AuditEvent
from organizations.tenancy import tenant_context
from tests.helpers import BAD_ANSWERS, submit_and_score


def key_client(world) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {world.api_key_plaintext}")
    return client


@pytest.fixture
def api(world):
    return key_client(world)


@pytest.fixture
def ticket(world) -> Ticket:
    response = submit_and_score(world, BAD_ANSWERS)
    with tenant_context(world.tenant):
        return Ticket.objects.get(response=response)


@pytest.fixture
def project(world, ticket) -> ImprovementProject:
    with tenant_context(world.tenant):
        project = ImprovementProject.objects.create(
            title="开户排队过长", root_cause=world.root_cause, level="process", owner=world.manager
        )
        ProjectAction.objects.create(project=project, description="增开午间窗口", owner=world.agent)
        ProjectTicket.objects.create(project=project, ticket=ticket)
        return project


def contact_url(ticket) -> str:
    return f"/api/v1/tickets/{ticket.number}/contacts/"


def recovery_url(ticket) -> str:
    return f"/api/v1/tickets/{ticket.number}/recovery-actions/"


def refused(reply, field: str) -> None:
    assert reply.status_code == 400, reply.content
    error = reply.json()["error"]
    assert error["code"] == "invalid" and field in error["fields"], error


# --- contacts -----------------------------------------------------------------------------------


def test_a_partner_logs_a_call_with_its_outcome_as_the_agents_page_does(api, world, ticket):
    reply = api.post(
        contact_url(ticket),
        {"channel": "call", "outcome": "accepted", "note": "客户同意减免方案"},
        format="json",
    )
    assert reply.status_code == 201, reply.content
    assert reply.json()["outcome"] == "accepted"
    with tenant_context(world.tenant):
        contact = TicketContact.objects.get()
        event = TicketEvent.objects.get(kind="contact")
        ticket.refresh_from_db()
    assert (contact.channel, contact.event_id) == ("call", event.pk)
    assert event.actor_api_key_id == world.api_key.pk and "客户接受处理方案" in event.note
    assert ticket.first_responded_at is not None  # contacting the customer is a first response


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"channel": "call", "outcome": "happy"}, "outcome"),
        ({"channel": "fax", "outcome": "reached"}, "channel"),
        ({"channel": "call"}, "outcome"),
        ({"channel": "call", "outcome": "reached", "note": "x" * 2001}, "note"),
        ({"channel": "call", "outcome": "reached", "note": 7}, "note"),
    ],
)
def test_a_contact_with_an_unknown_outcome_or_a_bad_note_is_refused(
    api, world, ticket, body, field
):
    refused(api.post(contact_url(ticket), body, format="json"), field)
    with tenant_context(world.tenant):
        assert not TicketContact.objects.exists()


def test_a_nul_byte_in_a_note_is_refused(api, world, ticket):
    reply = api.post(
        contact_url(ticket),
        data='{"channel": "call", "outcome": "reached", "note": "a\\u0000b"}',
        content_type="application/json",
    )
    assert reply.status_code == 400 and "error" in reply.json()
    with tenant_context(world.tenant):
        assert not TicketContact.objects.exists()


# --- recovery actions ---------------------------------------------------------------------------


def test_a_partner_records_a_recovery_action_and_its_cost(api, world, ticket):
    reply = api.post(
        recovery_url(ticket),
        {"kind": "fee_waiver", "cost": "88.50", "note": "免年费"},
        format="json",
    )
    assert reply.status_code == 201, reply.content
    assert reply.json()["cost"] == "88.50" and reply.json()["currency"] == "CNY"
    with tenant_context(world.tenant):
        recovery = TicketRecovery.objects.get()
        assert AuditEvent.objects.filter(action="ticket.recovery").count() == 1
    assert recovery.cost == Decimal("88.50") and recovery.kind == "fee_waiver"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "gift", "cost": "-1"}, "cost"),
        ({"kind": "gift", "cost": "100000000"}, "cost"),
        ({"kind": "gift", "cost": "1e12"}, "cost"),
        ({"kind": "gift", "cost": "NaN"}, "cost"),
        ({"kind": "gift", "cost": "1.234"}, "cost"),
        ({"kind": "gift", "cost": 88}, "cost"),
        ({"kind": "gift", "cost": ""}, "cost"),
        ({"kind": "gift", "cost": True}, "cost"),
        ({"kind": "bribe", "cost": "10"}, "kind"),
        ({"kind": "gift"}, "cost"),
    ],
)
def test_a_negative_huge_or_malformed_cost_or_unknown_kind_is_refused(
    api, world, ticket, body, field
):
    refused(api.post(recovery_url(ticket), body, format="json"), field)
    with tenant_context(world.tenant):
        assert not TicketRecovery.objects.exists()
        assert not TicketEvent.objects.filter(kind="recovery").exists()


# --- projects -----------------------------------------------------------------------------------


def test_a_partner_reads_the_projects_with_their_actions_tickets_and_status(
    api, world, ticket, project
):
    listed = api.get("/api/v1/projects/")
    assert listed.status_code == 200
    [row] = listed.json()["results"]
    assert row["id"] == project.pk and row["status"] == "proposed"
    one = api.get(f"/api/v1/projects/{project.pk}/").json()
    assert one["title"] == "开户排队过长" and one["root_cause"] == world.root_cause.name
    assert one["owner"] == world.manager.username
    assert one["tickets"] == [ticket.number]
    assert [action["description"] for action in one["actions"]] == ["增开午间窗口"]
    assert one["actions"][0]["owner"] == world.agent.username


def test_projects_are_read_only(api, project):
    assert api.post("/api/v1/projects/", {"title": "x"}, format="json").status_code == 405
    reply = api.patch(f"/api/v1/projects/{project.pk}/", {"title": "x"}, format="json")
    assert reply.status_code == 405


# --- tenants and keys ---------------------------------------------------------------------------


def test_another_tenants_key_gets_404_on_our_tickets_and_projects(
    world, other_world, ticket, project
):
    theirs = key_client(other_world)
    assert (
        theirs.post(
            contact_url(ticket), {"channel": "call", "outcome": "reached"}, format="json"
        ).status_code
        == 404
    )
    assert (
        theirs.post(recovery_url(ticket), {"kind": "gift", "cost": "1"}, format="json").status_code
        == 404
    )
    assert theirs.get(f"/api/v1/projects/{project.pk}/").status_code == 404
    assert theirs.get("/api/v1/projects/").json()["results"] == []
    with tenant_context(world.tenant):
        assert not TicketContact.objects.exists() and not TicketRecovery.objects.exists()


def test_without_a_key_nothing_is_written(world, ticket):
    reply = APIClient().post(contact_url(ticket), {"channel": "call", "outcome": "reached"})
    assert reply.status_code == 401 and reply.json()["error"]["code"] == "not_authenticated"


# --- the schema ---------------------------------------------------------------------------------


def test_the_schema_stays_valid_and_describes_the_new_operations():
    schema = json.loads(
        OpenApiJsonRenderer().render(
            SchemaGenerator().get_schema(request=None, public=True), renderer_context={}
        )
    )
    validate(schema)
    paths = schema["paths"]
    for path, method in [
        ("/api/v1/tickets/{number}/contacts/", "post"),
        ("/api/v1/tickets/{number}/recovery-actions/", "post"),
        ("/api/v1/projects/", "get"),
        ("/api/v1/projects/{id}/", "get"),
    ]:
        operation = paths[path][method]
        assert operation["responses"]["404" if "{" in path else "401"]["content"]
    contact = schema["components"]["schemas"]["TicketContactInputRequest"]
    assert set(contact["required"]) == {"channel", "outcome"}
