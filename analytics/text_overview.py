"""What the text analytics page shows, computed from the scored texts of a period: sentiment
mix and trend, topics by sentiment, rising topics and keywords, aspects per touchpoint and org
unit, risk signals, and the drill-down to verbatims. Pure functions over TextRow.

The aspects, topics and risk flags of a score are JSON lists, which PostgreSQL could unnest
but SQLite (the embedded default) cannot group portably; one query fetches the slim rows of
the period and the counting happens here. Rollups per day (a later issue) will replace it
when periods grow past a few hundred thousand texts.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.utils import timezone

from analytics.models import Sentiment

RISING_TOPICS = 5
RISING_KEYWORDS = 8
RISING_MIN_COUNT = 2  # a keyword seen once this period is noise, not a trend


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


@dataclass
class SentimentMix:
    positive: int = 0
    neutral: int = 0
    negative: int = 0
    score_total: float = 0.0
    scored: int = 0

    def add(self, label: str, score: float | None) -> None:
        if label in Sentiment.values:
            setattr(self, label, getattr(self, label) + 1)
        if score is not None:
            self.score_total += score
            self.scored += 1

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

    def add(self, polarity: str) -> None:
        setattr(self, polarity, getattr(self, polarity) + 1)

    @property
    def mentions(self) -> int:
        return self.positive + self.neutral + self.negative

    @property
    def net(self) -> int | None:
        if not self.mentions:
            return None
        return round(100 * (self.positive - self.negative) / self.mentions)


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
class TextOverview:
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
    """Aggregates of the rows submitted since `since`; older rows are the previous period,
    used only to tell what is rising."""
    current = [row for row in rows if row.submitted_at >= since]
    previous = [row for row in rows if row.submitted_at < since]

    mix = SentimentMix()
    weeks: dict[date, SentimentMix] = defaultdict(SentimentMix)
    by_topic: dict[str, SentimentMix] = {name: SentimentMix() for name in topic_names}
    aspects: dict[str, AspectCell] = {name: AspectCell() for name in aspect_names}
    risks: dict[str, Counter] = defaultdict(Counter)
    with_risk = uncovered = 0
    for row in current:
        mix.add(row.sentiment, row.sentiment_score)
        weeks[week_start(row.submitted_at)].add(row.sentiment, row.sentiment_score)
        for topic in row.topics:
            by_topic.setdefault(topic, SentimentMix()).add(row.sentiment, row.sentiment_score)
        uncovered += not row.topics
        for opinion in row.aspects:
            aspects.setdefault(opinion["aspect"], AspectCell()).add(opinion["polarity"])
        for risk in row.risk_flags:
            risks[risk["flag"]][risk["term"]] += 1
        with_risk += bool(row.risk_flags)

    return TextOverview(
        mix=mix,
        weeks=sorted(weeks.items()),
        topics=[TopicSentiment(name, topic_mix) for name, topic_mix in by_topic.items()],
        uncovered=uncovered,
        rising_topics=_rising(
            (row.topics for row in current), (row.topics for row in previous), RISING_TOPICS
        ),
        rising_keywords=_rising(
            (row.keywords for row in current),
            (row.keywords for row in previous),
            RISING_KEYWORDS,
            min_count=RISING_MIN_COUNT,
        ),
        aspects=[(name, cell) for name, cell in aspects.items() if cell.mentions],
        aspects_by_touchpoint=_aspect_grid(current, "touchpoint_id", touchpoint_names),
        aspects_by_org_unit=_aspect_grid(current, "org_unit_id", org_unit_names),
        risks=[
            RiskCount(flag, sum(terms.values()), [term for term, _n in terms.most_common()])
            for flag, terms in sorted(risks.items(), key=lambda item: -sum(item[1].values()))
        ],
        with_risk=with_risk,
        previous_total=len(previous),
    )


def _rising(
    current: Iterable[list[str]],
    previous: Iterable[list[str]],
    count: int,
    *,
    min_count: int = 1,
) -> list[Rise]:
    now = Counter(name for names in current for name in set(names))
    before = Counter(name for names in previous for name in set(names))
    rises = [
        Rise(name, n, before[name])
        for name, n in now.items()
        if n >= min_count and n > before[name]
    ]
    rises.sort(key=lambda rise: (-rise.change, -rise.current, rise.name))
    return rises[:count]


def _aspect_grid(rows: Sequence[TextRow], group: str, names: dict[int, str]) -> AspectGrid:
    """Aspect cells per group (touchpoint or org unit), groups with most mentions first."""
    cells: dict[int | None, dict[str, AspectCell]] = defaultdict(dict)
    for row in rows:
        for opinion in row.aspects:
            key = getattr(row, group)
            cells[key].setdefault(opinion["aspect"], AspectCell()).add(opinion["polarity"])
    totals = Counter()
    for group_cells in cells.values():
        for aspect, cell in group_cells.items():
            totals[aspect] += cell.mentions
    aspects = [aspect for aspect, _n in totals.most_common()]
    ordered = sorted(cells.items(), key=lambda item: -sum(c.mentions for c in item[1].values()))
    return AspectGrid(
        aspects=aspects,
        rows=[
            AspectGridRow(
                group_id=key,
                name=names.get(key, "") if key is not None else "",
                cells=[group_cells.get(aspect) for aspect in aspects],
            )
            for key, group_cells in ordered
        ],
    )


@dataclass(frozen=True)
class DrillDown:
    """Which verbatims to list: all of the period, or those a chart cell points at."""

    sentiment: str = ""
    topic: str = ""
    aspect: str = ""
    polarity: str = ""
    risk_flag: str = ""
    keyword: str = ""

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
        return not self.keyword or self.keyword in row.keywords


def drill_down(
    rows: Sequence[TextRow], drill: DrillDown, *, since: datetime, limit: int
) -> tuple[int, list[int]]:
    """How many texts of the period match, and the score ids of the newest `limit`."""
    matching = [row for row in rows if row.submitted_at >= since and drill.matches(row)]
    matching.sort(key=lambda row: row.submitted_at, reverse=True)
    return len(matching), [row.score_id for row in matching[:limit]]
