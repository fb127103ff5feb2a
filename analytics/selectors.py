"""Reads of analytics: the dashboard's metrics, trends, per-touchpoint table and verbatims, the
text analytics page's rollup sums and verbatims, and the tenant's compiled text dictionary.

Every aggregate runs in the database (one query each), scoped to the member's org subtree.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from django.db import connection
from django.db.models import (
    Avg,
    Case,
    Count,
    Exists,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
    Window,
)
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from analytics.aspects import BUILTIN_ASPECTS
from analytics.metric_drops import WINDOW_DAYS, WeekScore, week_ends
from analytics.metric_rollups import CES_SCALE, CSAT_SCALE, Totals, bad_at_most, good_at_least
from analytics.models import (
    Aspect,
    Metric,
    MetricAlert,
    MetricDaily,
    NpsCategory,
    ResponseScore,
    Sentiment,
    TextDaily,
    TextDictionary,
    TextKind,
    TextMention,
    TextTerm,
    TextThemes,
    Topic,
    UserWord,
)
from analytics.rollups import packed_read
from analytics.scoring import net_promoter_score
from analytics.text import BUILTIN_DICTIONARY, TenantDictionary
from analytics.text_overview import (
    RISING_KEYWORDS,
    RISING_MIN_COUNT,
    TEXT_ROW_FIELDS,
    DrillDown,
    Tally,
    TextCounts,
    TextRow,
)
from analytics.topics import (
    DiscoveredTheme,
    Theme,
    ThemeText,
    TopicDefinition,
    themes_in_view,
)
from customers.selectors import customers_tagged
from journeys.models import Journey, Touchpoint
from organizations.config_version import KeptRows, request_seen
from organizations.models import OrgUnit
from organizations.tenancy import current_tenant

DEFAULT_PERIOD_DAYS = 90


@dataclass(frozen=True)
class MetricSummary:
    responses: int
    nps: float | None
    nps_count: int
    csat: float | None
    csat_count: int
    ces: float | None
    ces_count: int

    @classmethod
    def from_totals(cls, cells: Mapping[tuple[str, str], Totals]) -> MetricSummary:
        """Of the metric rollup sums of one cell, keyed by (metric, key)."""
        nps, csat, ces = (cells.get((metric, ""), Totals()) for metric in ("nps", "csat", "ces"))
        return cls(
            responses=cells.get(("responses", ""), Totals()).n,
            nps=net_promoter_score(nps.good, nps.bad, nps.n),
            nps_count=nps.n,
            csat=round(csat.total / csat.n, 2) if csat.n else None,
            csat_count=csat.n,
            ces=round(ces.total / ces.n, 2) if ces.n else None,
            ces_count=ces.n,
        )

    @classmethod
    def from_row(cls, row: dict) -> MetricSummary:
        return cls(
            responses=row["responses"],
            nps=net_promoter_score(row["promoters"], row["detractors"], row["nps_count"]),
            nps_count=row["nps_count"],
            csat=round(row["csat_mean"], 2) if row["csat_mean"] is not None else None,
            csat_count=row["csat_count"],
            ces=round(row["ces_mean"], 2) if row["ces_mean"] is not None else None,
            ces_count=row["ces_count"],
        )


_AGGREGATES = {
    "responses": Count("id"),
    "promoters": Count("id", filter=Q(nps_category=NpsCategory.PROMOTER)),
    "detractors": Count("id", filter=Q(nps_category=NpsCategory.DETRACTOR)),
    "nps_count": Count("nps"),
    "csat_mean": Avg("csat"),
    "csat_count": Count("csat"),
    "ces_mean": Avg("ces"),
    "ces_count": Count("ces"),
}


def scores_in_scope(
    *, scope_path: str = "", since: datetime | None = None
) -> QuerySet[ResponseScore]:
    since = since or timezone.now() - timedelta(days=DEFAULT_PERIOD_DAYS)
    scores = ResponseScore.objects.filter(response__submitted_at__gte=since)
    if scope_path:
        scores = scores.filter(response__org_unit__path__startswith=scope_path)
    return scores


def metric_summary(scores: QuerySet[ResponseScore]) -> MetricSummary:
    """The raw aggregate of `scores`: what the dashboard's rollups must add up to (the tests
    and bench.dashboard compare the two)."""
    return MetricSummary.from_row(scores.aggregate(**_AGGREGATES))


_kept_catalogues: KeptRows[list[Touchpoint]] = KeptRows()


def touchpoint_catalogue() -> list[Touchpoint]:
    """Every touchpoint of the tenant, archived ones too, with its stage and journey, in
    journey, stage and touchpoint order: one query, or none on a page while the process keeps
    it under the tenant's configuration version (a journey, stage or touchpoint changed
    retires it). The touchpoints are shared by the requests that read them: read-only."""
    tenant_id, seen = current_tenant().pk, request_seen()
    kept = _kept_catalogues.get(tenant_id, seen)
    if kept is not None:
        return list(kept)
    catalogue = list(
        Touchpoint.objects.select_related("stage__journey").order_by(
            "stage__journey__name", "stage__position", "stage_id", "id"
        )
    )
    if seen is not None:
        _kept_catalogues.put(tenant_id, tenant_id, seen, catalogue)
    return list(catalogue)


@dataclass(frozen=True)
class ScoresWhere:
    """Which scored responses a dashboard read takes: submitted in [since, until), in an
    org-unit subtree ("": the whole tenant), of the touchpoints given (None: any), of one
    survey and of the customers with one tag where given."""

    since: datetime
    until: datetime
    org_unit_path: str = ""
    touchpoint_ids: list[int] | None = None
    survey_id: int | None = None
    tag: str = ""


def dashboard_verbatims(where: ScoresWhere, *, limit: int = 10) -> QuerySet[ResponseScore]:
    """The newest texts of the responses `where` names, with their touchpoints and units."""
    scores = _scores_submitted(where).exclude(verbatim="")
    return scores.select_related("response__touchpoint", "response__org_unit").order_by(
        "-response__submitted_at", "-pk"
    )[:limit]


def _scores_submitted(where: ScoresWhere) -> QuerySet[ResponseScore]:
    """The scores of the responses `where` names: what the dashboard's filters leave."""
    scores = ResponseScore.objects.filter(
        response__submitted_at__gte=where.since, response__submitted_at__lt=where.until
    )
    if where.org_unit_path:
        scores = scores.filter(response__org_unit__path__startswith=where.org_unit_path)
    if where.touchpoint_ids is not None:
        scores = scores.filter(response__touchpoint_id__in=where.touchpoint_ids)
    if where.survey_id is not None:
        scores = scores.filter(response__survey_id=where.survey_id)
    if where.tag:
        scores = scores.filter(customers_tagged(where.tag, prefix="response__customer__"))
    return scores


