"""Writes of analytics: scoring responses in batches (with the text and metric rollups they
count in), getting a response scored after its commit, rebuilding a tenant's rollups, the
tenant's text dictionary (aspects, user words, topics) with rescoring of past texts, and the
discovery of themes among the texts no topic covers."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from analytics import selectors
from analytics.chinese import terms_parse
from analytics.kept_pages import kept_pages_stale
from analytics.keywords import is_content_word
from analytics.metric_drops import DROP_METRICS, WINDOW_DAYS, DropTest, WeekScore, drop_test
from analytics.metric_rollups import (
    MetricKey,
    ResponseCount,
    RowKey,
    Totals,
    metric_rows_add,
    metric_rows_rebuild,
    response_day,
    response_metric_totals,
    rows_for,
    rows_merge,
    totals_difference,
)
from analytics.models import (
    Aspect,
    Metric,
    MetricAlert,
    MetricDaily,
    ResponseScore,
    TextDaily,
    TextDictionary,
    TextMention,
    TextTerm,
    TextThemes,
    Topic,
    UserWord,
)
from analytics.rollups import (
    Cell,
    RollupsRebuilt,
    TallyKey,
    mentions_insert,
    rollups_rebuild,
    tallies_add,
    tallies_difference,
    tallies_mentions,
    tenant_rollups_lock,
    tenant_zone,
    text_cell,
    text_tallies,
)
from analytics.scoring import response_metrics
from analytics.selectors import SeriesKey, text_dictionary, text_rows
from analytics.signals import metric_alerts_raised, metric_rollups_recounting, responses_scored
from analytics.text import TenantDictionary, analyzer_version, text_analyze
from analytics.text_overview import Tally
from analytics.topics import ThemeDocument, themes_discover
from journeys.models import Touchpoint
from organizations.access import actor_require_permission, actor_scope_path
from organizations.broker import batch_waiting, publish, publish_batched
from organizations.models import OrgUnit, Tenant
from organizations.services import Actor, audit_record
from organizations.tenancy import current_tenant, each_active_tenant, system_context, tenant_context
from surveys.models import Response

logger = logging.getLogger(__name__)


def response_score(*, response_id: int) -> ResponseScore | None:
    """Score one response: responses_score for a batch of one. None when it no longer
    exists."""
    return responses_score(response_ids=[response_id]).get(response_id)


def responses_score(*, response_ids: Sequence[int]) -> dict[int, ResponseScore]:
    """Score a batch of responses, of any tenants, in one transaction and a constant number of
    queries per tenant; safe to run any number of times. Returns the scores by response id.

    Re-reads the responses; skips those already scored by the current model; computes the
    metrics and text analytics of the others and saves them; counts them in the daily text and
    metric rollups (in place of what an earlier score counted), the whole batch's increments
    merged into one upsert per kind of rollup; lets alert rules react (responses_scored); and
    moves the responses' updated_at. A response deleted meanwhile is left out.
    """
    with system_context():
        responses = list(
            Response.all_tenants.select_related("tenant", "version", "touchpoint", "org_unit")
            .filter(pk__in=response_ids)
            .order_by("tenant_id", "pk")
        )
    vanished = set(response_ids) - {response.pk for response in responses}
    if vanished:
        logger.warning("responses %s vanished before scoring", sorted(vanished))
    by_tenant: dict[int, list[Response]] = {}
    for response in responses:
        by_tenant.setdefault(response.tenant_id, []).append(response)
    scores: dict[int, ResponseScore] = {}
    rescored_tenants = []
    # Tenants in id order: two batches take their rollup and ticket locks in the same order.
    with transaction.atomic():
        for group in by_tenant.values():
            with tenant_context(group[0].tenant):
                scored, rescored = _tenant_responses_score(group)
            scores.update(scored)
            if rescored:
                rescored_tenants.append(group[0].tenant)
    for tenant in rescored_tenants:
        with tenant_context(tenant):
            _themes_after_rescoring()
    return scores


class _Scored(NamedTuple):
    """A score saved by this batch, with what its text counts in the text rollups now, and
    what its response counted in the rollups before."""

    score: ResponseScore
    text_after: dict[TallyKey, Tally]
    text_before: dict[TallyKey, Tally]
    metrics_before: dict[MetricKey, Totals]


def _tenant_responses_score(
    responses: list[Response],
) -> tuple[dict[int, ResponseScore], bool]:
    """responses_score for the current tenant's responses, in its transaction; and whether a
    text scored before was scored again."""
    tenant = current_tenant()
    dictionary = text_dictionary()
    version = analyzer_version(dictionary)
    existing = {
        score.response_id: score
        for score in ResponseScore.objects.select_for_update()
        .filter(response_id__in=[response.pk for response in responses])
        .order_by("pk")
    }
    scores = {
        response_id: score
        for response_id, score in existing.items()
        if score.model_version == version
    }
    waiting = [response for response in responses if response.pk not in scores]
    if not waiting:
        return scores, False
    tenant_rollups_lock(tenant.pk, exclusive=False)
    now = timezone.now()
    fresh: list[ResponseScore] = []
    scored: list[_Scored] = []
    for response in waiting:
        fields = _score_fields(response, dictionary=dictionary, version=version, now=now)
        score = existing.get(response.pk)
        if score is None:
            fresh.append(ResponseScore(tenant=tenant, response=response, **fields))
            continue
        before = _text_tallies(score), _metric_totals(score, response)
        for name, value in fields.items():
            setattr(score, name, value)
        scored.append(_Scored(score, _text_tallies(score), *before))
    rescored = [entry.score for entry in scored]
    if rescored:
        ResponseScore.objects.bulk_update(rescored, list(SCORE_FIELDS))
        TextMention.objects.filter(score__in=rescored).delete()
    created, theirs = _scores_create(fresh)
    scored += [_Scored(score, _text_tallies(score), {}, {}) for score in created]
    mentions_insert(
        TextMention,
        tenant_id=tenant.pk,
        mentions=[
            (entry.score.pk, mention)
            for entry in scored
            for mention in tallies_mentions(entry.text_after)
        ],
    )
    _text_rollups_add(scored, zone=tenant_zone(tenant))
    extra: dict[int, dict[MetricKey, Totals]] = {}
    saved = [entry.score for entry in scored]
    for _receiver, added in responses_scored.send(sender=ResponseScore, scores=saved):
        for response_id, totals in (added or {}).items():
            counted = extra.setdefault(response_id, {})
            for key, value in totals.items():
                counted[key] = counted.get(key, Totals()).plus(value)
    _metric_rollups_add(scored, extra=extra, zone=tenant_zone(tenant))
    # A partner's sync sees the new scores and tickets as a change of their responses; the
    # moment is taken last, close to the commit that shows them.
    Response.objects.filter(pk__in=[score.response_id for score in saved]).update(
        updated_at=timezone.now()
    )
    scores.update(theirs)
    scores.update((score.response_id, score) for score in saved)
    return scores, any(score.verbatim for score in rescored)


SCORE_FIELDS = (
    "nps",
    "nps_category",
    "csat",
    "ces",
    "verbatim",
    "sentiment_label",
    "sentiment_score",
    "keywords",
    "aspects",
    "risk_flags",
    "topics",
    "relations",
    "model_version",
    "scored_at",
)


def _score_fields(
    response: Response, *, dictionary: TenantDictionary, version: str, now: datetime
) -> dict[str, Any]:
    """The values of SCORE_FIELDS for `response`: its metrics and its text's analysis."""
    metrics = response_metrics(response.version.definition, response.answers)
    analysis = text_analyze(metrics.verbatim, dictionary=dictionary)
    return {
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
        "relations": analysis.relations if analysis else [],
        "model_version": version,
        "scored_at": now,
    }


