"""Writes of surveys: building and publishing versions, links, and accepting responses."""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.services import customer_upsert
from journeys.models import Touchpoint
from organizations.db.rows import insert_one
from organizations.models import OrgUnit
from organizations.services import Actor, audit_record
from organizations.tenancy import current_tenant
from surveys import builder
from surveys.definition import (
    DefinitionError,
    definition_validate,
    empty_definition,
    other_key,
    page_of,
)
from surveys.logic import (
    END,
    answered_path,
    answers_clean_along_path,
    next_page_key,
    page_answers_clean,
)
from surveys.models import Invitation, Link, Response, Survey, SurveyVersion
from surveys.signals import response_submitted

T = TypeVar("T")


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


@transaction.atomic
def survey_draft_edit(*, survey: Survey, edit: Callable[[dict], T]) -> T:
    """Apply one builder edit (see surveys/builder.py) to the draft version and save it.

    A published version is never changed: the first edit after publishing starts a new draft.
    """
    draft = survey_draft(survey=survey)
    try:
        result = edit(draft.definition)
    except DefinitionError as error:
        raise ValidationError(str(error)) from error
    draft.save(update_fields=["definition"])
    return result


def survey_question_add(
    *,
    survey: Survey,
    qtype: str,
    text_zh: str,
    text_en: str = "",
    options: list[tuple[str, str]] | None = None,
    required: bool = False,
    page_key: str | None = None,
    **settings: Any,
) -> str:
    """Append a question to a page of the draft (default: the last page); returns its key.
    `options` are (zh, en) label pairs for choice types."""
    if not text_zh.strip():
        raise ValidationError(_("请填写题目（中文）。"))
    question: dict[str, Any] = {
        "type": qtype,
        "required": required,
        "text": bilingual(text_zh, text_en),
        **settings,
    }
    if options is not None:
        question["options"] = [
            {"key": f"o{index}", "text": bilingual(zh, en)}
            for index, (zh, en) in enumerate(options, start=1)
            if zh.strip()
        ]
    return survey_draft_edit(
        survey=survey,
        edit=lambda d: builder.question_add(
            d, page_key=page_key or d["pages"][-1]["key"], question=question
        ),
    )


def bilingual(zh: str, en: str = "") -> dict[str, str]:
    return {"zh-hans": zh.strip(), **({"en": en.strip()} if en and en.strip() else {})}


@transaction.atomic
def survey_import(*, survey: Survey, document: Any, by: Actor) -> SurveyVersion:
    """Replace the draft with an imported definition (validated whole before anything changes)."""
    try:
        definition = builder.definition_import(document)
    except DefinitionError as error:
        raise ValidationError(str(error)) from error
    draft = survey_draft(survey=survey)
    draft.definition = definition
    draft.save(update_fields=["definition"])
    audit_record(by=by, action="survey.import", target=survey, after={"version": draft.number})
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
def survey_window_update(
    *, survey: Survey, opens_at, closes_at, response_limit: int | None, by: Actor
) -> Survey:
    before = {"opens_at": str(survey.opens_at), "closes_at": str(survey.closes_at)}
    survey.opens_at, survey.closes_at, survey.response_limit = opens_at, closes_at, response_limit
    fields_check(survey, "opens_at", "closes_at", "response_limit")
    survey.save(update_fields=["opens_at", "closes_at", "response_limit"])
    audit_record(
        by=by,
        action="survey.window",
        target=survey,
        before=before,
        after={"opens_at": str(opens_at), "closes_at": str(closes_at), "limit": response_limit},
    )
    return survey


@transaction.atomic
def survey_close(*, survey: Survey, by: Actor) -> Survey:
    survey.status = Survey.Status.CLOSED
    survey.save(update_fields=["status"])
    audit_record(by=by, action="survey.close", target=survey)
    return survey


def links_for_org_units(*, survey: Survey, parent: OrgUnit | None, by: Actor) -> list[Link]:
    """One QR link per active branch under `parent` (all branches when None), each carrying its
    branch; branches that already have a link of this survey keep theirs."""
    branches = OrgUnit.objects.filter(kind=OrgUnit.Kind.BRANCH, is_active=True)
    if parent is not None:
        branches = branches.filter(path__startswith=parent.path)
    linked = set(survey.links.exclude(org_unit=None).values_list("org_unit_id", flat=True))
    created = Link.objects.bulk_create(
        Link(
            tenant=survey.tenant,
            survey=survey,
            kind=Link.Kind.QR,
            name=branch.name,
            org_unit=branch,
            touchpoint=survey.touchpoint,
        )
        for branch in branches.order_by("path")
        if branch.pk not in linked
    )
    if created:
        audit_record(
            by=by, action="survey.links_create", target=survey, after={"count": len(created)}
        )
    return created


