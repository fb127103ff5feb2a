"""Partner API of surveys: list them, read one, submit a response, read a response's scores,
list responses for a partner's sync."""

from __future__ import annotations

from django.conf import settings
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import generics, serializers, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response as ApiResponse
from rest_framework.views import APIView

from integrations import fields
from integrations.filters import SyncFilterInput, org_unit_by_code, sync_filters
from integrations.pagination import SyncPagination
from integrations.schema import ErrorOutput
from journeys.models import Touchpoint
from organizations.models import OrgUnit
from surveys.distribution import invitations_create
from surveys.forms import MOBILE
from surveys.models import Channel, Invitation, Response, Survey
from surveys.selectors import (
    response_list,
    response_sync_list,
    survey_for_submission,
    survey_list,
)
from surveys.services import (
    IdempotencyConflictError,
    ResponseRejectedError,
    SurveyClosedError,
    response_submit,
)


class SurveyOutput(serializers.ModelSerializer):
    touchpoint = serializers.CharField(source="touchpoint.code", default=None, allow_null=True)
    version = serializers.IntegerField(
        source="live_version.number",
        default=None,
        allow_null=True,
        help_text="Null until published.",
    )

    class Meta:
        model = Survey
        fields = [
            "id",
            "name",
            "status",
            "touchpoint",
            "version",
            "opens_at",
            "closes_at",
            "created_at",
        ]


class SurveyDetailOutput(SurveyOutput):
    definition = serializers.JSONField(
        source="live_version.definition", default=None, allow_null=True
    )

    class Meta(SurveyOutput.Meta):
        fields = [*SurveyOutput.Meta.fields, "definition"]


class SurveyListApi(generics.ListAPIView):
    """Surveys of the tenant, newest first."""

    serializer_class = SurveyOutput

    def get_queryset(self):
        return survey_list()


class SurveyDetailApi(generics.RetrieveAPIView):
    """One survey with the definition of its live (published) version."""

    serializer_class = SurveyDetailOutput

    def get_queryset(self):
        return survey_list()


class ScoreOutput(serializers.Serializer):
    nps = serializers.IntegerField(allow_null=True)
    nps_category = serializers.CharField()
    csat = serializers.IntegerField(allow_null=True)
    ces = serializers.IntegerField(allow_null=True)
    sentiment = serializers.CharField(source="sentiment_label")
    sentiment_score = serializers.FloatField(allow_null=True)
    keywords = serializers.ListField(child=serializers.CharField())
    aspects = serializers.ListField(
        child=serializers.DictField(), help_text="[{aspect, polarity, score, clause}]"
    )
    risk_flags = serializers.ListField(
        child=serializers.DictField(), help_text="[{flag: regulator|media|legal|churn, term}]"
    )
    topics = serializers.ListField(child=serializers.CharField())
    model_version = serializers.CharField()
    scored_at = serializers.DateTimeField()


class ResponseOutput(serializers.ModelSerializer):
    touchpoint = serializers.CharField(source="touchpoint.code", default=None, allow_null=True)
    org_unit = serializers.CharField(source="org_unit.code", default=None, allow_null=True)
    version = serializers.IntegerField(source="version.number")
    scores = serializers.SerializerMethodField()
    ticket_numbers = serializers.SerializerMethodField()

    class Meta:
        model = Response
        fields = [
            "id",
            "survey_id",
            "version",
            "status",
            "source",
            "touchpoint",
            "org_unit",
            "external_customer_id",
            "answers",
            "extra",
            "language",
            "client_submission_id",
            "submitted_at",
            "updated_at",
            "scores",
            "ticket_numbers",
        ]
        extra_kwargs = {
            "updated_at": {"help_text": "Moves on every change: completion, each scoring."}
        }

    @extend_schema_field(ScoreOutput(allow_null=True))
    def get_scores(self, response: Response) -> dict | None:
        """Null until a worker has scored the response (usually within seconds)."""
        if self.context.get("just_stored"):
            return None
        score = getattr(response, "score", None)
        return ScoreOutput(score).data if score is not None else None

    def get_ticket_numbers(self, response: Response) -> list[int]:
        if self.context.get("just_stored"):
            return []
        return [ticket.number for ticket in response.tickets.all()]


