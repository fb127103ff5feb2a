"""The survey definition document: question types, structure validation and answer cleaning.

A definition is one JSON document (see docs/survey-format.md):
    {"title": {"zh-hans": "...", "en": "..."}, "thanks": {...}, "redirect_url": "",
     "theme": {"brand_color": "#1d4ed8", "logo_url": ""},
     "hidden_fields": ["order_id", "store"],
     "pages": [{"key": "p1", "title": {...},
                "skip": [{"when": <condition>, "to": "p3" | "end"}],
                "questions": [{"key": "nps_1", "type": "nps", "required": true,
                               "text": {"zh-hans": "...", "en": "..."},
                               "display": <condition>}, ...]}]}
Question and option keys are stable: answers are stored by key, so they survive edits.
Conditions and piping live in surveys/logic.py.
"""

from __future__ import annotations

import datetime
import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from organizations.json_input import text_problem
from organizations.validators import BRAND_COLOR, web_url_problem

DEFAULT_LANGUAGE = "zh-hans"
LANGUAGES = ("zh-hans", "en")
TEXT_MAX_LENGTH = 2000
SHORT_TEXT_MAX_LENGTH = 200
NUMBER_ANSWER_LIMIT = 1e15  # beyond this a number answer is a typo or an attack
KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
OTHER = "other"  # the option key of "other, please say"
FORMATS = {
    "cn_mobile": re.compile(r"^1[3-9]\d{9}$"),
    "email": re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$"),
}


@dataclass(frozen=True)
class ScaleType:
    low: int
    high: int


SCALES: dict[str, ScaleType] = {
    "nps": ScaleType(0, 10),
    "csat": ScaleType(1, 5),
    "ces": ScaleType(1, 7),
}
CHOICE_TYPES = ("single_choice", "multiple_choice", "dropdown")
TEXT_TYPES = ("short_text", "text")  # "text" is the long, multi-line free text
QUESTION_TYPES = (
    *SCALES,
    "rating",
    *CHOICE_TYPES,
    "matrix",
    *TEXT_TYPES,
    "number",
    "date",
    "contact",
)
CONTACT_FIELDS = ("name", "mobile", "email")


class DefinitionError(ValueError):
    """The definition document is malformed; the message says where."""


class EmptySurveyError(DefinitionError):
    """Well-formed but without questions: fine for a draft, not for publishing."""


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


def page_of(definition: Mapping[str, Any], page_key: str) -> dict | None:
    return next((page for page in definition.get("pages", []) if page.get("key") == page_key), None)


def empty_definition(title: str) -> dict:
    return {"title": {DEFAULT_LANGUAGE: title}, "pages": [{"key": "p1", "questions": []}]}


def rating_scale(question: Mapping[str, Any]) -> ScaleType:
    """The scale of a scored question: fixed for NPS/CSAT/CES, configured for ratings."""
    if question["type"] in SCALES:
        return SCALES[question["type"]]
    return ScaleType(int(question.get("min", 1)), int(question.get("max", 5)))


# --- structure -------------------------------------------------------------------------------


def definition_validate(definition: Mapping[str, Any]) -> None:
    """Raise DefinitionError unless the document is well-formed and publishable."""
    from surveys.logic import condition_validate

    _settings_validate(definition)
    pages = definition.get("pages")
    if not isinstance(pages, list) or not pages:
        raise DefinitionError(_("问卷至少需要一页。"))
    page_keys = [page.get("key") for page in pages]
    if len(set(page_keys)) != len(page_keys) or not all(
        isinstance(key, str) and KEY_PATTERN.match(key) for key in page_keys
    ):
        raise DefinitionError(_("页面编码须唯一，且只用小写字母、数字和下划线。"))
    hidden = definition.get("hidden_fields", [])
    if not isinstance(hidden, list) or not all(
        isinstance(name, str) and KEY_PATTERN.match(name) for name in hidden
    ):
        raise DefinitionError(_("隐藏字段须为小写名称的列表。"))
    seen: list[str] = []
    for index, page in enumerate(pages):
        for question in page.get("questions", []):
            _question_validate(question, seen)
            if "display" in question:
                condition_validate(question["display"], known=seen[:-1], hidden=hidden)
            seen.append(question["key"])
        later_pages = set(page_keys[index + 1 :]) | {"end"}
        for rule in page.get("skip", []):
            if rule.get("to") not in later_pages:
                raise DefinitionError(
                    _("第 %(page)s 页只能向后跳转或跳到结束。") % {"page": page["key"]}
                )
            condition_validate(rule.get("when"), known=seen, hidden=hidden)
    if not seen:
        raise EmptySurveyError(_("问卷至少需要一道题。"))


