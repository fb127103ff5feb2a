"""Partner API of journeys: the journey map and the touchpoints."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from journeys.models import Channel, Journey, KeyMoment, Stage, Touchpoint
from journeys.selectors import journey_list, touchpoint_list
from journeys.services import (
    JourneyDocumentError,
    journey_create,
    journey_update,
)


class TouchpointOutput(serializers.ModelSerializer):
    org_unit = serializers.CharField(source="org_unit.code", default=None, allow_null=True)
    journey_id = serializers.IntegerField(source="stage.journey_id")

    class Meta:
        model = Touchpoint
        fields = [
            "id",
            "code",
            "name",
            "channel",
            "key_moment",
            "stage_id",
            "journey_id",
            "org_unit",
        ]


class StageOutput(serializers.ModelSerializer):
    touchpoints = TouchpointOutput(many=True)

    class Meta:
        model = Stage
        fields = ["id", "name", "position", "touchpoints"]


class JourneyOutput(serializers.ModelSerializer):
    stages = StageOutput(many=True)

    class Meta:
        model = Journey
        fields = ["id", "name", "description", "stages", "archived_at"]


class TouchpointDocumentInput(serializers.Serializer):
    code = serializers.RegexField(
        r"^[a-z0-9][a-z0-9_-]{0,63}$", help_text="Unique in the tenant; events name it."
    )
    name = serializers.CharField(max_length=200)
    channel = serializers.ChoiceField(choices=Channel.values)
    key_moment = serializers.ChoiceField(choices=KeyMoment.values, required=False)
    org_unit = serializers.CharField(
        required=False, allow_null=True, help_text="Code of the owning org unit."
    )


class StageDocumentInput(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    touchpoints = TouchpointDocumentInput(many=True, required=False, max_length=200)


class JourneyDocumentInput(serializers.Serializer):
    """A whole journey: stages in order, each with its touchpoints (docs/journeys.md)."""

    name = serializers.CharField(max_length=200)
    description = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    stages = StageDocumentInput(many=True, min_length=1, max_length=30)


class JourneyListApi(generics.ListAPIView):
    """The tenant's journeys, each with its ordered stages and their touchpoints; POST creates
    one whole, checked as a journey import is (every problem named by its path, nothing
    written when there is one)."""

    serializer_class = JourneyOutput

    def get_queryset(self):
        return journey_list().prefetch_related("stages__touchpoints__stage")

    @extend_schema(
        request=JourneyDocumentInput,
        responses={201: OpenApiResponse(JourneyOutput, description="Created.")},
    )
    def post(self, request):
        journey = _document_written(journey_create, document=request.data, by=request.auth)
        created = journey_list().prefetch_related("stages__touchpoints__stage").get(pk=journey.pk)
        return Response(JourneyOutput(created).data, status=status.HTTP_201_CREATED)


def _document_written(write, **arguments):
    """Call a journey document service; its problems become a 400 keyed by their paths."""
    try:
        return write(**arguments)
    except JourneyDocumentError as error:
        raise ValidationError(
            {problem.where or "non_field_errors": [problem.message] for problem in error.problems}
        ) from error


class JourneyDetailApi(generics.RetrieveAPIView):
    """One journey (archived ones too) with its active stages and touchpoints; PUT replaces it
    with a whole document, checked as POST checks one: stages are matched by position,
    touchpoints by code (a touchpoint keeps its data when it moves), and one left out is
    deleted, or archived when data points at it."""

    serializer_class = JourneyOutput
    lookup_url_kwarg = "journey_id"

    def get_queryset(self):
        return journey_list(include_archived=True).prefetch_related("stages__touchpoints__stage")

    @extend_schema(
        request=JourneyDocumentInput,
        responses={200: OpenApiResponse(JourneyOutput, description="Replaced.")},
    )
    def put(self, request, journey_id: int):
        journey = self.get_object()
        _document_written(journey_update, journey=journey, document=request.data, by=request.auth)
        return Response(JourneyOutput(self.get_object()).data)


class TouchpointListApi(generics.ListAPIView):
    """Every touchpoint of the tenant, with its channel and owning org unit code."""

    serializer_class = TouchpointOutput

    def get_queryset(self):
        return touchpoint_list()
