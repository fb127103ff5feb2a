"""Edits of a survey definition, as pure functions on the document (the builder's verbs).

Each function changes the definition in place and raises DefinitionError with a message for
the CX manager when the edit would break it (a condition left pointing at a deleted question,
a question moved before one it depends on). surveys.services applies them to the draft.
"""

from __future__ import annotations

import contextlib
import copy
import json
import re
from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext as _

from surveys.definition import (
    KEY_PATTERN,
    QUESTION_TYPES,
    DefinitionError,
    EmptySurveyError,
    iter_questions,
    page_of,
)

# Settings a question of each type may carry, besides key, type, text, help, required, display.
TYPE_SETTINGS: dict[str, tuple[str, ...]] = {
    "nps": ("low_label", "high_label"),
    "csat": ("style", "low_label", "high_label"),
    "ces": ("low_label", "high_label"),
    "rating": ("min", "max", "low_label", "high_label"),
    "single_choice": ("options", "other", "randomize"),
    "multiple_choice": ("options", "other", "randomize", "min_choices", "max_choices"),
    "dropdown": ("options", "other"),
    "matrix": ("options", "rows"),
    "short_text": ("min_length", "max_length", "format"),
    "text": ("min_length", "max_length"),
    "number": ("min", "max", "integer"),
    "date": ("min", "max"),
    "contact": ("consent_text",),
}
COMMON = ("key", "type", "text", "help", "required", "display")


def _find(definition: dict, key: str) -> tuple[dict, int]:
    for page in definition["pages"]:
        for index, question in enumerate(page["questions"]):
            if question["key"] == key:
                return page, index
    raise DefinitionError(_("没有题目 %(key)s。") % {"key": key})


def _checked(definition: dict, edit) -> None:
    """Apply `edit` to a copy first, so a refused edit leaves the document untouched."""
    from surveys.definition import definition_validate

    trial = copy.deepcopy(definition)
    edit(trial)
    with contextlib.suppress(EmptySurveyError):  # a draft may be empty while being built
        definition_validate(trial)
    definition.clear()
    definition.update(trial)


def new_question_key(definition: Mapping[str, Any], qtype: str) -> str:
    taken = {question["key"] for question in iter_questions(definition)}
    index = 1
    while f"{qtype}_{index}" in taken:
        index += 1
    return f"{qtype}_{index}"


def question_add(definition: dict, *, page_key: str, question: dict) -> str:
    if question.get("type") not in QUESTION_TYPES:
        raise DefinitionError(_("未知题型：%(type)s") % {"type": question.get("type")})
    question = {
        **question,
        "key": question.get("key") or new_question_key(definition, question["type"]),
    }
    _checked(definition, lambda d: page_of(d, page_key)["questions"].append(question))
    return question["key"]


def question_update(definition: dict, *, key: str, changes: Mapping[str, Any]) -> None:
    """Replace the question's texts and settings; the type and key stay."""

    def edit(d):
        page, index = _find(d, key)
        current = page["questions"][index]
        allowed = set(COMMON) | set(TYPE_SETTINGS[current["type"]])
        updated = {name: value for name, value in {**current, **changes}.items() if name in allowed}
        updated["key"], updated["type"] = current["key"], current["type"]
        page["questions"][index] = {k: v for k, v in updated.items() if v not in (None, "", [])}

    _checked(definition, edit)


def _references(definition: Mapping[str, Any], key: str) -> list[str]:
    """Where `key` is used by a condition or piped into a text."""
    used = []
    pattern = re.compile(r'"question":\s*"' + re.escape(key) + '"')
    pipe = "{{" + key + "}}"
    for page in definition["pages"]:
        for rule in page.get("skip", []):
            if pattern.search(json.dumps(rule)):
                used.append(_("第 %(page)s 页的跳转规则") % {"page": page["key"]})
        for question in page["questions"]:
            if question["key"] == key:
                continue
            if pattern.search(json.dumps(question.get("display", {}))):
                used.append(_("%(key)s 的显示条件") % {"key": question["key"]})
            if pipe in json.dumps(question.get("text", {}), ensure_ascii=False).replace(" ", ""):
                used.append(_("%(key)s 的题干") % {"key": question["key"]})
    return used


