"""The floor: a bare Django view that stores one row with raw SQL, for comparing the real views."""

from __future__ import annotations

from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

TABLE_CREATE_SQL = (
    "CREATE TABLE IF NOT EXISTS bench_floor_row "
    "(id bigserial PRIMARY KEY, body text, created_at timestamptz)"
)
ROW_INSERT_SQL = "INSERT INTO bench_floor_row (body, created_at) VALUES (%s, now())"


def floor_table_create() -> None:
    """Create the floor's table; the bench calls it before starting the server, not the view."""
    with connection.cursor() as cursor:
        cursor.execute(TABLE_CREATE_SQL)


def floor_row_count() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM bench_floor_row")
        return cursor.fetchone()[0]


@csrf_exempt
@require_POST
def floor_insert(request: HttpRequest) -> HttpResponse:
    # Same middleware stack and WSGI server as the real endpoints, but no ORM, form, template,
    # tenant lookup or broker: whatever the real views cost above this is theirs.
    body = request.body.decode("utf-8", errors="replace")
    with connection.cursor() as cursor:
        cursor.execute(ROW_INSERT_SQL, [body])
    return HttpResponse(status=201)
