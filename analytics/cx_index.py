"""The CX index (docs/cx-index.md): a touchpoint's chosen metrics put on 0-100 and weighted into
its score, and touchpoint scores weighted by key moment into stage and journey scores.

Pure functions over rollup sums (analytics.metric_rollups.Totals): no database, no request.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from analytics.metric_rollups import Totals
from analytics.models import Metric

# The metrics a CX manager may choose for a touchpoint, with the range of their values (and
# so of their targets): NPS -100..100, CSAT and CES the mean answer on 1-5 and 1-7, a rating
# question its mean on 0-100, the share of negative texts and tickets per 100 responses.
METRIC_RANGES: dict[str, tuple[float, float]] = {
    Metric.NPS: (-100.0, 100.0),
    Metric.CSAT: (1.0, 5.0),
    Metric.CES: (1.0, 7.0),
    Metric.RATING: (0.0, 100.0),
    Metric.TEXT: (0.0, 100.0),
    Metric.TICKETS: (0.0, 100.0),
}
SCORED_METRICS = tuple(METRIC_RANGES)
LOWER_IS_BETTER = frozenset({Metric.TEXT, Metric.TICKETS})
METRIC_LABELS = {
    Metric.NPS: _("净推荐值 NPS"),
    Metric.CSAT: _("满意度 CSAT"),
    Metric.CES: _("费力度 CES"),
    Metric.RATING: _("评分题"),
    Metric.TEXT: _("负面评论占比 %"),
    Metric.TICKETS: _("每百份回复工单数"),
}

# A key moment (journeys.models.KeyMoment) counts twice an ordinary touchpoint: the low, the
# peak and the end are what customers remember of a journey (the peak-end rule).
KEY_MOMENT_WEIGHTS = {"none": 1.0, "low": 2.0, "peak": 2.0, "end": 2.0}
DEFAULT_NPS_TARGET = 30.0  # a touchpoint with no metric chosen counts NPS against this
NEAR_TARGET_POINTS = 5.0  # an index this close below its target is "near", not "below"


class Status:
    MET = "met"
    NEAR = "near"
    BELOW = "below"
    LOW_SAMPLE = "low_sample"
    NO_DATA = "no_data"


@dataclass(frozen=True)
class MetricSpec:
    """One metric chosen for a touchpoint, with the target that applies to the map in view."""

    metric: str
    key: str
    target: float
    weight: float
    label: str = ""  # of a rating metric: its question, as people read it


def on_100(metric: str, value: float) -> float:
    """A metric's value (or target) put on 0-100, 100 the best experience."""
    low, high = METRIC_RANGES[metric]
    clamped = min(max(value, low), high)
    points = 100.0 * (clamped - low) / (high - low)
    return 100.0 - points if metric in LOWER_IS_BETTER else points


def metric_value(
    metric: str, totals: Totals | None, responses: Totals | None
) -> tuple[float | None, int]:
    """A metric's value on its own scale and the sample it rests on, from the rollup sums of
    the metric and of the responses (tickets per 100 responses rest on the responses)."""
    if metric == Metric.TICKETS:
        answered = responses.n if responses else 0
        tickets = totals.n if totals else 0
        return (100.0 * tickets / answered if answered else None), answered
    if totals is None or totals.n <= 0:
        return None, 0
    if metric == Metric.NPS:
        return 100.0 * (totals.good - totals.bad) / totals.n, totals.n
    if metric == Metric.TEXT:
        return 100.0 * totals.bad / totals.n, totals.n
    return totals.total / totals.n, totals.n


@dataclass(frozen=True)
class MetricScore:
    spec: MetricSpec
    value: float | None
    n: int
    counted: bool  # at the minimum sample: it counts in the index

    @property
    def met(self) -> bool | None:
        if self.value is None:
            return None
        if self.spec.metric in LOWER_IS_BETTER:
            return self.value <= self.spec.target
        return self.value >= self.spec.target


def _weighted_mean(pairs: Iterable[tuple[float, float]]) -> float | None:
    pairs = list(pairs)
    weight = sum(w for _value, w in pairs)
    return sum(value * w for value, w in pairs) / weight if weight > 0 else None


def status_of(index: float | None, target: float | None, *, n: int) -> str:
    if index is None:
        return Status.LOW_SAMPLE if n else Status.NO_DATA
    if target is None or index >= target:
        return Status.MET
    return Status.NEAR if target - index <= NEAR_TARGET_POINTS else Status.BELOW


@dataclass(frozen=True)
class CellScore:
    """A touchpoint's CX index in one window: None when no chosen metric reaches the minimum
    sample (the cell is then shown greyed with its n, never as a score)."""

    index: float | None
    target: float | None
    n: int  # scored responses
    metrics: tuple[MetricScore, ...]

    @property
    def status(self) -> str:
        return status_of(self.index, self.target, n=self.n)


def cell_score(
    specs: Iterable[MetricSpec],
    totals: Mapping[tuple[str, str], Totals],
    *,
    min_sample: int,
) -> CellScore:
    """Score one touchpoint from its rollup sums keyed by (metric, key).

    Its index is the weighted mean, on 0-100, of the metrics whose sample reaches `min_sample`;
    its target the weighted mean of those metrics' targets on the same scale (of every chosen
    metric while none is counted)."""
    responses = totals.get((Metric.RESPONSES, ""))
    scores = []
    for spec in specs:
        value, n = metric_value(spec.metric, totals.get((spec.metric, spec.key)), responses)
        counted = value is not None and n >= max(min_sample, 1)
        scores.append(MetricScore(spec=spec, value=value, n=n, counted=counted))
    counted = [score for score in scores if score.counted]
    index = _weighted_mean((on_100(s.spec.metric, s.value), s.spec.weight) for s in counted)
    target = _weighted_mean(
        (on_100(s.spec.metric, s.spec.target), s.spec.weight) for s in (counted or scores)
    )
    return CellScore(
        index=index, target=target, n=responses.n if responses else 0, metrics=tuple(scores)
    )


@dataclass(frozen=True)
class RolledUp:
    """A stage's or journey's index and target: the key-moment weighted mean of its scored
    touchpoints; touchpoints below the minimum sample are left out of both."""

    index: float | None
    target: float | None
    scored: int  # touchpoints counted
    n: int

    @property
    def status(self) -> str:
        return status_of(self.index, self.target, n=self.n)


def roll_up(cells: Iterable[tuple[CellScore, str]]) -> RolledUp:
    """Roll (cell score, key moment) pairs up into one index."""
    cells = list(cells)
    scored = [
        (cell, KEY_MOMENT_WEIGHTS.get(moment, 1.0))
        for cell, moment in cells
        if cell.index is not None
    ]
    return RolledUp(
        index=_weighted_mean((cell.index, w) for cell, w in scored),
        target=_weighted_mean((cell.target, w) for cell, w in scored if cell.target is not None),
        scored=len(scored),
        n=sum(cell.n for cell, _moment in cells),
    )
