"""The metric drop test (docs/metric-alerts.md): a series' NPS, CSAT or CES in its recent
window against the lower control limit drawn from its own previous weeks, on a Laney
p'-style chart.

Each answer counts +100 (good), 0 or -100 (bad), so a window's value is a mean and its
standard error is the answers' standard deviation over the square root of the window's
answers. For the NPS good is a promoter and bad a detractor; for CSAT and CES good is an
answer in the scale's top two points and nothing counts as bad, so the value is the share of
satisfied (CSAT) or low-effort (CES) answers, in per cent. The history's weeks often vary
more than sampling alone explains (seasons, campaigns, a new branch manager); their spread,
measured by the moving range of the weeks' standardised values, widens the limit by that
much, so a series that swings by 50 points week to week is not alarmed by one more swing of
that size.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from datetime import date, timedelta

WINDOW_DAYS = 7
HISTORY_WEEKS = 12
# A window below this many answers is never judged: a handful of answers is no evidence.
MIN_WINDOW_ANSWERS = 30
# The history the limit is drawn from: at least this many weeks with answers, this many answers.
MIN_HISTORY_WEEKS = 4
MIN_HISTORY_ANSWERS = 120
# The metrics tested, from their daily rollups (analytics.models.Metric).
DROP_METRICS = ("nps", "csat", "ces")
# Three standard errors below the baseline: one false alarm in about 740 windows of a steady
# series (one-sided normal tail 0.135 %).
LIMIT_SIGMAS = 3.0
# The least per-answer standard deviation assumed (points): a history of promoters (or of
# satisfied answers) only would otherwise make a single other answer a drop.
MIN_ANSWER_SD = 20.0
# d2 for moving ranges of two: the mean moving range over d2 estimates the standard deviation.
D2 = 1.128


@dataclass(frozen=True)
class WeekScore:
    """The answers of one series in the seven local days ending on `end`: how many, how many
    good (promoters; satisfied or low-effort) and bad (detractors; none for CSAT and CES)."""

    end: date
    answers: int = 0
    good: int = 0
    bad: int = 0

    @property
    def value(self) -> float | None:
        """The NPS, or the share of good answers in per cent."""
        if not self.answers:
            return None
        return 100.0 * (self.good - self.bad) / self.answers

    def plus(self, *, answers: int, good: int, bad: int) -> WeekScore:
        return WeekScore(self.end, self.answers + answers, self.good + good, self.bad + bad)


@dataclass(frozen=True)
class DropTest:
    """What the test found for one window: the baseline, the limit and whether the window's
    value fell below."""

    value: float
    baseline: float
    lower_limit: float
    dispersion: float
    history_answers: int

    @property
    def is_drop(self) -> bool:
        return self.value < self.lower_limit


def week_ends(window_end: date) -> list[date]:
    """The last day of each history week, oldest first, then the window's own last day."""
    return [window_end - timedelta(days=WINDOW_DAYS * k) for k in range(HISTORY_WEEKS, -1, -1)]


def drop_test(*, history: list[WeekScore], window: WeekScore) -> DropTest | None:
    """Test `window` against the weeks before it; None when either has too few answers to
    judge (below MIN_WINDOW_ANSWERS in the window, MIN_HISTORY_* in the history)."""
    weeks = [week for week in history if week.answers]
    history_answers = sum(week.answers for week in weeks)
    if (
        window.answers < MIN_WINDOW_ANSWERS
        or len(weeks) < MIN_HISTORY_WEEKS
        or history_answers < MIN_HISTORY_ANSWERS
    ):
        return None
    good_share = sum(week.good for week in weeks) / history_answers
    bad_share = sum(week.bad for week in weeks) / history_answers
    baseline = 100.0 * (good_share - bad_share)
    # Variance of one answer in {+100, 0, -100} with these shares.
    answer_sd = max(
        MIN_ANSWER_SD, 100.0 * math.sqrt(good_share + bad_share - (good_share - bad_share) ** 2)
    )
    standardised = [
        (week.value - baseline) / (answer_sd / math.sqrt(week.answers)) for week in weeks
    ]
    moving_ranges = [abs(b - a) for a, b in itertools.pairwise(standardised)]
    dispersion = max(1.0, sum(moving_ranges) / len(moving_ranges) / D2)
    limit = baseline - LIMIT_SIGMAS * dispersion * answer_sd / math.sqrt(window.answers)
    return DropTest(
        value=window.value,
        baseline=baseline,
        lower_limit=limit,
        dispersion=dispersion,
        history_answers=history_answers,
    )
