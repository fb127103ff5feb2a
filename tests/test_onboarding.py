"""A new tenant from nothing: the operator's `create_tenant`, the sign-up page where the operator
opened it, and the first-run checklist the owner lands on."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from cem.onboarding import checklist
from organizations.models import AuditEvent, Membership, Role, Tenant
from organizations.services import api_key_create
from organizations.tenancy import tenant_context

User = get_user_model()
PASSWORD = "Owner-pass-2026"


def create_tenant(slug: str, name: str, email: str, *options: str) -> str:
    out = StringIO()
    call_command(
        "create_tenant",
        "--slug",
        slug,
        "--name",
        name,
        "--owner-email",
        email,
        *options,
        stdout=out,
    )
    return out.getvalue()


def test_create_tenant_makes_the_tenant_and_its_owner(db):
    out = create_tenant("jinan-bank", "济南银行", "Boss@Example.com", "--owner-password", PASSWORD)
    tenant = Tenant.objects.get(slug="jinan-bank")
    owner = User.objects.get(username="boss@example.com")
    assert owner.check_password(PASSWORD) and "/t/jinan-bank/start/" in out
    with tenant_context(tenant):
        assert Membership.objects.get().user == owner
        assert Membership.objects.get().role == Role.OWNER
        assert AuditEvent.objects.filter(action="tenant.create").exists()


def test_create_tenant_generates_a_password_without_a_terminal(db):
    out = create_tenant("gen-bank", "生成银行", "gen@example.com", "--generate-password")
    password = out.split("(shown once): ")[1].split()[0]
    assert User.objects.get(username="gen@example.com").check_password(password)


def test_create_tenant_refuses_a_taken_slug_and_changes_nothing(db):
    create_tenant("dup", "一", "a@example.com", "--owner-password", PASSWORD)
    with pytest.raises(CommandError, match="已被使用"):
        create_tenant("dup", "二", "b@example.com", "--owner-password", PASSWORD)
    assert not User.objects.filter(username="b@example.com").exists()


def test_signup_is_closed_unless_the_operator_opens_it(client, db, settings):
    settings.CEM_SIGNUP_OPEN = False
    assert client.get(reverse("signup")).status_code == 404


def signup_data(**overrides) -> dict:
    return {
        "organisation": "泉城银行",
        "slug": "quancheng",
        "name": "张行长",
        "email": "zhang@example.com",
        "password1": PASSWORD,
        "password2": PASSWORD,
        **overrides,
    }


def test_signup_creates_the_tenant_and_lands_the_owner_on_the_checklist(client, db, settings):
    settings.CEM_SIGNUP_OPEN = True
    reply = client.post(reverse("signup"), signup_data())
    start = reverse("onboarding", kwargs={"tenant_slug": "quancheng"})
    assert reply["Location"] == start
    page = client.get(start).content.decode()
    assert "已完成 0 / 6 步" in page
    # Until the owner finishes the guide, the tenant's home is the checklist.
    home = reverse("tenant_home", kwargs={"tenant_slug": "quancheng"})
    assert client.get(home)["Location"] == start
    client.post(start)
    assert client.get(home)["Location"].endswith("/dashboard/")


def test_signup_refuses_bad_input_in_chinese_and_changes_nothing(client, db, settings):
    settings.CEM_SIGNUP_OPEN = True
    cases = [
        (signup_data(email="nope"), "请输入有效的邮箱地址"),
        (signup_data(slug="坏 标识"), "标识只能包含"),
        (signup_data(password2="other-pass-1"), "两次输入的密码不一致"),
        (signup_data(password1="short", password2="short"), "密码"),
    ]
    for data, message in cases:
        reply = client.post(reverse("signup"), data)
        assert reply.status_code == 400 and message in reply.content.decode(), message
    assert not Tenant.objects.filter(slug="quancheng").exists()
    client.post(reverse("signup"), signup_data())
    taken = client.post(reverse("signup"), signup_data(email="other@example.com"))
    assert "标识 quancheng 已被使用" in taken.content.decode()


def test_signup_is_rate_limited(client, db, settings):
    settings.CEM_SIGNUP_OPEN = True
    settings.CEM_PUBLIC_FORM_RATE = 2
    statuses = [client.post(reverse("signup"), {}).status_code for _ in range(4)]
    assert statuses[-1] == 429


def test_checklist_shows_what_is_done_in_one_query(world):
    owner = User.objects.get(username=f"{world.tenant.slug}-owner")
    with tenant_context(world.tenant), CaptureQueriesContext(connection) as queries:
        steps = {state.step.key: state.done for state in checklist(world.tenant)}
    assert len(queries) == 1
    # The world has units, members, a journey, a published survey at a touchpoint and a key;
    # nobody has touched an alert rule yet (the default one came with the tenant).
    assert steps == {
        "org_units": True,
        "members": True,
        "journey": True,
        "survey": True,
        "alert_rule": False,
        "api_key": True,
    }
    with tenant_context(world.tenant):
        api_key_create(name="second", by=owner)
        with CaptureQueriesContext(connection) as again:
            checklist(world.tenant)
    assert len(again) == 1
