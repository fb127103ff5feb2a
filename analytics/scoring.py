"""NPS, CSAT and CES from a response's answers, and the aggregate formulas. Pure functions."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from analytics.models import NpsCategory
from surveys.definition import iter_questions


def nps_category(score: int) -> str:
    """0-6 detractor, 7-8 passive, 9-10 promoter (the standard Net Promoter bands)."""
    if not 0 <= score <= 10:
        raise ValueError(f"NPS score must be 0-10, got {score}")
    if score >= 9:
        return NpsCategory.PROMOTER
    if score >= 7:
        return NpsCategory.PASSIVE
    return NpsCategory.DETRACTOR


def net_promoter_score(promoters: int, detractors: int, total: int) -> float | None:
    """% promoters minus % detractors, from -100 to 100; None with no answers."""
    if total == 0:
        return None
    return round(100.0 * (promoters - detractors) / total, 1)


@dataclass(frozen=True)
class ResponseMetrics:
    nps: int | None
    nps_category: str
    csat: int | None
    ces: int | None
    verbatim: str


def response_metrics(definition: Mapping[str, Any], answers: Mapping[str, Any]) -> ResponseMetrics:
    """The first answered NPS, CSAT and CES question gives the metric; free texts are joined."""
    firsts: dict[str, int] = {}
    texts: list[str] = []
    for question in iter_questions(definition):
        value = answers.get(question["key"])
        if value is None:
            continue
        if question["type"] in ("nps", "csat", "ces"):
            firsts.setdefault(question["type"], int(value))
        elif question["type"] == "text":
            texts.append(str(value))
    nps = firsts.get("nps")
    return ResponseMetrics(
        nps=nps,
        nps_category=nps_category(nps) if nps is not None else "",
        csat=firsts.get("csat"),
        ces=firsts.get("ces"),
        verbatim="\n".join(texts),
    )