def response_sums(
    *,
    org_units: list[OrgUnit | None],
    periods: list[tuple[date, date]],
    touchpoint_ids: list[int] | None,
    by: SumsBy = "touchpoint_id",
    survey_id: int | None = None,
    tag: str = "",
) -> list[dict[tuple, Totals]]:
    """What metric_sums gives for SUMMARY metrics (responses, NPS, CSAT, CES), counted from
    the scored responses instead of the rollups: for the filters the rollups do not keep (one
    survey, a customer tag). `org_units` are subtrees that do not overlap (None: the whole
    tenant, keyed 0). One query; it reads every scored response the filters leave."""
    if not org_units or (touchpoint_ids is not None and not touchpoint_ids):
        return [{} for _ in periods]
    zone = ZoneInfo(current_tenant().time_zone)

    def instant(day: date) -> datetime:
        return datetime.combine(day, time.min, tzinfo=zone)

    bounds = [(instant(start), instant(end + timedelta(days=1))) for start, end in periods]
    scores = _scores_submitted(
        ScoresWhere(
            since=min(since for since, _ in bounds),
            until=max(until for _, until in bounds),
            touchpoint_ids=touchpoint_ids,
            survey_id=survey_id,
            tag=tag,
        )
    )
    period = Case(
        *[
            When(response__submitted_at__gte=since, response__submitted_at__lt=until, then=i)
            for i, (since, until) in enumerate(bounds)
        ],
        output_field=IntegerField(),
    )
    if org_units == [None]:
        unit = Value(0)
    else:
        unit = Case(
            *[When(response__org_unit__path__startswith=u.path, then=u.pk) for u in org_units],
            output_field=IntegerField(),
        )
    group = {
        "touchpoint_id": Coalesce("response__touchpoint_id", 0),
        "org_unit_id": unit,
        "day": TruncDate("response__submitted_at", tzinfo=zone),
    }[by]
    csat_good, csat_bad = good_at_least(CSAT_SCALE), bad_at_most(CSAT_SCALE)
    ces_good, ces_bad = good_at_least(CES_SCALE), bad_at_most(CES_SCALE)
    rows = (
        scores.annotate(period=period, unit=unit, group=group)
        .filter(period__isnull=False, unit__isnull=False)
        .values("period", "group")
        .annotate(
            responses=Count("pk"),
            nps_n=Count("nps"),
            nps_total=Sum("nps"),
            promoters=Count("pk", filter=Q(nps_category=NpsCategory.PROMOTER)),
            detractors=Count("pk", filter=Q(nps_category=NpsCategory.DETRACTOR)),
            csat_n=Count("csat"),
            csat_total=Sum("csat"),
            csat_good=Count("pk", filter=Q(csat__gte=csat_good)),
            csat_bad=Count("pk", filter=Q(csat__lte=csat_bad)),
            ces_n=Count("ces"),
            ces_total=Sum("ces"),
            ces_good=Count("pk", filter=Q(ces__gte=ces_good)),
            ces_bad=Count("pk", filter=Q(ces__lte=ces_bad)),
        )
        .order_by()
    )
    found: list[dict[tuple, Totals]] = [{} for _ in periods]
    for row in rows:
        sums, key = found[row["period"]], row["group"]
        sums[(key, Metric.RESPONSES, "")] = Totals(row["responses"])
        for metric, name, good, bad in (
            (Metric.NPS, "nps", "promoters", "detractors"),
            (Metric.CSAT, "csat", "csat_good", "csat_bad"),
            (Metric.CES, "ces", "ces_good", "ces_bad"),
        ):
            if row[f"{name}_n"]:
                sums[(key, metric, "")] = Totals(
                    row[f"{name}_n"], float(row[f"{name}_total"]), row[good], row[bad]
                )
    return found


