"""One condition language (organizations/conditions.py) for alert rules, survey logic and
invitation triggers: the same operators mean the same everywhere, and the same mistake gets
the same message from each (issue 11, part 9)."""

from __future__ import annotations

import importlib

import pytest
from django.core.exceptions import ValidationError

from alerts.rules import conditions_match, conditions_validate
from organizations.conditions import ConditionError, condition_match, condition_validate
from surveys.definition import DefinitionError
from surveys.distribution import trigger_conditions_validate, trigger_matches
from surveys.logic import condition_match as logic_match
from surveys.logic import condition_validate as logic_validate
from surveys.models import Trigger

CASES = [
    # (operator, value, subject, matches)
    ("eq", 6, 6, True),
    ("ne", 6, 6, False),
    ("lt", 7, 6, True),
    ("lte", 6, 6, True),
    ("gt", 6, 6, False),
    ("gte", 6, 6, True),
    ("in", [5, 6], 6, True),
    ("not_in", [5, 6], 6, False),
    ("in", ["vip", "staff"], ["new", "vip"], True),  # a list subject: any of its items
    ("not_in", ["vip"], ["new"], True),
    ("contains", "vip", ["new", "vip"], True),
    ("contains", "排队", "排队太久", True),  # text: a substring
    ("lte", 6, "6", True),  # a number given as text compares as a number
    ("gt", 6, "慢", False),  # text that is no number compares as nothing
    ("eq", 6, None, False),  # no value matches nothing
    ("in", [5, 6], None, False),
]


@pytest.mark.parametrize(("op", "value", "subject", "matches"), CASES)
def test_an_operator_means_the_same_for_rules_logic_and_triggers(op, value, subject, matches):
    assert condition_match({"x": "s", "op": op, "value": value}, lambda leaf: subject) is matches
    assert logic_match({"hidden": "s", "op": op, "value": value}, {}, {"s": subject}) is matches
    trigger = Trigger(conditions={"all": [{"property": "s", "op": op, "value": value}]})
    assert trigger_matches(trigger, properties={"s": subject}, tags=[]) is matches
    assert conditions_match({"fact": "topic", "op": op, "value": value}, {"topic": subject}) is (
        matches
    )


def test_groups_nest_the_same_way_everywhere():
    tree = {
        "all": [
            {"any": [{"s": 1, "op": "eq", "value": 1}]},
            {"not": {"s": 1, "op": "eq", "value": 2}},
        ]
    }
    assert condition_match(tree, lambda leaf: 1)
    assert not condition_match({"not": tree}, lambda leaf: 1)


def test_presence_operators_take_no_value():
    condition_validate({"q": "a", "op": "answered"}, subjects={"q": lambda name: None})
    assert condition_match({"q": "a", "op": "not_answered"}, lambda leaf: "")
    assert not condition_match({"q": "a", "op": "answered"}, lambda leaf: [])


STRUCTURAL_MISTAKES = [
    ({"any": []}, "any 需要非空的条件列表"),
    ({"all": [{"op": "eq", "value": 1}]}, "条件须指明"),
    ({"all": [], "any": []}, "只能是 all、any、not 之一"),
    ("nps <= 6", "条件须为一个对象"),
]


@pytest.mark.parametrize(("tree", "message"), STRUCTURAL_MISTAKES)
def test_the_same_mistake_gets_the_same_message_from_each(tree, message):
    with pytest.raises(ConditionError, match=message):
        conditions_validate(tree)
    with pytest.raises(DefinitionError, match=message):
        logic_validate(tree, known=["nps"], hidden=[])
    with pytest.raises(ValidationError, match=message):
        trigger_conditions_validate(tree)


@pytest.mark.parametrize(
    ("leaf", "message"),
    [
        ({"op": "lte"}, "运算符 lte 需要一个值"),
        ({"op": "in", "value": 6}, "运算符 in 的值须为列表"),
        ({"op": "contains", "value": ["a"]}, "运算符 contains 的值须为单个值"),
        ({"op": "like", "value": 6}, "未知的条件运算符 like"),
    ],
)
def test_operator_mistakes_are_named_alike(leaf, message):
    with pytest.raises(DefinitionError, match=message):
        logic_validate({"question": "nps", **leaf}, known=["nps"], hidden=[])
    with pytest.raises(ValidationError, match=message):
        trigger_conditions_validate({"all": [{"property": "amount", **leaf}]})
    if leaf["op"] != "like":  # a rule offers only the operators its facts take
        with pytest.raises(ConditionError, match=message):
            conditions_validate({"fact": "risk_flag", **leaf})


def test_each_caller_names_its_own_subjects():
    with pytest.raises(ValidationError, match="客户条件只能检查 tags"):
        trigger_conditions_validate({"customer": "age", "op": "gt", "value": 30})
    with pytest.raises(DefinitionError, match="不是前面的题目"):
        logic_validate({"question": "later", "op": "answered"}, known=["nps"], hidden=[])
    with pytest.raises(ConditionError, match="未知的事实 mood"):
        conditions_validate({"fact": "mood", "op": "eq", "value": "bad"})
    with pytest.raises(ConditionError, match="不能用"):
        conditions_validate({"fact": "nps", "op": "contains", "value": 6})


def test_stored_trigger_tag_shorthands_become_the_language_and_back():
    migration = importlib.import_module("surveys.migrations.0009_trigger_conditions_one_language")
    assert migration._to_language({"tag": "vip"}) == {
        "customer": "tags",
        "op": "contains",
        "value": "vip",
    }
    negated = migration._to_language({"not_tag": "staff"})
    assert negated == {"not": {"customer": "tags", "op": "contains", "value": "staff"}}
    assert migration._to_shorthand(negated) == {"not_tag": "staff"}
    trigger = Trigger(conditions={"all": [negated]})
    assert not trigger_matches(trigger, properties={}, tags=["staff"])
    assert trigger_matches(trigger, properties={}, tags=["vip"])