def _scores_create(
    scores: list[ResponseScore],
) -> tuple[list[ResponseScore], dict[int, ResponseScore]]:
    """Insert the scores of responses scored for the first time: (those inserted, by response
    id those another worker inserted between our read and our write). Theirs stand, and so do
    the rollups they counted; the insert is tried again without them."""
    theirs: dict[int, ResponseScore] = {}
    while scores:
        try:
            with transaction.atomic():
                return ResponseScore.objects.bulk_create(scores), theirs
        except IntegrityError:
            found = ResponseScore.objects.filter(
                response_id__in=[score.response_id for score in scores]
            )
            before = len(theirs)
            theirs.update((score.response_id, score) for score in found)
            if len(theirs) == before:
                raise
            scores = [score for score in scores if score.response_id not in theirs]
    return [], theirs


def _text_tallies(score: ResponseScore) -> dict[TallyKey, Tally]:
    return text_tallies(score) if score.verbatim else {}


def _text_rollups_add(scored: list[_Scored], *, zone: ZoneInfo) -> None:
    """Make the text rollups count the batch's scores instead of what their previous analysis
    counted: one upsert for the batch; in the scoring transaction, which holds the tenant's
    rollup lock."""
    tallies: dict[tuple[Cell, TallyKey], Tally] = {}
    for score, text_after, text_before, _metrics_before in scored:
        response = score.response
        cell = text_cell(response.submitted_at, response.touchpoint_id, response.org_unit_id, zone)
        if cell is None:
            continue
        for key, change in tallies_difference(text_after, text_before).items():
            tallies[(cell, key)] = tallies.get((cell, key), Tally()).plus(change)
    tallies_add(
        TextDaily,
        TextTerm,
        tenant_id=current_tenant().pk,
        tallies={key: tally for key, tally in tallies.items() if tally != Tally()},
    )


