"""Alert rule conditions: a small tree of all/any over facts of a scored response.

    {"any": [{"fact": "nps", "op": "lte", "value": 6},
             {"fact": "csat", "op": "lte", "value": 2},
             {"fact": "sentiment", "op": "eq", "value": "negative"},
             {"fact": "risk_flag", "op": "in", "value": ["regulator", "media"]},
             {"fact": "aspect_negative", "op": "contains", "value": "等待时间"}]}
A leaf whose fact is missing (the survey had no such question) does not match. List facts
(risk flags, aspects, topics) are tested with "contains" (the list holds the value) or "in"
(the list holds one of the values). The language and its operators are organizations/
conditions.py, shared with survey logic and invitation triggers.

The facts of a scored response are read here too (response_facts), so that scoring and the
rule preview test the same ones. Beside matching, the module knows what each fact takes
(NUMBER_FACTS, FACT_OPERATORS), checks that a tree tests values its facts can have, and
describes a tree in words for people.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from analytics.models import ExternalPost, ResponseScore, Sentiment
from organizations.conditions import (
    ConditionError,
    condition_leaves,
    condition_match,
    condition_validate,
)
from surveys.definition import SCALES

FACTS = (
    "nps",
    "nps_category",
    "csat",
    "ces",
    "sentiment",
    "sentiment_score",
    "touchpoint",
    "org_unit",
    "risk_flag",
    "aspect_negative",
    "aspect_positive",
    "topic",
)
# Facts whose value is a list: the risk flags, the aspects with that polarity, the topics.
LIST_FACTS = frozenset({"risk_flag", "aspect_negative", "aspect_positive", "topic"})
LIST_OPERATORS = frozenset({"contains", "in"})
# Facts that are numbers, with the range their values take: the survey scales, and the
# sentiment score in [0, 1]. The scales are whole numbers.
NUMBER_FACTS: dict[str, tuple[float, float]] = {
    **{name: (scale.low, scale.high) for name, scale in SCALES.items()},
    "sentiment_score": (0.0, 1.0),
}
INTEGER_FACTS = frozenset(SCALES)
# The operators that make sense for each fact, in the order an editor offers them: numbers
# compare, a label is one value or one of several, a list holds a value or one of several.
FACT_OPERATORS: dict[str, tuple[str, ...]] = {
    fact: (
        ("lte", "lt", "gte", "gt", "eq", "ne")
        if fact in NUMBER_FACTS
        else ("contains", "in")
        if fact in LIST_FACTS
        else ("eq", "ne", "in")
    )
    for fact in FACTS
}
FACT_LABELS = {
    "nps": "NPS",
    "nps_category": _lazy("NPS 类别"),
    "csat": "CSAT",
    "ces": "CES",
    "sentiment": _lazy("情感"),
    "sentiment_score": _lazy("情感分"),
    "touchpoint": _lazy("触点"),
    "org_unit": _lazy("组织"),
    "risk_flag": _lazy("风险信号"),
    "aspect_negative": _lazy("负面方面"),
    "aspect_positive": _lazy("正面方面"),
    "topic": _lazy("主题"),
}


def response_facts(score: ResponseScore) -> dict:
    """What alert rules can test about a scored response (alerts/rules.py FACTS)."""
    response = score.response
    return {
        "nps": score.nps,
        "nps_category": score.nps_category,
        "csat": score.csat,
        "ces": score.ces,
        "touchpoint": response.touchpoint.code if response.touchpoint_id else None,
        "org_unit": response.org_unit.code if response.org_unit_id else None,
        **_text_facts(score),
    }


def external_post_facts(post: ExternalPost) -> dict:
    """What alert rules can test about an analysed external post: the facts of its text, as a
    response's; it has no survey scores, touchpoint or org unit, so leaves on those do not
    match it."""
    return {
        "nps": None,
        "nps_category": None,
        "csat": None,
        "ces": None,
        "touchpoint": None,
        "org_unit": None,
        **_text_facts(post),
    }


def _text_facts(analysis: ResponseScore | ExternalPost) -> dict:
    return {
        "sentiment": analysis.sentiment_label,
        "sentiment_score": analysis.sentiment_score,
        "risk_flag": [risk["flag"] for risk in analysis.risk_flags],
        "aspect_negative": _aspects_with(analysis.aspects, Sentiment.NEGATIVE),
        "aspect_positive": _aspects_with(analysis.aspects, Sentiment.POSITIVE),
        "topic": list(analysis.topics),
    }


def _aspects_with(aspects: list[dict], polarity: str) -> list[str]:
    return [opinion["aspect"] for opinion in aspects if opinion["polarity"] == polarity]


# What a rule may ask of a fact: every operator FACT_OPERATORS offers for some fact.
RULE_OPERATORS = tuple(dict.fromkeys(op for ops in FACT_OPERATORS.values() for op in ops))


def _fact_problem(name: Any) -> str | None:
    if name in FACTS:
        return None
    return _("未知的事实 %(name)s，可用：%(facts)s。") % {"name": name, "facts": "、".join(FACTS)}


def conditions_validate(node: Any, path: str = "conditions") -> None:
    """Raise ConditionError unless `node` is a rule's tree (organizations/conditions.py) of
    facts, each tested with an operator that makes sense for it."""
    condition_validate(node, subjects={"fact": _fact_problem}, operators=RULE_OPERATORS, path=path)
    for leaf in condition_leaves(node):
        problem = operator_problem(leaf["fact"], leaf["op"])
        if problem:
            raise ConditionError(problem, path)


def conditions_match(node: Mapping[str, Any], facts: Mapping[str, Any]) -> bool:
    return condition_match(node, lambda leaf: facts.get(leaf["fact"]))


COMPARISON_SYMBOLS = {"eq": "=", "ne": "≠", "lt": "<", "lte": "≤", "gt": ">", "gte": "≥"}


def operator_symbol(fact: str, op: str) -> str:
    """How a condition shows its operator: a comparison sign, or words for contains/in."""
    if op == "contains":
        return _("包含")
    if op == "in":
        return _("包含任一") if fact in LIST_FACTS else _("属于")
    return COMPARISON_SYMBOLS[op]


def _shown(value: Any, labels: Mapping[Any, str]) -> str:
    if isinstance(value, str):
        return str(labels.get(value, value))
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def conditions_describe(
    node: Mapping[str, Any], value_labels: Mapping[str, Mapping[Any, str]]
) -> str:
    """A well-formed tree as one line people read, values by their labels in `value_labels`
    (fact -> stored value -> label): "NPS ≤ 6 或 情感 = 负面 或 风险信号 包含 监管投诉"."""
    for key, word in (("all", _("且")), ("any", _("或"))):
        if key in node:
            parts = [
                f"（{conditions_describe(child, value_labels)}）"
                if len(child.get("all") or child.get("any") or ()) > 1
                else conditions_describe(child, value_labels)
                for child in node[key]
            ]
            return f" {word} ".join(parts)
    fact, value = node["fact"], node["value"]
    labels = value_labels.get(fact, {})
    shown = "、".join(
        _shown(item, labels) for item in (value if isinstance(value, list) else [value])
    )
    return f"{FACT_LABELS[fact]} {operator_symbol(fact, node['op'])} {shown}"


def operator_problem(fact: str, op: str) -> str | None:
    """Why `op` makes no sense for `fact`, or None."""
    if op in FACT_OPERATORS[fact]:
        return None
    return _("「%(fact)s」不能用「%(op)s」比较，可用：%(ops)s。") % {
        "fact": FACT_LABELS[fact],
        "op": operator_symbol(fact, op),
        "ops": "、".join(operator_symbol(fact, allowed) for allowed in FACT_OPERATORS[fact]),
    }


KNOWN_VALUES_SHOWN = 8  # a hint lists this many of a fact's values, then "…"


def value_problem(
    fact: str, op: str, value: Any, known: Mapping[str, Mapping[str, str]]
) -> str | None:
    """Why `value` is not one a fact takes: a number off its range, or a label not among
    `known[fact]` (stored value -> label, the current tenant's). None when it fits."""
    label = FACT_LABELS[fact]
    if fact in NUMBER_FACTS:
        low, high = NUMBER_FACTS[fact]
        whole = fact in INTEGER_FACTS
        kinds = int if whole else (int, float)
        if isinstance(value, kinds) and not isinstance(value, bool) and low <= value <= high:
            return None
        message = (
            _("%(fact)s 的值应为 %(low)s 到 %(high)s 的整数。")
            if whole
            else _("%(fact)s 的值应为 %(low)s 到 %(high)s 之间的数。")
        )
        return message % {"fact": label, "low": _shown(low, {}), "high": _shown(high, {})}
    values = value if op == "in" else [value]
    if not values:
        return _("请至少选择一个「%(fact)s」的值。") % {"fact": label}
    choices = known.get(fact, {})
    unknown = [str(item) for item in values if not (isinstance(item, str) and item in choices)]
    if not unknown:
        return None
    if not choices:
        return _("「%(values)s」不是可选的「%(fact)s」：目前还没有任何「%(fact)s」。") % {
            "values": "、".join(unknown),
            "fact": label,
        }
    shown = [str(label) for label in list(choices.values())[:KNOWN_VALUES_SHOWN]]
    more = "…" if len(choices) > KNOWN_VALUES_SHOWN else ""
    return _("「%(values)s」不是「%(fact)s」的可选值，可选：%(choices)s。") % {
        "values": "、".join(unknown),
        "fact": label,
        "choices": "、".join(shown) + more,
    }


def conditions_problems(
    node: Mapping[str, Any], known: Mapping[str, Mapping[str, str]]
) -> list[str]:
    """What is wrong with the leaves of a well-formed tree, each message naming its condition."""
    problems = []
    for number, leaf in enumerate(condition_leaves(node), start=1):
        fact, op = leaf["fact"], leaf["op"]
        problem = operator_problem(fact, op) or value_problem(fact, op, leaf["value"], known)
        if problem:
            problems.append(_("条件 %(n)s：%(problem)s") % {"n": number, "problem": problem})
    return problems


DEFAULT_CONDITIONS = {
    "any": [
        {"fact": "nps", "op": "lte", "value": 6},
        {"fact": "csat", "op": "lte", "value": 2},
        {"fact": "sentiment", "op": "eq", "value": "negative"},
    ]
}
