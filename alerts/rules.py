"""Alert rule conditions: a small tree of all/any over facts of a scored response.

    {"any": [{"fact": "nps", "op": "lte", "value": 6},
             {"fact": "csat", "op": "lte", "value": 2},
             {"fact": "sentiment", "op": "eq", "value": "negative"},
             {"fact": "risk_flag", "op": "in", "value": ["regulator", "media"]},
             {"fact": "aspect_negative", "op": "contains", "value": "等待时间"}]}
A leaf whose fact is missing (the survey had no such question) does not match. List facts
(risk flags, aspects, topics) are tested with "contains" (the list holds the value) or "in"
(the list holds one of the values).

The facts of a scored response are read here too (response_facts), so that scoring and the
rule preview test the same ones. Beside matching, the module knows what each fact takes
(NUMBER_FACTS, FACT_OPERATORS), checks that a tree tests values its facts can have, and
describes a tree in words for people.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from analytics.models import ResponseScore, Sentiment
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
        "sentiment": score.sentiment_label,
        "sentiment_score": score.sentiment_score,
        "touchpoint": response.touchpoint.code if response.touchpoint_id else None,
        "org_unit": response.org_unit.code if response.org_unit_id else None,
        "risk_flag": [risk["flag"] for risk in score.risk_flags],
        "aspect_negative": _aspects_with(score, Sentiment.NEGATIVE),
        "aspect_positive": _aspects_with(score, Sentiment.POSITIVE),
        "topic": list(score.topics),
    }


def _aspects_with(score: ResponseScore, polarity: str) -> list[str]:
    return [opinion["aspect"] for opinion in score.aspects if opinion["polarity"] == polarity]


def _is_in(fact: Any, values: Any) -> bool:
    if isinstance(fact, list):
        return any(item in values for item in fact)
    return fact in values


OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": operator.eq,
    "ne": operator.ne,
    "lt": operator.lt,
    "lte": operator.le,
    "gt": operator.gt,
    "gte": operator.ge,
    "in": _is_in,
    # A list fact holds the value; a text fact has it as a substring.
    "contains": lambda fact, value: value in fact,
}


class RuleError(ValueError):
    """The condition tree is malformed; the message says where."""


def conditions_validate(node: Mapping[str, Any], path: str = "conditions") -> None:
    if not isinstance(node, Mapping):
        raise RuleError(f"{path} must be an object.")
    groups = [key for key in ("all", "any") if key in node]
    if groups:
        children = node[groups[0]]
        if len(groups) > 1 or not isinstance(children, list) or not children:
            raise RuleError(f"{path} needs exactly one of all/any with a non-empty list.")
        for index, child in enumerate(children):
            conditions_validate(child, f"{path}.{groups[0]}[{index}]")
        return
    if node.get("fact") not in FACTS:
        raise RuleError(f"{path}.fact must be one of {', '.join(FACTS)}.")
    if node.get("op") not in OPERATORS:
        raise RuleError(f"{path}.op must be one of {', '.join(OPERATORS)}.")
    if "value" not in node:
        raise RuleError(f"{path}.value is missing.")
    if node["op"] == "in" and not isinstance(node["value"], list):
        raise RuleError(f"{path}.value must be a list for 'in'.")
    if node["op"] == "contains" and isinstance(node["value"], (list, dict)):
        raise RuleError(f"{path}.value must be a single value for 'contains'.")
    if node["fact"] in LIST_FACTS and node["op"] not in LIST_OPERATORS:
        raise RuleError(f"{path}.op must be 'contains' or 'in' for {node['fact']}.")


def conditions_match(node: Mapping[str, Any], facts: Mapping[str, Any]) -> bool:
    if "all" in node:
        return all(conditions_match(child, facts) for child in node["all"])
    if "any" in node:
        return any(conditions_match(child, facts) for child in node["any"])
    fact = facts.get(node["fact"])
    if fact is None or fact == "":
        return False
    try:
        return bool(OPERATORS[node["op"]](fact, node["value"]))
    except TypeError:
        return False


def conditions_leaves(node: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """The leaves of a well-formed tree, depth first."""
    for key in ("all", "any"):
        if key in node:
            for child in node[key]:
                yield from conditions_leaves(child)
            return
    yield node


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
    for number, leaf in enumerate(conditions_leaves(node), start=1):
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
