"""Writes of analytics: scoring a response (with the text rollups it counts in), getting it
scored after its commit, rebuilding a tenant's text rollups, and the tenant's text dictionary
(aspects, user words, topics) with rescoring of past texts."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from analytics.chinese import terms_parse
from analytics.metric_rollups import (
    MetricKey,
    ResponseCount,
    Totals,
    metric_rows_add,
    metric_rows_rebuild,
    response_day,
    response_metric_totals,
    rows_for,
    totals_difference,
)
from analytics.models import (
    Aspect,
    Metric,
    MetricDaily,
    ResponseScore,
    TextDaily,
    TextDictionary,
    TextMention,
    Topic,
    UserWord,
)
from analytics.rollups import (
    RollupsRebuilt,
    TallyKey,
    mention_rows,
    rollups_rebuild,
    tallies_add,
    tallies_difference,
    tenant_rollups_lock,
    tenant_zone,
    text_cell,
    text_tallies,
)
from analytics.scoring import response_metrics
from analytics.selectors import text_dictionary
from analytics.signals import metric_rollups_recounting, response_scored
from analytics.text import analyzer_version, text_analyze
from analytics.text_overview import Tally
from organizations.broker import batch_waiting, publish, publish_batched
from organizations.models import OrgUnit
from organizations.services import Actor, audit_record
from organizations.tenancy import current_tenant, system_context, tenant_context
from surveys.models import Response

logger = logging.getLogger(__name__)


def response_score(*, response_id: int) -> ResponseScore | None:
    """Score one response; safe to run any number of times.

    Re-reads the response, stops if it is already scored by the current model, else computes
    metrics and text analytics, saves them, counts the text in the daily text rollups (in
    place of what an earlier score of it counted) and lets alert rules react (response_scored).
    Returns None when the response no longer exists.
    """
    with system_context():
        response = (
            Response.all_tenants.select_related("tenant", "version", "touchpoint", "org_unit")
            .filter(pk=response_id)
            .first()
        )
    if response is None:
        logger.warning("response %s vanished before scoring", response_id)
        return None
    with tenant_context(response.tenant), transaction.atomic():
        dictionary = text_dictionary()
        version = analyzer_version(dictionary)
        existing = ResponseScore.objects.select_for_update().filter(response=response).first()
        if existing is not None and existing.model_version == version:
            return existing
        tenant_rollups_lock(response.tenant_id, exclusive=False)
        metrics = response_metrics(response.version.definition, response.answers)
        analysis = text_analyze(metrics.verbatim, dictionary=dictionary)
        fields = {
            "nps": metrics.nps,
            "nps_category": metrics.nps_category,
            "csat": metrics.csat,
            "ces": metrics.ces,
            "verbatim": metrics.verbatim,
            "sentiment_label": analysis.sentiment_label if analysis else "",
            "sentiment_score": analysis.sentiment_score if analysis else None,
            "keywords": analysis.keywords if analysis else [],
            "aspects": analysis.aspects if analysis else [],
            "risk_flags": analysis.risk_flags if analysis else [],
            "topics": analysis.topics if analysis else [],
            "model_version": version,
            "scored_at": timezone.now(),
        }
        if existing is None:
            try:
                with transaction.atomic():
                    score = ResponseScore.objects.create(response=response, **fields)
            except IntegrityError:
                # Another worker scored it between our read and write: theirs stands, and so
                # do the rollups it counted.
                return ResponseScore.objects.get(response=response)
            counted_before = {}
            metrics_before = {}
        else:
            counted_before = _text_tallies(existing)
            metrics_before = _metric_totals(existing, response)
            for name, value in fields.items():
                setattr(existing, name, value)
            existing.save()
            score = existing
        score.response = response
        _text_rollups_update(
            score=score, counted_before=counted_before, mentions_replace=existing is not None
        )
        _metric_rollups_add(
            response, totals_difference(_metric_totals(score, response), metrics_before)
        )
        response_scored.send(sender=ResponseScore, score=score)
        return score


def _text_tallies(score: ResponseScore) -> dict[TallyKey, Tally]:
    return text_tallies(score) if score.verbatim else {}


def _text_rollups_update(
    *, score: ResponseScore, counted_before: dict[TallyKey, Tally], mentions_replace: bool
) -> None:
    """Make the rollups count `score` instead of what its previous analysis counted, and give
    it its mentions; in the scoring transaction, which holds the tenant's rollup lock."""
    response = score.response
    cell = text_cell(
        response.submitted_at,
        response.touchpoint_id,
        response.org_unit_id,
        tenant_zone(response.tenant),
    )
    if cell is not None:
        tallies_add(
            TextDaily,
            tenant_id=score.tenant_id,
            cell=cell,
            tallies=tallies_difference(_text_tallies(score), counted_before),
        )
    if mentions_replace:
        TextMention.objects.filter(score=score).delete()
    if score.verbatim:
        TextMention.objects.bulk_create(
            mention_rows(TextMention, tenant_id=score.tenant_id, score_id=score.pk, text=score)
        )


