"""What the text analytics page shows of a period: sentiment mix and trend, topics by
sentiment, rising topics and keywords, aspects per touchpoint and org unit, risk signals, and the
drill-down to verbatims. Pure functions.

The page builds the overview from the sums of the daily rollups (TextCounts, see
analytics/rollups.py and selectors.text_counts). `text_overview` and `drill_down` compute the
same from the scored texts themselves (TextRow): they define what the numbers mean, and the
tests hold the rollups to them. Ties are broken by name, so both give the same order.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import NamedTuple, TypeVar

from django.utils import timezone

from analytics.models import Sentiment

Named = TypeVar("Named")

RISING_TOPICS = 5
RISING_KEYWORDS = 8
RISING_MIN_COUNT = 2  # a keyword seen once this period is noise, not a trend
RELATIONS = 20  # pairs shown, most frequent first
RELATION_TARGETS = 10  # targets shown with what is said of them
RELATION_OPINIONS = 5  # judgements shown per target


@dataclass(frozen=True)
class TextRow:
    """One scored text, as much of it as the aggregates need."""

    score_id: int
    submitted_at: datetime
    touchpoint_id: int | None
    org_unit_id: int | None
    sentiment: str
    sentiment_score: float | None
    aspects: list[dict]
    risk_flags: list[dict]
    topics: list[str]
    keywords: list[str]
    relations: list[dict] = field(default_factory=list)


# The ResponseScore values a TextRow is made of, in its order.
TEXT_ROW_FIELDS = (
    "pk",
    "response__submitted_at",
    "response__touchpoint_id",
    "response__org_unit_id",
    "sentiment_label",
    "sentiment_score",
    "aspects",
    "risk_flags",
    "topics",
    "keywords",
    "relations",
)


class Tally(NamedTuple):
    """Texts (or mentions) counted, the sum of their sentiment scores, and how many had one."""

    count: int = 0
    score_sum: float = 0.0
    scored: int = 0

    # Spelled out: scoring adds tens of thousands of these per batch.
    def plus(self, other: Tally) -> Tally:
        return Tally(
            self.count + other.count, self.score_sum + other.score_sum, self.scored + other.scored
        )

    def minus(self, other: Tally) -> Tally:
        return Tally(
            self.count - other.count, self.score_sum - other.score_sum, self.scored - other.scored
        )


@dataclass
class SentimentMix:
    positive: int = 0
    neutral: int = 0
    negative: int = 0
    score_total: float = 0.0
    scored: int = 0

    def add(self, label: str, score: float | None) -> None:
        """Count one text."""
        self.add_tally(label, Tally(1, 0.0 if score is None else score, int(score is not None)))

    def add_tally(self, label: str, tally: Tally) -> None:
        if label in Sentiment.values:
            setattr(self, label, getattr(self, label) + tally.count)
        self.score_total += tally.score_sum
        self.scored += tally.scored

    @property
    def total(self) -> int:
        return self.positive + self.neutral + self.negative

    @property
    def mean_score(self) -> float | None:
        return round(self.score_total / self.scored, 3) if self.scored else None

    def share(self, label: str) -> float | None:
        return round(100 * getattr(self, label) / self.total, 1) if self.total else None

    @property
    def positive_share(self) -> float | None:
        return self.share(Sentiment.POSITIVE)

    @property
    def negative_share(self) -> float | None:
        return self.share(Sentiment.NEGATIVE)


@dataclass
class AspectCell:
    """Mentions of one aspect in one group, and its net score: % positive - % negative."""

    positive: int = 0
    neutral: int = 0
    negative: int = 0

    def add(self, polarity: str, mentions: int = 1) -> None:
        setattr(self, polarity, getattr(self, polarity) + mentions)

    @property
    def mentions(self) -> int:
        return self.positive + self.neutral + self.negative

    @property
    def net(self) -> int | None:
        if not self.mentions:
            return None
        return round(100 * (self.positive - self.negative) / self.mentions)


_GroupCells = dict[int | None, dict[str, AspectCell]]  # aspect cells by touchpoint or org unit


@dataclass(frozen=True)
class AspectGridRow:
    group_id: int | None
    name: str
    cells: list[AspectCell | None]  # one per aspect of the grid, None without mentions


@dataclass(frozen=True)
class AspectGrid:
    aspects: list[str]
    rows: list[AspectGridRow]


@dataclass(frozen=True)
class TopicSentiment:
    name: str
    mix: SentimentMix


@dataclass(frozen=True)
class Rise:
    name: str
    current: int
    previous: int

    @property
    def change(self) -> int:
        return self.current - self.previous

    @property
    def growth(self) -> int | None:
        """Percent more than the previous period; None when it was not seen then."""
        return round(100 * self.change / self.previous) if self.previous else None


@dataclass(frozen=True)
class RiskCount:
    flag: str
    count: int
    terms: list[str]  # the terms that raised it, most frequent first


@dataclass(frozen=True)
class RelationCount:
    """Texts that say `opinion` of `target` (柜员-态度差)."""

    target: str
    opinion: str
    count: int


@dataclass(frozen=True)
class RelationTarget:
    """A target, in how many pairs' texts it is judged, and its most frequent judgements: the
    words that travel together."""

    target: str
    count: int
    opinions: list[RelationCount]


@dataclass(frozen=True)
class TextOverview:
    texts: int  # of the period, with or without a sentiment label
    mix: SentimentMix
    weeks: list[tuple[date, SentimentMix]]
    topics: list[TopicSentiment]
    uncovered: int  # texts of the period no topic covers
    rising_topics: list[Rise]
    rising_keywords: list[Rise]
    aspects: list[tuple[str, AspectCell]]
    aspects_by_touchpoint: AspectGrid
    aspects_by_org_unit: AspectGrid
    risks: list[RiskCount]
    with_risk: int
    previous_total: int
    relations: list[RelationCount] = field(default_factory=list)
    relation_targets: list[RelationTarget] = field(default_factory=list)


def week_start(moment: datetime) -> date:
    """Monday of the week of `moment` in the tenant's (the active) time zone."""
    day = timezone.localtime(moment).date()
    return day - timedelta(days=day.weekday())


