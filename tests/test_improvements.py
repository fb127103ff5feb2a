"""Problem levels and improvement projects: the statistics of a review, the recurring-cause
proposal, the owner's authority, the root-cause taxonomy editor, the review's verdict and who
may change what."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from alerts.models import RootCause, Ticket
from alerts.root_causes import root_cause_create
from analytics.services import response_score, topic_keywords_add
from improvements import selectors, services
from improvements.models import ImprovementProject, Level, ProjectStatus, ProjectTicket
from improvements.statistics import (
    normal_cdf,
    nps_difference_test,
    student_t_cdf,
    two_proportion_z_test,
    welch_t_test,
)
from improvements.tasks import propose_for_recurring_causes
from organizations.models import OrgUnit
from organizations.tenancy import tenant_context
from surveys.services import response_submit
from tests.factories import PASSWORD
from tests.helpers import BAD_ANSWERS, submit_and_score

# --- the statistics module, on values computed by hand or read from tables -------------------


def test_normal_cdf_matches_the_table():
    assert normal_cdf(0.0) == pytest.approx(0.5)
    assert normal_cdf(1.96) == pytest.approx(0.9750021, abs=1e-7)
    assert normal_cdf(-2.5758) == pytest.approx(0.005, abs=1e-5)


@pytest.mark.parametrize(
    ("t", "df", "cdf"),
    [
        (12.706, 1, 0.975),  # the t table's two-sided 5 % critical values
        (2.571, 5, 0.975),
        (2.228, 10, 0.975),
        (2.042, 30, 0.975),
        (1.0, 1, 0.75),  # Cauchy: 1/2 + atan(1)/π
        (0.0, 7, 0.5),
    ],
)
def test_student_t_cdf_matches_the_table(t, df, cdf):
    assert student_t_cdf(t, df) == pytest.approx(cdf, abs=2e-4)
    assert student_t_cdf(-t, df) == pytest.approx(1 - cdf, abs=2e-4)


def test_two_proportion_z_test_by_hand():
    # 45/100 vs 60/100: pooled p = .525, SE = √(.525 · .475 · (1/100 + 1/100)) = .070622,
    # z = .15 / .070622 = 2.1240, two-sided p = .0337.
    result = two_proportion_z_test(45, 100, 60, 100)
    assert result.statistic == pytest.approx(2.1240, abs=1e-4)
    assert result.p_value == pytest.approx(0.03367, abs=1e-4)
    assert result.significant
    assert two_proportion_z_test(0, 0, 1, 10) is None


def test_nps_difference_test_by_hand():
    # before: 20 promoters, 50 detractors of 100 → NPS -0.30, variance .70 - .09 = .61;
    # after: 50 promoters, 20 detractors of 100 → NPS +0.30, variance .61;
    # z = .60 / √(.61/100 + .61/100) = .60 / .110454 = 5.4322.
    result = nps_difference_test(20, 50, 100, 50, 20, 100)
    assert result.statistic == pytest.approx(5.4322, abs=1e-4)
    assert result.p_value < 1e-6
    same = nps_difference_test(30, 30, 100, 31, 29, 100)
    assert not same.significant
    assert nps_difference_test(40, 0, 40, 40, 0, 40) is None  # 100 and 100: nothing to test
    assert nps_difference_test(0, 40, 40, 40, 0, 40).significant  # -100 to 100: certain


def test_welch_t_test_by_hand():
    # a = 1..5 (mean 3, variance 2.5), b = 2, 4, .., 10 (mean 6, variance 10), n = 5 each:
    # SE = √(.5 + 2) = 1.58114, t = 1.89737, ν = 2.5² / (.5²/4 + 2²/4) = 5.88235.
    result = welch_t_test(3.0, 2.5, 5, 6.0, 10.0, 5)
    assert result.statistic == pytest.approx(1.89737, abs=1e-5)
    # the two-sided p for t = 1.897 on 5.88 degrees of freedom lies between the table's
    # .10 (t = 1.943 on 6) and .20 (t = 1.440 on 6)
    assert 0.10 < result.p_value < 0.12
    assert welch_t_test(3.0, 0.0, 5, 3.0, 0.0, 5) is None
    assert welch_t_test(2.0, 0.0, 5, 5.0, 0.0, 5).significant


def test_student_t_agrees_with_scipy_where_it_is_installed():
    stats = pytest.importorskip("scipy.stats")
    for t, df in [(1.897, 5.88235), (-0.4, 2.5), (3.3, 41.2), (8.0, 3.0)]:
        assert math.isclose(student_t_cdf(t, df), stats.t.cdf(t, df), abs_tol=1e-12)
    assert welch_t_test(3.0, 2.5, 5, 6.0, 10.0, 5).p_value == pytest.approx(
        stats.ttest_ind([2, 4, 6, 8, 10], [1, 2, 3, 4, 5], equal_var=False).pvalue, abs=1e-12
    )


# --- recurring causes ---------------------------------------------------------------------


def _tickets_with_cause(world, cause, *, in_branch: int, in_other_branch: int) -> list[Ticket]:
    for _ in range(in_branch):
        submit_and_score(world, BAD_ANSWERS)
    for _ in range(in_other_branch):
        submit_and_score(world, BAD_ANSWERS, link=world.branch_link)
    with tenant_context(world.tenant):
        tickets = list(Ticket.objects.filter(root_cause__isnull=True))
        Ticket.objects.filter(pk__in=[t.pk for t in tickets]).update(root_cause=cause)
        return tickets


def test_a_cause_on_five_tickets_across_two_units_is_proposed_once(world, midday):
    _tickets_with_cause(world, world.root_cause, in_branch=3, in_other_branch=2)
    with tenant_context(world.tenant):
        proposed = services.recurring_causes_propose()
        assert len(proposed) == 1
        project = proposed[0]
        assert project.status == ProjectStatus.PROPOSED
        assert project.origin == ImprovementProject.Origin.RECURRING
        assert project.root_cause == world.root_cause
        assert ProjectTicket.objects.filter(project=project).count() == 5
        assert set(project.org_units.all()) == {world.branch, world.other_branch}
    # the beat task, run twice, adds nothing while the proposal stands
    assert propose_for_recurring_causes() == 0
    assert propose_for_recurring_causes() == 0
    with tenant_context(world.tenant):
        assert ImprovementProject.objects.count() == 1


def test_fewer_tickets_or_one_unit_or_old_tickets_propose_nothing(world, midday):
    cause = world.root_cause
    _tickets_with_cause(world, cause, in_branch=2, in_other_branch=2)
    with tenant_context(world.tenant):
        assert services.recurring_causes_propose() == []
    _tickets_with_cause(world, cause, in_branch=3, in_other_branch=0)  # 7 tickets now
    with tenant_context(world.tenant):
        Ticket.objects.filter(org_unit=world.other_branch).update(
            created_at=timezone.now() - timedelta(days=31)
        )
        assert services.recurring_causes_propose() == []  # 5 in one unit, 2 too old


def test_the_thresholds_are_tenant_settings(world, midday):
    world.tenant.settings[services.RECURRING] = {"tickets": 2, "days": 7, "units": 1}
    world.tenant.save()
    _tickets_with_cause(world, world.root_cause, in_branch=2, in_other_branch=0)
    with tenant_context(world.tenant):
        assert len(services.recurring_causes_propose()) == 1


def test_a_done_project_lets_the_cause_be_proposed_again(world, midday):
    _tickets_with_cause(world, world.root_cause, in_branch=3, in_other_branch=2)
    with tenant_context(world.tenant):
        (project,) = services.recurring_causes_propose()
        ImprovementProject.objects.filter(pk=project.pk).update(status=ProjectStatus.DONE)
        assert len(services.recurring_causes_propose()) == 1


# --- authority -----------------------------------------------------------------------------


def test_owner_without_the_authority_of_the_level_is_refused(world):
    with tenant_context(world.tenant):
        with pytest.raises(ValidationError, match="管理员或所有者"):
            services.project_create(
                title="收费改革", level=Level.STRATEGIC, owner=world.manager, by=world.manager
            )
        with pytest.raises(ValidationError, match="体验经理"):
            services.project_create(
                title="排队流程", level=Level.PROCESS, owner=world.agent, by=world.manager
            )
        with pytest.raises(ValidationError):
            services.project_create(
                title="个案", level=Level.INDIVIDUAL, owner=world.viewer, by=world.manager
            )
        assert ImprovementProject.objects.count() == 0


def test_owner_with_the_authority_of_the_level_is_accepted(world):
    with tenant_context(world.tenant):
        from django.contrib.auth.models import User

        boss = User.objects.get(username=f"{world.tenant.slug}-owner")
        services.project_create(
            title="收费改革", level=Level.STRATEGIC, owner=boss, by=world.manager
        )
        services.project_create(
            title="个案回访", level=Level.INDIVIDUAL, owner=world.agent, by=world.manager
        )
        OrgUnit.objects.filter(pk=world.branch.pk).update(manager=world.agent)
        services.project_create(
            title="浦东排队",
            level=Level.PROCESS,
            owner=world.agent,
            org_units=[world.branch],
            by=world.manager,
        )
        assert ImprovementProject.objects.count() == 3


def test_an_agent_cannot_open_a_project(world):
    with tenant_context(world.tenant), pytest.raises(PermissionDenied):
        services.project_create(title="x", level=Level.INDIVIDUAL, by=world.agent)


def test_a_second_active_project_for_a_cause_is_refused(world):
    with tenant_context(world.tenant):
        services.project_create(
            title="一", level=Level.PROCESS, root_cause=world.root_cause, by=world.manager
        )
        with pytest.raises(ValidationError, match="已有待确认或进行中"):
            services.project_create(
                title="二", level=Level.PROCESS, root_cause=world.root_cause, by=world.manager
            )


# --- the taxonomy editor ---------------------------------------------------------------


@pytest.fixture
def manager_client(client, world):
    client.login(username=world.manager.username, password=PASSWORD)
    return client


def _causes(world) -> list[tuple]:
    with tenant_context(world.tenant):
        return list(RootCause.objects.order_by("pk").values_list("name", "level", "parent"))


def test_taxonomy_editor_adds_a_cause(manager_client, world):
    url = reverse("root_causes", args=[world.tenant.slug])
    reply = manager_client.post(
        url,
        {"new-name": " 叫号系统故障 ", "new-level": "process", "new-parent": world.root_cause.pk},
    )
    assert reply.status_code == 302
    with tenant_context(world.tenant):
        cause = RootCause.objects.get(name="叫号系统故障")
        assert cause.parent == world.root_cause and cause.level == "process"


@pytest.mark.parametrize(
    ("name", "message"),
    [("", "请填写根本原因的名称"), ("  ", "请填写根本原因的名称"), ("员工服务态度", "已有名为")],
)
def test_taxonomy_editor_refuses_an_empty_or_duplicate_name(manager_client, world, name, message):
    before = _causes(world)
    reply = manager_client.post(
        reverse("root_causes", args=[world.tenant.slug]),
        {"new-name": name, "new-level": "individual"},
    )
    assert reply.status_code == 200
    assert message in reply.content.decode()
    assert _causes(world) == before


def test_taxonomy_editor_refuses_a_parent_that_makes_a_loop(manager_client, world):
    with tenant_context(world.tenant):
        top = root_cause_create(name="顶层", level="strategic", by=world.manager)
        child = root_cause_create(name="中层", level="process", parent=top, by=world.manager)
    before = _causes(world)
    for parent in (child, top):
        reply = manager_client.post(
            reverse("root_cause_edit", args=[world.tenant.slug, top.pk]),
            {"name": "顶层", "level": "strategic", "parent": parent.pk},
        )
        assert reply.status_code == 200
        assert "会形成循环" in reply.content.decode()
    assert _causes(world) == before


def test_taxonomy_editor_renames_and_sets_the_level(manager_client, world):
    reply = manager_client.post(
        reverse("root_cause_edit", args=[world.tenant.slug, world.root_cause.pk]),
        {"name": "柜员服务态度", "level": "process", "parent": ""},
    )
    assert reply.status_code == 302
    with tenant_context(world.tenant):
        world.root_cause.refresh_from_db()
    assert (world.root_cause.name, world.root_cause.level) == ("柜员服务态度", "process")


def test_a_cause_on_a_ticket_cannot_be_deleted_an_unused_one_can(manager_client, world):
    _tickets_with_cause(world, world.root_cause, in_branch=1, in_other_branch=0)
    with tenant_context(world.tenant):
        unused = root_cause_create(name="无用原因", level="individual", by=world.manager)
    reply = manager_client.post(
        reverse("root_cause_delete", args=[world.tenant.slug, world.root_cause.pk]), follow=True
    )
    assert "已记录在工单上，不能删除" in reply.content.decode()
    manager_client.post(reverse("root_cause_delete", args=[world.tenant.slug, unused.pk]))
    with tenant_context(world.tenant):
        assert RootCause.objects.filter(pk=world.root_cause.pk).exists()
        assert not RootCause.objects.filter(pk=unused.pk).exists()


def test_agents_and_viewers_cannot_edit_the_taxonomy(client, world):
    for user in (world.agent, world.viewer):
        client.login(username=user.username, password=PASSWORD)
        url = reverse("root_causes", args=[world.tenant.slug])
        assert client.get(url).status_code == 403
        assert client.post(url, {"new-name": "x", "new-level": "process"}).status_code == 403


# --- the review (复盘) ---------------------------------------------------------------------


def _plant(world, *, at, promoters: int, passives: int, detractors: int, link=None) -> None:
    """Scored responses submitted at `at`: NPS answers 10, 8 and 2 with CSAT 5, 4 and 2."""
    with tenant_context(world.tenant):
        for count, nps, csat in ((promoters, 10, 5), (passives, 8, 4), (detractors, 2, 2)):
            for _ in range(count):
                submitted = response_submit(
                    survey=world.survey,
                    raw_answers={"nps_1": nps, "csat_1": csat},
                    link=link or world.link,
                    submitted_at=at,
                    started_at=at,
                )
                response_score(response_id=submitted.response.pk)


def _project_fixed(world, *, fix_days_ago: int = 20) -> ImprovementProject:
    with tenant_context(world.tenant):
        project = services.project_create(
            title="缩短排队",
            level=Level.PROCESS,
            root_cause=world.root_cause,
            touchpoints=[world.touchpoint],
            by=world.manager,
        )
        project.fix_date = timezone.localdate() - timedelta(days=fix_days_ago)
        project.save()
        return project


def test_review_calls_a_planted_rise_in_nps_real(world, manager_client, midday):
    now = timezone.now()
    _plant(world, at=now - timedelta(days=25), promoters=10, passives=10, detractors=20)
    _plant(world, at=now - timedelta(days=10), promoters=25, passives=10, detractors=5)
    project = _project_fixed(world)
    with tenant_context(world.tenant):
        review = selectors.project_review(project)
    headline = review.headline
    assert (round(headline.before), round(headline.after)) == (-25, 50)
    assert headline.real
    assert "NPS 从 -25 升至 50" in headline.verdict and "变化是真实的" in headline.verdict
    page = manager_client.get(reverse("improvement_review", args=[world.tenant.slug, project.pk]))
    assert page.status_code == 200
    assert "变化是真实的" in page.content.decode()
    assert "data-plotly" in page.content.decode()


def test_review_calls_noise_not_enough_evidence(world, midday):
    now = timezone.now()
    _plant(world, at=now - timedelta(days=25), promoters=14, passives=12, detractors=14)
    _plant(world, at=now - timedelta(days=10), promoters=15, passives=12, detractors=13)
    project = _project_fixed(world)
    with tenant_context(world.tenant):
        headline = selectors.project_review(project).headline
    assert not headline.real
    assert "证据不足" in headline.verdict


def test_review_below_the_minimum_sample_says_so(world, midday):
    now = timezone.now()
    _plant(world, at=now - timedelta(days=25), promoters=0, passives=0, detractors=10)
    _plant(world, at=now - timedelta(days=10), promoters=10, passives=0, detractors=0)
    project = _project_fixed(world)
    with tenant_context(world.tenant):
        headline = selectors.project_review(project).headline
    assert not headline.real
    assert "样本不足" in headline.verdict


def test_review_without_a_fix_date_asks_for_one(world, manager_client):
    with tenant_context(world.tenant):
        project = services.project_create(title="x", level=Level.PROCESS, by=world.manager)
    page = manager_client.get(reverse("improvement_review", args=[world.tenant.slug, project.pk]))
    assert "尚未设置上线日期" in page.content.decode()


# --- pages and roles ---------------------------------------------------------------------


def test_manager_opens_a_project_by_hand_and_adds_an_action(manager_client, world):
    slug = world.tenant.slug
    reply = manager_client.post(
        reverse("improvement_project_new", args=[slug]),
        {
            "title": "缩短排队时间",
            "level": "process",
            "root_cause": world.root_cause.pk,
            "owner": world.manager.pk,
            "touchpoints": [world.touchpoint.pk],
            "org_units": [world.branch.pk, world.other_branch.pk],
        },
    )
    assert reply.status_code == 302
    with tenant_context(world.tenant):
        project = ImprovementProject.objects.get()
    assert project.status == ProjectStatus.OPEN and project.owner == world.manager
    url = reverse("improvement_project", args=[slug, project.pk])
    reply = manager_client.post(
        url,
        {"action": "add_action", "description": "增开高峰窗口", "action_owner": world.agent.pk},
    )
    assert reply.status_code == 302
    page = manager_client.get(url).content.decode()
    assert "增开高峰窗口" in page and "缩短排队时间" in page
    assert (
        "缩短排队时间"
        in manager_client.get(reverse("improvement_projects", args=[slug])).content.decode()
    )


def test_a_bad_owner_on_the_page_is_a_message_not_a_change(manager_client, world):
    with tenant_context(world.tenant):
        project = services.project_create(title="战略", level=Level.STRATEGIC, by=world.manager)
    reply = manager_client.post(
        reverse("improvement_project", args=[world.tenant.slug, project.pk]),
        {
            "action": "update",
            "owner": world.manager.pk,
            "status": "open",
            "review_days_before": 30,
            "review_days_after": 30,
        },
    )
    assert reply.status_code == 200 and "管理员或所有者" in reply.content.decode()
    with tenant_context(world.tenant):
        project.refresh_from_db()
    assert project.owner is None


def test_viewers_and_agents_read_projects_but_cannot_change_them(client, world):
    with tenant_context(world.tenant):
        project = services.project_create(title="只读", level=Level.PROCESS, by=world.manager)
    slug = world.tenant.slug
    for user in (world.agent, world.viewer):
        client.login(username=user.username, password=PASSWORD)
        assert client.get(reverse("improvement_projects", args=[slug])).status_code == 200
        assert (
            client.get(reverse("improvement_project", args=[slug, project.pk])).status_code == 200
        )
        assert client.get(reverse("improvement_project_new", args=[slug])).status_code == 403
        refused = client.post(
            reverse("improvement_project", args=[slug, project.pk]),
            {"action": "add_action", "description": "x"},
        )
        assert refused.status_code == 403
    with tenant_context(world.tenant):
        assert not project.actions.exists()


def test_manager_sets_the_recurring_rule_and_bad_numbers_change_nothing(manager_client, world):
    url = reverse("improvement_projects", args=[world.tenant.slug])
    refused = manager_client.post(url, {"tickets": 5, "days": 0, "units": 2})
    assert refused.status_code == 200 and "天数在 1 到 365 之间" in refused.content.decode()
    world.tenant.refresh_from_db()
    assert services.RECURRING not in world.tenant.settings
    assert manager_client.post(url, {"tickets": 8, "days": 14, "units": 3}).status_code == 302
    world.tenant.refresh_from_db()
    assert services.recurring_settings(world.tenant) == {"tickets": 8, "days": 14, "units": 3}


def test_viewers_cannot_set_the_recurring_rule(client, world):
    client.login(username=world.viewer.username, password=PASSWORD)
    url = reverse("improvement_projects", args=[world.tenant.slug])
    assert client.post(url, {"tickets": 2, "days": 1, "units": 1}).status_code == 403


def test_review_compares_each_unit_and_the_share_of_the_cause(world, midday):
    now = timezone.now()
    _plant(world, at=now - timedelta(days=25), promoters=10, passives=10, detractors=20)
    _plant(world, at=now - timedelta(days=10), promoters=25, passives=10, detractors=5)
    _plant(
        world,
        at=now - timedelta(days=25),
        promoters=1,
        passives=0,
        detractors=1,
        link=world.branch_link,
    )
    with tenant_context(world.tenant):
        # every detractor opened a ticket (dated as its response); before the fix they all had
        # the cause, after it none
        for ticket in Ticket.objects.select_related("response"):
            Ticket.objects.filter(pk=ticket.pk).update(created_at=ticket.response.submitted_at)
        other = RootCause.objects.exclude(pk=world.root_cause.pk).first()
        fix_at = timezone.now() - timedelta(days=20)
        Ticket.objects.filter(created_at__lt=fix_at).update(root_cause=world.root_cause)
        Ticket.objects.filter(created_at__gte=fix_at).update(root_cause=other)
        project = services.project_create(
            title="全行排队",
            level=Level.PROCESS,
            root_cause=world.root_cause,
            org_units=[world.region],
            by=world.manager,
        )
        project.fix_date = timezone.localdate() - timedelta(days=20)
        project.save()
        review = selectors.project_review(project)
    assert [row.group for row in review.nps] == ["全部", "浦东支行", "西湖支行"]
    assert review.nps[1].real and not review.nps[2].enough
    share = review.cause_share[0]
    assert (share.n_before, share.before, share.after) == (21, 1.0, 0.0)
    assert "样本不足" in share.verdict  # 5 tickets after the fix, fewer than 20


def test_the_ticket_page_links_to_the_projects_of_its_cause(manager_client, world):
    _tickets_with_cause(world, world.root_cause, in_branch=1, in_other_branch=0)
    with tenant_context(world.tenant):
        number = Ticket.objects.get().number
        services.project_create(
            title="本原因项目", level=Level.PROCESS, root_cause=world.root_cause, by=world.manager
        )
        services.project_create(title="别的项目", level=Level.PROCESS, by=world.manager)
    page = manager_client.get(reverse("ticket_detail", args=[world.tenant.slug, number]))
    link = f"?root_cause={world.root_cause.pk}"
    assert link in page.content.decode()
    listed = manager_client.get(reverse("improvement_projects", args=[world.tenant.slug]) + link)
    assert "本原因项目" in listed.content.decode() and "别的项目" not in listed.content.decode()


def test_a_fix_date_in_the_future_is_refused(world):
    with tenant_context(world.tenant):
        project = services.project_create(title="未来", level=Level.PROCESS, by=world.manager)
        with pytest.raises(ValidationError, match="上线日期不能晚于今天"):
            services.project_update(
                project=project,
                owner=None,
                status=ProjectStatus.OPEN,
                fix_date=timezone.localdate() + timedelta(days=2),
                review_days_before=30,
                review_days_after=30,
                by=world.manager,
            )
        project.refresh_from_db()
        assert project.fix_date is None


def test_manager_changes_the_links_but_not_from_under_a_unit_managers_project(
    manager_client, world
):
    with tenant_context(world.tenant):
        OrgUnit.objects.filter(pk=world.branch.pk).update(manager=world.agent)
        project = services.project_create(
            title="浦东排队",
            level=Level.PROCESS,
            owner=world.agent,
            org_units=[world.branch],
            by=world.manager,
        )
    url = reverse("improvement_project", args=[world.tenant.slug, project.pk])
    both = {"action": "links", "org_units": [world.branch.pk, world.other_branch.pk]}
    assert (
        manager_client.post(url, {**both, "touchpoints": [world.touchpoint.pk]}).status_code == 302
    )
    refused = manager_client.post(url, {"action": "links", "org_units": [world.other_branch.pk]})
    assert refused.status_code == 200 and "所涉单元的负责人" in refused.content.decode()
    with tenant_context(world.tenant):
        assert set(project.org_units.all()) == {world.branch, world.other_branch}
        assert list(project.touchpoints.all()) == [world.touchpoint]


def test_review_compares_the_share_of_texts_on_the_linked_topics(world, midday):
    now = timezone.now()
    with tenant_context(world.tenant):
        topic = topic_keywords_add(name="排队等候", keywords="排队、叫号", by=world.manager)
        for days_ago, queue_texts, other_texts in ((25, 30, 10), (10, 5, 35)):
            at = now - timedelta(days=days_ago)
            for text in ["排队等了一个小时"] * queue_texts + ["柜员很专业"] * other_texts:
                submitted = response_submit(
                    survey=world.survey,
                    raw_answers={"nps_1": 7, "csat_1": 4, "text_1": text},
                    link=world.link,
                    submitted_at=at,
                    started_at=at,
                )
                response_score(response_id=submitted.response.pk)
        project = services.project_create(
            title="排队", level=Level.PROCESS, topics=[topic], by=world.manager
        )
        project.fix_date = timezone.localdate() - timedelta(days=20)
        project.save()
        share = selectors.project_review(project).topic_share[0]
    assert (share.n_before, share.before, share.after) == (40, 0.75, 0.125)
    assert share.real and "降至 12.5%" in share.verdict


def test_the_owner_of_an_action_marks_it_done_another_agent_cannot(client, world):
    with tenant_context(world.tenant):
        project = services.project_create(title="行动", level=Level.PROCESS, by=world.manager)
        action = services.action_add(
            project=project, description="回访", owner=world.agent, due_date=None, by=world.manager
        )
    url = reverse("improvement_project", args=[world.tenant.slug, project.pk])
    done = {"action": "action_done", "action_id": action.pk}
    client.login(username=world.other_agent.username, password=PASSWORD)
    assert client.post(url, done).status_code == 403
    client.login(username=world.agent.username, password=PASSWORD)
    assert client.post(url, done).status_code == 302
    with tenant_context(world.tenant):
        action.refresh_from_db()
    assert action.done_at is not None
