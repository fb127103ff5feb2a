"""External voices (舆情): posts uploaded as CSV/Excel or sent to the API, deduplicated by
(tenant, source, source id), analysed like verbatims and shown on the text page as their own
source; bad input is refused with a clear message and changes nothing."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import Workbook
from rest_framework.test import APIClient

from alerts.models import AlertRule, Ticket
from analytics.external_posts import external_posts_analyze
from analytics.models import ExternalPost
from analytics.services import aspect_terms_add
from analytics.tasks import rescore_texts
from organizations.models import AuditEvent
from organizations.tenancy import system_context, tenant_context
from tests.conftest import require_real_services, wait_until
from tests.test_text_analytics_pages import login, url, verbatims_of

CSV_HEAD = "source_id,text,author,posted_at\n"
ROWS = (
    "T-1,柜员态度差，我要投诉到银保监会,小王,2026-11-30 10:00\n"
    "T-2,App老是闪退，登录不上,小李,2026-11-30 11:00\n"
)


def upload(client, world, content: bytes, *, name: str = "posts.csv", source: str = "黑猫投诉"):
    return client.post(
        url("external_posts", world),
        {"file": SimpleUploadedFile(name, content), "source": source},
    )


def posts_of(world) -> list[tuple[str, str, str]]:
    with tenant_context(world.tenant):
        return sorted(ExternalPost.objects.values_list("source", "source_id", "text"))


@pytest.fixture
def taken(eager_tasks, django_capture_on_commit_callbacks):
    """Call a request whose posts are analysed at once: the on-commit enqueue runs, and the
    task in-process."""

    def call(request, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return request(*args, **kwargs)

    return call


@pytest.fixture
def api(world):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {world.api_key_plaintext}")
    return client


def reverse_tenant(name, world, **kwargs):
    return url(name, world, **kwargs)


def send(api, body):
    return api.post("/api/v1/external-posts/", body, format="json")


# ---- the API


def test_the_api_takes_a_batch_and_answers_duplicates(api, world, taken):
    batch = [
        {"source": "App Store", "id": "r1", "text": "App老是闪退", "author": "匿名"},
        {
            "source": "App Store",
            "id": "r2",
            "text": "转账很方便",
            "posted_at": "2026-11-30T08:00:00+08:00",
        },
        {"source": "App Store", "id": "r1", "text": "App老是闪退"},  # the same, twice in one batch
    ]
    reply = taken(send, api, batch)
    assert reply.status_code == 202
    assert [r["status"] for r in reply.json()["results"]] == ["created", "created", "duplicate"]

    again = send(api, [batch[0], {"source": "微博", "id": "r1", "text": "网点排队太久了"}])
    assert [r["status"] for r in again.json()["results"]] == ["duplicate", "created"]
    assert len(posts_of(world)) == 3
    with tenant_context(world.tenant):
        crash = ExternalPost.objects.get(source="App Store", source_id="r1")
        assert crash.model_version and crash.sentiment_label == "negative"
        assert {"target": "app", "opinion": "闪退"} in crash.relations
        assert AuditEvent.objects.filter(action="external_posts.import").count() == 2


def test_a_source_id_sent_again_with_another_text_is_a_409_and_stores_nothing(api, world):
    assert send(api, {"source": "黑猫投诉", "id": "9", "text": "年费乱收"}).status_code == 202
    reply = send(
        api,
        [
            {"source": "黑猫投诉", "id": "10", "text": "信号很差"},
            {"source": "黑猫投诉", "id": "9", "text": "年费乱收，还不退"},
        ],
    )
    assert reply.status_code == 409
    error = reply.json()["error"]
    assert error["code"] == "conflict" and "黑猫投诉/9" in error["message"]
    assert posts_of(world) == [("黑猫投诉", "9", "年费乱收")]


def test_two_texts_under_one_id_in_one_batch_are_a_conflict(api, world):
    reply = send(
        api,
        [
            {"source": "微博", "id": "a", "text": "服务很好"},
            {"source": "微博", "id": "a", "text": "服务很差"},
        ],
    )
    assert reply.status_code == 409 and posts_of(world) == []


@pytest.mark.parametrize(
    ("post", "field"),
    [
        ({"source": "微博", "id": "1", "text": "长" * 5001}, "text"),
        ({"source": "微博", "id": "1" * 200, "text": "太慢"}, "id"),
        ({"source": "微博", "id": "1", "text": "   "}, "text"),
        ({"source": "微博", "id": "1", "text": "好", "url": "javascript:alert(1)"}, "url"),
        ({"source": "微博", "id": 7, "text": "好"}, "id"),
    ],
)
def test_invalid_posts_get_400_in_the_error_shape_and_store_nothing(api, world, post, field):
    reply = send(api, [{"source": "微博", "id": "ok", "text": "不错"}, post])
    assert reply.status_code == 400
    error = reply.json()["error"]
    assert error["code"] == "invalid" and field in error["fields"]["1"]
    assert posts_of(world) == []


def test_a_nul_byte_is_refused_and_stores_nothing(api, world):
    reply = send(
        api,
        [
            {"source": "微博", "id": "ok", "text": "不错"},
            {"source": "微博", "id": "1", "text": "有\x00空字符"},
        ],
    )
    assert reply.status_code == 400 and reply.json()["error"]["message"]
    assert posts_of(world) == []


def test_the_api_needs_a_key_and_dedupes_per_tenant(api, world, other_world, client):
    assert (
        client.post("/api/v1/external-posts/", {}, content_type="application/json").status_code
        == 401
    )
    theirs = APIClient()
    theirs.credentials(HTTP_AUTHORIZATION=f"Api-Key {other_world.api_key_plaintext}")
    post = {"source": "微博", "id": "same", "text": "网点环境很干净"}
    assert send(theirs, post).json()["results"][0]["status"] == "created"
    assert send(api, {**post, "text": "另一段话"}).json()["results"][0]["status"] == "created"
    assert posts_of(world) == [("微博", "same", "另一段话")]
    assert posts_of(other_world) == [("微博", "same", "网点环境很干净")]


# ---- the upload page


@pytest.mark.parametrize("role", ["viewer", "agent"])
def test_viewers_and_agents_cannot_upload(client, world, role):
    login(client, getattr(world, role))
    assert client.get(url("external_posts", world)).status_code == 403
    assert upload(client, world, (CSV_HEAD + ROWS).encode()).status_code == 403
    assert posts_of(world) == []


def test_a_manager_uploads_a_utf8_csv_and_a_repeat_is_skipped(client, world, taken):
    login(client, world.manager)
    reply = taken(upload, client, world, (CSV_HEAD + ROWS).encode("utf-8-sig"))
    assert reply.status_code == 302
    assert posts_of(world) == [
        ("黑猫投诉", "T-1", "柜员态度差，我要投诉到银保监会"),
        ("黑猫投诉", "T-2", "App老是闪退，登录不上"),
    ]
    page = client.get(url("external_posts", world)).content.decode()
    assert "已导入 2 条，0 条重复已跳过" in page and "柜员-态度差" in page and "分析中" not in page
    upload(client, world, (CSV_HEAD + ROWS).encode())
    assert (
        "已导入 0 条，2 条重复已跳过" in client.get(url("external_posts", world)).content.decode()
    )
    assert len(posts_of(world)) == 2


def test_a_gbk_csv_with_chinese_headers_is_read(client, world, eager_tasks):
    login(client, world.manager)
    content = "编号,内容,来源\nG-1,快递员把包裹摔坏了,微博\n".encode("gbk")
    assert upload(client, world, content).status_code == 302
    assert posts_of(world) == [("微博", "G-1", "快递员把包裹摔坏了")]


def test_an_excel_file_is_read(client, world, eager_tasks):
    book = Workbook()
    book.active.append(["source_id", "text", "posted_at"])
    book.active.append([1001, "理赔太慢了", "2026-11-29"])
    buffer = io.BytesIO()
    book.save(buffer)
    login(client, world.manager)
    assert upload(client, world, buffer.getvalue(), name="posts.xlsx").status_code == 302
    assert posts_of(world) == [("黑猫投诉", "1001", "理赔太慢了")]


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        ((CSV_HEAD + ROWS).encode("utf-16"), "posts.csv", "无法识别文件编码"),
        ("source_id,author\nT-1,小王\n".encode(), "posts.csv", "缺少必需的列：text"),
        ("编号,作者\nT-1,小王\n".encode(), "posts.csv", "缺少必需的列：text"),
        ("author\n小王\n".encode(), "posts.csv", "缺少必需的列：source_id、text"),
        ((CSV_HEAD + "T-1,有\x00空字符,a,\n").encode(), "posts.csv", "空字符"),
        ((CSV_HEAD + 'T-1,"' + "长" * 30000 + "\n").encode(), "posts.csv", "超长的字段"),
        (b"not a workbook", "posts.xlsx", "无法读取 Excel 文件"),
        (b"a,b\n", "posts.pdf", "只支持 CSV"),
        (b"\n\n", "posts.csv", "文件是空的"),
        (b"", "posts.csv", "file-error"),
    ],
)
def test_an_unreadable_file_gets_a_clear_message_and_changes_nothing(
    client, world, content, name, message
):
    login(client, world.manager)
    reply = upload(client, world, content, name=name)
    assert reply.status_code == 200
    assert message in reply.content.decode()
    assert posts_of(world) == []


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (
            "T-1,年费乱收,,\nT-1,年费乱收还不退,,\n",
            "第 3 行：来源「黑猫投诉」的编号 T-1 已有另一段内容",
        ),
        ("T-1,年费乱收,,\nT-2,,,\n", "第 3 行：内容为空"),
        ("T-1,年费乱收,,\nT-2," + "长" * 5001 + ",,\n", "第 3 行：内容超过 5000 个字符"),
        ("T-1,年费乱收,,昨天\n", "第 2 行：无法识别的发布时间：昨天"),
        ('T-1,"年费乱收\n还不退",,\nT-2,,,\n', "第 4 行：内容为空"),
    ],
)
def test_a_bad_row_refuses_the_file_naming_its_line(client, world, rows, message):
    login(client, world.manager)
    reply = upload(client, world, (CSV_HEAD + rows).encode())
    assert message in reply.content.decode()
    assert posts_of(world) == []


def test_a_row_that_reuses_an_id_with_another_text_refuses_the_file(client, world, eager_tasks):
    login(client, world.manager)
    upload(client, world, (CSV_HEAD + ROWS).encode())
    changed = CSV_HEAD + "T-3,信号很差,,\nT-2,App闪退已经修好了,,\n"
    page = upload(client, world, changed.encode()).content.decode()
    assert "第 3 行：来源「黑猫投诉」的编号 T-2 已有另一段内容" in page
    assert [source_id for _s, source_id, _t in posts_of(world)] == ["T-1", "T-2"]


# ---- the text page


def test_the_text_page_shows_external_posts_as_their_own_source(client, world, taken):
    login(client, world.manager)
    taken(upload, client, world, (CSV_HEAD + ROWS).encode())
    page = client.get(url("text_analytics", world), {"source": "external"}).content.decode()
    assert 'data-testid="kpi-texts"><h2>文本反馈</h2><p class="value">2<' in page
    assert "柜员态度差" in verbatims_of(page) and "监管投诉" in page
    assert "态度差" in page.split('data-testid="relations"')[1].split("</table>")[0]
    drilled = client.get(
        url("text_analytics", world), {"source": "external", "target": "app", "opinion": "闪退"}
    ).content.decode()
    assert "App老是闪退" in verbatims_of(drilled) and "柜员" not in verbatims_of(drilled)
    surveys = client.get(url("text_analytics", world)).content.decode()
    assert "柜员态度差" not in surveys and "App老是闪退" not in surveys


def test_a_member_scoped_to_a_region_sees_no_external_posts(client, world, taken):
    login(client, world.manager)
    taken(upload, client, world, (CSV_HEAD + ROWS).encode())
    login(client, world.viewer)
    page = client.get(url("text_analytics", world), {"source": "external"}).content.decode()
    assert "柜员态度差" not in page and "只对全租户范围的成员显示" in page


def test_another_tenants_posts_never_show(client, world, other_world):
    with tenant_context(other_world.tenant):
        theirs = ExternalPost.objects.create(
            source="微博", source_id="x", text="客服一直推诿", posted_at="2026-11-30T00:00:00Z"
        )
    external_posts_analyze(post_ids=[theirs.pk])
    login(client, world.manager)
    page = client.get(url("text_analytics", world), {"source": "external"}).content.decode()
    assert "推诿" not in page
    assert "推诿" not in client.get(url("external_posts", world)).content.decode()


def test_rescoring_the_dictionary_analyses_the_posts_again(api, world, taken):
    taken(send, api, {"source": "微博", "id": "d1", "text": "大额存单的年化收益太低了"})
    with tenant_context(world.tenant):
        aspect_terms_add(name="理财收益", terms="年化、收益", by=world.manager)
    rescore_texts(world.tenant.pk, 90)
    with tenant_context(world.tenant):
        post = ExternalPost.objects.get()
        assert post.model_version.endswith("/d1")
        assert "理财收益" in [opinion["aspect"] for opinion in post.aspects]


# ---- tickets


def test_a_risk_signal_in_a_post_opens_one_ticket_through_the_same_rules(api, world, taken):
    post = {"source": "黑猫投诉", "id": "R-1", "text": "年费乱收，已经投诉到银保监会了"}
    taken(send, api, [post, {"source": "黑猫投诉", "id": "R-2", "text": "网点环境很干净"}])
    with tenant_context(world.tenant):
        ticket = Ticket.objects.get()
        assert ticket.external_post.source_id == "R-1" and ticket.response is None
        assert ticket.priority == "urgent" and ticket.org_unit == world.hq
        created = ticket.events.get(kind="created")
        assert "监管投诉" in created.note
        risky = ExternalPost.objects.get(source_id="R-1")
        risky.model_version = ""
        risky.save()
    external_posts_analyze(post_ids=[risky.pk])  # analysed again: the same one ticket
    with tenant_context(world.tenant):
        assert Ticket.objects.count() == 1


def test_an_alert_rule_on_a_negative_aspect_matches_a_post(api, world, taken):
    with tenant_context(world.tenant):
        AlertRule.objects.update(is_active=False)
        AlertRule.objects.create(
            name="App 故障",
            conditions={
                "all": [{"fact": "aspect_negative", "op": "contains", "value": "App/系统"}]
            },
            priority="high",
            sla_hours=24,
        )
    taken(send, api, [{"source": "App Store", "id": "a", "text": "App老是闪退，登录不上"}])
    with tenant_context(world.tenant):
        ticket = Ticket.objects.get()
        assert [rule.name for rule in ticket.rules.all()] == ["App 故障"]


def test_a_posts_ticket_shows_on_the_workbench_its_page_and_the_api(client, api, world, taken):
    taken(send, api, {"source": "微博", "id": "w1", "text": "柜员态度差，我要发到微博上曝光"})
    with tenant_context(world.tenant):
        number = Ticket.objects.get().number
    login(client, world.manager)
    queue = client.get(reverse_tenant("ticket_queue", world)).content.decode()
    assert "柜员态度差" in queue and "微博" in queue
    page = client.get(reverse_tenant("ticket_detail", world, number=number)).content.decode()
    assert "微博 · w1" in page and "柜员态度差，我要发到微博上曝光" in page and "媒体曝光" in page
    listed = api.get("/api/v1/tickets/").json()["results"]
    assert [(t["response_id"], t["external_post"]) for t in listed] == [
        (None, {"source": "微博", "id": "w1"})
    ]
    assert listed[0]["external_customer_id"] == ""


# ---- end to end, on real components


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_an_upload_is_analysed_by_the_worker_and_shown_on_the_text_page(
    client, world, celery_worker_process
):
    require_real_services()
    login(client, world.manager)
    assert upload(client, world, (CSV_HEAD + ROWS).encode("gb18030")).status_code == 302

    def analysed():
        with system_context():
            posts = ExternalPost.all_tenants.filter(tenant=world.tenant).exclude(model_version="")
            return len(posts) == 2 and {post.source_id: post for post in posts}

    posts = wait_until(analysed, timeout=60)
    assert posts["T-1"].sentiment_label == "negative"
    assert {"flag": "regulator", "term": "银保监会"} in posts["T-1"].risk_flags
    assert {"target": "柜员", "opinion": "态度差"} in posts["T-1"].relations
    page = client.get(url("text_analytics", world), {"source": "external"}).content.decode()
    assert "柜员态度差" in verbatims_of(page) and "App老是闪退" in verbatims_of(page)
