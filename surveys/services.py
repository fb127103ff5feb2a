"""Writes of surveys: building and publishing versions, links, and accepting responses."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cem.models import OrgUnit
from cem.services import Actor, audit_record
from customers.services import customer_upsert
from journeys.models import Touchpoint
from surveys.definition import (
    CHOICE_TYPES,
    QUESTION_TYPES,
    DefinitionError,
    answers_clean,
    definition_validate,
    empty_definition,
    iter_questions,
)
from surveys.models import Link, Response, Survey, SurveyVersion
from surveys.signals import response_submitted


@transaction.atomic
def survey_create(
    *, name: str, touchpoint: Touchpoint | None, by: Actor, definition: dict | None = None
) -> Survey:
    survey = Survey(name=name.strip(), touchpoint=touchpoint)
    survey.full_clean(exclude=["tenant", "live_version"])
    survey.save()
    SurveyVersion.objects.create(
        survey=survey, number=1, definition=definition or empty_definition(survey.name)
    )
    audit_record(by=by, action="survey.create", target=survey)
    return survey


def survey_draft(*, survey: Survey) -> SurveyVersion:
    """The editable version: the latest one if unpublished, else a new copy of the live one."""
    latest = survey.versions.order_by("-number").first()
    if latest is not None and not latest.is_frozen:
        return latest
    return SurveyVersion.objects.create(
        survey=survey,
        number=(latest.number + 1) if latest else 1,
        definition=copy.deepcopy(latest.definition) if latest else empty_definition(survey.name),
    )


def _question_key(definition: dict, qtype: str) -> str:
    taken = {question["key"] for question in iter_questions(definition)}
    index = 1
    while f"{qtype}_{index}" in taken:
        index += 1
    return f"{qtype}_{index}"


@transaction.atomic
def survey_question_add(
    *,
    survey: Survey,
    qtype: str,
    text_zh: str,
    text_en: str = "",
    options: list[tuple[str, str]] | None = None,
    required: bool = False,
    max_length: int | None = None,
) -> SurveyVersion:
    """Append a question to the draft. `options` are (zh, en) label pairs for choice types."""
    if qtype not in QUESTION_TYPES:
        raise ValidationError(_("未知题型：%(type)s") % {"type": qtype})
    if not text_zh.strip():
        raise ValidationError(_("请填写题目（中文）。"))
    draft = survey_draft(survey=survey)
    definition = draft.definition
    question: dict[str, Any] = {
        "key": _question_key(definition, qtype),
        "type": qtype,
        "required": required,
        "text": {
            "zh-hans": text_zh.strip(),
            **({"en": text_en.strip()} if text_en.strip() else {}),
        },
    }
    if qtype in CHOICE_TYPES:
        labels = [(zh.strip(), en.strip()) for zh, en in (options or []) if zh.strip()]
        if len(labels) < 2:
            raise ValidationError(_("选择题至少需要两个选项。"))
        question["options"] = [
            {"key": f"o{index}", "text": {"zh-hans": zh, **({"en": en} if en else {})}}
            for index, (zh, en) in enumerate(labels, start=1)
        ]
    if qtype == "text" and max_length:
        question["max_length"] = max_length
    definition["pages"][-1]["questions"].append(question)
    draft.save(update_fields=["definition"])
    return draft


@transaction.atomic
def survey_question_remove(*, survey: Survey, key: str) -> SurveyVersion:
    draft = survey_draft(survey=survey)
    for page in draft.definition["pages"]:
        page["questions"] = [question for question in page["questions"] if question["key"] != key]
    draft.save(update_fields=["definition"])
    return draft


@transaction.atomic
def survey_publish(*, survey: Survey, by: Actor) -> SurveyVersion:
    """Freeze the draft as the live version; the first publish also makes the default link."""
    # Lock the row so two publishes cannot race; the caller's instance is updated in place.
    Survey.objects.select_for_update().filter(pk=survey.pk).first()
    draft = survey.versions.order_by("-number").first()
    if draft is None or draft.is_frozen:
        raise ValidationError(_("没有待发布的修改。"))
    try:
        definition_validate(draft.definition)
    except DefinitionError as error:
        raise ValidationError(str(error)) from error
    draft.published_at = timezone.now()
    draft.save(update_fields=["published_at"])
    survey.live_version = draft
    survey.status = Survey.Status.PUBLISHED
    survey.save(update_fields=["live_version", "status"])
    if not survey.links.exists():
        link_create(survey=survey, kind=Link.Kind.ANONYMOUS, name=_("默认链接"))
    audit_record(by=by, action="survey.publish", target=survey, after={"version": draft.number})
    return draft


@transaction.atomic
def survey_close(*, survey: Survey, by: Actor) -> Survey:
    survey.status = Survey.Status.CLOSED
    survey.save(update_fields=["status"])
    audit_record(by=by, action="survey.close", target=survey)
    return survey


def link_create(
    *,
    survey: Survey,
    kind: str = Link.Kind.ANONYMOUS,
    name: str = "",
    org_unit: OrgUnit | None = None,
    touchpoint: Touchpoint | None = None,
) -> Link:
    return Link.objects.create(
        survey=survey,
        kind=kind,
        name=name,
        org_unit=org_unit,
        touchpoint=touchpoint or survey.touchpoint,
    )


class ResponseRejectedError(ValidationError):
    """The answers do not fit the survey: `errors` maps question keys to messages."""

    def __init__(self, errors: dict[str, str]):
        super().__init__(errors)
        self.errors = errors


class SurveyClosedError(Exception):
    """The survey does not accept responses now."""


@dataclass(frozen=True)
class SubmittedResponse:
    response: Response
    created: bool  # False when the client_submission_id had already been stored


def response_submit(
    *,
    survey: Survey,
    raw_answers: dict[str, Any],
    link: Link | None = None,
    language: str = "zh-hans",
    client_submission_id: str = "",
    external_customer_id: str = "",
    extra: dict | None = None,
    source: str = Response.Source.LINK,
    started_at: datetime | None = None,
    submitted_at: datetime | None = None,
    touchpoint: Touchpoint | None = None,
    org_unit: OrgUnit | None = None,
) -> SubmittedResponse:
    """Validate answers against the live version and save the response; scoring follows commit.

    A repeated client_submission_id returns the response stored the first time.
    """
    if client_submission_id:
        existing = Response.objects.filter(client_submission_id=client_submission_id).first()
        if existing is not None:
            return SubmittedResponse(existing, created=False)
    if not survey.is_open():
        raise SurveyClosedError(_("该问卷已关闭，感谢您的关注。"))
    version = survey.live_version
    answers, errors = answers_clean(version.definition, raw_answers)
    if errors:
        raise ResponseRejectedError(errors)
    touchpoint = touchpoint or (link.touchpoint if link else None) or survey.touchpoint
    org_unit = (
        org_unit
        or (link.org_unit if link else None)
        or (touchpoint.org_unit if touchpoint else None)
    )
    customer = (
        customer_upsert(external_id=external_customer_id) if external_customer_id.strip() else None
    )
    response = Response(
        survey=survey,
        version=version,
        link=link,
        touchpoint=touchpoint,
        org_unit=org_unit,
        customer=customer,
        external_customer_id=external_customer_id.strip(),
        answers=answers,
        extra={**(link.hidden_fields if link else {}), **(extra or {})},
        language=language,
        source=source,
        client_submission_id=client_submission_id,
        started_at=started_at,
        submitted_at=submitted_at or timezone.now(),
    )
    try:
        with transaction.atomic():
            response.save()
            response_submitted.send(sender=Response, response=response)
    except IntegrityError:
        if not client_submission_id:
            raise
        return SubmittedResponse(
            Response.objects.get(client_submission_id=client_submission_id), False
        )
    return SubmittedResponse(response, created=True)
