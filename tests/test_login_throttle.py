"""Login throttling: an account and a client address are locked out after repeated failed
logins, the right password included, with a cool-off that doubles; the login page says so in
Chinese or English; failures and lockouts go to the account's tenants' audit logs."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from organizations.models import AuditEvent
from organizations.tenancy import tenant_context
from tests.factories import PASSWORD

ACCOUNT_LIMIT = 5
ADDRESS_LIMIT = 20
COOL_OFF = timedelta(minutes=5)


@pytest.fixture(autouse=True)
def limits(settings):
    settings.AXES_FAILURE_LIMIT = ACCOUNT_LIMIT
    settings.CEM_LOGIN_ADDRESS_FAILURE_LIMIT = ADDRESS_LIMIT
    settings.CEM_LOGIN_COOLOFF_MINUTES = int(COOL_OFF.total_seconds() // 60)
    settings.CEM_TRUSTED_PROXY_COUNT = 0


def log_in(client, username: str, password: str, *, address: str = "198.51.100.7", **headers):
    return client.post(
        reverse("login"),
        {"username": username, "password": password},
        REMOTE_ADDR=address,
        **headers,
    )


def logged_in(reply) -> bool:
    return reply.status_code == 302 and "_auth_user_id" in reply.client.session


def fail(client, username: str, times: int, **kwargs) -> list:
    return [log_in(client, username, "wrong-password", **kwargs) for _ in range(times)]


def test_wrong_passwords_past_the_limit_lock_the_account_even_for_the_right_password(client, world):
    replies = fail(client, world.manager.username, ACCOUNT_LIMIT)
    assert [reply.status_code for reply in replies] == [200] * (ACCOUNT_LIMIT - 1) + [429]
    assert "登录失败次数过多" in replies[-1].content.decode()

    right = log_in(client, world.manager.username, PASSWORD)
    assert right.status_code == 429 and not logged_in(right)
    elsewhere = log_in(client, world.manager.username, PASSWORD, address="203.0.113.9")
    assert elsewhere.status_code == 429, "the account is locked, whatever the address"
    assert logged_in(log_in(client, world.agent.username, PASSWORD, address="203.0.113.9"))


def test_an_address_trying_many_usernames_is_locked_and_others_are_not(client, world):
    for number in range(ADDRESS_LIMIT):
        fail(client, f"guess{number}", 1)
    assert log_in(client, world.manager.username, PASSWORD).status_code == 429
    assert logged_in(log_in(client, world.manager.username, PASSWORD, address="203.0.113.9"))


def test_the_address_is_the_one_the_trusted_proxy_saw(client, world, settings):
    settings.CEM_TRUSTED_PROXY_COUNT = 1
    proxy = {"address": "10.0.0.2"}
    for number in range(ADDRESS_LIMIT):
        fail(client, f"guess{number}", 1, HTTP_X_FORWARDED_FOR="198.51.100.7", **proxy)
    attacker = log_in(
        client, world.manager.username, PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.7", **proxy
    )
    assert attacker.status_code == 429
    colleague = log_in(
        client, world.manager.username, PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.9", **proxy
    )
    assert logged_in(colleague), "other clients behind the same proxy can still log in"


def test_the_lockout_ends_after_the_cool_off(client, world):
    with time_machine.travel(timezone.now(), tick=False) as clock:
        fail(client, world.manager.username, ACCOUNT_LIMIT)
        clock.shift(COOL_OFF - timedelta(seconds=10))
        assert log_in(client, world.manager.username, PASSWORD).status_code == 429
        clock.shift(COOL_OFF + timedelta(seconds=10))  # the refused login extended the lock
        assert logged_in(log_in(client, world.manager.username, PASSWORD))


def test_the_cool_off_doubles_with_every_lockout_of_the_day(client, world):
    with time_machine.travel(timezone.now(), tick=False) as clock:
        fail(client, world.manager.username, ACCOUNT_LIMIT)
        clock.shift(COOL_OFF + timedelta(seconds=10))
        second = fail(client, world.manager.username, ACCOUNT_LIMIT)
        assert second[-1].status_code == 429
        assert "10 分钟后" in second[-1].content.decode()
        clock.shift(COOL_OFF + timedelta(seconds=10))
        assert log_in(client, world.manager.username, PASSWORD).status_code == 429
        clock.shift(2 * COOL_OFF + timedelta(seconds=10))
        assert logged_in(log_in(client, world.manager.username, PASSWORD))


def test_the_lockout_message_is_in_english_when_the_browser_asks(client, world):
    replies = fail(client, world.manager.username, ACCOUNT_LIMIT, HTTP_ACCEPT_LANGUAGE="en")
    page = replies[-1].content.decode()
    assert replies[-1].status_code == 429
    assert "Too many failed logins" in page and "Try again in 5 minutes" in page
    assert 'name="password"' in page, "the login form is still there"


def test_failures_and_lockouts_are_audited_in_the_accounts_tenants(client, world, other_world):
    fail(client, world.manager.username, ACCOUNT_LIMIT)
    log_in(client, world.manager.username, PASSWORD)
    fail(client, "nobody", 1)
    with tenant_context(world.tenant):
        events = list(
            AuditEvent.objects.filter(action__startswith="auth.login_").order_by("at", "pk")
        )
    assert [event.action for event in events] == ["auth.login_failed"] * (ACCOUNT_LIMIT - 1) + [
        "auth.login_locked_out"
    ] * 2
    assert {event.target_id for event in events} == {str(world.manager.pk)}
    assert events[0].after["address"] == "198.51.100.7"
    assert events[-1].after["locked_minutes"] == 5
    with tenant_context(other_world.tenant):
        assert not AuditEvent.objects.filter(action__startswith="auth.login_").exists()


def test_code_that_authenticates_without_a_request_is_not_throttled(client, world):
    fail(client, world.manager.username, ACCOUNT_LIMIT)
    assert client.login(username=world.manager.username, password=PASSWORD)
