"""The survey definition document: its question types, its validation, and answer cleaning.

A definition is JSON:
    {"title": {"zh-hans": "...", "en": "..."},
     "pages": [{"key": "p1", "questions": [
         {"key": "nps", "type": "nps", "required": true, "text": {"zh-hans": "...", "en": "..."}},
         {"key": "reason", "type": "text", "required": false, "max_length": 2000, "text": {...}},
         {"key": "channel", "type": "single_choice", "options": [{"key": "app", "text": {...}}]}]}]}
Question and option keys are stable: answers are stored by key, so they survive edits.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

DEFAULT_LANGUAGE = "zh-hans"
TEXT_MAX_LENGTH = 2000
KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


@dataclass(frozen=True)
class ScaleType:
    low: int
    high: int


SCALES: dict[str, ScaleType] = {
    "nps": ScaleType(0, 10),
    "csat": ScaleType(1, 5),
    "ces": ScaleType(1, 7),
}
CHOICE_TYPES = ("single_choice", "multiple_choice")
QUESTION_TYPES = (*SCALES, *CHOICE_TYPES, "text")


class DefinitionError(ValueError):
    """The definition document is malformed; the message says where."""


def localized(texts: Mapping[str, str] | str | None, language: str) -> str:
    """Pick the text in `language`, falling back to Chinese, then to any language present."""
    if not texts:
        return ""
    if isinstance(texts, str):
        return texts
    return texts.get(language) or texts.get(DEFAULT_LANGUAGE) or next(iter(texts.values()), "")


def iter_questions(definition: Mapping[str, Any]) -> Iterator[dict]:
    for page in definition.get("pages", []):
        yield from page.get("questions", [])


def empty_definition(title: str) -> dict:
    return {"title": {DEFAULT_LANGUAGE: title}, "pages": [{"key": "p1", "questions": []}]}


def definition_validate(definition: Mapping[str, Any]) -> None:
    """Raise DefinitionError unless the document is well-formed and publishable."""
    pages = definition.get("pages")
    if not isinstance(pages, list) or not pages:
        raise DefinitionError("A survey needs at least one page.")
    seen: set[str] = set()
    count = 0
    for page in pages:
        for question in page.get("questions", []):
            count += 1
            key = question.get("key", "")
            if not isinstance(key, str) or not KEY_PATTERN.match(key):
                raise DefinitionError(f"Question key {key!r} must be lowercase letters, digits, _.")
            if key in seen:
                raise DefinitionError(f"Question key {key!r} is used twice.")
            seen.add(key)
            if question.get("type") not in QUESTION_TYPES:
                raise DefinitionError(
                    f"Question {key!r} has unknown type {question.get('type')!r}."
                )
            if not localized(question.get("text"), DEFAULT_LANGUAGE):
                raise DefinitionError(f"Question {key!r} has no text.")
            if question["type"] in CHOICE_TYPES:
                option_keys = [option.get("key") for option in question.get("options", [])]
                if len(option_keys) < 2:
                    raise DefinitionError(f"Question {key!r} needs at least two options.")
                if len(set(option_keys)) != len(option_keys):
                    raise DefinitionError(f"Question {key!r} repeats an option key.")
    if count == 0:
        raise DefinitionError("A survey needs at least one question.")


def _as_list(value: Any) -> list:
    if value is None or value == "":
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def _clean_one(question: Mapping[str, Any], raw: Any) -> tuple[Any, str | None]:
    """Return (clean value or None when unanswered, error message or None)."""
    qtype = question["type"]
    if qtype in SCALES:
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            return None, None
        scale = SCALES[qtype]
        try:
            value = int(str(raw).strip()) if not isinstance(raw, bool) else None
        except ValueError:
            value = None
        if value is None or not scale.low <= value <= scale.high:
            return None, _("请选择 %(low)s 到 %(high)s 之间的分数。") % {
                "low": scale.low,
                "high": scale.high,
            }
        return value, None
    if qtype in CHOICE_TYPES:
        chosen = [str(item) for item in _as_list(raw)]
        if not chosen:
            return None, None
        valid = {option["key"] for option in question["options"]}
        if any(item not in valid for item in chosen):
            return None, _("请从给出的选项中选择。")
        if qtype == "single_choice":
            if len(chosen) > 1:
                return None, _("此题只能选择一项。")
            return chosen[0], None
        return sorted(set(chosen), key=chosen.index), None
    text = raw if isinstance(raw, str) else ("" if raw is None else str(raw))
    text = text.strip()
    if not text:
        return None, None
    limit = int(question.get("max_length") or TEXT_MAX_LENGTH)
    if len(text) > limit:
        return None, _("内容太长：最多 %(limit)s 字，您输入了 %(length)s 字。") % {
            "limit": limit,
            "length": len(text),
        }
    return text, None


def answers_clean(
    definition: Mapping[str, Any], raw_answers: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, str]]:
    """Check raw answers (form strings or JSON values) against the definition.

    Returns the clean answers keyed by question key, and error messages by question key.
    Keys that are not questions of the survey are an error, never silently dropped.
    """
    answers: dict[str, Any] = {}
    errors: dict[str, str] = {}
    questions = list(iter_questions(definition))
    known = {question["key"] for question in questions}
    for question in questions:
        key = question["key"]
        value, error = _clean_one(question, raw_answers.get(key))
        if error:
            errors[key] = error
        elif value is None:
            if question.get("required"):
                errors[key] = _("此题为必答题。")
        else:
            answers[key] = value
    unknown = sorted(set(raw_answers) - known)
    if unknown:
        errors["__all__"] = _("问卷中没有这些题目：%(keys)s") % {"keys": ", ".join(unknown)}
    return answers, errors


def questions_for_display(
    definition: Mapping[str, Any],
    language: str,
    values: Mapping | None = None,
    errors: Mapping | None = None,
) -> list[dict]:
    """Questions with their texts in the respondent's language and what they entered."""
    values = values or {}
    errors = errors or {}
    shown = []
    for question in iter_questions(definition):
        key = question["key"]
        item = {
            "key": key,
            "type": question["type"],
            "required": bool(question.get("required")),
            "text": localized(question.get("text"), language),
            "error": errors.get(key, ""),
            "value": values.get(key),
        }
        if question["type"] in SCALES:
            scale = SCALES[question["type"]]
            item["scale"] = [str(point) for point in range(scale.low, scale.high + 1)]
        if "options" in question:
            chosen = values.get(key) or []
            chosen = chosen if isinstance(chosen, list) else [chosen]
            item["options"] = [
                {
                    "key": option["key"],
                    "text": localized(option.get("text"), language),
                    "checked": option["key"] in chosen,
                }
                for option in question["options"]
            ]
        if question["type"] == "text":
            item["max_length"] = question.get("max_length") or TEXT_MAX_LENGTH
        shown.append(item)
    return shown