# Of each NPS answer the key driver analysis reads: score id, customer (the external id, ""
# when unknown), response id, touchpoint id (None: none), NPS (0-10), CSAT (1-5 or None), and
# when it was submitted.
DRIVER_ANSWER_FIELDS = (
    "pk",
    "response__external_customer_id",
    "response_id",
    "response__touchpoint_id",
    "nps",
    "csat",
    "response__submitted_at",
)


@dataclass(frozen=True)
class DriverRows:
    """The rows of a key driver analysis: the NPS answers (DRIVER_ANSWER_FIELDS) and the
    (score id, aspect) of every aspect those answers' texts mention negatively."""

    answers: list[tuple]
    negative_aspects: list[tuple[int, str]]


def driver_rows(where: ScoresWhere) -> DriverRows:
    """The NPS answers of the responses `where` names, and their negative aspect mentions: two
    queries, whatever the number of answers, touchpoints or aspects."""
    answered = _scores_submitted(where).filter(nps__isnull=False)
    mentions = TextMention.objects.filter(
        kind=TextKind.ASPECT, label=Sentiment.NEGATIVE, score__in=answered.values("pk")
    )
    return DriverRows(
        answers=list(answered.values_list(*DRIVER_ANSWER_FIELDS)),
        negative_aspects=list(mentions.values_list("score_id", "key").distinct()),
    )


# Compiled dictionaries of this process by tenant id, with the (id, revision, updated_at) of
# the row they were built from: scoring reads one row per response instead of every term.
_compiled: dict[int, tuple[tuple, TenantDictionary]] = {}


