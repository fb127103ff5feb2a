"""Partner API of integrations: inbound events, one or a batch per request."""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response as ApiResponse
from rest_framework.views import APIView

from integrations import fields
from integrations.services import event_ingest
from surveys.forms import MOBILE

MAX_BATCH = 500


class EventCustomerInput(serializers.Serializer):
    id = fields.Text(max_length=128, help_text="The tenant's own customer id.")
    name = fields.Text(max_length=200, required=False, allow_blank=True)
    mobile = fields.TextMatching(
        MOBILE.pattern, required=False, allow_blank=True, help_text="Mainland mobile number."
    )
    email = fields.Email(required=False, allow_blank=True)
    tags = serializers.ListField(child=fields.Text(max_length=64), required=False, max_length=50)


class EventInput(serializers.Serializer):
    id = fields.Text(max_length=128, help_text="Event id: a repeated id is ignored.")
    type = fields.TextMatching(r"^[a-z0-9_.:-]{1,64}$", help_text='e.g. "account.opened"')
    customer = EventCustomerInput()
    touchpoint = fields.Text(max_length=64, required=False, help_text="Touchpoint code.")
    org_unit = fields.Text(max_length=64, required=False, help_text="Org unit code.")
    properties = serializers.DictField(required=False, default=dict)
    occurred_at = fields.Moment(required=False)

    def validate_properties(self, value: dict) -> dict:
        if len(str(value)) > 4000:
            raise serializers.ValidationError("properties are limited to 4000 characters.")
        return value


class EventResultOutput(serializers.Serializer):
    id = serializers.CharField()
    status = serializers.ChoiceField(choices=["accepted", "duplicate", "invalid"])
    errors = serializers.DictField()


class EventBatchOutput(serializers.Serializer):
    results = EventResultOutput(many=True)


class EventsInput(serializers.Serializer):
    """The body of POST /events/ as the schema shows it: one event, or a list of 1 to 500."""


class EventsInputSchema(OpenApiSerializerExtension):
    target_class = EventsInput

    def map_serializer(self, auto_schema, direction) -> dict:
        event = auto_schema.resolve_serializer(EventInput, direction).ref
        batch = {"type": "array", "items": event, "minItems": 1, "maxItems": MAX_BATCH}
        return {"oneOf": [event, batch]}


class EventIngestApi(APIView):
    """Report what happened to customers (one event object, or a list of up to 500).

    Each event is validated on its own and answered in `results`, in order: accepted,
    duplicate (its id was seen before) or invalid (with errors). Matching triggers invite
    the customer after their delay, within the tenant's contact policy.
    """

    @extend_schema(request=EventsInput, responses={202: EventBatchOutput})
    def post(self, request):
        items = request.data if isinstance(request.data, list) else [request.data]
        if not items or len(items) > MAX_BATCH:
            raise ValidationError({"non_field_errors": [f"Send 1 to {MAX_BATCH} events."]})
        results = []
        for raw in items:
            payload = EventInput(data=raw)
            if not payload.is_valid():
                event_id = raw.get("id", "") if isinstance(raw, dict) else ""
                results.append({"id": str(event_id), "status": "invalid", "errors": payload.errors})
                continue
            result = event_ingest(payload.validated_data)
            results.append({"id": result.id, "status": result.status, "errors": result.errors})
        return ApiResponse({"results": results}, status=status.HTTP_202_ACCEPTED)
