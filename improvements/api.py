"""Partner API of improvements, read-only: the improvement projects (a recurring or strategic
cause's fix) with their actions, linked tickets and status."""

from __future__ import annotations

from django.db.models import Prefetch
from rest_framework import generics, serializers

from alerts.models import Ticket
from improvements import selectors
from improvements.models import ImprovementProject, ProjectAction


class ProjectActionOutput(serializers.ModelSerializer):
    owner = serializers.CharField(source="owner.username", default=None, allow_null=True)

    class Meta:
        model = ProjectAction
        fields = ["id", "description", "owner", "due_date", "done_at"]


class ProjectOutput(serializers.ModelSerializer):
    """A project: its cause and level, owner, status (proposed, open, done, dropped), origin
    (recurring: proposed by the recurring-cause sweep; manual), its actions and the numbers of
    the tickets linked to it."""

    root_cause = serializers.CharField(source="root_cause.name", default=None, allow_null=True)
    owner = serializers.CharField(source="owner.username", default=None, allow_null=True)
    actions = ProjectActionOutput(many=True, read_only=True)
    tickets = serializers.SlugRelatedField(
        slug_field="number",
        many=True,
        read_only=True,
        help_text="The numbers of the tickets linked to the project.",
    )

    class Meta:
        model = ImprovementProject
        fields = [
            "id",
            "title",
            "root_cause",
            "level",
            "status",
            "origin",
            "owner",
            "description",
            "fix_date",
            "created_at",
            "opened_at",
            "closed_at",
            "actions",
            "tickets",
        ]


def _projects():
    return selectors.project_list().prefetch_related(
        Prefetch("actions", queryset=ProjectAction.objects.select_related("owner").order_by("id")),
        Prefetch("tickets", queryset=Ticket.objects.only("pk", "number").order_by("number")),
    )


class ProjectListApi(generics.ListAPIView):
    """The tenant's improvement projects, newest first, each with its actions and tickets."""

    serializer_class = ProjectOutput

    def get_queryset(self):
        return _projects()


class ProjectDetailApi(generics.RetrieveAPIView):
    """One improvement project by its id."""

    serializer_class = ProjectOutput

    def get_queryset(self):
        return _projects()
