"""Group robots (WeCom, DingTalk, Feishu) and email/SMS: a notification is sent after the
commit, as a signed card with a deep link, to a real HTTP receiver on 127.0.0.1 that checks
the signatures; a failing receiver sees the retry, never a second send; the webhook URL is
refused when it is not https or points inside; only owners and admins configure robots."""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse

from alerts.models import Ticket
from alerts.services import ticket_reassign
from notifications.models import Delivery, GroupRobot, Notification
from notifications.services import group_robot_add, notification_preference_set
from notifications.tasks import notification_send
from organizations.tenancy import system_context, tenant_context
from tests.factories import PASSWORD
from tests.helpers import BAD_ANSWERS, submit_and_score

User = get_user_model()
DINGTALK_SECRET = "SEC-dingtalk-0123456789"
FEISHU_SECRET = "feishu-secret-abc"


class Receiver:
    """A webhook receiver on 127.0.0.1 in a thread: it checks DingTalk's and Feishu's
    signatures as their documentation specifies, keeps every request, and answers the
    statuses it is scripted to (then 200)."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.statuses: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                parts = urlsplit(self.path)
                signed = receiver.signature_valid(parts.path, parse_qs(parts.query), body)
                receiver.requests.append({"path": parts.path, "body": body, "signed": signed})
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                answer = {"errcode": 0, "code": 0} if signed else {"errcode": 310000}
                payload = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_port}{path}"

    @staticmethod
    def signature_valid(path: str, query: dict, body: dict) -> bool:
        if path.startswith("/dingtalk"):
            timestamp, sign = query["timestamp"][0], query["sign"][0]
            text = f"{timestamp}\n{DINGTALK_SECRET}".encode()
            expected = hmac.new(DINGTALK_SECRET.encode(), text, hashlib.sha256).digest()
            fresh = abs(time.time() * 1000 - int(timestamp)) < 3_600_000
            return fresh and base64.b64encode(expected).decode() == sign
        if path.startswith("/feishu"):
            key = f"{body['timestamp']}\n{FEISHU_SECRET}".encode()
            expected = hmac.new(key, b"", hashlib.sha256).digest()
            fresh = abs(time.time() - int(body["timestamp"])) < 3600
            return fresh and base64.b64encode(expected).decode() == body["sign"]
        return "timestamp" not in query and "sign" not in body  # WeCom: no signature

    def paths(self) -> list[str]:
        return sorted(request["path"] for request in self.requests)


@pytest.fixture
def receiver(settings):
    settings.CEM_WEBHOOK_ALLOW_PRIVATE = ["127.0.0.1"]
    settings.CEM_PUBLIC_BASE_URL = "https://cem.example.com"
    found = Receiver()
    found.thread.start()
    yield found
    found.server.shutdown()
    found.server.server_close()


@pytest.fixture
def owner(world):
    return User.objects.get(username=f"{world.tenant.slug}-owner")


@pytest.fixture
def robots(world, owner, receiver):
    with tenant_context(world.tenant):
        for kind, unit, path, secret in [
            ("dingtalk", world.branch, "/dingtalk-branch", DINGTALK_SECRET),
            ("dingtalk", None, "/dingtalk-tenant", DINGTALK_SECRET),
            ("feishu", None, "/feishu-tenant", FEISHU_SECRET),
            ("wecom", world.region, "/wecom-region", ""),
        ]:
            group_robot_add(
                kind=kind, org_unit=unit, webhook_url=receiver.url(path), secret=secret, by=owner
            )


def agent_wants(world, channels: list[str], **quiet) -> None:
    world.agent.email = "agent@example.com"
    world.agent.save(update_fields=["email"])
    with tenant_context(world.tenant):
        notification_preference_set(
            user=world.agent,
            kinds=["assigned", "reassigned", "escalated"],
            channels=channels,
            quiet_from=quiet.get("quiet_from"),
            quiet_until=quiet.get("quiet_until"),
            mobile="13800000000",
        )


@pytest.fixture
def ticket(world) -> Ticket:
    response = submit_and_score(world, BAD_ANSWERS)
    with tenant_context(world.tenant):
        return Ticket.objects.get(response=response)


def give_to_agent(world, ticket, django_capture_on_commit_callbacks) -> None:
    with django_capture_on_commit_callbacks(execute=True), tenant_context(world.tenant):
        ticket_reassign(ticket=ticket, to=world.agent, reason="就近处理", by=world.manager)


def deliveries(world) -> list[tuple[str, int, str]]:
    with tenant_context(world.tenant):
        return [(d.channel, d.attempt, d.status) for d in Delivery.objects.order_by("id")]


def send_again(world) -> None:
    """Run every send task once more, as a redelivered or retried task would."""
    with tenant_context(world.tenant):
        pairs = list(Delivery.objects.values_list("notification_id", "channel").distinct())
    for notification_id, channel in pairs:
        notification_send.apply(args=[world.tenant.pk, notification_id, channel])


def test_each_channel_gets_one_signed_card_with_a_deep_link_after_the_commit(
    client, world, ticket, robots, receiver, eager_tasks, mailoutbox,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    agent_wants(world, ["email", "sms", "wecom", "dingtalk", "feishu"])
    give_to_agent(world, ticket, django_capture_on_commit_callbacks)

    # The branch's own DingTalk robot, the region's WeCom one, the tenant's Feishu one.
    assert receiver.paths() == ["/dingtalk-branch", "/feishu-tenant", "/wecom-region"]
    assert all(request["signed"] for request in receiver.requests)
    link = f"https://cem.example.com/t/{world.tenant.slug}/tickets/{ticket.number}/"
    cards = {
        request["path"]: json.dumps(request["body"], ensure_ascii=False)
        for request in receiver.requests
    }
    for card in cards.values():
        assert link in card and f"#{ticket.number}" in card and "浦东支行" in card
    assert receiver.requests[0]["body"]["msgtype"] in ("actionCard", "markdown")
    assert [m.to for m in mailoutbox] == [["agent@example.com"]] and link in mailoutbox[0].body
    assert sorted(deliveries(world)) == sorted(
        (channel, 1, "sent") for channel in ("email", "sms", "wecom", "dingtalk", "feishu")
    )

    send_again(world)
    assert len(receiver.requests) == 3 and len(mailoutbox) == 1

    client.login(username=world.manager.username, password=PASSWORD)
    page = client.get(reverse("ticket_detail", args=[world.tenant.slug, ticket.number]))
    log = page.content.decode()
    assert "通知发送记录" in log and "钉钉群 · 浦东支行" in log and log.count("已发送") >= 5


def test_a_failing_robot_is_retried_and_never_sent_twice(
    world, ticket, robots, receiver, eager_tasks, django_capture_on_commit_callbacks
):
    agent_wants(world, ["dingtalk"])
    receiver.statuses = [500]
    give_to_agent(world, ticket, django_capture_on_commit_callbacks)
    assert receiver.paths() == ["/dingtalk-branch", "/dingtalk-branch"]
    assert deliveries(world) == [("dingtalk", 1, "failed"), ("dingtalk", 2, "sent")]
    send_again(world)
    assert len(receiver.requests) == 2


def test_a_bad_signature_is_a_failure_the_log_keeps(
    world, owner, ticket, receiver, eager_tasks, django_capture_on_commit_callbacks
):
    with tenant_context(world.tenant):
        group_robot_add(
            kind="feishu", org_unit=None, webhook_url=receiver.url("/feishu"), secret="wrong",
            by=owner,
        )  # fmt: skip
    agent_wants(world, ["feishu"])
    give_to_agent(world, ticket, django_capture_on_commit_callbacks)
    assert len(receiver.requests) == 6  # the first try and five retries, each refused
    with tenant_context(world.tenant):
        assert set(Delivery.objects.values_list("status", flat=True)) == {"failed"}
        assert "310000" in Delivery.objects.first().error


def test_nothing_but_the_centre_in_quiet_hours(
    world, ticket, robots, receiver, eager_tasks, mailoutbox, django_capture_on_commit_callbacks
):
    agent_wants(
        world,
        ["email", "dingtalk"],
        quiet_from=datetime.time(22),
        quiet_until=datetime.time(7),
    )
    night = datetime.datetime(
        2026, 12, 1, 23, 30, tzinfo=datetime.timezone(datetime.timedelta(hours=8))
    )
    with time_machine.travel(night, tick=False):
        give_to_agent(world, ticket, django_capture_on_commit_callbacks)
    assert receiver.requests == [] and mailoutbox == [] and deliveries(world) == []
    with tenant_context(world.tenant):
        assert Notification.objects.filter(recipient=world.agent).count() == 1


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://oapi.dingtalk.com/robot/send?access_token=x", "必须以 https:// 开头"),
        ("https://10.0.0.1/robot/send", "不能指向内网"),
        ("https://127.0.0.1/hook", "不能指向内网"),
        ("https://[::1]/hook", "不能指向内网"),
        ("https://169.254.169.254/latest/meta-data", "不能指向内网"),
        ("https://localhost/hook", "不能指向内网"),  # a name that resolves to loopback
        ("https://no-such-host.invalid/hook", "无法解析"),
        ("robot", "请填写完整的 Webhook 地址"),
    ],
)
def test_a_webhook_that_is_not_https_or_points_inside_is_refused(
    client, world, owner, url, message
):
    client.login(username=owner.username, password=PASSWORD)
    reply = client.post(
        reverse("group_robots", args=[world.tenant.slug]),
        {"action": "add", "kind": "wecom", "webhook_url": url},
    )
    assert reply.status_code == 200 and message in reply.content.decode()
    with tenant_context(world.tenant):
        assert not GroupRobot.objects.exists()


def test_the_allowance_for_a_test_receiver_is_only_for_its_addresses(world, owner, settings):
    settings.CEM_WEBHOOK_ALLOW_PRIVATE = ["127.0.0.1"]
    with tenant_context(world.tenant), pytest.raises(ValidationError, match="不能指向内网"):
        group_robot_add(
            kind="wecom", org_unit=None, webhook_url="https://10.0.0.1/", secret="", by=owner
        )


def test_an_owner_adds_and_deletes_a_robot_on_the_page(client, world, owner):
    client.login(username=owner.username, password=PASSWORD)
    page = reverse("group_robots", args=[world.tenant.slug])
    url = "https://93.184.215.14/robot/send?access_token=abc"  # a public address, no DNS
    reply = client.post(
        page,
        {
            "action": "add",
            "kind": "dingtalk",
            "org_unit": world.branch.pk,
            "webhook_url": url,
            "secret": "s",
        },
    )
    assert reply.status_code == 302
    with tenant_context(world.tenant):
        robot = GroupRobot.objects.get()
    assert (robot.kind, robot.org_unit_id, robot.secret) == ("dingtalk", world.branch.pk, "s")
    assert "浦东支行" in client.get(page).content.decode()
    assert client.post(page, {"action": "delete", "robot": robot.pk}).status_code == 302
    with tenant_context(world.tenant):
        assert not GroupRobot.objects.exists()


@pytest.mark.parametrize("role", ["viewer", "agent", "manager"])
def test_only_owners_and_admins_configure_robots(client, world, role):
    user = getattr(world, role)
    client.login(username=user.username, password=PASSWORD)
    page = reverse("group_robots", args=[world.tenant.slug])
    url = "https://93.184.215.14/robot/send"
    assert client.get(page).status_code == 403
    assert (
        client.post(page, {"action": "add", "kind": "wecom", "webhook_url": url}).status_code == 403
    )
    with tenant_context(world.tenant), pytest.raises(PermissionDenied):
        group_robot_add(kind="wecom", org_unit=None, webhook_url=url, secret="", by=user)
    with tenant_context(world.tenant):
        assert not GroupRobot.objects.exists()


def a_wecom_robot(world, owner) -> GroupRobot:
    with tenant_context(world.tenant):
        return group_robot_add(
            kind="wecom",
            org_unit=None,
            webhook_url="https://93.184.215.14/cgi-bin/webhook/send?key=secret-key",
            secret="",
            by=owner,
        )


def test_an_owner_of_another_tenant_cannot_delete_a_robot(client, world, other_world, owner):
    robot = a_wecom_robot(world, owner)
    client.login(username=f"{other_world.tenant.slug}-owner", password=PASSWORD)
    page = reverse("group_robots", args=[other_world.tenant.slug])
    assert client.post(page, {"action": "delete", "robot": robot.pk}).status_code == 404
    with tenant_context(world.tenant):
        assert GroupRobot.objects.filter(pk=robot.pk).exists()


def test_the_robots_page_shows_the_host_not_the_token(client, world, owner):
    a_wecom_robot(world, owner)
    client.login(username=owner.username, password=PASSWORD)
    page = client.get(reverse("group_robots", args=[world.tenant.slug])).content.decode()
    assert "93.184.215.14" in page and "secret-key" not in page


@pytest.mark.django_db(transaction=True)
def test_the_robot_is_called_after_the_commit_with_the_ticket_row_unlocked(
    world, ticket, robots, receiver, eager_tasks
):
    """While the receiver answers, another connection can lock the ticket's row at once
    (NOWAIT) and sees the reassignment committed."""
    seen = []

    def look_at_the_ticket(path, query, body):
        with system_context(), transaction.atomic():
            row = Ticket.all_tenants.select_for_update(nowait=True).get(pk=ticket.pk)
            seen.append(row.assignee_id)
        return True

    receiver.signature_valid = look_at_the_ticket
    agent_wants(world, ["dingtalk"])
    with tenant_context(world.tenant):
        ticket_reassign(ticket=ticket, to=world.agent, reason="就近处理", by=world.manager)
    assert seen == [world.agent.pk]
    assert deliveries(world) == [("dingtalk", 1, "sent")]