def _metric_totals(score: ResponseScore, response: Response) -> dict[MetricKey, Totals]:
    return response_metric_totals(
        score,
        survey_id=response.survey_id,
        definition=response.version.definition,
        answers=response.answers,
    )


def _metric_rollups_add(
    scored: list[_Scored], *, extra: dict[int, dict[MetricKey, Totals]], zone: ZoneInfo
) -> None:
    """Add what the batch's responses count now, less what they counted before, and `extra`
    (the tickets opened for them) to their metric rollup rows: one upsert for the batch."""
    rows: dict[RowKey, Totals] = {}
    for score, _text_after, _text_before, metrics_before in scored:
        response = score.response
        if response.submitted_at is None:
            continue
        totals = totals_difference(_metric_totals(score, response), metrics_before)
        for key, value in extra.get(response.pk, {}).items():
            totals[key] = totals.get(key, Totals()).plus(value)
        rows_merge(
            rows,
            rows_for(
                day=response_day(response.submitted_at, zone),
                touchpoint_id=response.touchpoint_id,
                org_unit_path=response.org_unit.path if response.org_unit_id else "",
                totals=totals,
            ),
        )
    tenant_id = current_tenant().pk
    metric_rows_add(
        MetricDaily,
        tenant_id=tenant_id,
        rows={row: value for row, value in rows.items() if value != Totals()},
    )
    kept_pages_stale(tenant_id)


def metric_ticket_count(*, response: Response) -> None:
    """Count a ticket opened for `response` in its metric rollups (alerts calls this in the
    transaction that opens a ticket outside a scoring batch)."""
    if response.submitted_at is None:
        return
    metric_rows_add(
        MetricDaily,
        tenant_id=response.tenant_id,
        rows=rows_for(
            day=response_day(response.submitted_at, tenant_zone(response.tenant)),
            touchpoint_id=response.touchpoint_id,
            org_unit_path=response.org_unit.path if response.org_unit_id else "",
            totals={(Metric.TICKETS, ""): Totals(1)},
        ),
    )
    kept_pages_stale(response.tenant_id)


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
        kept_pages_stale(tenant.pk)
        return metric_rows_rebuild(MetricDaily, tenant_id=tenant.pk, counts=counts())