def _response_input_fields() -> dict[str, serializers.Field]:
    return {
        "answers": serializers.DictField(help_text="Answers keyed by question key."),
        # No default "" in the schema: a generated client would send it. Omitted and blank agree.
        "external_customer_id": fields.Text(
            max_length=128, required=False, allow_blank=True, help_text="Your customer id."
        ),
        "extra": serializers.DictField(
            required=False, default=dict, help_text="e.g. order_id, store."
        ),
        "client_submission_id": fields.Text(
            max_length=64,
            required=False,
            allow_blank=True,
            help_text="Idempotency key: a retry stores one response.",
        ),
        "language": serializers.ChoiceField(choices=["zh-hans", "en"], default="zh-hans"),
        "touchpoint": fields.Text(
            required=False, help_text="Touchpoint code; default: the survey's."
        ),
        "org_unit": fields.Text(required=False, help_text="Org unit code the response is about."),
        "submitted_at": fields.Moment(required=False),
    }


class ResponseInput(serializers.Serializer):
    """A response as a partner submits it. Its fields are built anew for each submission
    rather than declared: DRF deep-copies declared fields for every instance, which cost more
    than the rest of the validation on the busiest endpoint there is."""

    def get_fields(self) -> dict[str, serializers.Field]:
        return _response_input_fields()

    def validate_extra(self, value: dict) -> dict:
        if len(str(value)) > 4000:
            raise serializers.ValidationError("extra is limited to 4000 characters.")
        return value


def _touchpoint_by_code(code: str) -> Touchpoint:
    """The tenant's touchpoint with this code, with its org unit; 400 if none."""
    touchpoint = Touchpoint.objects.select_related("org_unit").filter(code=code).first()
    if touchpoint is None:
        raise ValidationError({"touchpoint": [f"No touchpoint with code {code!r}."]})
    return touchpoint


