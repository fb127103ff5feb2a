"""Key drivers of the NPS: which touchpoints and which text aspects move it most, by the NPS
gap between the customers who had the problem and those who did not (docs/key-drivers.md).

One method for both, so that a manager reads both charts the same way. For a driver, the
"low" group had the problem (a CSAT of 1-2 at the touchpoint; a negative mention of the aspect)
and the "rest" did not:

    gap    = NPS(rest) - NPS(low)                   in points, positive when the problem hurts
    share  = low / everyone in the view             of customers (touchpoints) or answers (aspects)
    impact = gap x share

Since NPS(all) = share x NPS(low) + (1 - share) x NPS(rest), the impact is exactly the number
of points the overall NPS would gain if the low group recommended as the rest do. The gap's
95 % interval is that of a difference of two independent NPS (analytics.dashboard explains
one NPS's variance); a driver with fewer than the minimum sample in either group is
suppressed. It is correlation, not causation: customers unhappy for another reason may also
be the ones who complain about the queue.

pandas does the grouping: the rows come from two queries (selectors.driver_rows), however
many answers, touchpoints or aspects there are.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from analytics.dashboard import Z_95, tp_label
from analytics.journey_map import min_sample
from analytics.selectors import DRIVER_ANSWER_FIELDS, DriverRows
from journeys.models import Touchpoint

LOW_CSAT = 2  # CSAT 1-2 of 5: the "bad" answers of the metric rollups
PROMOTER_FROM, DETRACTOR_TO = 9, 6
MAX_GAP = 200.0  # an NPS of 100 against one of -100
# The frame's names of selectors.DRIVER_ANSWER_FIELDS, in their order.
ANSWER_COLUMNS = ["score", "external_id", "response", "touchpoint", "nps", "csat", "submitted_at"]
assert len(ANSWER_COLUMNS) == len(DRIVER_ANSWER_FIELDS)
# Rows a driver table prints; a bank's hundreds of touchpoints are narrowed with the filters.
DRIVER_ROWS = 30


@dataclass(frozen=True)
class Group:
    """Promoters and detractors among n customers or answers."""

    n: int
    promoters: int
    detractors: int

    @property
    def nps(self) -> float | None:
        return 100.0 * (self.promoters - self.detractors) / self.n if self.n else None

    @property
    def variance(self) -> float:
        """Of one answer's score (+1, 0, -1), as a share: p + d - (p - d)^2."""
        p, d = self.promoters / self.n, self.detractors / self.n
        return max(p + d - (p - d) ** 2, 0.0)


@dataclass(frozen=True)
class Driver:
    """One touchpoint or aspect: the NPS of the group with the problem and of the rest."""

    label: str
    low: Group
    rest: Group
    everyone: int
    min_sample: int
    touchpoint: Touchpoint | None = None
    aspect: str = ""

    @property
    def suppressed(self) -> bool:
        return min(self.low.n, self.rest.n) < max(self.min_sample, 1)

    @property
    def share(self) -> float:
        """Of everyone in the view, in per cent."""
        return 100.0 * self.low.n / self.everyone if self.everyone else 0.0

    @property
    def gap(self) -> float | None:
        if self.suppressed:
            return None
        return round(self.rest.nps - self.low.nps, 1)

    @property
    def interval(self) -> tuple[float, float] | None:
        """The gap's 95 % interval: the two groups are independent samples, so the variances
        of their NPS add up. Clipped to the gaps there can be, as one NPS's interval is."""
        if self.suppressed:
            return None
        error = (
            100.0
            * Z_95
            * math.sqrt(self.low.variance / self.low.n + self.rest.variance / self.rest.n)
        )
        gap = self.rest.nps - self.low.nps
        return round(max(gap - error, -MAX_GAP), 1), round(min(gap + error, MAX_GAP), 1)

    @property
    def significant(self) -> bool:
        """Whether the interval leaves out zero: a gap that chance alone rarely makes."""
        interval = self.interval
        return interval is not None and (interval[0] > 0 or interval[1] < 0)

    @property
    def impact(self) -> float | None:
        if self.suppressed:
            return None
        return round((self.rest.nps - self.low.nps) * self.low.n / self.everyone, 1)

    @property
    def impact_interval(self) -> tuple[float, float] | None:
        """The gap's interval times the share (the share taken as known)."""
        interval = self.interval
        if interval is None:
            return None
        share = self.low.n / self.everyone
        return round(interval[0] * share, 1), round(interval[1] * share, 1)


@dataclass(frozen=True)
class KeyDrivers:
    touchpoints: list[Driver]
    aspects: list[Driver]
    customers: int  # in the view: the touchpoints' base
    answers: int  # NPS answers in the view: the aspects' base
    rated: int  # customers with at least one CSAT answer at a touchpoint
    min_sample: int

    @staticmethod
    def _shown(drivers: list[Driver]) -> list[Driver]:
        return drivers[:DRIVER_ROWS]

    @property
    def touchpoints_shown(self) -> list[Driver]:
        return self._shown(self.touchpoints)

    @property
    def aspects_shown(self) -> list[Driver]:
        return self._shown(self.aspects)

    @property
    def touchpoints_hidden(self) -> int:
        return max(len(self.touchpoints) - DRIVER_ROWS, 0)

    @property
    def aspects_hidden(self) -> int:
        return max(len(self.aspects) - DRIVER_ROWS, 0)


