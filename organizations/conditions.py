"""Conditions: the one small language every rule of the platform is written in, with one set
of operators and one vocabulary of errors. Alert rules test the facts of a scored response
(alerts/rules.py), survey logic the answers and hidden fields (surveys/logic.py), invitation
triggers an event's properties and the customer (surveys/distribution.py).

A condition is a tree:
    {"all": [...]} | {"any": [...]} | {"not": {...}}
    {<subject>: <name>, "op": <operator>, "value": ...}
The subject key says what a leaf tests, and each caller says which it accepts ("fact" for
alert rules; "question" and "hidden" for survey logic; "property" and "customer" for
triggers) and what a name resolves to.

Operators:
    eq ne lt lte gt gte    compare; a number given as text (a hidden field, an event
                           property) compares as a number
    in not_in              the subject is one of a list of values; a list subject (the
                           options chosen, the risk flags) when any of its items is
    contains               a list subject holds the value; a text subject has it as a substring
    answered not_answered  the subject has a value, or has none (these take no "value")
A leaf whose subject has no value matches nothing but `not_answered`.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from django.utils.translation import gettext as _


def _is_in(subject: Any, values: Any) -> bool:
    if isinstance(subject, list):
        return any(item in values for item in subject)
    return subject in values


COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": operator.eq,
    "ne": operator.ne,
    "lt": operator.lt,
    "lte": operator.le,
    "gt": operator.gt,
    "gte": operator.ge,
}
OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    **COMPARISONS,
    "in": _is_in,
    "not_in": lambda subject, values: not _is_in(subject, values),
    "contains": lambda subject, value: value in subject,
}
PRESENCE = ("answered", "not_answered")
ALL_OPERATORS = (*OPERATORS, *PRESENCE)
GROUPS = ("all", "any", "not")
EMPTY = (None, "", [], {})


class ConditionError(ValueError):
    """A condition tree is malformed: `path` says where (conditions.any[1]), the message what."""

    def __init__(self, message: str, path: str = "") -> None:
        super().__init__(f"{path}：{message}" if path else message)
        self.path = path
        self.reason = message


# A subject check: the problem with a leaf's name (a fact nobody knows, a question on a later
# page), or None when the name is one the caller can resolve.
SubjectCheck = Callable[[Any], str | None]


def condition_validate(
    node: Any,
    *,
    subjects: Mapping[str, SubjectCheck],
    operators: tuple[str, ...] = ALL_OPERATORS,
    path: str = "conditions",
) -> None:
    """Raise ConditionError unless `node` is a tree whose leaves each name one subject of
    `subjects` (key -> check of the name) and use one of `operators` with a value that fits."""
    if not isinstance(node, Mapping):
        raise ConditionError(_("条件须为一个对象。"), path)
    groups = [key for key in GROUPS if key in node]
    if len(groups) > 1:
        raise ConditionError(_("一个条件只能是 all、any、not 之一。"), path)
    if groups == ["not"]:
        condition_validate(node["not"], subjects=subjects, operators=operators, path=f"{path}.not")
        return
    if groups:
        group = groups[0]
        children = node[group]
        if not isinstance(children, list) or not children:
            raise ConditionError(_("%(group)s 需要非空的条件列表。") % {"group": group}, path)
        for index, child in enumerate(children):
            condition_validate(
                child, subjects=subjects, operators=operators, path=f"{path}.{group}[{index}]"
            )
        return
    named = [key for key in subjects if key in node]
    if len(named) != 1:
        raise ConditionError(_("条件须指明 %(keys)s 之一。") % {"keys": "、".join(subjects)}, path)
    problem = subjects[named[0]](node[named[0]])
    if problem:
        raise ConditionError(problem, path)
    op = node.get("op")
    if op not in operators:
        raise ConditionError(
            _("未知的条件运算符 %(op)s，可用：%(ops)s。") % {"op": op, "ops": "、".join(operators)},
            path,
        )
    if op in PRESENCE:
        return
    if "value" not in node:
        raise ConditionError(_("运算符 %(op)s 需要一个值。") % {"op": op}, path)
    value = node["value"]
    if op in ("in", "not_in") and not isinstance(value, list):
        raise ConditionError(_("运算符 %(op)s 的值须为列表。") % {"op": op}, path)
    if op not in ("in", "not_in") and isinstance(value, (list, dict)):
        raise ConditionError(_("运算符 %(op)s 的值须为单个值。") % {"op": op}, path)


def condition_match(node: Mapping[str, Any], value_of: Callable[[Mapping[str, Any]], Any]) -> bool:
    """Whether a well-formed tree holds, `value_of(leaf)` giving the value of a leaf's subject
    (None when it has none)."""
    if "all" in node:
        return all(condition_match(child, value_of) for child in node["all"])
    if "any" in node:
        return any(condition_match(child, value_of) for child in node["any"])
    if "not" in node:
        return not condition_match(node["not"], value_of)
    subject = value_of(node)
    op = node["op"]
    if op in PRESENCE:
        return (subject not in EMPTY) == (op == "answered")
    if subject in EMPTY:
        return False
    try:
        return bool(OPERATORS[op](subject, node["value"]))
    except TypeError:
        if op not in COMPARISONS:
            return False
    try:  # a number given as text
        return bool(OPERATORS[op](float(subject), float(node["value"])))
    except (TypeError, ValueError):
        return False


def condition_leaves(node: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """The leaves of a well-formed tree, depth first."""
    for key in ("all", "any"):
        if key in node:
            for child in node[key]:
                yield from condition_leaves(child)
            return
    if "not" in node:
        yield from condition_leaves(node["not"])
        return
    yield node


SYMBOLS = {
    "eq": "=",
    "ne": "≠",
    "lt": "<",
    "lte": "≤",
    "gt": ">",
    "gte": "≥",
    "in": "∈",
    "not_in": "∉",
}


def condition_text(node: Mapping[str, Any], subject_text: Callable[[Mapping], str]) -> str:
    """A well-formed tree as people read it, each leaf's subject named by `subject_text`:
    "nps ≤ 6 且 why 已回答"."""
    if "all" in node:
        return _(" 且 ").join(condition_text(child, subject_text) for child in node["all"])
    if "any" in node:
        parts = [condition_text(child, subject_text) for child in node["any"]]
        return "（" + _(" 或 ").join(parts) + "）"
    if "not" in node:
        return _("非") + "（" + condition_text(node["not"], subject_text) + "）"
    subject = subject_text(node)
    op = node["op"]
    if op == "answered":
        return _("%(subject)s 已回答") % {"subject": subject}
    if op == "not_answered":
        return _("%(subject)s 未回答") % {"subject": subject}
    if op == "contains":
        return _("%(subject)s 包含 %(value)s") % {"subject": subject, "value": node["value"]}
    value = node["value"]
    shown = "、".join(map(str, value)) if isinstance(value, list) else str(value)
    return f"{subject} {SYMBOLS[op]} {shown}"
