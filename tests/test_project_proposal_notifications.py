"""When the recurring-cause sweep proposes an improvement project, the CX managers concerned are
told (issue 11): those of the whole tenant or of a unit the project covers, in the notification
centre and on the channels they chose, with a link to the project, once per proposal."""

from __future__ import annotations

import pytest
from django.urls import reverse

from alerts.models import Ticket
from improvements.models import ImprovementProject
from improvements.services import recurring_causes_propose
from notifications.models import Notification
from notifications.services import (
    notification_preference_set,
    notifications_for_proposed_projects,
)
from organizations.models import OrgUnit, Role
from organizations.services import membership_create, org_unit_create
from organizations.tenancy import tenant_context
from tests.factories import PASSWORD, UserFactory
from tests.helpers import BAD_ANSWERS, submit_and_score


@pytest.fixture
def recurring_cause(world, midday):
    """Five tickets with one root cause in two branches: the sweep proposes a project."""
    for link in [world.link] * 3 + [world.branch_link] * 2:
        submit_and_score(world, BAD_ANSWERS, link=link)
    with tenant_context(world.tenant):
        Ticket.objects.update(root_cause=world.root_cause)
    return world.root_cause


@pytest.fixture
def managers(world):
    """A CX manager of a branch the project covers, and one of a region it does not."""
    with tenant_context(world.tenant):
        north = org_unit_create(
            name="华北区", code="north", kind=OrgUnit.Kind.REGION, parent=world.hq
        )
        people = {
            "branch": UserFactory(username="cx-branch"),
            "north": UserFactory(username="cx-north"),
        }
        membership_create(user=people["branch"], role=Role.CX_MANAGER, org_unit=world.other_branch)
        membership_create(user=people["north"], role=Role.CX_MANAGER, org_unit=north)
    return people


def propose(world, capture) -> list[ImprovementProject]:
    with capture(execute=True), tenant_context(world.tenant):
        return recurring_causes_propose()


def told(world, user) -> list[tuple[str, int]]:
    with tenant_context(world.tenant):
        return list(Notification.objects.filter(recipient=user).values_list("kind", "project_id"))


def test_the_cx_managers_concerned_are_told_once_of_a_proposal(
    world, recurring_cause, managers, django_capture_on_commit_callbacks
):
    [project] = propose(world, django_capture_on_commit_callbacks)
    assert told(world, world.manager) == [("project_proposed", project.pk)]  # the whole tenant
    assert told(world, managers["branch"]) == [("project_proposed", project.pk)]
    assert told(world, managers["north"]) == []  # a region the project does not cover
    assert told(world, world.agent) == [] and told(world, world.viewer) == []
    # Announced again (a retried signal): nobody is told twice; the sweep proposes nothing new.
    assert notifications_for_proposed_projects(project_ids=[project.pk]) == []
    assert propose(world, django_capture_on_commit_callbacks) == []
    assert len(told(world, world.manager)) == 1


def test_nothing_is_told_before_the_proposal_commits(
    world, recurring_cause, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks(execute=False)
    with capture as callbacks, tenant_context(world.tenant):
        [project] = recurring_causes_propose()
    assert told(world, world.manager) == []
    for callback in callbacks:
        callback()
    assert told(world, world.manager) == [("project_proposed", project.pk)]


def test_a_manager_who_turned_the_event_off_is_not_told(
    world, recurring_cause, django_capture_on_commit_callbacks
):
    with tenant_context(world.tenant):
        notification_preference_set(
            user=world.manager, kinds=["escalated"], channels=[], quiet_from=None, quiet_until=None
        )
    propose(world, django_capture_on_commit_callbacks)
    assert told(world, world.manager) == []


def test_the_email_channel_carries_a_link_to_the_project(
    world, recurring_cause, eager_tasks, mailoutbox, django_capture_on_commit_callbacks
):
    world.manager.email = "cx@example.com"
    world.manager.save(update_fields=["email"])
    with tenant_context(world.tenant):
        notification_preference_set(
            user=world.manager,
            kinds=list(Notification.Kind.values),
            channels=["email"],
            quiet_from=None,
            quiet_until=None,
        )
    [project] = propose(world, django_capture_on_commit_callbacks)
    link = f"/t/{world.tenant.slug}/improvements/{project.pk}/"
    [mail] = [m for m in mailoutbox if "cx@example.com" in m.to]
    assert link in mail.body and world.root_cause.name in mail.subject


def test_the_notification_opens_the_project(
    client, world, recurring_cause, django_capture_on_commit_callbacks
):
    [project] = propose(world, django_capture_on_commit_callbacks)
    assert client.login(username=world.manager.username, password=PASSWORD)
    centre = client.get(reverse("notification_centre", args=[world.tenant.slug])).content.decode()
    assert project.title in centre
    with tenant_context(world.tenant):
        notification = Notification.objects.get(recipient=world.manager)
    reply = client.post(
        reverse("notification_read", args=[world.tenant.slug, notification.pk]), {"open": "1"}
    )
    assert reply["Location"] == reverse("improvement_project", args=[world.tenant.slug, project.pk])


def test_another_tenants_managers_are_not_told(
    world, other_world, recurring_cause, django_capture_on_commit_callbacks
):
    propose(world, django_capture_on_commit_callbacks)
    assert told(other_world, other_world.manager) == []
    with tenant_context(other_world.tenant):
        assert not Notification.objects.exists()