def text_rollups_rebuild() -> RollupsRebuilt:
    """Recount the current tenant's text rollups and mentions from its scores, replacing them:
    for data scored before rollups existed, or after a change of the tenant's time zone. One
    transaction: the page shows the old numbers until it commits, and the tenant's scoring
    waits for it (a few seconds per 100,000 texts)."""
    tenant = current_tenant()
    with transaction.atomic():
        tenant_rollups_lock(tenant.pk, exclusive=True)
        kept_pages_stale(tenant.pk)  # the journey map's top complaints are read from them
        return rollups_rebuild(
            tenant_id=tenant.pk,
            zone=tenant_zone(tenant),
            scores=ResponseScore.objects.all(),
            daily=TextDaily,
            term=TextTerm,
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


SWEEP_BATCH = 200


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


def _outdated_texts(*, days: int) -> QuerySet[ResponseScore]:
    """The current tenant's texts of the last `days` analysed by another analyzer or
    dictionary version than its current one."""
    return (
        ResponseScore.objects.filter(
            response__submitted_at__gte=timezone.now() - timedelta(days=days)
        )
        .exclude(verbatim="")
        .exclude(model_version=analyzer_version(text_dictionary()))
    )


def outdated_texts_enqueue(*, days: int = RESCORE_DAYS) -> int:
    """Enqueue scoring of the current tenant's texts of the last `days` whose score was made
    with another analyzer or dictionary version; returns how many."""
    ids = list(_outdated_texts(days=days).values_list("response_id", flat=True))
    for response_id in ids:
        response_enqueue_scoring(response_id=response_id)
    return len(ids)


THEME_DAYS = 90  # themes are searched among the texts of these last days
THEME_TEXTS = 1000  # the newest of them no topic covers: clustering is quadratic in texts
NEVER = datetime(2000, 1, 1, tzinfo=UTC)


def text_themes_discover() -> TextThemes:
    """Find the themes among the current tenant's newest texts of the last THEME_DAYS that no
    topic covers, and keep them for the text page (replacing what it showed). Runs on a
    worker: cutting a thousand texts with jieba and clustering them takes seconds and over a
    hundred megabytes."""
    dictionary = text_dictionary()
    rows = text_rows(
        scope_path="",
        since=timezone.now() - timedelta(days=THEME_DAYS),
        uncovered=True,
        limit=THEME_TEXTS,
    )
    verbatims = dict(
        ResponseScore.objects.filter(pk__in=[row.score_id for row in rows]).values_list(
            "pk", "verbatim"
        )
    )
    documents = [
        ThemeDocument(pk, [word for word in dictionary.words(text) if is_content_word(word)])
        for pk, text in verbatims.items()
    ]
    themes = themes_discover(documents)
    found, _created = TextThemes.objects.update_or_create(
        tenant=current_tenant(),
        defaults={
            "computed_at": timezone.now(),
            "days": THEME_DAYS,
            "texts": len(documents),
            "model_version": analyzer_version(dictionary),
            "themes": [theme.as_json() for theme in themes],
        },
    )
    return found


def _themes_after_rescoring() -> None:
    """Once the current tenant's rescoring is done (no text of the last RESCORE_DAYS is left
    with another analyzer), have its themes found again: the texts a new topic now covers
    leave them. Called after each rescoring batch commits, so the last one to commit sees
    the others' work."""
    from analytics.tasks import discover_text_themes

    if not _outdated_texts(days=RESCORE_DAYS).exists():
        publish(discover_text_themes, current_tenant().pk)


def tenants_with_themes_due() -> list[int]:
    """Active tenants with a text scored since their themes were last found (or never
    found): the beat has their themes found again. One probe of the scores' (tenant,
    scored_at) index per tenant."""
    last_found = TextThemes.all_tenants.filter(tenant=OuterRef("pk")).values("computed_at")
    texts = ResponseScore.all_tenants.filter(tenant=OuterRef("pk")).exclude(verbatim="")
    with system_context():
        return list(
            Tenant.objects.filter(is_active=True)
            .annotate(last_found=Coalesce(Subquery(last_found[:1]), Value(NEVER)))
            .filter(Exists(texts.filter(scored_at__gt=OuterRef("last_found"))))
            .order_by("pk")
            .values_list("pk", flat=True)
        )


def metric_drops_sweep() -> int:
    """The daily beat job: detect NPS, CSAT and CES drops for every active tenant, each in its own
    tenant context; returns the alerts raised."""
    return sum(len(metric_drops_detect()) for _tenant in each_active_tenant())


def metric_drops_detect(*, today: date | None = None) -> list[MetricAlert]:
    """Test every org unit's NPS, CSAT and CES (over all touchpoints and at each) of the seven
    local days before `today` (the tenant's today) against its previous weeks
    (analytics.metric_drops), and raise an alert for each drop, owned by the unit's manager;
    the owners are told after the commit (metric_alerts_raised). Returns the alerts raised.

    Safe to run twice: a series whose last alert's window shares a day with this window is
    not raised again, so a drop that lasts raises one alert, not one a day; the unique
    constraint turns away a concurrent run's second alert. A drop is raised where it happens
    (_most_specific), not again for the units above it."""
    if today is None:
        today = timezone.localdate(timezone=ZoneInfo(current_tenant().time_zone))
    window_end = today - timedelta(days=1)
    window_start = window_end - timedelta(days=WINDOW_DAYS - 1)
    recently_alerted = set(
        MetricAlert.objects.filter(window_end__gte=window_start).values_list(
            "metric", "org_unit_id", "touchpoint_id"
        )
    )
    raised = []
    for metric in DROP_METRICS:
        drops = _drops(selectors.metric_weeks_of_series(window_end=window_end, metric=metric))
        for key in sorted(_most_specific(drops), key=lambda key: (key[0], key[1] or 0)):
            if (metric, *key) in recently_alerted:
                continue
            unit, found, weeks = drops[key]
            alert = MetricAlert(
                metric=metric,
                org_unit=unit,
                touchpoint_id=key[1],
                window_start=window_start,
                window_end=window_end,
                answers=weeks[-1].answers,
                value=found.value,
                baseline=found.baseline,
                lower_limit=found.lower_limit,
                history_answers=found.history_answers,
                dispersion=found.dispersion,
                weeks=[
                    {"end": week.end.isoformat(), "answers": week.answers, "value": week.value}
                    for week in weeks
                ],
                owner_id=unit.manager_id,
            )
            try:
                with transaction.atomic():
                    alert.save()
            except IntegrityError:  # a concurrent run raised it a moment ago
                continue
            raised.append(alert)
    if raised:
        alert_ids = [alert.pk for alert in raised]
        transaction.on_commit(
            lambda: metric_alerts_raised.send(sender=MetricAlert, alert_ids=alert_ids)
        )
    return raised


def _drops(series: dict[SeriesKey, list[WeekScore]]) -> dict[SeriesKey, _Drop]:
    """The series of active units (at touchpoints that still exist) whose window fell below
    its limit."""
    units = OrgUnit.objects.in_bulk({unit_id for unit_id, _touchpoint in series})
    touchpoint_ids = set(
        Touchpoint.objects.filter(
            pk__in={touchpoint for _unit, touchpoint in series if touchpoint}
        ).values_list("pk", flat=True)
    )
    drops: dict[SeriesKey, _Drop] = {}
    for (unit_id, touchpoint_id), weeks in series.items():
        unit = units.get(unit_id)
        if (
            unit is None
            or not unit.is_active
            or (touchpoint_id is not None and touchpoint_id not in touchpoint_ids)
        ):
            continue
        found = drop_test(history=weeks[:-1], window=weeks[-1])
        if found is not None and found.is_drop:
            drops[(unit_id, touchpoint_id)] = _Drop(unit, found, weeks)
    return drops


class _Drop(NamedTuple):
    """A series whose window fell below its limit: its unit, the test, its weeks."""

    unit: OrgUnit
    found: DropTest
    weeks: list[WeekScore]


def _most_specific(drops: dict[SeriesKey, _Drop]) -> list[SeriesKey]:
    """The drops no narrower drop explains: a unit's drop is left out when a unit of its
    subtree dropped at the same touchpoint (or at any, for its all-touchpoint series), so one
    branch's fall is raised once, at the branch and touchpoint, not again for the region
    and head office its answers also count in."""
    return [
        (unit_id, touchpoint_id)
        for (unit_id, touchpoint_id), drop in drops.items()
        if not any(
            other.unit.path.startswith(drop.unit.path)
            and (touchpoint_id is None or other_touchpoint == touchpoint_id)
            and (other_unit_id, other_touchpoint) != (unit_id, touchpoint_id)
            for (other_unit_id, other_touchpoint), other in drops.items()
        )
    ]


# What each action does to a metric alert: the statuses it may start from, the one it leaves.
METRIC_ALERT_TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "acknowledge": (frozenset({MetricAlert.Status.OPEN}), MetricAlert.Status.ACKNOWLEDGED),
    "close": (
        frozenset({MetricAlert.Status.OPEN, MetricAlert.Status.ACKNOWLEDGED}),
        MetricAlert.Status.CLOSED,
    ),
}


@transaction.atomic
def metric_alert_transition(*, alert_id: int, action: str, by: Actor) -> MetricAlert:
    """Acknowledge or close a metric alert of the actor's subtree; refused (PermissionDenied)
    for a role without metric_alert.manage, (ValidationError) for an action its status does
    not allow. Audited."""
    actor_require_permission(by, "metric_alert.manage")
    alert = (
        selectors.metric_alerts_in_scope(scope_path=actor_scope_path(by))
        .select_for_update(of=("self",))
        .filter(pk=alert_id)
        .first()
    )
    if alert is None:
        raise MetricAlert.DoesNotExist(alert_id)
    allowed_from, status = METRIC_ALERT_TRANSITIONS.get(action, (frozenset(), ""))
    if alert.status not in allowed_from:
        raise ValidationError(_("该指标预警当前状态下不能执行此操作。"))
    before = {"status": alert.status}
    alert.status = status
    stamp = "acknowledged_at" if status == MetricAlert.Status.ACKNOWLEDGED else "closed_at"
    setattr(alert, stamp, timezone.now())
    alert.save(update_fields=["status", stamp])
    audit_record(
        by=by,
        action=f"metric_alert.{action}",
        target=alert,
        before=before,
        after={"status": status},
    )
    return alert