def text_overview(
    rows: Sequence[TextRow],
    *,
    since: datetime,
    aspect_names: Sequence[str],
    topic_names: Sequence[str],
    touchpoint_names: dict[int, str],
    org_unit_names: dict[int, str],
) -> TextOverview:
    """The overview of the rows submitted since `since`, counted text by text; older rows are
    the previous period, used only to tell what is rising."""
    current = [row for row in rows if row.submitted_at >= since]
    previous = [row for row in rows if row.submitted_at < since]

    mix = SentimentMix()
    weeks: dict[date, SentimentMix] = defaultdict(SentimentMix)
    by_topic: dict[str, SentimentMix] = {name: SentimentMix() for name in topic_names}
    aspects: dict[str, AspectCell] = {name: AspectCell() for name in aspect_names}
    by_touchpoint: _GroupCells = defaultdict(dict)
    by_org_unit: _GroupCells = defaultdict(dict)
    risks: dict[str, Counter] = defaultdict(Counter)
    relations: Counter = Counter()
    with_risk = uncovered = 0
    for row in current:
        relations.update({(pair["target"], pair["opinion"]) for pair in row.relations})
        mix.add(row.sentiment, row.sentiment_score)
        weeks[week_start(row.submitted_at)].add(row.sentiment, row.sentiment_score)
        for topic in row.topics:
            by_topic.setdefault(topic, SentimentMix()).add(row.sentiment, row.sentiment_score)
        uncovered += not row.topics
        for opinion in row.aspects:
            name, polarity = opinion["aspect"], opinion["polarity"]
            aspects.setdefault(name, AspectCell()).add(polarity)
            by_touchpoint[row.touchpoint_id].setdefault(name, AspectCell()).add(polarity)
            by_org_unit[row.org_unit_id].setdefault(name, AspectCell()).add(polarity)
        for risk in row.risk_flags:
            risks[risk["flag"]][risk["term"]] += 1
        with_risk += bool(row.risk_flags)

    def texts_with(names_of: Callable[[TextRow], list[str]], rows: list[TextRow]) -> Counter:
        return Counter(name for row in rows for name in set(names_of(row)))

    return TextOverview(
        texts=len(current),
        mix=mix,
        weeks=sorted(weeks.items()),
        topics=_topic_sentiments(by_topic, topic_names),
        uncovered=uncovered,
        rising_topics=_rises(
            texts_with(lambda row: row.topics, current),
            texts_with(lambda row: row.topics, previous),
            RISING_TOPICS,
        ),
        rising_keywords=_rises(
            texts_with(lambda row: row.keywords, current),
            texts_with(lambda row: row.keywords, previous),
            RISING_KEYWORDS,
            min_count=RISING_MIN_COUNT,
        ),
        aspects=_mentioned_aspects(aspects, aspect_names),
        aspects_by_touchpoint=_aspect_grid(by_touchpoint, touchpoint_names),
        aspects_by_org_unit=_aspect_grid(by_org_unit, org_unit_names),
        risks=_risk_counts(risks),
        with_risk=with_risk,
        previous_total=len(previous),
        **_relation_lists(relations),
    )