def _metric_totals(score: ResponseScore, response: Response) -> dict[MetricKey, Totals]:
    return response_metric_totals(
        score,
        survey_id=response.survey_id,
        definition=response.version.definition,
        answers=response.answers,
    )


def _metric_rollups_add(response: Response, totals: dict[MetricKey, Totals]) -> None:
    """Add what a response counts to its metric rollup rows; in the scoring transaction."""
    if response.submitted_at is None or not totals:
        return
    metric_rows_add(
        MetricDaily,
        tenant_id=response.tenant_id,
        rows=rows_for(
            day=response_day(response.submitted_at, tenant_zone(response.tenant)),
            touchpoint_id=response.touchpoint_id,
            org_unit_path=response.org_unit.path if response.org_unit_id else "",
            totals=totals,
        ),
    )


def metric_ticket_count(*, response: Response) -> None:
    """Count a ticket opened for `response` in its metric rollups (alerts calls this in the
    transaction that opens the ticket)."""
    _metric_rollups_add(response, {(Metric.TICKETS, ""): Totals(1)})


def metric_rollups_rebuild() -> int:
    """Recount the current tenant's metric rollups from its scored responses and tickets,
    replacing them (after an org-unit move, a change of time zone, or for data scored before
    the rollups existed). Returns the rows written; scoring waits for it."""
    tenant = current_tenant()
    zone = tenant_zone(tenant)
    unit_paths = dict(OrgUnit.objects.values_list("pk", "path"))
    added: dict[int, dict[MetricKey, Totals]] = {}
    for _receiver, extra in metric_rollups_recounting.send(sender=MetricDaily, tenant=tenant):
        for response_id, totals in extra.items():
            added.setdefault(response_id, {}).update(totals)
    definitions: dict[int, dict] = {}
    scores = (
        ResponseScore.objects.filter(response__submitted_at__isnull=False)
        .select_related("response")
        .defer("keywords", "topics", "risk_flags")
        .order_by("response__submitted_at", "pk")
    )

    def counts():
        for score in scores.iterator(chunk_size=2000):
            response = score.response
            if response.version_id not in definitions:
                definitions[response.version_id] = response.version.definition
            totals = response_metric_totals(
                score,
                survey_id=response.survey_id,
                definition=definitions[response.version_id],
                answers=response.answers,
            )
            totals.update(added.get(response.pk, {}))
            yield ResponseCount(
                day=response_day(response.submitted_at, zone),
                touchpoint_id=response.touchpoint_id,
                org_unit_path=unit_paths.get(response.org_unit_id, ""),
                totals=totals,
            )

    with transaction.atomic():
        tenant_rollups_lock(tenant.pk, exclusive=True)
        return metric_rows_rebuild(MetricDaily, tenant_id=tenant.pk, counts=counts())