def text_dictionary() -> TenantDictionary:
    """The current tenant's text dictionary, compiled; the built-in one if it has none."""
    stamp = TextDictionary.objects.values_list("pk", "revision", "updated_at").first()
    if stamp is None:
        return BUILTIN_DICTIONARY
    tenant_id = current_tenant().pk
    cached = _compiled.get(tenant_id)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    dictionary = TenantDictionary(
        revision=stamp[1],
        aspects=[(aspect.name, aspect.terms) for aspect in Aspect.objects.order_by("id")],
        user_words=list(UserWord.objects.values_list("word", flat=True)),
        topics=[
            TopicDefinition(topic.name, tuple(topic.keywords))
            for topic in Topic.objects.order_by("name")
        ],
    )
    _compiled[tenant_id] = (stamp, dictionary)
    return dictionary


@dataclass(frozen=True)
class AspectDictionaryRow:
    name: str
    builtin_terms: list[str]
    tenant_terms: list[str]
    tenant_aspect: Aspect | None  # the row to delete, if the tenant added anything


def aspect_dictionary_rows(dictionary: TenantDictionary) -> list[AspectDictionaryRow]:
    """The aspect dictionary as the tenant sees it: built-in aspects first, each with the
    terms the tenant added, then the tenant's own aspects."""
    builtin = {aspect.name: aspect.terms for aspect in BUILTIN_ASPECTS}
    tenant = {aspect.name: aspect for aspect in Aspect.objects.all()}
    return [
        AspectDictionaryRow(
            name=definition.name,
            builtin_terms=list(builtin.get(definition.name, ())),
            tenant_terms=list(tenant[definition.name].terms) if definition.name in tenant else [],
            tenant_aspect=tenant.get(definition.name),
        )
        for definition in dictionary.aspect_finder.aspects
    ]


def user_word_list() -> QuerySet[UserWord]:
    return UserWord.objects.order_by("word")


def topic_list() -> QuerySet[Topic]:
    return Topic.objects.order_by("name")


VERBATIM_LIMIT = 30


def _texts_since(
    *,
    scope_path: str,
    since: datetime,
    journey: Journey | None,
    touchpoint: Touchpoint | None,
    org_unit: OrgUnit | None,
) -> QuerySet[ResponseScore]:
    """The scores with a text submitted since `since` in the member's subtree, narrowed to a
    journey, touchpoint or org unit subtree."""
    # The response's own tenant too: PostgreSQL then walks its (tenant, submitted_at) index
    # from the newest instead of sorting every response of the period.
    scores = (
        scores_in_scope(scope_path=scope_path, since=since)
        .filter(response__tenant=current_tenant())
        .exclude(verbatim="")
    )
    if journey is not None:
        scores = scores.filter(response__touchpoint__stage__journey=journey)
    if touchpoint is not None:
        scores = scores.filter(response__touchpoint=touchpoint)
    if org_unit is not None:
        scores = scores.filter(response__org_unit__path__startswith=org_unit.path)
    return scores


def _mentioning(kind: str, key: str, label: str = "") -> Exists:
    """Whether a score has the mention (kind, key), with `label` if one is given."""
    mentions = TextMention.objects.filter(score=OuterRef("pk"), kind=kind, key=key)
    return Exists(mentions.filter(label=label) if label else mentions)


def text_rows(
    *,
    scope_path: str,
    since: datetime,
    journey: Journey | None = None,
    touchpoint: Touchpoint | None = None,
    org_unit: OrgUnit | None = None,
    uncovered: bool = False,
    limit: int | None = None,
) -> list[TextRow]:
    """The scored texts submitted since `since` in the member's subtree, newest first, narrowed
    to a journey, touchpoint or org unit subtree, and to the texts no topic covers if
    `uncovered`; the newest `limit` only if given. One query."""
    scores = _texts_since(
        scope_path=scope_path,
        since=since,
        journey=journey,
        touchpoint=touchpoint,
        org_unit=org_unit,
    )
    if uncovered:
        # The score's own list, not the absence of a topic mention: an anti-join over every
        # mention could take minutes on PostgreSQL before the tables' statistics caught up.
        scores = scores.filter(topics=[])
    rows = scores.order_by("-response__submitted_at", "-pk").values_list(*TEXT_ROW_FIELDS)
    return [TextRow(*values) for values in (rows[:limit] if limit is not None else rows)]