def _settings_validate(definition: Mapping[str, Any]) -> None:
    """The survey's own settings: where the thank-you page leads, and its look."""
    redirect = definition.get("redirect_url") or ""
    if not isinstance(redirect, str) or (redirect and web_url_problem(redirect)):
        raise DefinitionError(_("跳转地址须以 http:// 或 https:// 开头，且不含空格和引号。"))
    theme = definition.get("theme") or {}
    if not isinstance(theme, Mapping) or set(theme) - {"brand_color", "logo_url"}:
        raise DefinitionError(_("主题只能设置品牌色（brand_color）和 Logo 地址（logo_url）。"))
    color = theme.get("brand_color") or ""
    if not isinstance(color, str) or (color and not BRAND_COLOR.match(color)):
        raise DefinitionError(_("品牌色须为 #1d4ed8 这样的格式。"))
    logo = theme.get("logo_url") or ""
    if not isinstance(logo, str) or (logo and web_url_problem(logo)):
        raise DefinitionError(_("Logo 地址须以 http:// 或 https:// 开头，且不含空格和引号。"))


def _bounded_number(value: Any) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and abs(value) <= NUMBER_ANSWER_LIMIT
    )


def _question_validate(question: Mapping[str, Any], seen: list[str]) -> None:
    key = question.get("key", "")
    if not isinstance(key, str) or not KEY_PATTERN.match(key):
        raise DefinitionError(_("题目编码 %(key)s 只能用小写字母、数字和下划线。") % {"key": key})
    if key in seen:
        raise DefinitionError(_("题目编码 %(key)s 重复。") % {"key": key})
    seen.append(key)
    qtype = question.get("type")
    if qtype not in QUESTION_TYPES:
        raise DefinitionError(
            _("题目 %(key)s 的题型 %(type)s 未知。") % {"key": key, "type": qtype}
        )
    if not localized(question.get("text"), DEFAULT_LANGUAGE):
        raise DefinitionError(_("题目 %(key)s 缺少中文题干。") % {"key": key})
    if qtype in CHOICE_TYPES or qtype == "matrix":
        _options_validate(key, question.get("options", []))
    if qtype == "matrix":
        _options_validate(key, question.get("rows", []), what="rows")
    if qtype == "rating":
        scale = rating_scale(question)
        if not 0 <= scale.low < scale.high <= 100:
            raise DefinitionError(
                _("题目 %(key)s 的量表须满足 0 ≤ 最小值 < 最大值 ≤ 100。") % {"key": key}
            )
    if question.get("format") and question["format"] not in FORMATS:
        raise DefinitionError(_("题目 %(key)s 的格式校验未知。") % {"key": key})
    if qtype == "number" and not all(
        question.get(name) is None or _bounded_number(question[name]) for name in ("min", "max")
    ):
        raise DefinitionError(
            _("题目 %(key)s 的最小值和最大值须是绝对值不超过 10^15 的数。") % {"key": key}
        )
    for name in ("min_length", "max_length", "min_choices", "max_choices"):
        value = question.get(name)
        if value is not None and not (
            isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= TEXT_MAX_LENGTH
        ):
            raise DefinitionError(
                _("题目 %(key)s 的字数或选择数限制须是 0 到 %(limit)s 之间的整数。")
                % {"key": key, "limit": TEXT_MAX_LENGTH}
            )


def _options_validate(key: str, options: list, what: str = "options") -> None:
    option_keys = [option.get("key") for option in options]
    if len(option_keys) < 2:
        raise DefinitionError(_("题目 %(key)s 至少需要两个选项或行。") % {"key": key})
    if len(set(option_keys)) != len(option_keys) or not all(
        isinstance(item, str) and item for item in option_keys
    ):
        raise DefinitionError(_("题目 %(key)s 的选项或行编码重复或缺失。") % {"key": key})


# --- answers ---------------------------------------------------------------------------------


def _as_list(value: Any) -> list:
    if value is None or value == "":
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or value in ([], {})


def _clean_scale(question: Mapping, raw: Any) -> Any:
    scale = rating_scale(question)
    try:
        value = None if isinstance(raw, bool) else int(str(raw).strip())
    except ValueError:
        value = None
    if value is None or not scale.low <= value <= scale.high:
        raise AnswerError(
            _("请选择 %(low)s 到 %(high)s 之间的分数。") % {"low": scale.low, "high": scale.high}
        )
    return value


