"""Paging of every API list: ?limit= (1 to MAX_LIMIT, default DEFAULT_LIMIT) and ?offset=.

A value out of range or not a whole number is a 400 naming the parameter, never a silent
default: a partner who asks for 0 or 10,000 rows learns so at once.
"""

from __future__ import annotations

from rest_framework.exceptions import ValidationError
from rest_framework.pagination import LimitOffsetPagination

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
MAX_OFFSET = 1_000_000_000


def query_integer(request, name: str, *, default: int, minimum: int, maximum: int) -> int:
    """The whole-number query parameter `name`, or `default` when absent; 400 otherwise."""
    raw = request.query_params.get(name)
    if raw is None:
        return default
    text = raw.strip()
    if not (text.isascii() and text.lstrip("-").isdigit()) or len(text) > 20:
        raise ValidationError({name: [f"{name} must be a whole number."]})
    value = int(text)
    if not minimum <= value <= maximum:
        raise ValidationError({name: [f"{name} must be between {minimum} and {maximum}."]})
    return value


class ApiPagination(LimitOffsetPagination):
    default_limit = DEFAULT_LIMIT
    max_limit = MAX_LIMIT

    def get_limit(self, request) -> int:
        return query_integer(
            request, self.limit_query_param, default=DEFAULT_LIMIT, minimum=1, maximum=MAX_LIMIT
        )

    def get_offset(self, request) -> int:
        return query_integer(
            request, self.offset_query_param, default=0, minimum=0, maximum=MAX_OFFSET
        )

    def get_schema_operation_parameters(self, view) -> list[dict]:
        limit, offset = super().get_schema_operation_parameters(view)
        limit["schema"].update(minimum=1, maximum=MAX_LIMIT, default=DEFAULT_LIMIT)
        limit["description"] = f"Rows per page: 1 to {MAX_LIMIT} (default {DEFAULT_LIMIT})."
        offset["schema"].update(minimum=0, maximum=MAX_OFFSET, default=0)
        offset["description"] = "Rows to skip before the page starts."
        return [limit, offset]
