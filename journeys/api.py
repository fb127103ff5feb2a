"""Partner API of journeys: the journey map and the touchpoints."""

from rest_framework import generics, serializers

from journeys.models import Journey, Stage, Touchpoint
from journeys.selectors import journey_list, touchpoint_list


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
        fields = ["id", "name", "description", "stages"]


class JourneyListApi(generics.ListAPIView):
    """The tenant's journeys, each with its ordered stages and their touchpoints."""

    serializer_class = JourneyOutput

    def get_queryset(self):
        return journey_list().prefetch_related("stages__touchpoints__stage")


class TouchpointListApi(generics.ListAPIView):
    """Every touchpoint of the tenant, with its channel and owning org unit code."""

    serializer_class = TouchpointOutput

    def get_queryset(self):
        return touchpoint_list()