@dataclass(frozen=True)
class TextCounts:
    """The sums of a period's daily rollups, and of the previous period's for what is rising.
    A touchpoint or org unit of None is "none"."""

    sentiment_days: list[tuple[date, str, Tally]]  # day, sentiment label, texts
    previous_texts: int
    uncovered: int
    with_risk: int
    topics: list[tuple[str, str, Tally, int]]  # topic, sentiment label, texts, previous texts
    keywords: list[tuple[str, int, int]]  # keyword, texts, previous texts: the rising ones at least
    # touchpoint, org unit, aspect, polarity, mentions
    aspects: list[tuple[int | None, int | None, str, str, int]]
    risks: list[tuple[str, str, int]]  # flag, term, texts
    relations: list[tuple[str, str, int]] = field(default_factory=list)  # target, opinion, texts


def text_overview_of_counts(
    counts: TextCounts,
    *,
    aspect_names: Sequence[str],
    topic_names: Sequence[str],
    touchpoint_names: dict[int, str],
    org_unit_names: dict[int, str],
) -> TextOverview:
    """The overview from the rollups' sums: the same as text_overview of the texts behind them,
    periods and weeks being whole days of the tenant's time zone. The rollups keep the
    touchpoint a text had when scored; one deleted since is "none", as on the response."""
    mix = SentimentMix()
    weeks: dict[date, SentimentMix] = defaultdict(SentimentMix)
    texts = 0
    for day, label, tally in counts.sentiment_days:
        mix.add_tally(label, tally)
        weeks[day - timedelta(days=day.weekday())].add_tally(label, tally)
        texts += tally.count

    by_topic: dict[str, SentimentMix] = {name: SentimentMix() for name in topic_names}
    topics_now, topics_before = Counter(), Counter()
    for topic, label, tally, previous in counts.topics:
        if tally.count:
            by_topic.setdefault(topic, SentimentMix()).add_tally(label, tally)
        topics_now[topic] += tally.count
        topics_before[topic] += previous

    aspects: dict[str, AspectCell] = {name: AspectCell() for name in aspect_names}
    by_touchpoint: _GroupCells = defaultdict(dict)
    by_org_unit: _GroupCells = defaultdict(dict)
    for touchpoint_id, org_unit_id, name, polarity, mentions in counts.aspects:
        touchpoint_id = touchpoint_id if touchpoint_id in touchpoint_names else None
        aspects.setdefault(name, AspectCell()).add(polarity, mentions)
        by_touchpoint[touchpoint_id].setdefault(name, AspectCell()).add(polarity, mentions)
        by_org_unit[org_unit_id].setdefault(name, AspectCell()).add(polarity, mentions)

    risks: dict[str, Counter] = defaultdict(Counter)
    for flag, term, count in counts.risks:
        risks[flag][term] += count

    return TextOverview(
        texts=texts,
        mix=mix,
        weeks=sorted(weeks.items()),
        topics=_topic_sentiments(by_topic, topic_names),
        uncovered=counts.uncovered,
        rising_topics=_rises(topics_now, topics_before, RISING_TOPICS),
        rising_keywords=_rises(
            Counter({word: now for word, now, _before in counts.keywords}),
            Counter({word: before for word, _now, before in counts.keywords}),
            RISING_KEYWORDS,
            min_count=RISING_MIN_COUNT,
        ),
        aspects=_mentioned_aspects(aspects, aspect_names),
        aspects_by_touchpoint=_aspect_grid(by_touchpoint, touchpoint_names),
        aspects_by_org_unit=_aspect_grid(by_org_unit, org_unit_names),
        risks=_risk_counts(risks),
        with_risk=counts.with_risk,
        previous_total=counts.previous_texts,
        **_relation_lists(
            Counter({(target, opinion): n for target, opinion, n in counts.relations})
        ),
    )


def _named_first(items: dict[str, Named], names: Sequence[str]) -> list[tuple[str, Named]]:
    """The items of `names` in that order, then any others (no longer in the tenant's
    dictionary, still in older scores) by name."""
    known = set(names)
    others = sorted(
        ((name, item) for name, item in items.items() if name not in known),
        key=lambda pair: pair[0],
    )
    return [(name, items[name]) for name in names if name in items] + others


