"""Survey logic evaluated on the server: display conditions, skip rules and answer piping.

A condition is a small tree:
    {"all": [...]} | {"any": [...]} | {"not": {...}}
    {"question": "nps_1", "op": "lte", "value": 6}
    {"hidden": "store", "op": "eq", "value": "SH01"}
The language and its operators are organizations/conditions.py, shared with alert rules and
invitation triggers. A question may only depend on questions of earlier pages, so a page is
complete when it is shown, with or without JavaScript in the respondent's browser.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext as _

from organizations import conditions
from surveys.definition import (
    DefinitionError,
    answer_display,
    answers_clean,
    iter_questions,
    unknown_keys_error,
)

END = "end"
PIPE = re.compile(r"\{\{\s*(hidden\.)?([a-z][a-z0-9_]*)\s*\}\}")


def condition_validate(node: Any, *, known: list[str], hidden: list[str]) -> None:
    """Raise DefinitionError unless `node` is a condition over `known` questions and `hidden`."""

    def question_problem(key: Any) -> str | None:
        if key in known:
            return None
        return _("条件引用了 %(key)s，但它不是前面的题目（条件只能依赖前面页的题目）。") % {
            "key": key
        }

    def hidden_problem(name: Any) -> str | None:
        if name in hidden:
            return None
        return _("条件引用了未声明的隐藏字段 %(name)s。") % {"name": name}

    try:
        conditions.condition_validate(
            node, subjects={"question": question_problem, "hidden": hidden_problem}
        )
    except conditions.ConditionError as error:
        raise DefinitionError(error.reason) from error


def condition_match(node: Mapping[str, Any], answers: Mapping[str, Any], hidden: Mapping) -> bool:
    return conditions.condition_match(
        node,
        lambda leaf: (
            answers.get(leaf["question"]) if "question" in leaf else hidden.get(leaf["hidden"])
        ),
    )


def _refers_to(node: Mapping[str, Any], keys: set[str]) -> bool:
    return any(leaf.get("question") in keys for leaf in conditions.condition_leaves(node))


def questions_to_show(page: Mapping[str, Any], answers: Mapping, hidden: Mapping) -> list[dict]:
    """The page's questions to render: those whose condition holds on earlier answers, and
    those that depend on a question of this same page (shown without JavaScript; the browser
    hides them while their condition does not hold, and the server decides on submit)."""
    on_page: set[str] = set()
    shown = []
    for question in page.get("questions", []):
        display = question.get("display")
        if (
            display is None
            or _refers_to(display, on_page)
            or condition_match(display, answers, hidden)
        ):
            shown.append(question)
        on_page.add(question["key"])
    return shown


def page_answers_clean(
    definition: Mapping[str, Any],
    page: Mapping[str, Any],
    raw: Mapping,
    earlier: Mapping,
    hidden: Mapping,
) -> tuple[dict[str, Any], dict[str, str], list[str]]:
    """Clean one page's answers in order, each question asked only if its condition holds on
    the answers before it (earlier pages and this page). Returns answers, errors and the keys
    of the questions that were asked; answers to questions not asked are dropped."""
    known = dict(earlier)
    answers: dict[str, Any] = {}
    errors: dict[str, str] = {}
    asked: list[str] = []
    for question in page.get("questions", []):
        display = question.get("display")
        if display is not None and not condition_match(display, known, hidden):
            continue
        asked.append(question["key"])
        clean, problems = answers_clean(definition, raw, questions=[question])
        answers.update(clean)
        known.update(clean)
        errors.update(problems)
    return answers, errors, asked


def next_page_key(
    definition: Mapping[str, Any], page_key: str, answers: Mapping, hidden: Mapping
) -> str:
    """Where the respondent goes after `page_key`: the first matching skip rule, else the next
    page, else the end."""
    pages = definition["pages"]
    index = next(i for i, page in enumerate(pages) if page["key"] == page_key)
    for rule in pages[index].get("skip", []):
        if condition_match(rule["when"], answers, hidden):
            return rule["to"]
    return pages[index + 1]["key"] if index + 1 < len(pages) else END


def answered_path(definition: Mapping[str, Any], answers: Mapping, hidden: Mapping) -> list[str]:
    """The pages a respondent with these answers passes through, in order."""
    path = [definition["pages"][0]["key"]]
    while (following := next_page_key(definition, path[-1], answers, hidden)) != END:
        path.append(following)
    return path


def pipe(
    text: str, definition: Mapping[str, Any], answers: Mapping, hidden: Mapping, language: str
) -> str:
    """Fill "{{q1}}" with the answer to q1 and "{{hidden.store}}" with a hidden field."""
    if "{{" not in text:
        return text
    questions = {question["key"]: question for question in iter_questions(definition)}

    def value(match: re.Match) -> str:
        is_hidden, name = match.groups()
        if is_hidden:
            return str(hidden.get(name, ""))
        question = questions.get(name)
        return answer_display(question, answers.get(name), language) if question else ""

    return PIPE.sub(value, text)


def answers_clean_along_path(
    definition: Mapping[str, Any], raw_answers: Mapping[str, Any], hidden: Mapping
) -> tuple[dict[str, Any], dict[str, str]]:
    """Clean a whole response at once (the API's way in): walk the pages as a respondent with
    these answers would, checking each visible question; answers to questions the logic
    skips or hides are refused rather than stored."""
    answers: dict[str, Any] = {}
    errors: dict[str, str] = {}
    asked: set[str] = set()
    page_key = definition["pages"][0]["key"]
    while page_key != END:
        page = next(page for page in definition["pages"] if page["key"] == page_key)
        page_answers, page_errors, page_asked = page_answers_clean(
            definition, page, raw_answers, answers, hidden
        )
        answers.update(page_answers)
        errors.update(page_errors)
        asked.update(page_asked)
        page_key = next_page_key(definition, page_key, answers, hidden)
    for question in iter_questions(definition):
        key = question["key"]
        if key not in asked and raw_answers.get(key) not in (None, "", [], {}):
            errors[key] = _("按问卷逻辑，此题不需要回答。")
    errors.update(unknown_keys_error(definition, raw_answers))
    return answers, errors


def condition_text(node: Mapping[str, Any]) -> str:
    """A condition as a CX manager reads it: "nps ≤ 6 且 why 已回答"."""
    return conditions.condition_text(
        node, lambda leaf: leaf.get("question") or f"hidden.{leaf.get('hidden')}"
    )