def text_verbatims(
    *,
    scope_path: str,
    since: datetime,
    drill: DrillDown,
    limit: int,
    journey: Journey | None = None,
    touchpoint: Touchpoint | None = None,
    org_unit: OrgUnit | None = None,
) -> tuple[int | None, list[ResponseScore]]:
    """The newest `limit` texts since `since` that the drill-down points at, with touchpoint,
    org unit and tickets, and how many match in all: one query, and one for the tickets.
    Without a drill-down every text matches, which the rollups count: None then."""
    scores = _texts_since(
        scope_path=scope_path,
        since=since,
        journey=journey,
        touchpoint=touchpoint,
        org_unit=org_unit,
    )
    if drill.sentiment:
        scores = scores.filter(sentiment_label=drill.sentiment)
    if drill.topic:
        scores = scores.filter(_mentioning(TextKind.TOPIC, drill.topic))
    if drill.aspect:
        scores = scores.filter(_mentioning(TextKind.ASPECT, drill.aspect, drill.polarity))
    if drill.risk_flag:
        scores = scores.filter(_mentioning(TextKind.RISK, drill.risk_flag))
    if drill.keyword:
        scores = scores.filter(_mentioning(TextKind.KEYWORD, drill.keyword))
    if drill.target:
        scores = scores.filter(_mentioning(TextKind.RELATION, drill.target, drill.opinion))
    if drill:
        # Counted with the same query: COUNT(*) OVER () is taken before the LIMIT.
        scores = scores.annotate(matched=Window(Count("pk")))
    newest = list(
        scores.select_related("response__touchpoint", "response__org_unit")
        .prefetch_related("response__tickets")
        .order_by("-response__submitted_at", "-pk")[:limit]
    )
    if not drill:
        return None, newest
    return (newest[0].matched if newest else 0), newest


def _rollups_in(
    *,
    scope_path: str,
    journey: Journey | None,
    touchpoint: Touchpoint | None,
    org_unit: OrgUnit | None,
) -> QuerySet[TextDaily]:
    """The rollup rows of the member's subtree, narrowed like _texts_since: org units by their
    path, journeys by their touchpoints."""
    rollups = TextDaily.objects.all()
    if scope_path or org_unit is not None:
        units = OrgUnit.objects.filter(path__startswith=scope_path)
        if org_unit is not None:
            units = units.filter(path__startswith=org_unit.path)
        rollups = rollups.filter(org_unit_id__in=units.values("pk"))
    if journey is not None:
        touchpoints = Touchpoint.objects.filter(stage__journey=journey)
        rollups = rollups.filter(touchpoint_id__in=touchpoints.values("pk"))
    if touchpoint is not None:
        rollups = rollups.filter(touchpoint_id=touchpoint.pk)
    return rollups


