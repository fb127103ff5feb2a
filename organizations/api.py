"""Partner API of the organisation core: the tenant's org units, by the codes the rest of the
API names them with."""

from __future__ import annotations

from rest_framework import generics, serializers

from organizations.models import OrgUnit
from organizations.selectors import org_unit_list


class OrgUnitOutput(serializers.ModelSerializer):
    parent = serializers.CharField(
        source="parent.code", default=None, allow_null=True, help_text="Null for a top unit."
    )

    class Meta:
        model = OrgUnit
        fields = ["code", "name", "kind", "parent", "is_active"]
        extra_kwargs = {
            "is_active": {
                "help_text": "A deactivated unit keeps its data; nothing new is routed to it."
            }
        }


class OrgUnitListApi(generics.ListAPIView):
    """The tenant's org units, deactivated ones too, in tree order: each after its parent."""

    serializer_class = OrgUnitOutput

    def get_queryset(self):
        return org_unit_list()
