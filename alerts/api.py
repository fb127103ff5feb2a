"""Partner API of alerts: list tickets (or sync them), update them (transitions and follow-up
notes), read their history, assign them, log contacts with the customer and recovery actions;
list the root causes resolving a ticket names."""

from __future__ import annotations

import re
from collections.abc import Callable

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import generics, serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response as ApiResponse
from rest_framework.views import APIView

from alerts import recovery, selectors, services
from alerts.models import (
    RECOVERY_COST_MAX,
    ContactChannel,
    ContactOutcome,
    RecoveryKind,
    RootCause,
    Ticket,
    TicketContact,
    TicketEvent,
    TicketRecovery,
    TicketStatus,
)
from integrations import fields
from integrations.filters import SyncFilterInput, org_unit_by_code, sync_filters
from integrations.pagination import QUEUE_ORDER, SYNC_ORDER, QueueOrSyncPagination
from organizations.selectors import members_named


class ExternalPostRefOutput(serializers.Serializer):
    source = serializers.CharField()
    id = serializers.CharField()


class TicketOutput(serializers.ModelSerializer):
    """A ticket. `rules` names every rule its response matched, in the order they matched;
    `rule`, kept for older clients, is the first of them (null for a ticket opened by a risk
    signal alone)."""

    response_id = serializers.IntegerField(
        allow_null=True, help_text="null for a ticket of an external post."
    )
    external_post = serializers.SerializerMethodField(
        help_text='The external post a ticket is about ({"source", "id"}), or null.'
    )
    external_customer_id = serializers.CharField(
        source="response.external_customer_id",
        default="",
        help_text='Your customer id; "" if none.',
    )
    rule = serializers.SerializerMethodField()
    rules = serializers.SerializerMethodField()
    org_unit = serializers.CharField(source="org_unit.code", default=None, allow_null=True)
    assignee = serializers.CharField(source="assignee.username", default=None, allow_null=True)
    root_cause = serializers.CharField(source="root_cause.name", default=None, allow_null=True)
    is_overdue = serializers.BooleanField()

    class Meta:
        model = Ticket
        fields = [
            "number",
            "status",
            "priority",
            "response_id",
            "external_post",
            "external_customer_id",
            "rule",
            "rules",
            "org_unit",
            "assignee",
            "sla_due_at",
            "first_response_due_at",
            "first_responded_at",
            "is_overdue",
            "escalation_level",
            "escalated_at",
            "first_response_escalated_at",
            "root_cause",
            "resolution",
            "created_at",
            "updated_at",
            "closed_at",
        ]
        extra_kwargs = {
            "updated_at": {"help_text": "Moves on every change: each event in its history."},
            "first_response_escalated_at": {
                "help_text": "When nobody had responded by the first-response due time and the "
                "ticket reached its unit's manager; null otherwise."
            },
        }

    def get_rule(self, ticket: Ticket) -> str | None:
        names = self.get_rules(ticket)
        return names[0] if names else None

    def get_rules(self, ticket: Ticket) -> list[str]:
        return [match.rule.name for match in ticket.matches.all()]

    @extend_schema_field(ExternalPostRefOutput(allow_null=True))
    def get_external_post(self, ticket: Ticket) -> dict | None:
        post = ticket.external_post
        return None if post is None else {"source": post.source, "id": post.source_id}


class TicketUpdateInput(serializers.Serializer):
    action = serializers.ChoiceField(
        choices=list(services.TRANSITIONS), required=False, help_text="State transition to apply."
    )
    note = fields.Text(max_length=5000, required=False, default="", allow_blank=True)
    root_cause = fields.Text(required=False, help_text="Root cause name (required to resolve).")
    resolution = fields.Text(max_length=5000, required=False, default="", allow_blank=True)

    def validate(self, attrs: dict) -> dict:
        if not attrs.get("action") and not attrs.get("note", "").strip():
            raise serializers.ValidationError("Give an action, a note, or both.")
        return attrs


def _tickets(**filters):
    return selectors.ticket_list(**filters).select_related("root_cause")


class TicketFilterInput(SyncFilterInput):
    status = serializers.ChoiceField(choices=TicketStatus.values, required=False)
    order = serializers.ChoiceField(
        choices=[QUEUE_ORDER, SYNC_ORDER],
        required=False,
        help_text=f"`{QUEUE_ORDER}` (default): most urgent SLA first, paged by offset. "
        f"`{SYNC_ORDER}`: oldest change first, paged by cursor, for a sync.",
    )