@transaction.atomic
def link_update(
    *, link: Link, response_limit: int | None, one_response_per_device: bool, expires_at, by: Actor
) -> Link:
    link.response_limit = response_limit
    link.one_response_per_device = one_response_per_device
    link.expires_at = expires_at
    fields_check(link, "response_limit", "expires_at")
    link.save(update_fields=["response_limit", "one_response_per_device", "expires_at"])
    audit_record(by=by, action="link.update", target=link)
    return link


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


def fields_check(instance, *names: str) -> None:
    """Run the model's validators (ranges, plausible dates) on the fields a service sets,
    so a form, an import or the API cannot store what would break a page later."""
    instance.clean_fields(exclude={f.name for f in instance._meta.fields} - set(names))


class ResponseRejectedError(ValidationError):
    """The answers do not fit the survey: `errors` maps question keys to messages."""

    def __init__(self, errors: dict[str, str]):
        super().__init__(errors)
        self.errors = errors


class IdempotencyConflictError(Exception):
    """A client_submission_id already stored with a different submission."""


class ResponseAlreadyStartedError(Exception):
    """A new response's resume key is taken: an earlier request of the same respondent (a
    double click, a second tab) stored a response under it first. Carry on with that one."""


class SurveyClosedError(Exception):
    """The survey does not accept responses now; `reason` says why (see UNAVAILABLE)."""

    def __init__(self, message: str, reason: str = "closed"):
        super().__init__(message)
        self.reason = reason


def _unavailable_messages() -> dict[str, str]:
    return {
        "closed": _("该问卷已关闭，感谢您的关注。"),
        "not_open": _("该问卷尚未开始，请稍后再来。"),
        "expired": _("该问卷链接已过期。"),
        "quota_full": _("该问卷已收集到足够的回答，感谢您的关注。"),
        "already_answered": _("您已经填写过该问卷，感谢您的参与！"),
    }


def survey_unavailable_reason(*, survey: Survey, link: Link | None) -> str | None:
    """Why the survey cannot take a new response through `link` now, or None."""
    now = timezone.now()
    if survey.status != Survey.Status.PUBLISHED or survey.live_version_id is None:
        return "closed"
    if survey.closes_at and now >= survey.closes_at:
        return "closed"
    if survey.opens_at and now < survey.opens_at:
        return "not_open"
    if link and link.expires_at and now >= link.expires_at:
        return "expired"
    if survey.response_limit and _complete_count(survey=survey) >= survey.response_limit:
        return "quota_full"
    if link and link.response_limit and _complete_count(link=link) >= link.response_limit:
        return "quota_full"
    return None


def _complete_count(**owner: Survey | Link) -> int:
    return Response.objects.filter(status=Response.Status.COMPLETE, **owner).count()


def survey_closed_error(reason: str) -> SurveyClosedError:
    return SurveyClosedError(_unavailable_messages()[reason], reason)


@dataclass(frozen=True)
class SubmittedResponse:
    response: Response
    created: bool  # False when the client_submission_id had already been stored


def _routing(
    survey: Survey, link: Link | None, touchpoint: Touchpoint | None, org_unit: OrgUnit | None
) -> tuple[int | None, int | None]:
    """The ids of the touchpoint and org unit a response belongs to: those its link was issued
    for, else the survey's touchpoint and that touchpoint's owner. Ids, so that no org unit
    is read just to be referred to."""
    touchpoint = touchpoint or (link.touchpoint if link else None) or survey.touchpoint
    org_unit_id = org_unit.pk if org_unit else (link.org_unit_id if link else None)
    if org_unit_id is None and touchpoint is not None:
        org_unit_id = touchpoint.org_unit_id
    return (touchpoint.pk if touchpoint else None), org_unit_id


def _completion_transaction(response: Response, *, with_customer: bool = False):
    """The transaction a completion needs: one where it writes more than the response's row
    (its customer, its personal link's invitation). A lone INSERT commits atomically by
    itself, and the busiest path, an answer through a QR code or the API, saves the BEGIN and
    COMMIT round trips. Inside a caller's transaction it is a savepoint, so that a refused
    INSERT (a replay) leaves the caller's transaction usable. Receivers of response_submitted
    only schedule work after commit."""
    personal = response.link_id is not None and response.link.kind == Link.Kind.PERSONAL
    if with_customer or personal:
        return transaction.atomic()
    return _lone_write()


