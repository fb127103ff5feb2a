"""Alert rule conditions: a small tree of all/any over facts of a scored response.

    {"any": [{"fact": "nps", "op": "lte", "value": 6},
             {"fact": "csat", "op": "lte", "value": 2},
             {"fact": "sentiment", "op": "eq", "value": "negative"},
             {"fact": "risk_flag", "op": "in", "value": ["regulator", "media"]},
             {"fact": "aspect_negative", "op": "contains", "value": "等待时间"}]}
A leaf whose fact is missing (the survey had no such question) does not match. List facts
(risk flags, aspects, topics) are tested with "contains" (the list holds the value) or "in"
(the list holds one of the values).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from typing import Any

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


DEFAULT_CONDITIONS = {
    "any": [
        {"fact": "nps", "op": "lte", "value": 6},
        {"fact": "csat", "op": "lte", "value": 2},
        {"fact": "sentiment", "op": "eq", "value": "negative"},
    ]
}