def text_counts(
    *,
    scope_path: str,
    first_day: date,
    days: int,
    journey: Journey | None = None,
    touchpoint: Touchpoint | None = None,
    org_unit: OrgUnit | None = None,
) -> TextCounts:
    """The sums of the rollups of the `days` days from `first_day`, and of the as many days
    before it (what is rising): two queries (the rows, then the names of the terms shown),
    however many texts there are. numpy and pandas sum the packed rows (rollups.TALLY)."""
    narrowed = _rollups_in(
        scope_path=scope_path, journey=journey, touchpoint=touchpoint, org_unit=org_unit
    )
    rows = packed_read(narrowed.filter(day__gte=first_day - timedelta(days=days)))
    row_now = np.array([day >= first_day for day in rows.days], dtype=bool)

    words = rows.keywords
    word_codes, word_terms = pd.factorize(words)
    word_now = row_now[rows.keyword_rows]

    def per_word(when: np.ndarray) -> np.ndarray:
        return np.bincount(word_codes[when], minlength=len(word_terms))

    words_now, words_before = per_word(word_now), per_word(~word_now)
    change = words_now - words_before
    rising = np.flatnonzero((words_now >= RISING_MIN_COUNT) & (change > 0))
    rising = rising[np.lexsort((-words_now[rising], -change[rising]))]
    if len(rising) > RISING_KEYWORDS:  # the rising ones, and those tied with the last
        last = rising[RISING_KEYWORDS - 1]
        rising = rising[
            (change[rising] > change[last])
            | ((change[rising] == change[last]) & (words_now[rising] >= words_now[last]))
        ]

    records, record_row = rows.tallies, rows.tally_rows
    record_now = row_now[record_row]
    codes, terms = pd.factorize(records["term"])
    names = _term_names([*terms.tolist(), *word_terms[rising].tolist()])
    kinds = np.array([names[term][0] for term in terms.tolist()], dtype=object)

    def per_term(values: np.ndarray, when: np.ndarray) -> list:
        return np.bincount(codes[when], values[when], len(terms)).tolist()

    texts_now = per_term(records["count"], record_now)
    texts_before = per_term(records["count"], ~record_now)
    score_sums = per_term(records["score_sum"], record_now)
    scored = per_term(records["scored"], record_now)
    of_kind: dict[str, list] = defaultdict(list)
    for i, term in enumerate(terms.tolist()):
        kind, key, label = names[term]
        sums = (round(texts_now[i]), round(texts_before[i]), score_sums[i], round(scored[i]))
        of_kind[kind].append((key, label, *sums))

    def current_of(kind: str, **by: np.ndarray) -> pd.DataFrame:
        """The current period's records of one kind, their term and `by` (per row) beside."""
        mask = record_now & (kinds == kind)[codes]
        return pd.DataFrame(
            {
                **{name: values[record_row[mask]] for name, values in by.items()},
                "term": records["term"][mask],
                "count": records["count"][mask],
                "score_sum": records["score_sum"][mask],
                "scored": records["scored"][mask],
            }
        )

    sentiment_days = current_of(
        TextKind.SENTIMENT, day=np.array([day.toordinal() for day in rows.days], dtype=np.int64)
    )
    aspects = current_of(
        TextKind.ASPECT,
        touchpoint=rows.touchpoint_ids,
        org_unit=rows.org_unit_ids,
    )
    return TextCounts(
        sentiment_days=[
            (date.fromordinal(day), names[term][1], Tally(texts, score_sum, scored))
            for (day, term), texts, score_sum, scored in sentiment_days.groupby(["day", "term"])[
                ["count", "score_sum", "scored"]
            ]
            .sum()
            .itertuples()
        ],
        previous_texts=sum(row[3] for row in of_kind[TextKind.SENTIMENT]),
        uncovered=sum(row[2] for row in of_kind[TextKind.UNCOVERED]),
        with_risk=sum(row[2] for row in of_kind[TextKind.AT_RISK]),
        topics=[
            (topic, label, Tally(texts, score_sum, scored), before)
            for topic, label, texts, before, score_sum, scored in of_kind[TextKind.TOPIC]
        ],
        keywords=[
            (names[term][1], int(words_now[i]), int(words_before[i]))
            for i, term in zip(rising, word_terms[rising].tolist(), strict=True)
        ],
        aspects=[
            (touchpoint_id or None, org_unit_id or None, *names[term][1:], mentions)
            for (touchpoint_id, org_unit_id, term), mentions in aspects.groupby(
                ["touchpoint", "org_unit", "term"]
            )["count"]
            .sum()
            .items()
        ],
        risks=[(flag, term, n) for flag, term, n, *_ in of_kind[TextKind.RISK] if n],
        relations=[
            (target, opinion, n) for target, opinion, n, *_ in of_kind[TextKind.RELATION] if n
        ],
    )


def _term_names(term_ids: list) -> dict[int, tuple[str, str, str]]:
    return {
        pk: (kind, key, label)
        for pk, kind, key, label in TextTerm.objects.filter(
            pk__in=[int(term_id) for term_id in term_ids]
        ).values_list("pk", "kind", "key", "label")
    }