class ResponseCreateApi(APIView):
    """Submit a response to a published survey. Answers are validated against its live version;
    scoring and alerting follow asynchronously."""

    @extend_schema(
        request=ResponseInput,
        responses={
            201: OpenApiResponse(ResponseOutput, description="Stored."),
            200: OpenApiResponse(
                ResponseOutput,
                description="A replay: this client_submission_id was stored before; "
                "nothing new is stored.",
            ),
            409: OpenApiResponse(
                ErrorOutput,
                description="`survey_closed`: the survey does not accept responses now; or "
                "`idempotency_conflict`: this client_submission_id was stored for a different "
                "submission.",
            ),
        },
    )
    def post(self, request, pk: int):
        survey = survey_for_submission(pk, seen=request.user.seen_version)
        if survey is None:
            raise NotFound("No such survey.")
        payload = ResponseInput(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        touchpoint = _touchpoint_by_code(data["touchpoint"]) if data.get("touchpoint") else None
        org_unit = org_unit_by_code(data["org_unit"]) if data.get("org_unit") else None
        try:
            submitted = response_submit(
                survey=survey,
                raw_answers=data["answers"],
                language=data["language"],
                client_submission_id=data.get("client_submission_id", ""),
                external_customer_id=data.get("external_customer_id", ""),
                extra=data["extra"],
                source=Response.Source.API,
                submitted_at=data.get("submitted_at"),
                touchpoint=touchpoint,
                org_unit=org_unit,
            )
        except ResponseRejectedError as rejected:
            raise ValidationError({"answers": rejected.errors}) from rejected
        except SurveyClosedError as closed:
            return ApiResponse(
                {"error": {"code": "survey_closed", "message": str(closed)}},
                status=status.HTTP_409_CONFLICT,
            )
        except IdempotencyConflictError as conflict:
            return ApiResponse(
                {"error": {"code": "idempotency_conflict", "message": str(conflict)}},
                status=status.HTTP_409_CONFLICT,
            )
        if submitted.created and not settings.CELERY_TASK_ALWAYS_EAGER:
            output = _just_stored_output(
                submitted.response, survey.touchpoint, touchpoint, org_unit
            )
        else:
            # A replay, or tasks run in-process: it may have been scored and ticketed already.
            response = (
                response_list()
                .select_related("version")
                .prefetch_related("tickets")
                .get(pk=submitted.response.pk)
            )
            output = ResponseOutput(response).data
        return ApiResponse(
            output,
            status=status.HTTP_201_CREATED if submitted.created else status.HTTP_200_OK,
        )


MOMENT = serializers.DateTimeField()


def _just_stored_output(
    response: Response,
    survey_touchpoint: Touchpoint | None,
    touchpoint: Touchpoint | None,
    org_unit: OrgUnit | None,
) -> dict:
    """ResponseOutput of a response this request stored, without reading it back or building
    a serializer (the API's busiest answer; tests hold the two equal): its scoring was handed
    to a worker at commit, so it has no score or ticket yet, and the touchpoint and org unit
    it was routed to are among those the request already holds."""
    routed_touchpoint = touchpoint or survey_touchpoint
    routed_org_unit = org_unit or (routed_touchpoint.org_unit if routed_touchpoint else None)
    return {
        "id": response.pk,
        "survey_id": response.survey_id,
        "version": response.version.number,
        "status": response.status,
        "source": response.source,
        "touchpoint": _code_of(response, "touchpoint", routed_touchpoint),
        "org_unit": _code_of(response, "org_unit", routed_org_unit),
        "external_customer_id": response.external_customer_id,
        "answers": response.answers,
        "extra": response.extra,
        "language": response.language,
        "client_submission_id": response.client_submission_id,
        "submitted_at": MOMENT.to_representation(response.submitted_at),
        "updated_at": MOMENT.to_representation(response.updated_at),
        "scores": None,
        "ticket_numbers": [],
    }


def _code_of(response: Response, relation: str, held: Touchpoint | OrgUnit | None) -> str | None:
    stored_id = getattr(response, f"{relation}_id")
    if stored_id is None:
        return None
    if held is not None and held.pk == stored_id:
        return held.code
    return getattr(response, relation).code


class ResponseFilterInput(SyncFilterInput):
    survey = serializers.IntegerField(
        min_value=1, max_value=2**63 - 1, required=False, help_text="Only this survey's."
    )
    touchpoint = fields.Text(max_length=64, required=False, help_text="Touchpoint code.")


class ResponseListApi(generics.ListAPIView):
    """Complete responses with their scores (null until scored), text analysis and ticket
    numbers, in the order they last changed (oldest first), paged by cursor: a CRM's sync.
    Scoring a response is a change, so a response comes again once scored."""

    serializer_class = ResponseOutput
    pagination_class = SyncPagination

    @extend_schema(parameters=[ResponseFilterInput])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        filters = sync_filters(ResponseFilterInput, self.request)
        survey_id = filters.get("survey")
        if survey_id is not None and not Survey.objects.filter(pk=survey_id).exists():
            raise ValidationError({"survey": [f"No survey with id {survey_id}."]})
        touchpoint = None
        if "touchpoint" in filters:
            touchpoint = _touchpoint_by_code(filters["touchpoint"])
        return response_sync_list(
            updated_since=filters.get("updated_since"),
            external_customer_id=filters.get("external_customer_id", ""),
            scope_path=org_unit_by_code(filters["org_unit"]).path if "org_unit" in filters else "",
            survey_id=survey_id,
            touchpoint_id=touchpoint.pk if touchpoint else None,
        )


class ResponseDetailApi(generics.RetrieveAPIView):
    """One response with its answers, its scores (null until scored) and its ticket numbers."""

    serializer_class = ResponseOutput

    def get_queryset(self):
        return response_list().select_related("version").prefetch_related("tickets")


class InvitedPersonInput(serializers.Serializer):
    id = fields.Text(max_length=128, help_text="The tenant's own customer id.")
    name = fields.Text(max_length=200, required=False, allow_blank=True)
    mobile = fields.TextMatching(
        MOBILE.pattern, required=False, allow_blank=True, help_text="Mainland mobile number."
    )
    email = fields.Email(required=False, allow_blank=True)


class InvitationsInput(serializers.Serializer):
    channel = serializers.ChoiceField(choices=Channel.values)
    customers = serializers.ListField(child=InvitedPersonInput(), min_length=1, max_length=1000)
    send_at = fields.Moment(required=False, help_text="Default: now.")


class InvitationOutput(serializers.ModelSerializer):
    customer = serializers.CharField(source="customer.external_id")

    class Meta:
        model = Invitation
        fields = ["id", "customer", "channel", "status", "suppressed_reason", "scheduled_at"]


class InvitationListOutput(serializers.Serializer):
    results = InvitationOutput(many=True)


class InvitationCreateApi(APIView):
    """Invite known customers to a published survey by SMS, email or WeChat. Each invitation
    is planned within the tenant's contact policy; those it stops come back "suppressed"
    with the reason."""

    @extend_schema(request=InvitationsInput, responses={201: InvitationListOutput})
    def post(self, request, pk: int):
        survey = get_object_or_404(
            Survey.objects.select_related("live_version", "touchpoint"), pk=pk
        )
        payload = InvitationsInput(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        invitations = invitations_create(
            survey=survey,
            people=data["customers"],
            channel=data["channel"],
            by=request.auth,
            at=data.get("send_at"),
        )
        return ApiResponse(
            {"results": InvitationOutput(invitations, many=True).data},
            status=status.HTTP_201_CREATED,
        )