def _topic_sentiments(
    by_topic: dict[str, SentimentMix], topic_names: Sequence[str]
) -> list[TopicSentiment]:
    return [TopicSentiment(name, mix) for name, mix in _named_first(by_topic, topic_names)]


def _mentioned_aspects(
    aspects: dict[str, AspectCell], aspect_names: Sequence[str]
) -> list[tuple[str, AspectCell]]:
    return [(name, cell) for name, cell in _named_first(aspects, aspect_names) if cell.mentions]


def _rises(now: Counter, before: Counter, count: int, *, min_count: int = 1) -> list[Rise]:
    """The `count` names seen in more texts now than before, most gained first."""
    rises = [
        Rise(name, n, before[name])
        for name, n in now.items()
        if n >= min_count and n > before[name]
    ]
    rises.sort(key=lambda rise: (-rise.change, -rise.current, rise.name))
    return rises[:count]


def _aspect_grid(cells: _GroupCells, names: dict[int, str]) -> AspectGrid:
    """Aspect cells per group (touchpoint or org unit): aspects and groups with the most
    mentions first."""
    totals: Counter = Counter()
    for group_cells in cells.values():
        for aspect, cell in group_cells.items():
            totals[aspect] += cell.mentions
    aspects = sorted(totals, key=lambda aspect: (-totals[aspect], aspect))

    def name_of(key: int | None) -> str:
        return names.get(key, "") if key is not None else ""

    ordered = sorted(
        cells.items(),
        key=lambda item: (
            -sum(c.mentions for c in item[1].values()),
            name_of(item[0]),
            item[0] or 0,
        ),
    )
    return AspectGrid(
        aspects=aspects,
        rows=[
            AspectGridRow(
                group_id=key,
                name=name_of(key),
                cells=[group_cells.get(aspect) for aspect in aspects],
            )
            for key, group_cells in ordered
        ],
    )


def _risk_counts(risks: dict[str, Counter]) -> list[RiskCount]:
    """Risk flags raised most first, each with its terms, most frequent first."""

    def most_first(counts: dict[str, int]) -> list[str]:
        return sorted(counts, key=lambda name: (-counts[name], name))

    totals = {flag: sum(terms.values()) for flag, terms in risks.items()}
    return [RiskCount(flag, totals[flag], most_first(risks[flag])) for flag in most_first(totals)]


def _relation_lists(pairs: Counter) -> dict[str, list]:
    """The most frequent pairs, and the most judged targets with their judgements."""
    ranked = sorted(
        (RelationCount(target, opinion, n) for (target, opinion), n in pairs.items() if n),
        key=lambda pair: (-pair.count, pair.target, pair.opinion),
    )
    by_target: dict[str, list[RelationCount]] = defaultdict(list)
    for pair in ranked:
        by_target[pair.target].append(pair)
    targets = sorted(
        (
            RelationTarget(target, sum(p.count for p in found), found[:RELATION_OPINIONS])
            for target, found in by_target.items()
        ),
        key=lambda target: (-target.count, target.target),
    )
    return {"relations": ranked[:RELATIONS], "relation_targets": targets[:RELATION_TARGETS]}


@dataclass(frozen=True)
class DrillDown:
    """Which verbatims to list: all of the period, or those a chart cell points at."""

    sentiment: str = ""
    topic: str = ""
    aspect: str = ""
    polarity: str = ""
    risk_flag: str = ""
    keyword: str = ""
    target: str = ""  # of a relation
    opinion: str = ""

    def __bool__(self) -> bool:
        return any(vars(self).values())

    def matches(self, row: TextRow) -> bool:
        if self.sentiment and row.sentiment != self.sentiment:
            return False
        if self.topic and self.topic not in row.topics:
            return False
        if self.aspect and not any(
            opinion["aspect"] == self.aspect
            and (not self.polarity or opinion["polarity"] == self.polarity)
            for opinion in row.aspects
        ):
            return False
        if self.risk_flag and all(risk["flag"] != self.risk_flag for risk in row.risk_flags):
            return False
        if self.target and not any(
            pair["target"] == self.target and (not self.opinion or pair["opinion"] == self.opinion)
            for pair in row.relations
        ):
            return False
        return not self.keyword or self.keyword in row.keywords


def drill_down(
    rows: Sequence[TextRow], drill: DrillDown, *, since: datetime, limit: int
) -> tuple[int, list[int]]:
    """How many texts of the period match, and the score ids of the newest `limit`."""
    matching = [row for row in rows if row.submitted_at >= since and drill.matches(row)]
    matching.sort(key=lambda row: row.submitted_at, reverse=True)
    return len(matching), [row.score_id for row in matching[:limit]]
