"""Query filters the lists partners sync take (docs/api.md, "Syncing"): what changed since a
moment, of one customer, in one org unit's subtree. Unknown codes are a 400 naming the
parameter, never an empty page a partner would take for "nothing there"."""

from __future__ import annotations

from rest_framework import serializers
from rest_framework.exceptions import ValidationError

from integrations import fields
from organizations.models import OrgUnit


class SyncFilterInput(serializers.Serializer):
    updated_since = fields.Moment(
        required=False,
        help_text="Only rows changed at or after this moment (ISO 8601, 1970 to 2099).",
    )
    external_customer_id = fields.Text(
        max_length=128, required=False, help_text="Only rows of this customer (your id)."
    )
    org_unit = fields.Text(
        max_length=64, required=False, help_text="Org unit code: rows of that unit and below."
    )


def sync_filters(serializer_class: type[SyncFilterInput], request) -> dict:
    """The filters of the request's query string, validated (400 naming the parameter). A
    plain dict, not the QueryDict: DRF would skip a blank optional value of a form."""
    filters = serializer_class(data=request.query_params.dict())
    filters.is_valid(raise_exception=True)
    return filters.validated_data


def org_unit_by_code(code: str, *, parameter: str = "org_unit") -> OrgUnit:
    """The current tenant's org unit with this code; a 400 naming `parameter` if none."""
    unit = OrgUnit.objects.filter(code=code).first()
    if unit is None:
        raise ValidationError({parameter: [f"No org unit with code {code!r}."]})
    return unit
