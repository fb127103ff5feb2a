"""Question types, display and skip logic, piping and whole-response validation."""

import pytest

from surveys.definition import DefinitionError, answer_clean, answers_clean, definition_validate
from surveys.logic import (
    answered_path,
    answers_clean_along_path,
    condition_match,
    next_page_key,
    pipe,
)

OPTIONS = [
    {"key": "a", "text": {"zh-hans": "甲"}},
    {"key": "b", "text": {"zh-hans": "乙", "en": "B"}},
]


def q(qtype, **extra):
    return {"key": "q", "type": qtype, "text": {"zh-hans": "题"}, **extra}


@pytest.mark.parametrize(
    ("question", "raw", "clean"),
    [
        (q("rating", min=0, max=10), "7", 7),
        (q("dropdown", options=OPTIONS), "b", "b"),
        (q("multiple_choice", options=OPTIONS), ["b", "a", "b"], ["b", "a"]),
        (q("matrix", options=OPTIONS, rows=OPTIONS), {"a": "b", "b": "a"}, {"a": "b", "b": "a"}),
        (q("number", min=0, max=100), "12.5", 12.5),
        (q("number", integer=True), "3", 3),
        (q("date", min="2026-01-01"), "2026-11-26", "2026-11-26"),
        (q("short_text", format="cn_mobile"), " 13812345678 ", "13812345678"),
        (q("short_text", format="email"), "a@b.cn", "a@b.cn"),
        (
            q("contact"),
            {"mobile": "13812345678", "consent": "on"},
            {"mobile": "13812345678", "consent": True},
        ),
        (q("contact"), {"name": "", "mobile": ""}, None),
    ],
)
def test_each_question_type_cleans_its_answer(question, raw, clean):
    assert answer_clean(question, raw) == clean


@pytest.mark.parametrize(
    ("question", "raw", "message"),
    [
        (q("rating", min=1, max=5), "6", "1 到 5"),
        (q("dropdown", options=OPTIONS), "z", "选项"),
        (q("single_choice", options=OPTIONS, other=True), "other", "其他"),
        (q("multiple_choice", options=OPTIONS, max_choices=1), ["a", "b"], "1 到 1"),
        (q("matrix", options=OPTIONS, rows=OPTIONS, required=True), {"a": "a"}, "每一行"),
        (q("number", max=10), "11", "之间"),
        (q("number", integer=True), "1.5", "整数"),
        (q("number"), "abc", "数字"),
        (q("date"), "2026-13-01", "有效日期"),
        (q("date", max="2026-01-01"), "2026-02-01", "之间"),
        (q("short_text", format="cn_mobile"), "12345", "手机号码"),
        (q("short_text", min_length=5), "短", "至少"),
        (q("short_text"), "长" * 201, "太长"),
        (q("contact"), {"mobile": "13812345678"}, "同意"),
        (q("contact"), {"email": "nope", "consent": "on"}, "邮箱"),
        (q("csat", required=True), "", "必答"),
    ],
)
def test_bad_answers_get_a_message_that_says_what_to_fix(question, raw, message):
    from surveys.definition import AnswerError

    with pytest.raises(AnswerError, match=message):
        answer_clean(question, raw)


def test_other_please_say_keeps_its_text_beside_the_choice():
    definition = {
        "pages": [{"key": "p1", "questions": [q("single_choice", options=OPTIONS, other=True)]}]
    }
    answers, errors = answers_clean(definition, {"q": "other", "q__other": "朋友推荐"})
    assert errors == {} and answers == {"q": "other", "q__other": "朋友推荐"}


def page(key, *questions, skip=None):
    return {"key": key, "questions": list(questions), **({"skip": skip} if skip else {})}


def question(key, qtype="nps", **extra):
    return {"key": key, "type": qtype, "text": {"zh-hans": f"{key}？"}, **extra}


LOGIC = {
    "hidden_fields": ["store"],
    "pages": [
        page(
            "p1",
            question("nps", required=True),
            skip=[{"when": {"question": "nps", "op": "gte", "value": 9}, "to": "p3"}],
        ),
        page(
            "p2",
            question(
                "why", "text", text={"zh-hans": "您给了 {{nps}} 分，主要原因是？"}, required=True
            ),
            question(
                "store_issue",
                "text",
                display={"hidden": "store", "op": "eq", "value": "SH01"},
            ),
        ),
        page("p3", question("extra", "text")),
    ],
}


def test_logic_definition_is_valid():
    definition_validate(LOGIC)


def test_skip_rule_jumps_promoters_past_the_why_page():
    assert next_page_key(LOGIC, "p1", {"nps": 10}, {}) == "p3"
    assert next_page_key(LOGIC, "p1", {"nps": 3}, {}) == "p2"
    assert next_page_key(LOGIC, "p3", {"nps": 3}, {}) == "end"
    assert answered_path(LOGIC, {"nps": 10}, {}) == ["p1", "p3"]


def test_display_condition_on_a_hidden_field():
    condition = LOGIC["pages"][1]["questions"][1]["display"]
    assert condition_match(condition, {}, {"store": "SH01"})
    assert not condition_match(condition, {}, {"store": "GZ01"})


def test_piping_fills_earlier_answers_and_hidden_fields():
    text = LOGIC["pages"][1]["questions"][0]["text"]["zh-hans"]
    assert pipe(text, LOGIC, {"nps": 4}, {}, "zh-hans") == "您给了 4 分，主要原因是？"
    assert pipe("门店 {{hidden.store}}", LOGIC, {}, {"store": "SH01"}, "zh-hans") == "门店 SH01"


def test_conditions_combine_with_all_any_not():
    condition = {
        "all": [
            {"question": "nps", "op": "lte", "value": 6},
            {"not": {"question": "why", "op": "answered"}},
        ]
    }
    assert condition_match(condition, {"nps": 3}, {})
    assert not condition_match(condition, {"nps": 3, "why": "慢"}, {})


def test_whole_response_is_checked_along_its_path():
    answers, errors = answers_clean_along_path(
        LOGIC, {"nps": 3, "why": "排队久"}, {"store": "GZ01"}
    )
    assert errors == {} and answers == {"nps": 3, "why": "排队久"}
    _answers, errors = answers_clean_along_path(LOGIC, {"nps": 3}, {})
    assert "why" in errors
    _answers, errors = answers_clean_along_path(LOGIC, {"nps": 10, "why": "好"}, {})
    assert "不需要回答" in errors["why"]


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d["pages"][0]["skip"][0].update(to="p1"), "向后跳转"),
        (
            lambda d: d["pages"][1]["questions"][0].update(
                display={"question": "extra", "op": "answered"}
            ),
            "前面的题目",
        ),
        (
            lambda d: d["pages"][1]["questions"][1].update(
                display={"hidden": "nope", "op": "answered"}
            ),
            "未声明的隐藏字段",
        ),
        (lambda d: d["pages"][0]["questions"][0].update(type="slider"), "题型"),
        (lambda d: d["pages"][2].update(key="p1"), "唯一"),
        (lambda d: d.update(hidden_fields=["Bad Name"]), "隐藏字段须为"),
    ],
)
def test_malformed_logic_is_refused_with_a_clear_message(mutate, message):
    import copy

    definition = copy.deepcopy(LOGIC)
    mutate(definition)
    with pytest.raises(DefinitionError, match=message):
        definition_validate(definition)
