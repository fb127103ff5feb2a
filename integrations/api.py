"""Partner API of integrations: inbound events and external posts, one or a batch per
request."""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.response import Response as ApiResponse
from rest_framework.views import APIView

from analytics.external_posts import (
    FIELD_LIMITS,
    MAX_TEXT,
    URL_PATTERN,
    PostInput,
    PostsRefused,
    external_posts_take,
)
from integrations import fields
from integrations.schema import ErrorOutput
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


class ExternalPostInput(serializers.Serializer):
    source = fields.Text(
        max_length=FIELD_LIMITS["source"], help_text='Where it was posted: "黑猫投诉", "App Store".'
    )
    id = fields.Text(
        max_length=FIELD_LIMITS["source_id"],
        help_text="The post's id at its source: sent again with the same text, a duplicate; "
        "with another text, a conflict (409).",
    )
    text = fields.Text(max_length=MAX_TEXT)
    author = fields.Text(max_length=FIELD_LIMITS["author"], required=False, allow_blank=True)
    url = fields.TextMatching(
        URL_PATTERN, max_length=FIELD_LIMITS["url"], required=False, allow_blank=True
    )
    posted_at = fields.Moment(required=False, help_text="When it was posted; default: now.")

    def validate(self, attrs: dict) -> dict:
        for name, value in attrs.items():
            if isinstance(value, str) and "\x00" in value:
                raise serializers.ValidationError({name: ["Must not contain NUL characters."]})
        return attrs


class ExternalPostResultOutput(serializers.Serializer):
    source = serializers.CharField()
    id = serializers.CharField()
    status = serializers.ChoiceField(choices=["created", "duplicate"])


class ExternalPostBatchOutput(serializers.Serializer):
    results = ExternalPostResultOutput(many=True)


class ExternalPostsInput(serializers.Serializer):
    """The body of POST /external-posts/ as the schema shows it: one post, or a list of 1 to
    500."""


class ExternalPostsInputSchema(OpenApiSerializerExtension):
    target_class = ExternalPostsInput

    def map_serializer(self, auto_schema, direction) -> dict:
        post = auto_schema.resolve_serializer(ExternalPostInput, direction).ref
        batch = {"type": "array", "items": post, "minItems": 1, "maxItems": MAX_BATCH}
        return {"oneOf": [post, batch]}


class PostConflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"
    default_detail = "A source id was sent before with another text."


class ExternalPostIngestApi(APIView):
    """Send posts from outside the surveys (complaint platforms, app stores, social media):
    one post object, or a list of up to 500.

    The batch is taken whole or not at all. Invalid posts: 400 with the errors of each by its
    index; a source id already taken by another text (here or in the same batch): 409, naming
    it; nothing is stored then. Otherwise 202 with each post's status in order: created, or
    duplicate (the same source and id with the same text was taken before). Posts are
    analysed like survey texts on a worker and shown on the text analytics page.
    """

    @extend_schema(
        request=ExternalPostsInput,
        responses={
            202: ExternalPostBatchOutput,
            409: OpenApiResponse(
                ErrorOutput,
                description="`conflict`: a source id stored before (or sent twice in the "
                "batch) with another text; nothing of the batch is stored.",
            ),
        },
    )
    def post(self, request):
        items = request.data if isinstance(request.data, list) else [request.data]
        if not items or len(items) > MAX_BATCH:
            raise ValidationError({"non_field_errors": [f"Send 1 to {MAX_BATCH} posts."]})
        payloads = [ExternalPostInput(data=raw) for raw in items]
        errors = {
            str(index): payload.errors
            for index, payload in enumerate(payloads)
            if not payload.is_valid()
        }
        if errors:
            raise ValidationError(errors)
        posts = [
            PostInput(
                source=data["source"],
                source_id=data["id"],
                text=data["text"],
                author=data.get("author", ""),
                url=data.get("url", ""),
                posted_at=data.get("posted_at"),
            )
            for data in (payload.validated_data for payload in payloads)
        ]
        try:
            statuses = external_posts_take(posts=posts, by=request.auth)
        except PostsRefused as refused:
            named = "; ".join(
                f"[{p.index}] {posts[p.index].source}/{p.source_id}" for p in refused.problems
            )
            if refused.conflict:
                raise PostConflict(
                    f"Source ids sent before with another text, nothing stored: {named}."
                ) from refused
            raise ValidationError(
                {str(p.index): [p.message] for p in refused.problems}
            ) from refused
        results = [
            {"source": post.source.strip(), "id": post.source_id.strip(), "status": state}
            for post, state in zip(posts, statuses, strict=True)
        ]
        return ApiResponse({"results": results}, status=status.HTTP_202_ACCEPTED)
