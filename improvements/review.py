"""The review (复盘) of a project in words: one before/after comparison of a metric, its test,
and the sentence that says whether the change is real at 95 %."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.utils.translation import gettext as _

from improvements.statistics import TestResult

MIN_RESPONSES = 30  # scored responses per period and group before a metric is compared
MIN_TICKETS = 20  # tickets with a root cause per period and group before a share is compared


@dataclass(frozen=True)
class Comparison:
    """A metric in one group (all the project's scope, or one org unit) before and after."""

    metric: str  # the metric's name as shown
    group: str  # the group's name as shown
    n_before: int
    n_after: int
    before: float | None
    after: float | None
    test: TestResult | None
    minimum: int
    shown: Callable[[float], str]  # the metric's value as shown

    @property
    def enough(self) -> bool:
        return min(self.n_before, self.n_after) >= self.minimum

    @property
    def real(self) -> bool:
        return self.enough and self.test is not None and self.test.significant

    @property
    def p_text(self) -> str:
        if self.test is None:
            return "—"
        if self.test.p_value < 0.001:
            return "p < 0.001"
        return f"p = {self.test.p_value:.3f}"

    @property
    def verdict(self) -> str:
        if not self.enough:
            return _(
                "%(metric)s：样本不足（上线前 %(before)s，上线后 %(after)s；每段至少需要 "
                "%(minimum)s），暂不能判断。"
            ) % {
                "metric": self.metric,
                "before": self.n_before,
                "after": self.n_after,
                "minimum": self.minimum,
            }
        values = {
            "metric": self.metric,
            "before": self.shown(self.before),
            "after": self.shown(self.after),
            "p": self.p_text,
        }
        if self.test is None:
            return _("%(metric)s 前后都是 %(after)s，没有可检验的变化。") % values
        if self.after > self.before:
            moved = _("%(metric)s 从 %(before)s 升至 %(after)s（%(p)s）") % values
        elif self.after < self.before:
            moved = _("%(metric)s 从 %(before)s 降至 %(after)s（%(p)s）") % values
        else:
            moved = _("%(metric)s 保持在 %(after)s（%(p)s）") % values
        if self.real:
            return _("%(moved)s：变化是真实的（95%% 置信水平）。") % {"moved": moved}
        return _("%(moved)s：证据不足，不能认定有变化。") % {"moved": moved}


def nps_shown(value: float) -> str:
    return f"{value:.0f}"


def mean_shown(value: float) -> str:
    return f"{value:.2f}"


def share_shown(value: float) -> str:
    return f"{value:.1%}"