def _lone_write():
    """Nothing around a single statement in autocommit; a savepoint inside a caller's
    transaction, so that a refused INSERT leaves the caller's transaction usable."""
    if transaction.get_connection().in_atomic_block:
        return transaction.atomic()
    return contextlib.nullcontext()


@contextlib.contextmanager
def _resume_key_claimed(response: Response):
    """Around the first save of a respondent's response: ResponseAlreadyStartedError where
    the resume key's unique constraint finds a response stored under it already. The common
    case, a new respondent, costs one INSERT and no read first."""
    try:
        yield
    except IntegrityError:
        if response.pk is None and Response.objects.filter(resume_key=response.resume_key).exists():
            raise ResponseAlreadyStartedError from None
        raise


def response_complete(response: Response) -> Response:
    """Mark a response complete and hand it on (scoring follows its commit)."""
    response.status = Response.Status.COMPLETE
    response.submitted_at = response.submitted_at or timezone.now()
    if response.pk is None:
        if response.tenant_id is None:
            response.tenant = current_tenant()
        insert_one(response)  # the busiest write there is: a statement built once
    else:
        response.save()
    if response.link_id and response.link.kind == Link.Kind.PERSONAL:
        # Answered means opened and started too, even when the answers came through the API.
        Invitation.objects.filter(link_id=response.link_id).update(
            completed_at=response.submitted_at,
            status=Invitation.Status.COMPLETED,
            opened_at=Coalesce("opened_at", Value(response.submitted_at)),
            started_at=Coalesce("started_at", Value(response.started_at or response.submitted_at)),
        )
    response_submitted.send(sender=Response, response=response)
    return response


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
    """Validate a whole response against the live version (logic included) and save it
    complete; scoring follows the commit. A repeated client_submission_id with the same
    submission returns the response stored the first time; with another submission it is
    refused (IdempotencyConflictError), so a reused key never hides a customer's answers."""
    digest = client_submission_id and submission_digest(
        survey=survey,
        link=link,
        raw_answers=raw_answers,
        external_customer_id=external_customer_id,
        extra=extra,
        language=language,
        submitted_at=submitted_at,
        touchpoint=touchpoint,
        org_unit=org_unit,
    )
    # A replay is told from a new submission by the key's unique constraint, not by a read
    # first: the common case, a new key, costs one INSERT. Where the body is refused, a
    # stored response under the key still answers for it.
    reason = survey_unavailable_reason(survey=survey, link=link)
    if reason:
        replay = _stored_replay(client_submission_id, digest)
        if replay is not None:
            return replay
        raise survey_closed_error(reason)
    version = survey.live_version
    extra = {**(link.hidden_fields if link else {}), **(extra or {})}
    answers, errors = answers_clean_along_path(version.definition, raw_answers, extra)
    if errors:
        replay = _stored_replay(client_submission_id, digest)
        if replay is not None:
            return replay
        raise ResponseRejectedError(errors)
    touchpoint_id, org_unit_id = _routing(survey, link, touchpoint, org_unit)
    response = Response(
        survey=survey,
        version=version,
        link=link,
        touchpoint_id=touchpoint_id,
        org_unit_id=org_unit_id,
        external_customer_id=external_customer_id.strip(),
        answers=answers,
        extra=extra,
        language=language,
        source=source,
        client_submission_id=client_submission_id,
        submission_digest=digest,
        started_at=started_at,
        submitted_at=submitted_at,
    )
    try:
        with _completion_transaction(response, with_customer=bool(external_customer_id.strip())):
            # In the transaction: a replay refused below leaves no customer behind.
            if external_customer_id.strip():
                response.customer = customer_upsert(external_id=external_customer_id)
            response_complete(response)
    except IntegrityError:
        if not client_submission_id:
            raise
        return _replayed(Response.objects.get(client_submission_id=client_submission_id), digest)
    return SubmittedResponse(response, created=True)


def _stored_replay(client_submission_id: str, digest: str) -> SubmittedResponse | None:
    """The replay of the response stored under the key, if there is one."""
    if not client_submission_id:
        return None
    existing = Response.objects.filter(client_submission_id=client_submission_id).first()
    return _replayed(existing, digest) if existing is not None else None


