"""Scoring, answer validation and alert-rule evaluation: pure functions, no database."""

import pytest

from alerts.rules import DEFAULT_CONDITIONS, conditions_match, conditions_validate
from analytics.scoring import net_promoter_score, nps_category, response_metrics
from organizations.conditions import ConditionError
from surveys.definition import DefinitionError, answers_clean, definition_validate

DEFINITION = {
    "pages": [
        {
            "key": "p1",
            "questions": [
                {"key": "nps_1", "type": "nps", "required": True, "text": {"zh-hans": "推荐？"}},
                {"key": "csat_1", "type": "csat", "text": {"zh-hans": "满意？"}},
                {"key": "ces_1", "type": "ces", "text": {"zh-hans": "费力？"}},
                {
                    "key": "pick",
                    "type": "single_choice",
                    "text": {"zh-hans": "渠道"},
                    "options": [
                        {"key": "o1", "text": {"zh-hans": "网点"}},
                        {"key": "o2", "text": {"zh-hans": "App"}},
                    ],
                },
                {
                    "key": "many",
                    "type": "multiple_choice",
                    "text": {"zh-hans": "改进"},
                    "options": [
                        {"key": "o1", "text": {"zh-hans": "排队"}},
                        {"key": "o2", "text": {"zh-hans": "态度"}},
                    ],
                },
                {"key": "why", "type": "text", "max_length": 10, "text": {"zh-hans": "原因"}},
            ],
        }
    ]
}


@pytest.mark.parametrize(
    ("score", "category"),
    [
        (0, "detractor"),
        (6, "detractor"),
        (7, "passive"),
        (8, "passive"),
        (9, "promoter"),
        (10, "promoter"),
    ],
)
def test_nps_category_follows_the_standard_bands(score, category):
    assert nps_category(score) == category


def test_nps_category_rejects_scores_outside_0_to_10():
    with pytest.raises(ValueError):
        nps_category(11)


def test_net_promoter_score_is_promoters_minus_detractors_in_percent():
    assert net_promoter_score(promoters=50, detractors=20, total=100) == 30.0
    assert net_promoter_score(promoters=0, detractors=3, total=3) == -100.0
    assert net_promoter_score(promoters=0, detractors=0, total=0) is None


def test_response_metrics_take_first_answer_of_each_kind_and_join_texts():
    metrics = response_metrics(DEFINITION, {"nps_1": 3, "csat_1": 2, "ces_1": 6, "why": "排队太久"})
    assert (metrics.nps, metrics.nps_category, metrics.csat, metrics.ces) == (3, "detractor", 2, 6)
    assert metrics.verbatim == "排队太久"


def test_answers_clean_accepts_form_strings_and_json_values():
    answers, errors = answers_clean(
        DEFINITION, {"nps_1": "9", "csat_1": 5, "pick": "o2", "many": ["o1", "o2"], "why": " 很好 "}
    )
    assert errors == {}
    assert answers == {"nps_1": 9, "csat_1": 5, "pick": "o2", "many": ["o1", "o2"], "why": "很好"}


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ({"nps_1": "11"}, "nps_1"),
        ({"nps_1": "abc"}, "nps_1"),
        ({"nps_1": "5", "csat_1": "0"}, "csat_1"),
        ({"nps_1": "5", "ces_1": "8"}, "ces_1"),
        ({"nps_1": "5", "pick": "o9"}, "pick"),
        ({"nps_1": "5", "pick": ["o1", "o2"]}, "pick"),
        ({"nps_1": "5", "many": ["o1", "nope"]}, "many"),
        ({"nps_1": "5", "why": "太长了" * 5}, "why"),
        ({}, "nps_1"),
    ],
)
def test_answers_clean_names_the_question_with_bad_input(raw, key):
    _answers, errors = answers_clean(DEFINITION, raw)
    assert errors.get(key)


def test_answers_clean_refuses_keys_that_are_not_questions():
    _answers, errors = answers_clean(DEFINITION, {"nps_1": 5, "bogus": 1})
    assert "bogus" in errors["__all__"]


def test_definition_validate_requires_questions_and_unique_keys():
    with pytest.raises(DefinitionError):
        definition_validate({"pages": [{"key": "p1", "questions": []}]})
    twice = {"pages": [{"key": "p1", "questions": [DEFINITION["pages"][0]["questions"][0]] * 2}]}
    with pytest.raises(DefinitionError, match="重复"):
        definition_validate(twice)
    definition_validate(DEFINITION)


@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        ({"nps": 6}, True),
        ({"nps": 7}, False),
        ({"csat": 2}, True),
        ({"csat": 3, "nps": 9}, False),
        ({"sentiment": "negative", "nps": 10}, True),
        ({"sentiment": "neutral"}, False),
        ({}, False),
    ],
)
def test_default_rule_fires_on_detractors_low_csat_or_negative_text(facts, expected):
    assert conditions_match(DEFAULT_CONDITIONS, facts) is expected


def test_rule_conditions_nest_all_inside_any():
    rule = {
        "all": [
            {"fact": "touchpoint", "op": "eq", "value": "counter"},
            {
                "any": [
                    {"fact": "ces", "op": "gte", "value": 6},
                    {"fact": "nps", "op": "lte", "value": 3},
                ]
            },
        ]
    }
    conditions_validate(rule)
    assert conditions_match(rule, {"touchpoint": "counter", "ces": 7})
    assert not conditions_match(rule, {"touchpoint": "app", "ces": 7})


@pytest.mark.parametrize(
    "bad",
    [
        {"any": []},
        {"fact": "mood", "op": "eq", "value": 1},
        {"fact": "nps", "op": "~", "value": 1},
        {"fact": "nps", "op": "eq"},
        {"fact": "nps", "op": "in", "value": 3},
    ],
)
def test_malformed_rule_conditions_are_refused(bad):
    with pytest.raises(ConditionError):
        conditions_validate(bad)