def touchpoint_names() -> dict[int, str]:
    return {
        pk: f"{journey} / {name}"
        for pk, name, journey in Touchpoint.objects.values_list(
            "pk", "name", "stage__journey__name"
        )
    }


def org_unit_names(*, scope_path: str = "") -> dict[int, str]:
    return dict(OrgUnit.objects.filter(path__startswith=scope_path).values_list("pk", "name"))


@dataclass(frozen=True)
class ThemesFound:
    """The stored themes as one reader of the page sees them, and when and among how many
    texts they were found."""

    themes: list[Theme]
    computed_at: datetime
    days: int
    texts: int


def text_themes(
    *,
    scope_path: str,
    since: datetime,
    journey: Journey | None = None,
    touchpoint: Touchpoint | None = None,
    org_unit: OrgUnit | None = None,
) -> ThemesFound | None:
    """The themes last found among the tenant's texts (services.text_themes_discover), each
    counted over its members submitted since `since` in the member's subtree and the page's
    filters; None if they were never found. Two queries; no text is cut or clustered here."""
    found = TextThemes.objects.first()
    if found is None:
        return None
    themes = [DiscoveredTheme.from_json(theme) for theme in found.themes]
    members = [pk for theme in themes for pk in theme.members]
    in_view = _texts_since(
        scope_path=scope_path,
        since=since,
        journey=journey,
        touchpoint=touchpoint,
        org_unit=org_unit,
    ).filter(pk__in=members)
    texts = {
        pk: ThemeText(pk, verbatim, label, score)
        for pk, verbatim, label, score in in_view.values_list(
            "pk", "verbatim", "sentiment_label", "sentiment_score"
        )
    }
    return ThemesFound(
        themes=themes_in_view(themes, texts),
        computed_at=found.computed_at,
        days=found.days,
        texts=found.texts,
    )


MetricCell = tuple[int, str, str]  # touchpoint id, metric, key


def metric_totals(
    *, org_unit_id: int, start: date, end: date, touchpoint_ids: list[int] | None = None
) -> dict[MetricCell, Totals]:
    """Sums of the metric rollups of one org-unit subtree (0: the whole tenant) from `start`
    to `end` (both included, tenant days) per touchpoint, metric and key: one query over the
    rollup index, whatever the number of responses or branches."""
    (totals,) = metric_totals_of_periods(
        org_unit_id=org_unit_id, periods=[(start, end)], touchpoint_ids=touchpoint_ids
    )
    return totals


def metric_totals_of_periods(
    *, org_unit_id: int, periods: list[tuple[date, date]], touchpoint_ids: list[int] | None
) -> list[dict[MetricCell, Totals]]:
    """metric_totals of several periods that do not overlap (a window and the one before it)
    in one query: the map's only read of the rollups."""
    return metric_sums(org_unit_ids=[org_unit_id], periods=periods, touchpoint_ids=touchpoint_ids)


SumsBy = Literal["touchpoint_id", "org_unit_id", "day"]


