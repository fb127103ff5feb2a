"""Paging of every API list: ?limit= (1 to MAX_LIMIT, default DEFAULT_LIMIT) and ?offset=;
lists that partners sync page by ?cursor= in the order rows changed (SyncPagination).

A value out of range or not a whole number is a 400 naming the parameter, never a silent
default: a partner who asks for 0 or 10,000 rows learns so at once.
"""

from __future__ import annotations

from base64 import urlsafe_b64decode, urlsafe_b64encode
from datetime import datetime

from django.db.models import Q
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import BasePagination, LimitOffsetPagination
from rest_framework.response import Response as ApiResponse
from rest_framework.utils.urls import replace_query_param

from integrations.fields import EARLIEST, LATEST

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


CURSOR_MAX_LENGTH = 200
ID_MAX = 2**63 - 1


def cursor_encode(updated_at: datetime, pk: int) -> str:
    """The opaque token of a position in change order: the last row's (updated_at, id)."""
    return urlsafe_b64encode(f"{updated_at.isoformat()}|{pk}".encode()).decode().rstrip("=")


def cursor_decode(token: str) -> tuple[datetime, int]:
    """The position a token from cursor_encode names; 400 for anything else."""
    try:
        if len(token) > CURSOR_MAX_LENGTH:
            raise ValueError
        text = urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode("ascii")
        moment, _, pk_text = text.partition("|")
        updated_at = datetime.fromisoformat(moment)
        pk = int(pk_text) if pk_text.isdigit() else 0
        if updated_at.tzinfo is None or not EARLIEST <= updated_at < LATEST or not 0 < pk <= ID_MAX:
            raise ValueError
    except ValueError:  # binascii.Error and UnicodeDecodeError are ValueErrors too
        raise ValidationError(
            {"cursor": ["Not a cursor this API gave: use the `next` link as it came."]}
        ) from None
    return updated_at, pk


class SyncPagination(BasePagination):
    """Pages of a partner's incremental sync: rows in the order they last changed, oldest
    first, by (updated_at, id), each page after the position its ?cursor= names (the last row
    of the page before). A keyset, not an offset: rows written meanwhile never shift a page;
    a row changed meanwhile moves to the end and comes again. Answers {"next", "results"},
    `next` null on the last page. The queryset's model must have `updated_at`."""

    cursor_query_param = "cursor"

    def paginate_queryset(self, queryset, request, view=None) -> list:
        self.request = request
        self.limit = query_integer(
            request, "limit", default=DEFAULT_LIMIT, minimum=1, maximum=MAX_LIMIT
        )
        token = request.query_params.get(self.cursor_query_param)
        rows = queryset.order_by("updated_at", "pk")
        if token is not None:
            updated_at, pk = cursor_decode(token)
            # The first condition bounds the index scan; the second skips the rows seen.
            rows = rows.filter(updated_at__gte=updated_at).filter(
                Q(updated_at__gt=updated_at) | Q(pk__gt=pk)
            )
        page = list(rows[: self.limit + 1])
        self.has_next = len(page) > self.limit
        page = page[: self.limit]
        self.last = page[-1] if page else None
        return page

    def get_next_link(self) -> str | None:
        if not self.has_next:
            return None
        token = cursor_encode(self.last.updated_at, self.last.pk)
        return replace_query_param(
            self.request.build_absolute_uri(), self.cursor_query_param, token
        )

    def get_paginated_response(self, data) -> ApiResponse:
        return ApiResponse({"next": self.get_next_link(), "results": data})

    def get_paginated_response_schema(self, schema: dict) -> dict:
        return {
            "type": "object",
            "required": ["next", "results"],
            "properties": {"next": NEXT_LINK_SCHEMA, "results": schema},
        }

    def get_schema_operation_parameters(self, view) -> list[dict]:
        return [LIMIT_PARAMETER, CURSOR_PARAMETER]


NEXT_LINK_SCHEMA = {
    "type": "string",
    "nullable": True,
    "format": "uri",
    "description": "The next page (null on the last): follow it as it is.",
}
LIMIT_PARAMETER = {
    "name": "limit",
    "required": False,
    "in": "query",
    "description": f"Rows per page: 1 to {MAX_LIMIT} (default {DEFAULT_LIMIT}).",
    "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
}
CURSOR_PARAMETER = {
    "name": "cursor",
    "required": False,
    "in": "query",
    "description": "Where the page starts, as the `next` link of the page before gives it.",
    "schema": {"type": "string", "maxLength": CURSOR_MAX_LENGTH},
}
SYNC_ORDER = "updated"
QUEUE_ORDER = "sla"


class QueueOrSyncPagination(BasePagination):
    """A list people read in its own order, paged by offset (ApiPagination), that partners
    also sync with ?order=updated, paged by cursor (SyncPagination). The view validates
    ?order= and applies its own order to the queryset. A cursor is refused (400) in the
    offset order, an offset other than 0 (the start, which generated clients send by default)
    in the cursor order."""

    def paginate_queryset(self, queryset, request, view=None) -> list:
        syncing = request.query_params.get("order") == SYNC_ORDER
        self.active = SyncPagination() if syncing else ApiPagination()
        if syncing and ApiPagination().get_offset(request) != 0:
            raise ValidationError({"offset": [f"offset pages only with order={QUEUE_ORDER}."]})
        if not syncing and SyncPagination.cursor_query_param in request.query_params:
            raise ValidationError({"cursor": [f"cursor pages only with order={SYNC_ORDER}."]})
        return self.active.paginate_queryset(queryset, request, view)

    def get_paginated_response(self, data) -> ApiResponse:
        return self.active.get_paginated_response(data)

    def get_paginated_response_schema(self, schema: dict) -> dict:
        offset_page = ApiPagination().get_paginated_response_schema(schema)
        offset_page["properties"]["count"]["description"] = (
            f"Rows in all pages; left out with order={SYNC_ORDER}."
        )
        offset_page["properties"]["next"] = NEXT_LINK_SCHEMA
        return {**offset_page, "required": ["next", "results"]}

    def get_schema_operation_parameters(self, view) -> list[dict]:
        limit, offset = ApiPagination().get_schema_operation_parameters(view)
        offset["description"] += f" Only 0 with order={SYNC_ORDER}."
        cursor = {
            **CURSOR_PARAMETER,
            "description": CURSOR_PARAMETER["description"] + f" Only with order={SYNC_ORDER}.",
        }
        return [limit, offset, cursor]
