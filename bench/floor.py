"""The floors: bare Django views to compare the real ones with. One stores a row with raw SQL,
the other renders a form as large as the bench survey's from a template."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.template import engines
from django.template.backends.django import Template
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

FORM_TEMPLATE = Path(__file__).with_name("floor_form.html")
# The bench survey's questions (tests/factories.py STANDARD_QUESTIONS) as the page shows them:
# three scales, a single and a multiple choice, a long text.
FORM_QUESTIONS = [
    {"key": "nps_1", "text": "您有多大可能向朋友推荐我们？", "required": True, "scale": 11},
    {"key": "csat_1", "text": "您对本次服务满意吗？", "required": True, "scale": 5},
    {"key": "ces_1", "text": "办理业务有多费力？", "scale": 7},
    {"key": "single_1", "text": "您通过什么渠道办理？", "options": ["网点", "手机银行"]},
    {"key": "multi_1", "text": "哪些方面需要改进？", "options": ["排队时间", "服务态度", "手续费"]},
    {"key": "text_1", "text": "请告诉我们原因"},
]

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


@cache
def _form_template() -> Template:
    # Compiled once per process, as a cached template loader would keep it.
    return engines["django"].from_string(FORM_TEMPLATE.read_text())


def _form_questions() -> list[dict]:
    questions = []
    for question in FORM_QUESTIONS:
        item = {**question}
        if "scale" in question:
            low = 0 if question["scale"] == 11 else 1
            item["scale"] = [str(point) for point in range(low, low + question["scale"])]
            item["low_label"], item["high_label"] = "完全不可能", "非常可能"
        if "options" in question:
            item["input"] = "radio" if question["key"].startswith("single") else "checkbox"
            item["options"] = [
                {"key": f"o{n}", "text": text} for n, text in enumerate(question["options"], 1)
            ]
        questions.append(item)
    return questions


@require_GET
def floor_page(request: HttpRequest) -> HttpResponse:
    # A form page as Django renders one with nothing else to do: no ORM, tenant, survey
    # definition, translation lookups or signed token; the stock CSRF token stands in for ours.
    context = {"title": "开户体验调研", "page_key": "p1", "questions": _form_questions()}
    return HttpResponse(_form_template().render(context, request))