def text_rollups_rebuild() -> RollupsRebuilt:
    """Recount the current tenant's text rollups and mentions from its scores, replacing them:
    for data scored before rollups existed, or after a change of the tenant's time zone. One
    transaction: the page shows the old numbers until it commits, and the tenant's scoring
    waits for it (a few seconds per 100,000 texts)."""
    tenant = current_tenant()
    with transaction.atomic():
        tenant_rollups_lock(tenant.pk, exclusive=True)
        return rollups_rebuild(
            tenant_id=tenant.pk,
            zone=tenant_zone(tenant),
            scores=ResponseScore.objects.all(),
            daily=TextDaily,
            mention=TextMention,
        )


def response_enqueue_scoring(*, response_id: int) -> bool:
    """Hand a response to the scoring workers, who take them in batches (organizations.broker
    publish_batched: one Redis round trip in the request). A broker outage is logged, not
    raised: the response is already saved and the sweeper will enqueue it again."""
    from analytics.tasks import score_waiting_responses

    return publish_batched(score_waiting_responses, response_id)


def unscored_response_ids(*, older_than: timedelta | None = None, limit: int = 1000) -> list[int]:
    """Complete responses received before now - older_than with no score yet, all tenants."""
    grace = (
        older_than
        if older_than is not None
        else timedelta(seconds=settings.CEM_SWEEP_GRACE_SECONDS)
    )
    with system_context():
        return list(
            Response.all_tenants.filter(
                status=Response.Status.COMPLETE,
                score__isnull=True,
                received_at__lte=timezone.now() - grace,
            )
            .order_by("received_at")
            .values_list("pk", flat=True)[:limit]
        )


SWEEP_BATCH = 50


def unscored_responses_enqueue(*, older_than: timedelta | None = None) -> int:
    """Hand the responses left unscored (a broker outage, a worker killed with a batch in
    hand) to the workers in batches of their own, and make sure responses waiting in the
    workers' list have a task to take them."""
    from analytics.tasks import score_waiting_responses

    ids = unscored_response_ids(older_than=older_than)
    for start in range(0, len(ids), SWEEP_BATCH):
        publish(score_waiting_responses, ids[start : start + SWEEP_BATCH])
    if ids:
        logger.info("sweeper re-enqueued %d unscored responses", len(ids))
    if batch_waiting(score_waiting_responses):
        publish(score_waiting_responses)
    return len(ids)


TERM_MAX_LENGTH = 20
TERMS_PER_CHANGE = 200
RESCORE_DAYS = 90


def _terms_check(terms: list[str], *, min_length: int = 1) -> None:
    if not terms:
        raise ValidationError(_("请至少填写一个词。"))
    if len(terms) > TERMS_PER_CHANGE:
        raise ValidationError(_("一次最多添加 %(n)s 个词。") % {"n": TERMS_PER_CHANGE})
    for term in terms:
        if not min_length <= len(term) <= TERM_MAX_LENGTH:
            raise ValidationError(
                _("“%(term)s”的长度应为 %(min)s 到 %(max)s 个字。")
                % {"term": term, "min": min_length, "max": TERM_MAX_LENGTH}
            )


def _dictionary_changed() -> TextDictionary:
    """Count one more revision of the tenant's dictionary: scores made before are outdated."""
    dictionary, _created = TextDictionary.objects.select_for_update().get_or_create(
        tenant=current_tenant()
    )
    dictionary.revision += 1
    dictionary.updated_at = timezone.now()
    dictionary.save()
    return dictionary