def _answers_frame(rows: DriverRows) -> pd.DataFrame:
    """One row per NPS answer with its customer (the external id, or the response itself when
    there is none) and whether it is a promoter or a detractor."""
    answers = pd.DataFrame.from_records(rows.answers, columns=ANSWER_COLUMNS)
    answers["customer"] = answers["external_id"].where(
        answers["external_id"] != "", "response:" + answers["response"].astype(str)
    )
    answers["promoter"] = answers["nps"] >= PROMOTER_FROM
    answers["detractor"] = answers["nps"] <= DETRACTOR_TO
    return answers


def _tally(frame: pd.DataFrame, by: str | list[str]) -> pd.DataFrame:
    """n, promoters and detractors per value of `by`."""
    return frame.groupby(by).agg(
        n=("promoter", "size"), promoters=("promoter", "sum"), detractors=("detractor", "sum")
    )


def _group(row) -> Group:
    return Group(int(row.n), int(row.promoters), int(row.detractors))


def _cell(tallies: pd.DataFrame, key: tuple) -> Group:
    return _group(tallies.loc[key]) if key in tallies.index else Group(0, 0, 0)


def _ranked(drivers: list[Driver]) -> list[Driver]:
    """By impact, the largest first; suppressed drivers last, the largest groups first."""
    return sorted(drivers, key=lambda d: (d.suppressed, -(d.impact or 0.0), -d.low.n))


def _rest(whole: Group, low: Group) -> Group:
    return Group(
        whole.n - low.n, whole.promoters - low.promoters, whole.detractors - low.detractors
    )


def _aspect_drivers(answers: pd.DataFrame, rows: DriverRows, sample: int) -> list[Driver]:
    """Per aspect: the answers whose text mentions it negatively against every other answer."""
    if not rows.negative_aspects:
        return []
    mentions = pd.DataFrame.from_records(rows.negative_aspects, columns=["score", "aspect"])
    low = _tally(mentions.merge(answers, on="score"), "aspect")
    whole = Group(len(answers), int(answers["promoter"].sum()), int(answers["detractor"].sum()))
    return _ranked(
        [
            Driver(
                label=str(aspect),
                aspect=str(aspect),
                low=_group(row),
                rest=_rest(whole, _group(row)),
                everyone=whole.n,
                min_sample=sample,
            )
            for aspect, row in low.iterrows()
        ]
    )


def _touchpoint_drivers(
    answers: pd.DataFrame, touchpoints: dict[int, Touchpoint], sample: int
) -> tuple[list[Driver], int, int]:
    """Per touchpoint: the customers who gave it a low CSAT against those who rated it and not
    low, each customer counted by their latest NPS answer in the view. With the number of
    customers and of customers with a CSAT answer."""
    latest = answers.sort_values(["submitted_at", "response"]).groupby("customer").tail(1)
    outcome = latest.set_index("customer")[["promoter", "detractor"]]
    rated = answers.dropna(subset=["csat", "touchpoint"])
    worst = rated.groupby(["customer", "touchpoint"])["csat"].min().reset_index()
    worst["low"] = worst["csat"] <= LOW_CSAT
    experience = worst.join(outcome, on="customer")
    tallies = _tally(experience, ["touchpoint", "low"])
    drivers = []
    for touchpoint_id in experience["touchpoint"].unique():
        touchpoint = touchpoints.get(int(touchpoint_id))
        if touchpoint is None:
            continue
        drivers.append(
            Driver(
                label=tp_label(touchpoint),
                touchpoint=touchpoint,
                low=_cell(tallies, (touchpoint_id, True)),
                rest=_cell(tallies, (touchpoint_id, False)),
                everyone=len(outcome),
                min_sample=sample,
            )
        )
    return _ranked(drivers), len(outcome), rated["customer"].nunique()


def key_drivers_read(*, rows: DriverRows, catalogue: list[Touchpoint]) -> KeyDrivers:
    """The key drivers of `rows` (selectors.driver_rows of the dashboard's filters), with
    `catalogue` every touchpoint of the tenant with its stage and journey."""
    sample = min_sample()
    if not rows.answers:
        return KeyDrivers([], [], customers=0, answers=0, rated=0, min_sample=sample)
    answers = _answers_frame(rows)
    touchpoints, customers, rated = _touchpoint_drivers(
        answers, {tp.pk: tp for tp in catalogue}, sample
    )
    return KeyDrivers(
        touchpoints=touchpoints,
        aspects=_aspect_drivers(answers, rows, sample),
        customers=customers,
        answers=len(answers),
        rated=rated,
        min_sample=sample,
    )