def metric_sums(
    *,
    org_unit_ids: list[int],
    periods: list[tuple[date, date]],
    touchpoint_ids: list[int] | None,
    by: SumsBy = "touchpoint_id",
    metrics: list[str] | None = None,
) -> list[dict[tuple, Totals]]:
    """Per period (periods do not overlap, both ends included, tenant days), the sums of the
    metric rollups of the org-unit subtrees `org_unit_ids` (0: the whole tenant) keyed by
    (the value of `by`, metric, key): of the touchpoints given (None: all) and the metrics
    given (None: all). One query over the rollup index, whatever the number of responses,
    units or touchpoints. Hand-written SQL: for the few thousand sums a page needs, the ORM's
    per-row work costs more than the database does."""
    if not org_unit_ids or (touchpoint_ids is not None and not touchpoint_ids):
        return [{} for _ in periods]
    table = connection.ops.quote_name(MetricDaily._meta.db_table)
    adapt = connection.ops.adapt_datefield_value
    which = " ".join(f"WHEN day BETWEEN %s AND %s THEN {i}" for i in range(len(periods)))
    params: list = [adapt(day) for period in periods for day in period]

    def placeholders(values: list) -> str:
        params.extend(values)
        return ", ".join(["%s"] * len(values))

    params.append(current_tenant().pk)
    units = placeholders(list(org_unit_ids))
    # One range over all the periods, so the index is read as one range scan.
    params += [adapt(min(start for start, _ in periods)), adapt(max(end for _, end in periods))]
    narrowed = ""
    if touchpoint_ids is not None:
        narrowed += f" AND touchpoint_id IN ({placeholders(list(touchpoint_ids))})"
    if metrics is not None:
        narrowed += f" AND metric IN ({placeholders([str(metric) for metric in metrics])})"
    key = connection.ops.quote_name("key")
    statement = (
        f"SELECT CASE {which} END AS period, {by}, metric, {key}, "  # noqa: S608
        f"SUM(n), SUM(total), SUM(good), SUM(bad) FROM {table} "
        f"WHERE tenant_id = %s AND org_unit_id IN ({units}) AND day BETWEEN %s AND %s{narrowed} "
        "GROUP BY 1, 2, 3, 4"
    )
    found: list[dict[tuple, Totals]] = [{} for _ in periods]
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        for period, group, metric, key, n, total, good, bad in cursor.fetchall():
            if period is None:  # a day between the periods
                continue
            if by == "day" and isinstance(group, str):  # SQLite
                group = date.fromisoformat(group)
            found[period][(group, metric, key)] = Totals(n, total, good, bad)
    return found


# An org unit's subtree, over all its touchpoints (None) or at one touchpoint.
SeriesKey = tuple[int, int | None]


def metric_weeks_of_series(*, window_end: date, metric: str) -> dict[SeriesKey, list[WeekScore]]:
    """The answers of `metric` (NPS, CSAT or CES) per week (metric_drops.week_ends: the history
    weeks, oldest first, then the window ending on `window_end`) of every org unit's subtree,
    over all its touchpoints and at each touchpoint: the daily rollups summed per week in the
    database, one query. For CSAT and CES nothing counts as bad (metric_drops)."""
    ends = week_ends(window_end)
    week_of_day = Case(
        *[
            When(day__range=(end - timedelta(days=WINDOW_DAYS - 1), end), then=Value(index))
            for index, end in enumerate(ends)
        ],
        output_field=IntegerField(),
    )
    rows = (
        MetricDaily.objects.filter(
            metric=metric,
            key="",
            day__range=(ends[0] - timedelta(days=WINDOW_DAYS - 1), window_end),
        )
        .exclude(org_unit_id=0)
        .values("org_unit_id", "touchpoint_id", week=week_of_day)
        .annotate(answers=Sum("n"), good=Sum("good"), bad=Sum("bad"))
        .order_by()
    )
    counts_bad = metric == Metric.NPS
    series: dict[SeriesKey, list[WeekScore]] = {}
    for row in rows:
        unit_id, touchpoint_id, week = row["org_unit_id"], row["touchpoint_id"], row["week"]
        keys = [(unit_id, None), *([(unit_id, touchpoint_id)] if touchpoint_id else [])]
        for key in keys:
            weeks = series.setdefault(key, [WeekScore(end) for end in ends])
            weeks[week] = weeks[week].plus(
                answers=row["answers"], good=row["good"], bad=row["bad"] if counts_bad else 0
            )
    return series


def metric_alerts_in_scope(*, scope_path: str) -> QuerySet[MetricAlert]:
    """The metric alerts of the units in the member's subtree, newest first."""
    return MetricAlert.objects.filter(org_unit__path__startswith=scope_path).select_related(
        "org_unit", "touchpoint", "owner"
    )


def metric_alerts_open(*, scope_path: str) -> QuerySet[MetricAlert]:
    """Those still to be dealt with (open or acknowledged)."""
    return metric_alerts_in_scope(scope_path=scope_path).exclude(status=MetricAlert.Status.CLOSED)
