"""Every outbound send happens after commit, outside any row lock, and a retry never sends
twice (issue 11, part 5): the provider is failed at each step and the sends are counted."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.db import connection, connections
from django.utils import timezone

from customers.models import ContactPolicy
from customers.services import customer_upsert
from organizations.messaging import DeliveryError, Message, backend_for, deliver
from organizations.models import OutboundMessage
from organizations.tenancy import tenant_context
from surveys import distribution
from surveys.models import Invitation

pytestmark = pytest.mark.django_db(transaction=True)


class Provider:
    """The SMS provider's stand-in: counts what it was given, and fails where told."""

    sent: list[str] = []
    fail: str = ""  # "before": refuses the message; "after": takes it, then the process dies
    seen_lock: list[bool] = []

    def send(self, message: Message) -> None:
        Provider.seen_lock.append(_invitation_locked_elsewhere())
        if Provider.fail == "before":
            raise DeliveryError("provider refused")
        Provider.sent.append(message.recipient)
        if Provider.fail == "after":
            raise SystemExit("worker killed after the provider took the message")


def _invitation_locked_elsewhere() -> bool:
    """Whether a row of the invitations table is locked: probed from a second connection."""
    probe = connections.create_connection("default")
    try:
        with probe.cursor() as cursor:
            cursor.execute("SELECT set_config('cem.system', 'on', false)")
            cursor.execute("SET lock_timeout = '100ms'")
            try:
                cursor.execute("SELECT id FROM surveys_invitation FOR UPDATE NOWAIT")
            except Exception:
                return True
            return False
    finally:
        probe.close()


@pytest.fixture
def provider(settings):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL's row locks")
    settings.CEM_MESSAGE_BACKENDS = {
        **settings.CEM_MESSAGE_BACKENDS,
        "sms": "tests.test_outbound_once.Provider",
    }
    backend_for.cache_clear()
    Provider.sent, Provider.fail, Provider.seen_lock = [], "", []
    yield Provider
    backend_for.cache_clear()


@pytest.fixture
def invitation(world, monkeypatch):
    # The test runs the sends itself: a Celery worker other tests left running must not.
    monkeypatch.setattr(distribution, "invitation_enqueue", lambda *, invitation_id: None)
    with tenant_context(world.tenant):
        ContactPolicy.objects.create(quiet_hours_start=0, quiet_hours_end=0, max_reminders=2)
        customer = customer_upsert(external_id="C1", name="王先生", mobile="13812345678")
        return distribution.invitation_schedule(
            survey=world.survey, customer=customer, channel="sms"
        )


def send(invitation, **kwargs):
    return distribution.invitation_send(invitation_id=invitation.pk, **kwargs)


def attempts(world):
    with tenant_context(world.tenant):
        return list(OutboundMessage.objects.order_by("pk").values_list("status", "purpose"))


def test_the_provider_is_called_after_commit_outside_the_row_lock(world, invitation, provider):
    assert send(invitation).status == Invitation.Status.SENT
    assert provider.sent == ["13812345678"] and provider.seen_lock == [False]
    send(invitation)  # a second run of the task
    assert provider.sent == ["13812345678"]
    assert attempts(world) == [("sent", f"invitation:{invitation.pk}")]


def test_a_refused_send_is_logged_and_the_retry_sends_once(world, invitation, provider):
    provider.fail = "before"
    with pytest.raises(DeliveryError):
        send(invitation)
    # The failure's log row was committed on its own: no rollback took it.
    assert attempts(world) == [("failed", f"invitation:{invitation.pk}")]
    with tenant_context(world.tenant):
        assert Invitation.objects.get(pk=invitation.pk).status == Invitation.Status.SCHEDULED
    provider.fail = ""
    assert send(invitation).status == Invitation.Status.SENT
    send(invitation)
    assert provider.sent == ["13812345678"]
    assert [status for status, _purpose in attempts(world)] == ["failed", "sent"]


def test_a_send_whose_worker_died_is_never_repeated(world, invitation, provider):
    provider.fail = "after"
    with pytest.raises(SystemExit):
        send(invitation)
    provider.fail = ""
    send(invitation)  # the retry, and the beat's sweep after it
    send(invitation)
    assert provider.sent == ["13812345678"]
    with time_machine.travel(timezone.now() + timedelta(minutes=20)):
        gave_up = send(invitation)
    assert gave_up.status == Invitation.Status.FAILED and "发送结果未知" in gave_up.error
    assert provider.sent == ["13812345678"]


def test_a_send_recorded_by_the_provider_but_not_on_the_invitation_is_recorded_on_retry(
    world, invitation, provider, monkeypatch
):
    real = distribution._locked_invitation
    calls = []

    def dies_on_the_second_lock(invitation_id):
        calls.append(invitation_id)
        if len(calls) == 2:
            raise SystemExit("worker killed before recording the send")
        return real(invitation_id)

    monkeypatch.setattr(distribution, "_locked_invitation", dies_on_the_second_lock)
    with pytest.raises(SystemExit):
        send(invitation)
    monkeypatch.setattr(distribution, "_locked_invitation", real)
    assert send(invitation).status == Invitation.Status.SENT
    assert provider.sent == ["13812345678"]


def test_each_reminder_is_its_own_send(world, invitation, provider):
    send(invitation)
    with time_machine.travel(timezone.now() + timedelta(days=3)):
        send(invitation, reminder=True)
        send(invitation, reminder=True)  # not due again yet
    with time_machine.travel(timezone.now() + timedelta(days=6)):
        reminded = send(invitation, reminder=True)
    assert reminded.reminders_sent == 2 and len(provider.sent) == 3
    assert [purpose for _status, purpose in attempts(world)] == [
        f"invitation:{invitation.pk}",
        f"invitation:{invitation.pk}:reminder:1",
        f"invitation:{invitation.pk}:reminder:2",
    ]


def test_a_purpose_in_flight_elsewhere_is_not_sent_again(world, provider):
    with tenant_context(world.tenant):
        OutboundMessage.objects.create(
            channel="sms", recipient="13812345678", body="…", purpose="invitation:99"
        )
        message = Message(channel="sms", recipient="13812345678", body="您好")
        assert deliver(message, purpose="invitation:99").status == "queued"
    assert provider.sent == []
