"""Questions prepared for a template: texts in the reader's language, answers piped in,
options in display order, and what the respondent entered (kept across errors)."""

from __future__ import annotations

import json
import random
from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext_lazy as _

from organizations.validators import BRAND_COLOR, web_url_problem
from surveys.definition import (
    OTHER,
    TEXT_TYPES,
    answer_display,
    iter_questions,
    localized,
    other_key,
    rating_scale,
)
from surveys.logic import pipe


def respondent_theme(tenant_settings: Mapping | None, definition: Mapping) -> dict:
    """The look of a respondent page: the survey's theme over the tenant's, keeping only
    values that are safe to put in a style tag and an image (data stored before these were
    checked on the way in is checked again on the way out)."""
    theme = {**((tenant_settings or {}).get("theme") or {}), **(definition.get("theme") or {})}
    color, logo = str(theme.get("brand_color") or ""), str(theme.get("logo_url") or "")
    return {
        "brand_color": color if BRAND_COLOR.match(color) else "",
        "logo_url": logo if logo and web_url_problem(logo) is None else "",
    }


def thanks_redirect_url(definition: Mapping) -> str:
    url = str(definition.get("redirect_url") or "")
    return url if url and web_url_problem(url) is None else ""


SCALE_ENDS = {
    "nps": (_("完全不可能"), _("非常可能")),
    "csat": (_("非常不满意"), _("非常满意")),
    "ces": (_("非常容易"), _("非常费力")),
}


def _chosen(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(item) for item in value] if isinstance(value, list) else [str(value)]


def question_for_display(
    question: Mapping[str, Any],
    *,
    definition: Mapping[str, Any],
    language: str,
    value: Any = None,
    other_text: str = "",
    error: str = "",
    answers: Mapping | None = None,
    hidden: Mapping | None = None,
    shuffle_seed: str = "",
) -> dict:
    answers, hidden = answers or {}, hidden or {}
    qtype = question["type"]
    item: dict[str, Any] = {
        "key": question["key"],
        "type": qtype,
        "required": bool(question.get("required")),
        "text": pipe(
            localized(question.get("text"), language), definition, answers, hidden, language
        ),
        "help": localized(question.get("help"), language),
        "error": error,
        "value": value,
        "other_text": other_text,
        "other_name": f"q_{other_key(question['key'])}",
        # For the browser to hide the question while its condition does not hold.
        "display_json": json.dumps(question["display"], ensure_ascii=False)
        if "display" in question
        else "",
    }
    if qtype in ("nps", "csat", "ces", "rating"):
        scale = rating_scale(question)
        item["scale"] = [str(point) for point in range(scale.low, scale.high + 1)]
        item["value"] = None if value is None else str(value)
        low, high = SCALE_ENDS.get(qtype, ("", ""))
        item["low_label"] = localized(question.get("low_label"), language) or low
        item["high_label"] = localized(question.get("high_label"), language) or high
        item["style"] = question.get("style", "numbers")
    if "options" in question:
        chosen = _chosen(value)
        options = [
            {
                "key": option["key"],
                "text": localized(option.get("text"), language),
                "checked": option["key"] in chosen,
            }
            for option in question["options"]
        ]
        if question.get("randomize"):
            # Same order for the same respondent across reloads and error re-renders.
            random.Random(f"{shuffle_seed}:{question['key']}").shuffle(options)
        if question.get("other"):
            options.append({"key": OTHER, "text": "", "checked": OTHER in chosen, "is_other": True})
        item["options"] = options
    if qtype == "matrix":
        given = value if isinstance(value, Mapping) else {}
        item["rows"] = [
            {
                "key": row["key"],
                "name": f"q_{question['key']}__{row['key']}",
                "text": localized(row.get("text"), language),
                "value": given.get(row["key"]),
            }
            for row in question["rows"]
        ]
    if qtype in TEXT_TYPES:
        item["max_length"] = question.get("max_length") or (200 if qtype == "short_text" else 2000)
        item["input_type"] = {"cn_mobile": "tel", "email": "email"}.get(
            question.get("format"), "text"
        )
    if qtype == "contact":
        item["contact"] = value if isinstance(value, Mapping) else {}
        item["consent_text"] = localized(question.get("consent_text"), language)
    if qtype in ("number", "date"):
        item["min"], item["max"] = question.get("min"), question.get("max")
    return item


def questions_for_display(
    questions: list[dict],
    *,
    definition: Mapping[str, Any],
    language: str,
    values: Mapping | None = None,
    errors: Mapping | None = None,
    answers: Mapping | None = None,
    hidden: Mapping | None = None,
    shuffle_seed: str = "",
) -> list[dict]:
    values, errors = values or {}, errors or {}
    return [
        question_for_display(
            question,
            definition=definition,
            language=language,
            value=values.get(question["key"]),
            other_text=values.get(other_key(question["key"])) or "",
            error=errors.get(question["key"], ""),
            answers=answers,
            hidden=hidden,
            shuffle_seed=shuffle_seed,
        )
        for question in questions
    ]


def raw_answers_from_form(post, questions: list[dict]) -> dict[str, Any]:
    """Raw answers of `questions` from a submitted form (QueryDict), in the shapes
    answers_clean expects."""
    raw: dict[str, Any] = {}
    for question in questions:
        key, name = question["key"], f"q_{question['key']}"
        qtype = question["type"]
        if qtype == "multiple_choice":
            raw[key] = post.getlist(name)
        elif qtype == "matrix":
            raw[key] = {
                row["key"]: post.get(f"{name}__{row['key']}", "") for row in question["rows"]
            }
        elif qtype == "contact":
            raw[key] = {
                field: post.get(f"{name}__{field}", "")
                for field in ("name", "mobile", "email", "consent")
            }
        else:
            raw[key] = post.get(name)
        if question.get("other") and post.get(f"q_{other_key(key)}"):
            raw[other_key(key)] = post.get(f"q_{other_key(key)}")
    return raw


def answer_rows(response, language: str) -> list[tuple[str, str]]:
    """(question text, answer in words) for each question the response answered, in the order
    of the survey version it was given on."""
    return [
        (
            localized(question.get("text"), language),
            answer_display(question, response.answers[key], language),
        )
        for question in iter_questions(response.version.definition)
        if (key := question["key"]) in response.answers
    ]