def _named_terms_add(
    model: type[Aspect] | type[Topic],
    *,
    name: str,
    field: str,
    terms: str | list[str],
    min_length: int,
    by: Actor,
) -> Aspect | Topic:
    """Create the tenant's aspect or topic `name`, or extend its list `field` with `terms`."""
    name = name.strip()
    terms = terms_parse(terms)
    _terms_check(terms, min_length=min_length)
    row = model.objects.select_for_update().filter(name=name).first() or model(name=name)
    row.tenant = current_tenant()
    before = list(getattr(row, field))
    setattr(row, field, before + [term for term in terms if term not in before])
    row.full_clean()
    row.save()
    dictionary = _dictionary_changed()
    audit_record(
        by=by,
        action=f"text_dictionary.{model._meta.model_name}_{field}_add",
        target=dictionary,
        before={"name": name, field: before},
        after={"name": name, field: getattr(row, field)},
    )
    return row


def _dictionary_entry_delete(entry: Aspect | UserWord | Topic, *, by: Actor) -> None:
    before = {"entry": str(entry)}
    action = f"text_dictionary.{entry._meta.model_name}_delete"
    entry.delete()
    audit_record(by=by, action=action, target=_dictionary_changed(), before=before)


@transaction.atomic
def aspect_terms_add(*, name: str, terms: str | list[str], by: Actor) -> Aspect:
    """Add trigger terms to the tenant's aspect `name`, created if new. Under a built-in name
    (服务态度, 等待时间, ...) the terms extend that aspect."""
    return _named_terms_add(Aspect, name=name, field="terms", terms=terms, min_length=1, by=by)


@transaction.atomic
def aspect_delete(*, aspect: Aspect, by: Actor) -> None:
    """Remove the tenant's aspect (or its extra terms of a built-in aspect)."""
    _dictionary_entry_delete(aspect, by=by)


@transaction.atomic
def user_words_add(*, words: str | list[str], by: Actor) -> list[UserWord]:
    """Add words to the tenant's jieba user dictionary; words already there are skipped."""
    words = terms_parse(words)
    _terms_check(words, min_length=2)
    known = set(UserWord.objects.filter(word__in=words).values_list("word", flat=True))
    added = [UserWord(tenant=current_tenant(), word=word) for word in words if word not in known]
    UserWord.objects.bulk_create(added)
    audit_record(
        by=by,
        action="text_dictionary.userword_add",
        target=_dictionary_changed(),
        after={"words": [word.word for word in added]},
    )
    return added


@transaction.atomic
def user_word_delete(*, user_word: UserWord, by: Actor) -> None:
    _dictionary_entry_delete(user_word, by=by)


@transaction.atomic
def topic_keywords_add(*, name: str, keywords: str | list[str], by: Actor) -> Topic:
    """Add keywords to the tenant's topic `name`, created if new. A keyword of one character
    ("卡") would put half the texts in the topic, so two at least."""
    return _named_terms_add(Topic, name=name, field="keywords", terms=keywords, min_length=2, by=by)


@transaction.atomic
def topic_delete(*, topic: Topic, by: Actor) -> None:
    _dictionary_entry_delete(topic, by=by)


@transaction.atomic
def text_rescore_request(*, by: Actor, days: int = RESCORE_DAYS) -> None:
    """Ask for the tenant's texts of the last `days` to be analysed again with its current
    dictionary and model; a task finds them after this transaction commits."""
    from analytics.tasks import rescore_texts

    tenant = current_tenant()
    dictionary, _created = TextDictionary.objects.get_or_create(tenant=tenant)
    audit_record(by=by, action="text_dictionary.rescore", target=dictionary, after={"days": days})
    transaction.on_commit(lambda: rescore_texts.delay(tenant.pk, days))


def outdated_texts_enqueue(*, days: int = RESCORE_DAYS) -> int:
    """Enqueue scoring of the current tenant's texts of the last `days` whose score was made
    with another analyzer or dictionary version; returns how many."""
    version = analyzer_version(text_dictionary())
    ids = list(
        ResponseScore.objects.filter(
            response__submitted_at__gte=timezone.now() - timedelta(days=days)
        )
        .exclude(verbatim="")
        .exclude(model_version=version)
        .values_list("response_id", flat=True)
    )
    for response_id in ids:
        response_enqueue_scoring(response_id=response_id)
    return len(ids)
