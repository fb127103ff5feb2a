"""Partner API of alerts: list tickets and update them (transitions and follow-up notes)."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response as ApiResponse

from alerts import selectors, services
from alerts.models import RootCause, Ticket, TicketStatus
from integrations import fields


class TicketOutput(serializers.ModelSerializer):
    """A ticket. `rules` names every rule its response matched, in the order they matched;
    `rule`, kept for older clients, is the first of them (null for a ticket opened by a risk
    signal alone)."""

    response_id = serializers.IntegerField()
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
            "root_cause",
            "resolution",
            "created_at",
            "updated_at",
            "closed_at",
        ]

    def get_rule(self, ticket: Ticket) -> str | None:
        names = self.get_rules(ticket)
        return names[0] if names else None

    def get_rules(self, ticket: Ticket) -> list[str]:
        return [match.rule.name for match in ticket.matches.all()]


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


def _tickets():
    return selectors.ticket_list().select_related("root_cause")


class TicketListApi(generics.ListAPIView):
    """Tickets of the tenant, most urgent SLA first; filter with ?status=."""

    serializer_class = TicketOutput

    @extend_schema(
        parameters=[OpenApiParameter("status", enum=TicketStatus.values, required=False)]
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        status = self.request.query_params.get("status")
        if status is not None and status not in TicketStatus.values:
            raise ValidationError({"status": [f"Unknown status {status!r}."]})
        return _tickets().filter(status=status) if status else _tickets()


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
            root_cause = RootCause.objects.filter(name=data["root_cause"]).first()
            if root_cause is None:
                raise ValidationError(
                    {"root_cause": [f"No root cause named {data['root_cause']!r}."]}
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