def _clean_choice(question: Mapping, raw: Any, other_text: Any) -> Any:
    chosen = [str(item) for item in _as_list(raw)]
    valid = {option["key"] for option in question["options"]}
    if question.get("other"):
        valid.add(OTHER)
    if any(item not in valid for item in chosen):
        raise AnswerError(_("请从给出的选项中选择。"))
    if question["type"] != "multiple_choice" and len(chosen) > 1:
        raise AnswerError(_("此题只能选择一项。"))
    if OTHER in chosen and _blank(other_text):
        raise AnswerError(_("选择「其他」时请说明。"))
    if question["type"] == "multiple_choice":
        low, high = question.get("min_choices"), question.get("max_choices")
        if (low and len(chosen) < int(low)) or (high and len(chosen) > int(high)):
            raise AnswerError(
                _("请选择 %(low)s 到 %(high)s 项。")
                % {"low": low or 1, "high": high or len(question["options"])}
            )
        return sorted(set(chosen), key=chosen.index)
    return chosen[0]


def _storable_text(raw: Any) -> str:
    """`raw` as text, refused when it holds what cannot be stored or shown: NUL characters
    and unpaired surrogates (PostgreSQL's JSON rejects both)."""
    text = raw if isinstance(raw, str) else str(raw)
    if text_problem(text):
        raise AnswerError(_("内容包含无法识别的字符，请删除后重试。"))
    return text


def _clean_text(question: Mapping, raw: Any) -> str:
    text = _storable_text(raw).strip()
    default = SHORT_TEXT_MAX_LENGTH if question["type"] == "short_text" else TEXT_MAX_LENGTH
    limit = int(question.get("max_length") or default)
    if len(text) > limit:
        raise AnswerError(
            _("内容太长：最多 %(limit)s 字，您输入了 %(length)s 字。")
            % {"limit": limit, "length": len(text)}
        )
    if len(text) < int(question.get("min_length") or 0):
        raise AnswerError(_("请至少输入 %(limit)s 字。") % {"limit": question["min_length"]})
    _format_check(question.get("format"), text)
    return text


def _format_check(name: str | None, text: str) -> None:
    if not name or FORMATS[name].match(text):
        return
    if name == "cn_mobile":
        raise AnswerError(_("请输入 11 位中国大陆手机号码。"))
    raise AnswerError(_("请输入有效的电子邮箱地址。"))


def _clean_number(question: Mapping, raw: Any) -> int | float:
    try:
        value = float(str(raw).strip())
    except (ValueError, OverflowError):
        raise AnswerError(_("请输入数字。")) from None
    # nan, inf and numbers beyond what JSON and a reader can use are not answers.
    if not math.isfinite(value) or abs(value) > NUMBER_ANSWER_LIMIT:
        raise AnswerError(_("请输入有效的数字。"))
    if question.get("integer") and not value.is_integer():
        raise AnswerError(_("请输入整数。"))
    low, high = question.get("min"), question.get("max")
    if (low is not None and value < low) or (high is not None and value > high):
        raise AnswerError(_("请输入 %(low)s 到 %(high)s 之间的数。") % {"low": low, "high": high})
    return int(value) if value.is_integer() else value


def _clean_date(question: Mapping, raw: Any) -> str:
    try:
        value = datetime.date.fromisoformat(str(raw).strip())
    except ValueError:
        raise AnswerError(_("请输入有效日期（年-月-日）。")) from None
    low, high = question.get("min"), question.get("max")
    if (low and value.isoformat() < low) or (high and value.isoformat() > high):
        raise AnswerError(_("日期须在 %(low)s 至 %(high)s 之间。") % {"low": low, "high": high})
    return value.isoformat()


def _clean_matrix(question: Mapping, raw: Any) -> dict:
    rows = {row["key"] for row in question["rows"]}
    points = {option["key"] for option in question["options"]}
    if not isinstance(raw, Mapping):
        raise AnswerError(_("请为每一行选择一项。"))
    given = {str(row): str(point) for row, point in raw.items() if not _blank(point)}
    if any(row not in rows or point not in points for row, point in given.items()):
        raise AnswerError(_("请从给出的选项中选择。"))
    if question.get("required") and set(given) != rows:
        raise AnswerError(_("请为每一行选择一项。"))
    return given