def question_remove(definition: dict, *, key: str) -> None:
    used = _references(definition, key)
    if used:
        raise DefinitionError(
            _("题目 %(key)s 仍被引用：%(used)s。请先修改这些地方。")
            % {"key": key, "used": "、".join(used)}
        )

    def edit(d):
        page, index = _find(d, key)
        del page["questions"][index]

    _checked(definition, edit)


def question_move(definition: dict, *, key: str, offset: int) -> None:
    """Move a question up (-1) or down (+1), across page boundaries at a page's edge."""

    def edit(d):
        flat = [(page, question) for page in d["pages"] for question in page["questions"]]
        position = next(i for i, (_page, question) in enumerate(flat) if question["key"] == key)
        if not 0 <= position + offset < len(flat):
            return
        page, question = flat[position]
        other_page, other = flat[position + offset]
        if other_page is page:
            i, j = page["questions"].index(question), page["questions"].index(other)
            page["questions"][i], page["questions"][j] = other, question
        else:
            # Across a page edge: it becomes the last question of the page above, or the
            # first of the page below.
            page["questions"].remove(question)
            target = other_page["questions"].index(other) + (1 if offset < 0 else 0)
            other_page["questions"].insert(target, question)

    _checked(definition, edit)


def question_move_to_page(definition: dict, *, key: str, page_key: str) -> None:
    def edit(d):
        page, index = _find(d, key)
        question = page["questions"].pop(index)
        page_of(d, page_key)["questions"].append(question)

    _checked(definition, edit)


def question_duplicate(definition: dict, *, key: str) -> str:
    page, index = _find(definition, key)
    copy_key = new_question_key(definition, page["questions"][index]["type"])

    def edit(d):
        page, index = _find(d, key)
        duplicate = {**copy.deepcopy(page["questions"][index]), "key": copy_key}
        page["questions"].insert(index + 1, duplicate)

    _checked(definition, edit)
    return copy_key


def page_add(definition: dict) -> str:
    taken = {page["key"] for page in definition["pages"]}
    index = len(taken) + 1
    while f"p{index}" in taken:
        index += 1
    definition["pages"].append({"key": f"p{index}", "questions": []})
    return f"p{index}"


def page_move(definition: dict, *, page_key: str, offset: int) -> None:
    """Move a page up (-1) or down (+1); refused when logic would then point backwards."""

    def edit(d):
        pages = d["pages"]
        index = next(i for i, page in enumerate(pages) if page["key"] == page_key)
        target = index + offset
        if 0 <= target < len(pages):
            pages[index], pages[target] = pages[target], pages[index]

    _checked(definition, edit)


def page_remove(definition: dict, *, page_key: str) -> None:
    page = page_of(definition, page_key)
    if page is None:
        raise DefinitionError(_("没有第 %(page)s 页。") % {"page": page_key})
    if page["questions"]:
        raise DefinitionError(_("请先移走或删除本页的题目。"))
    if len(definition["pages"]) == 1:
        raise DefinitionError(_("问卷至少保留一页。"))
    _checked(definition, lambda d: d["pages"].remove(page_of(d, page_key)))


def page_update(definition: dict, *, page_key: str, title: dict | None, skip: list | None) -> None:
    def edit(d):
        page = page_of(d, page_key)
        if title is not None:
            page["title"] = {lang: text for lang, text in title.items() if text}
        if skip is not None:
            page["skip"] = skip

    _checked(definition, edit)


SETTINGS = ("title", "description", "thanks", "redirect_url", "theme", "hidden_fields")


def settings_update(definition: dict, *, changes: Mapping[str, Any]) -> None:
    """Change the survey's settings; definition_validate checks them (the same check an
    import gets)."""
    for name in changes.get("hidden_fields") or []:
        if not KEY_PATTERN.match(name):
            raise DefinitionError(
                _("隐藏字段 %(name)s 只能用小写字母、数字和下划线。") % {"name": name}
            )

    def edit(d):
        for name in SETTINGS:
            if name in changes:
                d[name] = changes[name]

    _checked(definition, edit)


def definition_import(document: Any) -> dict:
    """A definition from an exported JSON document (the whole export or its "definition")."""
    from surveys.definition import definition_validate

    if isinstance(document, Mapping) and "definition" in document:
        document = document["definition"]
    if not isinstance(document, Mapping):
        raise DefinitionError(_("文件不是问卷定义（需要一个 JSON 对象）。"))
    definition = copy.deepcopy(dict(document))
    definition_validate(definition)
    return definition