def submission_digest(
    *,
    survey: Survey,
    link: Link | None,
    raw_answers: dict[str, Any],
    external_customer_id: str,
    extra: dict | None,
    language: str,
    submitted_at: datetime | None,
    touchpoint: Touchpoint | None,
    org_unit: OrgUnit | None,
) -> str:
    """A fingerprint of everything a submission says, to tell a replay from a new body."""
    document = {
        "survey": survey.pk,
        "link": link.pk if link else None,
        "answers": raw_answers,
        "external_customer_id": external_customer_id.strip(),
        "extra": extra or {},
        "language": language,
        "submitted_at": submitted_at.isoformat() if submitted_at else None,
        "touchpoint": touchpoint.pk if touchpoint else None,
        "org_unit": org_unit.pk if org_unit else None,
    }
    canonical = json.dumps(document, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _replayed(existing: Response, digest: str) -> SubmittedResponse:
    # Responses stored before digests were kept have none: they replay as before.
    if existing.submission_digest and existing.submission_digest != digest:
        raise IdempotencyConflictError(
            f"client_submission_id {existing.client_submission_id!r} was already used for a "
            "different submission; use a new id for a new response."
        )
    return SubmittedResponse(existing, created=False)


# --- the respondent's page-by-page way in ------------------------------------------------------


@dataclass
class PageOutcome:
    """What the respondent sees next: a page (with errors and entered values), or the end."""

    response: Response
    page_key: str = ""
    errors: dict[str, str] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)
    finished: bool = False


def response_begin(
    *, survey: Survey, link: Link, resume_key: str, language: str, hidden: dict
) -> Response:
    """An unsaved response at the first page of the live version (saved on its first page)."""
    touchpoint_id, org_unit_id = _routing(survey, link, None, None)
    version = survey.live_version
    return Response(
        survey=survey,
        version=version,
        link=link,
        touchpoint_id=touchpoint_id,
        org_unit_id=org_unit_id,
        customer=link.customer,
        answers={},
        extra={**link.hidden_fields, **hidden},
        language=language,
        status=Response.Status.PARTIAL,
        resume_key=resume_key,
        page_path=[version.definition["pages"][0]["key"]],
        started_at=timezone.now(),
        submitted_at=None,
    )


def response_page_save(
    *, response: Response, page_key: str, raw_answers: dict[str, Any], going_back: bool = False
) -> PageOutcome:
    """Save one page of a partial response and move it on (or back) along the survey's logic.

    Answers are checked against the version the respondent started; a page submitted again
    from the browser's history rewinds the path to it. Invalid answers keep the respondent on
    the page with messages, and the values they entered are handed back to re-render.

    Each way out writes once: a page is one save, the last page one transaction (completion,
    invitation, scoring after commit). A new response is saved without a read first; where
    its resume key is taken meanwhile, ResponseAlreadyStartedError says to carry on with the
    stored one.
    """
    if response.status == Response.Status.COMPLETE:
        return PageOutcome(response, finished=True)
    definition = response.version.definition
    if page_key not in response.page_path:
        return PageOutcome(response, page_key=response.page_path[-1])
    response.page_path = response.page_path[: response.page_path.index(page_key) + 1]
    page = page_of(definition, page_key)
    earlier = {key: value for key, value in response.answers.items() if key not in _page_keys(page)}
    answers, errors, _asked = page_answers_clean(
        definition, page, raw_answers, earlier, response.extra
    )
    if going_back:
        response.answers = {**earlier, **answers}
        if len(response.page_path) > 1:
            response.page_path.pop()
        with _resume_key_claimed(response), _lone_write():
            response.save()
        return PageOutcome(response, page_key=response.page_path[-1])
    if errors:
        return PageOutcome(response, page_key=page_key, errors=errors, values=raw_answers)
    response.answers = {**earlier, **answers}
    following = next_page_key(definition, page_key, response.answers, response.extra)
    if following != END:
        response.page_path.append(following)
        with _resume_key_claimed(response), _lone_write():
            response.save()
        return PageOutcome(response, page_key=following)
    reason = survey_unavailable_reason(survey=response.survey, link=response.link)
    if reason == "quota_full":
        raise survey_closed_error(reason)
    response.answers = _answers_on_path(definition, response.answers, response.extra)
    response.submitted_at = timezone.now()
    with _resume_key_claimed(response), _completion_transaction(response):
        response_complete(response)
    return PageOutcome(response, finished=True)


def _page_keys(page: dict) -> set[str]:
    return {
        key
        for question in page["questions"]
        for key in (question["key"], other_key(question["key"]))
    }


def _answers_on_path(definition: dict, answers: dict, hidden: dict) -> dict:
    """Drop answers left behind on pages the final path skips (the respondent went back and
    changed an answer that routes around them)."""
    kept: set[str] = set()
    for page_key in answered_path(definition, answers, hidden):
        kept |= _page_keys(page_of(definition, page_key))
    return {key: value for key, value in answers.items() if key in kept}