def _clean_contact(question: Mapping, raw: Any) -> dict:
    if not isinstance(raw, Mapping):
        raise AnswerError(_("联系方式格式不正确。"))
    contact = {name: _storable_text(raw.get(name) or "").strip() for name in CONTACT_FIELDS}
    contact = {name: value for name, value in contact.items() if value}
    if contact.get("mobile"):
        _format_check("cn_mobile", contact["mobile"])
    if contact.get("email"):
        _format_check("email", contact["email"])
    if contact and raw.get("consent") not in (True, "on", "true", "1", 1):
        raise AnswerError(_("留下联系方式前，请勾选同意我们就本次反馈与您联系。"))
    return {**contact, "consent": True} if contact else {}


class AnswerError(ValueError):
    """One answer does not fit its question; the message is shown next to it."""


def answer_clean(question: Mapping[str, Any], raw: Any, other_text: Any = None) -> Any:
    """The clean value of one answer, None when unanswered; raises AnswerError when bad."""
    qtype = question["type"]
    if qtype == "contact":
        value = _clean_contact(question, raw or {})
    elif _blank(raw) and not (qtype == "matrix" and question.get("required")):
        value = None
    elif qtype in SCALES or qtype == "rating":
        value = _clean_scale(question, raw)
    elif qtype in CHOICE_TYPES:
        value = _clean_choice(question, raw, other_text)
    elif qtype == "matrix":
        value = _clean_matrix(question, raw or {})
    elif qtype == "number":
        value = _clean_number(question, raw)
    elif qtype == "date":
        value = _clean_date(question, raw)
    else:
        value = _clean_text(question, raw)
    if _blank(value):
        if question.get("required"):
            raise AnswerError(_("此题为必答题。"))
        return None
    return value


def other_key(question_key: str) -> str:
    """The answer key that holds the "other, please say" text of a choice question."""
    return f"{question_key}__other"


def answers_clean(
    definition: Mapping[str, Any],
    raw_answers: Mapping[str, Any],
    *,
    questions: list[dict] | None = None,
) -> tuple[dict[str, Any], dict[str, str]]:
    """Check raw answers (form strings or JSON values) against `questions`.

    Returns the clean answers by key (with "<key>__other" texts beside their choice), and
    error messages by question key. Without `questions` every question of the survey is
    checked, and keys that are not questions are an error ("__all__"), never dropped.
    """
    answers: dict[str, Any] = {}
    errors: dict[str, str] = (
        {} if questions is not None else unknown_keys_error(definition, raw_answers)
    )
    for question in list(iter_questions(definition)) if questions is None else questions:
        key = question["key"]
        try:
            value = answer_clean(question, raw_answers.get(key), raw_answers.get(other_key(key)))
        except AnswerError as error:
            errors[key] = str(error)
            continue
        if value is not None:
            answers[key] = value
            chosen = value if isinstance(value, list) else [value]
            if question["type"] in CHOICE_TYPES and OTHER in chosen:
                answers[other_key(key)] = _clean_text(
                    {"type": "short_text"}, raw_answers[other_key(key)]
                )
    return answers, errors


def unknown_keys_error(
    definition: Mapping[str, Any], raw_answers: Mapping[str, Any]
) -> dict[str, str]:
    """{"__all__": message} naming answer keys that are not questions of the survey, or {}."""
    known = {
        key
        for question in iter_questions(definition)
        for key in (question["key"], other_key(question["key"]))
    }
    unknown = sorted(set(raw_answers) - known)
    if not unknown:
        return {}
    return {"__all__": _("问卷中没有这些题目：%(keys)s") % {"keys": ", ".join(unknown)}}


def answer_display(question: Mapping[str, Any], value: Any, language: str) -> str:
    """An answer as a person reads it: option labels instead of keys, in `language`."""
    if value is None:
        return ""
    labels = {
        option["key"]: localized(option.get("text"), language)
        for option in question.get("options", [])
    }
    labels.setdefault(OTHER, _("其他"))
    qtype = question["type"]
    if qtype in CHOICE_TYPES:
        return "、".join(labels.get(item, item) for item in _as_list(value))
    if qtype == "matrix":
        rows = {
            row["key"]: localized(row.get("text"), language) for row in question.get("rows", [])
        }
        return "；".join(
            f"{rows.get(row, row)}：{labels.get(point, point)}" for row, point in value.items()
        )
    if qtype == "contact":
        return " ".join(str(value[name]) for name in CONTACT_FIELDS if value.get(name))
    return str(value)
