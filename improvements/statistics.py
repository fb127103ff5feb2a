"""Significance tests of a review (复盘), with the standard library only.

scipy is only a transitive dependency here, so the two distributions a review needs are
computed directly:

- the standard normal CDF through `math.erfc`;
- Student's t CDF through the regularised incomplete beta function,
  I_x(a, b) evaluated by its continued fraction (Lentz's method, as in Numerical Recipes
  §6.4): for t with ν degrees of freedom, P(|T| > |t|) = I_{ν/(ν+t²)}(ν/2, 1/2).

The tests:

- `two_proportion_z_test`: two shares (the share of tickets with a root cause before and
  after a fix), pooled standard error, two-sided.
- `nps_difference_test`: two NPS values. An NPS is the mean of a score coded +1 (promoter),
  0 (passive), -1 (detractor), so its variance is p₊ + p₋ - (p₊ - p₋)²; the difference of two
  independent NPS is tested with a z statistic on that unpooled variance. A two-proportion
  test on promoters alone or detractors alone would miss half of what moves an NPS.
- `welch_t_test`: two means (CSAT) without assuming equal variances, with the
  Welch–Satterthwaite degrees of freedom.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

SIGNIFICANCE = 0.05  # a change is called real at 95 %


@dataclass(frozen=True)
class TestResult:
    statistic: float
    p_value: float

    @property
    def significant(self) -> bool:
        return self.p_value < SIGNIFICANCE


def normal_cdf(z: float) -> float:
    return 0.5 * math.erfc(-z / math.sqrt(2.0))


def _beta_continued_fraction(x: float, a: float, b: float) -> float:
    tiny = 1e-300
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    result = d
    for m in range(1, 300):
        for numerator in (
            m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1)),
        ):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + numerator / c
            c = c if abs(c) > tiny else tiny
            result *= d * c
        if abs(d * c - 1.0) < 1e-15:
            break
    return result


def regularized_incomplete_beta(x: float, a: float, b: float) -> float:
    """I_x(a, b) for 0 ≤ x ≤ 1."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    front = math.exp(
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    # The continued fraction converges fast for x < (a + 1) / (a + b + 2); use the symmetry
    # I_x(a, b) = 1 - I_{1-x}(b, a) above it.
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _beta_continued_fraction(x, a, b) / a
    return 1.0 - front * _beta_continued_fraction(1.0 - x, b, a) / b


def student_t_cdf(t: float, df: float) -> float:
    tail = 0.5 * regularized_incomplete_beta(df / (df + t * t), df / 2.0, 0.5)
    return 1.0 - tail if t > 0 else tail


def _two_sided_normal(z: float) -> TestResult:
    return TestResult(statistic=z, p_value=math.erfc(abs(z) / math.sqrt(2.0)))


def two_proportion_z_test(
    successes_a: int, n_a: int, successes_b: int, n_b: int
) -> TestResult | None:
    """Two-sided test that two shares differ; None when a sample is empty or there is no
    variation at all (every case in both samples the same)."""
    if n_a == 0 or n_b == 0:
        return None
    pooled = (successes_a + successes_b) / (n_a + n_b)
    error = math.sqrt(pooled * (1.0 - pooled) * (1.0 / n_a + 1.0 / n_b))
    if error == 0.0:
        return None
    return _two_sided_normal((successes_b / n_b - successes_a / n_a) / error)


def nps_difference_test(
    promoters_a: int, detractors_a: int, n_a: int, promoters_b: int, detractors_b: int, n_b: int
) -> TestResult | None:
    """Two-sided test that NPS b differs from NPS a (both on the -1..1 scale internally); None
    when a sample is empty or both are one and the same value throughout."""
    if n_a == 0 or n_b == 0:
        return None

    def mean_and_variance(promoters: int, detractors: int, n: int) -> tuple[float, float]:
        up, down = promoters / n, detractors / n
        return up - down, up + down - (up - down) ** 2

    mean_a, variance_a = mean_and_variance(promoters_a, detractors_a, n_a)
    mean_b, variance_b = mean_and_variance(promoters_b, detractors_b, n_b)
    error = math.sqrt(variance_a / n_a + variance_b / n_b)
    if error == 0.0:
        return _without_spread(mean_a, mean_b)
    return _two_sided_normal((mean_b - mean_a) / error)


def _without_spread(mean_a: float, mean_b: float) -> TestResult | None:
    """Both samples without any spread: the same value (nothing to test), or two different
    values, every case on each side alike (a certain difference)."""
    if mean_a == mean_b:
        return None
    return TestResult(statistic=math.copysign(math.inf, mean_b - mean_a), p_value=0.0)


def welch_t_test(
    mean_a: float, variance_a: float, n_a: int, mean_b: float, variance_b: float, n_b: int
) -> TestResult | None:
    """Two-sided Welch's t-test that mean b differs from mean a, from each sample's mean,
    sample variance (n - 1 denominator) and size, as the database aggregates them; None with
    fewer than two values on a side, or the same value throughout both."""
    if n_a < 2 or n_b < 2:
        return None
    share_a, share_b = variance_a / n_a, variance_b / n_b
    if share_a + share_b == 0.0:
        return _without_spread(mean_a, mean_b)
    t = (mean_b - mean_a) / math.sqrt(share_a + share_b)
    df = (share_a + share_b) ** 2 / (share_a**2 / (n_a - 1) + share_b**2 / (n_b - 1))
    return TestResult(statistic=t, p_value=2.0 * student_t_cdf(-abs(t), df))


def sample_summary(values: Sequence[float]) -> tuple[float, float, int]:
    """(mean, sample variance, n) of `values`, the arguments welch_t_test takes per side."""
    if len(values) < 2:
        return (statistics.fmean(values) if values else 0.0, 0.0, len(values))
    return statistics.fmean(values), statistics.variance(values), len(values)