class TicketListApi(generics.ListAPIView):
    """Tickets of the tenant, most urgent SLA first; or, with ?order=updated, in the order
    they last changed (oldest first), paged by cursor, for a partner's sync. Filters: status,
    updated_since, external_customer_id, org_unit (code: that unit and below)."""

    serializer_class = TicketOutput
    pagination_class = QueueOrSyncPagination

    @extend_schema(parameters=[TicketFilterInput])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        filters = sync_filters(TicketFilterInput, self.request)
        scope_path = org_unit_by_code(filters["org_unit"]).path if "org_unit" in filters else ""
        return _tickets(
            scope_path=scope_path,
            status=filters.get("status", ""),
            updated_since=filters.get("updated_since"),
            external_customer_id=filters.get("external_customer_id", ""),
        )


class TicketDetailApi(generics.RetrieveAPIView):
    """One ticket by its number. PATCH applies a transition and/or adds a follow-up note."""

    serializer_class = TicketOutput
    lookup_field = "number"

    def get_queryset(self):
        return _tickets()

    @extend_schema(request=TicketUpdateInput, responses=TicketOutput)
    def patch(self, request, number: int):
        ticket = get_object_or_404(_tickets(), number=number)
        payload = TicketUpdateInput(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        actor = request.auth
        root_cause = None
        if data.get("root_cause"):
            root_cause = (
                selectors.root_cause_choices(keep=ticket.root_cause_id)
                .filter(name=data["root_cause"])
                .first()
            )
            if root_cause is None:
                raise ValidationError(
                    {"root_cause": [f"No active root cause named {data['root_cause']!r}."]}
                )
        if data.get("action"):
            services.ticket_transition(
                ticket=ticket,
                action=data["action"],
                by=actor,
                note=data["note"],
                root_cause=root_cause,
                resolution=data["resolution"],
            )
        else:
            services.ticket_note_add(ticket=ticket, by=actor, note=data["note"])
        return ApiResponse(TicketOutput(get_object_or_404(_tickets(), number=number)).data)


class TicketEventOutput(serializers.ModelSerializer):
    """One step of a ticket's history: who did what, when."""

    actor_type = serializers.SerializerMethodField()
    actor = serializers.SerializerMethodField(
        help_text="The member's username or the API key's name; null for the system."
    )

    class Meta:
        model = TicketEvent
        fields = ["id", "kind", "from_status", "to_status", "note", "actor_type", "actor", "at"]
        extra_kwargs = {
            "from_status": {"help_text": 'With a status change: the status before; else "".'},
            "to_status": {"help_text": 'With a status change: the status after; else "".'},
        }

    @extend_schema_field(serializers.ChoiceField(choices=["member", "api_key", "system"]))
    def get_actor_type(self, event: TicketEvent) -> str:
        if event.actor_user_id:
            return "member"
        return "api_key" if event.actor_api_key_id else "system"

    def get_actor(self, event: TicketEvent) -> str | None:
        if event.actor_user_id:
            return event.actor_user.get_username()
        return event.actor_api_key.name if event.actor_api_key_id else None


class TicketEventListApi(generics.ListAPIView):
    """A ticket's history, oldest first: its opening, the rules that joined it, notes, status
    changes, assignments and escalations."""

    serializer_class = TicketEventOutput

    def get_queryset(self):
        ticket = get_object_or_404(Ticket.objects.only("pk"), number=self.kwargs["number"])
        return selectors.ticket_events(ticket)


class TicketAssignInput(serializers.Serializer):
    assignee = fields.Text(
        max_length=254, help_text="The member's username, or their email address."
    )
    reason = fields.Text(
        max_length=services.REASON_MAX, help_text="Why: kept in the ticket's history."
    )


class TicketAssignApi(APIView):
    """Give an open ticket to a member who may work it: a role that works tickets, and a scope
    that holds the ticket's org unit; anyone else is refused with a 400 that says so. An open
    ticket assigned is in progress. Assigning it to who has it already changes nothing."""

    @extend_schema(request=TicketAssignInput, responses=TicketOutput)
    def post(self, request, number: int):
        ticket = get_object_or_404(_tickets(), number=number)
        payload = TicketAssignInput(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        members = members_named(data["assignee"])
        if not members:
            raise ValidationError(
                {"assignee": [f"No member of this tenant is called {data['assignee']!r}."]}
            )
        if len(members) > 1:
            raise ValidationError(
                {"assignee": [f"{len(members)} members have this email: give the username."]}
            )
        if ticket.assignee_id != members[0].user_id:
            services.ticket_reassign(
                ticket=ticket, to=members[0].user, reason=data["reason"], by=request.auth
            )
        return ApiResponse(TicketOutput(get_object_or_404(_tickets(), number=number)).data)


class TicketCustomerReplyInput(serializers.Serializer):
    text = fields.Text(
        max_length=services.NOTE_MAX, help_text="What the customer answered, as they wrote it."
    )


class TicketCustomerReplyApi(APIView):
    """Record the customer's reply to a ticket (from your CRM, WeChat or call centre): a
    `customer_reply` event that notifies the ticket's assignee. A ticket waiting on the
    customer goes back to in progress and its SLA clock runs again; a closed ticket is refused
    with a 400."""

    @extend_schema(request=TicketCustomerReplyInput, responses={201: TicketOutput})
    def post(self, request, number: int):
        ticket = get_object_or_404(_tickets(), number=number)
        payload = TicketCustomerReplyInput(data=request.data)
        payload.is_valid(raise_exception=True)
        services.ticket_customer_reply(
            ticket=ticket, text=payload.validated_data["text"], by=request.auth
        )
        return ApiResponse(
            TicketOutput(get_object_or_404(_tickets(), number=number)).data,
            status=status.HTTP_201_CREATED,
        )


class TicketContactInput(serializers.Serializer):
    channel = serializers.ChoiceField(choices=ContactChannel.values, help_text="How.")
    outcome = serializers.ChoiceField(choices=ContactOutcome.values, help_text="How it went.")
    note = fields.Text(max_length=recovery.NOTE_MAX, required=False, default="", allow_blank=True)


class TicketContactOutput(serializers.ModelSerializer):
    class Meta:
        model = TicketContact
        fields = ["id", "channel", "outcome", "note", "at"]


class TicketRecordApi(APIView):
    """An endpoint that records something done for a ticket's customer, as the agent's page
    does: the input checked, the service called with the ticket and the key, the record
    returned with 201. Each subclass names its input, its output and its service."""

    input_class: type[serializers.Serializer]
    output_class: type[serializers.ModelSerializer]
    record: Callable[..., object]

    def post(self, request, number: int):
        ticket = get_object_or_404(_tickets(), number=number)
        payload = self.input_class(data=request.data)
        payload.is_valid(raise_exception=True)
        done = type(self).record(ticket=ticket, by=request.auth, **payload.validated_data)
        return ApiResponse(self.output_class(done).data, status=status.HTTP_201_CREATED)


@extend_schema_view(
    post=extend_schema(request=TicketContactInput, responses={201: TicketContactOutput})
)
class TicketContactApi(TicketRecordApi):
    """Log a call, visit or message to the ticket's customer with its outcome, as the agent's
    page does (a `contact` event; the ticket's first response if nobody had acted yet)."""

    input_class = TicketContactInput
    output_class = TicketContactOutput
    record = staticmethod(recovery.ticket_contact_log)


COST_PATTERN = r"^\d{1,8}(\.\d{1,2})?$"  # 0 to 99999999.99, at most two decimals


@extend_schema_field({"type": "string", "pattern": COST_PATTERN, "example": "88.00"})
class CostField(serializers.DecimalField):
    """An amount of yuan as a JSON string ("88.00"): exactly what the schema says, so a
    partner's generated client and the server agree on every value."""

    def __init__(self, **kwargs) -> None:
        super().__init__(
            max_digits=10, decimal_places=2, min_value=0, max_value=RECOVERY_COST_MAX, **kwargs
        )

    def to_internal_value(self, data):
        if not isinstance(data, str) or not re.fullmatch(COST_PATTERN, data):
            self.fail("invalid")
        return super().to_internal_value(data)


class TicketRecoveryInput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=RecoveryKind.values, help_text="The action taken.")
    cost = CostField(
        help_text='Its cost in CNY (yuan) as a JSON string, "0" to "99999999.99", at most two '
        "decimals."
    )
    note = fields.Text(max_length=recovery.NOTE_MAX, required=False, default="", allow_blank=True)


class TicketRecoveryOutput(serializers.ModelSerializer):
    class Meta:
        model = TicketRecovery
        fields = ["id", "kind", "cost", "currency", "note", "at"]


@extend_schema_view(
    post=extend_schema(request=TicketRecoveryInput, responses={201: TicketRecoveryOutput})
)
class TicketRecoveryApi(TicketRecordApi):
    """Record a recovery action for the ticket's customer (fee waiver, gift, apology, other)
    and its cost, as the agent's page does (a `recovery` event and an audit row)."""

    input_class = TicketRecoveryInput
    output_class = TicketRecoveryOutput
    record = staticmethod(recovery.ticket_recovery_record)


class RootCauseOutput(serializers.ModelSerializer):
    parent = serializers.CharField(source="parent.name", default=None, allow_null=True)

    class Meta:
        model = RootCause
        fields = ["id", "name", "level", "parent"]


class RootCauseListApi(generics.ListAPIView):
    """The tenant's active root causes, by level then name: resolving a ticket names one of
    them (a deactivated cause is still named on the tickets that recorded it)."""

    serializer_class = RootCauseOutput

    def get_queryset(self):
        return selectors.root_cause_choices().select_related("parent")
