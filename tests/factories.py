"""factory_boy factories and a small tenant world builder for the tests."""

from __future__ import annotations

from dataclasses import dataclass

import factory
from django.contrib.auth.models import User

from alerts.models import RootCause
from journeys.models import Channel, Journey, Stage, Touchpoint
from organizations.models import ApiKey, Membership, OrgUnit, Role, Tenant
from organizations.services import api_key_create, membership_create, org_unit_create, tenant_create
from organizations.tenancy import system_context, tenant_context
from surveys import services as survey_services
from surveys.models import Link, Survey

PASSWORD = "pass-1234"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name", locale="zh_CN")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @classmethod
    def _after_postgeneration(cls, instance, create, results=None):
        if create:
            instance.save()


STANDARD_QUESTIONS = [
    {
        "qtype": "nps",
        "text_zh": "您有多大可能向朋友推荐我们？",
        "text_en": "How likely are you to recommend us?",
        "required": True,
    },
    {
        "qtype": "csat",
        "text_zh": "您对本次服务满意吗？",
        "text_en": "How satisfied were you?",
        "required": True,
    },
    {"qtype": "ces", "text_zh": "办理业务有多费力？", "text_en": "How much effort did it take?"},
    {
        "qtype": "single_choice",
        "text_zh": "您通过什么渠道办理？",
        "text_en": "Which channel?",
        "options": [("网点", "Branch"), ("手机银行", "App")],
    },
    {
        "qtype": "multiple_choice",
        "text_zh": "哪些方面需要改进？",
        "text_en": "What should improve?",
        "options": [("排队时间", "Waiting"), ("服务态度", "Attitude"), ("手续费", "Fees")],
    },
    {"qtype": "text", "text_zh": "请告诉我们原因", "text_en": "Tell us why"},
]


@dataclass
class World:
    """One tenant with HQ > region > two branches, a journey, a published survey and people."""

    tenant: Tenant
    hq: OrgUnit
    region: OrgUnit
    branch: OrgUnit
    other_branch: OrgUnit
    journey: Journey
    touchpoint: Touchpoint
    survey: Survey
    link: Link
    branch_link: Link
    manager: User
    agent: User
    other_agent: User
    viewer: User
    api_key: ApiKey
    api_key_plaintext: str
    root_cause: RootCause


def build_world(slug: str) -> World:
    manager = UserFactory(username=f"{slug}-manager")
    tenant = tenant_create(slug=slug, name=f"{slug} 银行", owner=None)
    with tenant_context(tenant):
        hq = OrgUnit.objects.get(code="HQ")
        region = org_unit_create(name="华东区", code="EAST", kind=OrgUnit.Kind.REGION, parent=hq)
        branch = org_unit_create(
            name="浦东支行", code="SH-PD", kind=OrgUnit.Kind.BRANCH, parent=region
        )
        other_branch = org_unit_create(
            name="西湖支行", code="HZ-XH", kind=OrgUnit.Kind.BRANCH, parent=region
        )
        membership_create(user=manager, role=Role.CX_MANAGER)
        agent = UserFactory(username=f"{slug}-agent")
        membership_create(user=agent, role=Role.AGENT, org_unit=branch)
        other_agent = UserFactory(username=f"{slug}-agent2")
        membership_create(user=other_agent, role=Role.AGENT, org_unit=other_branch)
        viewer = UserFactory(username=f"{slug}-viewer")
        membership_create(user=viewer, role=Role.VIEWER, org_unit=region)
        owner = UserFactory(username=f"{slug}-owner")
        membership_create(user=owner, role=Role.OWNER)
        journey = Journey.objects.create(name=f"{slug} 个人开户")
        stage = Stage.objects.create(journey=journey, name=f"{slug} 到店办理", position=1)
        touchpoint = Touchpoint.objects.create(
            stage=stage,
            name="网点柜台",
            code="counter",
            channel=Channel.BRANCH_COUNTER,
            org_unit=branch,
        )
        survey = survey_services.survey_create(
            name=f"{slug} 开户体验调研", touchpoint=touchpoint, by=manager
        )
        for question in STANDARD_QUESTIONS:
            survey_services.survey_question_add(survey=survey, **question)
        survey_services.survey_publish(survey=survey, by=manager)
        survey.refresh_from_db()
        link = survey.links.get()
        branch_link = survey_services.link_create(
            survey=survey, kind=Link.Kind.QR, name=other_branch.name, org_unit=other_branch
        )
        issued = api_key_create(name="CRM", by=owner)
        root_cause = RootCause.objects.order_by("id").first()
    return World(
        tenant=tenant,
        hq=hq,
        region=region,
        branch=branch,
        other_branch=other_branch,
        journey=journey,
        touchpoint=touchpoint,
        survey=survey,
        link=link,
        branch_link=branch_link,
        manager=manager,
        agent=agent,
        other_agent=other_agent,
        viewer=viewer,
        api_key=issued.api_key,
        api_key_plaintext=issued.plaintext,
        root_cause=root_cause,
    )


def member(user: User, tenant: Tenant) -> Membership:
    with system_context():
        return Membership.all_tenants.select_related("org_unit", "tenant").get(
            user=user, tenant=tenant
        )
