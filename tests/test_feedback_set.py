"""The feedback set (analytics/data/feedback, docs/feedback-set.md): its shape, and the
analyzer on the dev split's paraphrased risks, disavowed complaints, hedges, app faults and
waiting."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from analytics.aspects import BUILTIN_ASPECTS
from analytics.models import RiskFlag, Sentiment
from analytics.text import text_analyze

FEEDBACK = Path(__file__).resolve().parent.parent / "analytics" / "data" / "feedback"
SECTORS = {
    "bank",
    "insurance",
    "telecom",
    "retail",
    "ecommerce",
    "delivery",
    "airline",
    "hospital",
    "car",
    "utility",
}
ESCALATION = {RiskFlag.REGULATOR, RiskFlag.MEDIA, RiskFlag.LEGAL}


def read(split: str) -> list[dict]:
    with (FEEDBACK / f"feedback_{split}.jsonl").open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


DEV = read("dev")


def dev_rows(matches) -> list:
    return [pytest.param(row, id=row["id"]) for row in DEV if matches(row)]


# -- the committed files -----------------------------------------------------------------------


def test_the_set_has_600_texts_split_60_40_by_sector_and_the_splits_are_disjoint():
    dev, test = read("dev"), read("test")
    assert len(dev) + len(test) >= 600
    assert 0.55 <= len(dev) / (len(dev) + len(test)) <= 0.65
    for sector in SECTORS:
        in_dev = sum(1 for row in dev if row["sector"] == sector)
        in_test = sum(1 for row in test if row["sector"] == sector)
        assert in_dev >= 30 and in_test >= 20, sector
    ids = [row["id"] for row in dev + test]
    assert len(ids) == len(set(ids))
    assert not {row["text"] for row in dev} & {row["text"] for row in test}
    assert len({row["text"] for row in dev + test}) == len(dev + test)


@pytest.mark.parametrize("split", ["dev", "test"])
def test_every_row_is_labelled_with_known_values(split):
    aspect_names = {aspect.name for aspect in BUILTIN_ASPECTS}
    for row in read(split):
        assert set(row) == {"id", "sector", "text", "sentiment", "aspects", "risks"}, row
        assert row["sector"] in SECTORS and row["id"].startswith(row["sector"] + "-")
        assert row["text"].strip() == row["text"] and row["text"]
        assert row["sentiment"] in Sentiment.values, row
        assert set(row["risks"]) <= set(RiskFlag.values), row
        for aspect in row["aspects"]:
            assert aspect["aspect"] in aspect_names, row
            assert aspect["polarity"] in Sentiment.values, row


# -- the analyzer on the dev split --------------------------------------------------------------


def flags(text: str) -> set[str]:
    return {flag["flag"] for flag in text_analyze(text).risk_flags}


@pytest.mark.parametrize("row", dev_rows(lambda row: "churn" in row["risks"]))
def test_churn_is_caught_in_paraphrase(row):
    assert "churn" in flags(row["text"])


@pytest.mark.parametrize("row", dev_rows(lambda row: ESCALATION & set(row["risks"])))
def test_escalation_is_caught_through_regulators_hotlines_and_the_web(row):
    assert flags(row["text"]) & ESCALATION == ESCALATION & set(row["risks"])


# "我不会投诉", "暂时不打算换银行", "不想折腾转网": the customer says they will not go further.
DISAVOWAL = re.compile(r"(不会|不想|不打算|暂时不|不至于|没必要|也不想)")


@pytest.mark.parametrize(
    "row", dev_rows(lambda row: not row["risks"] and DISAVOWAL.search(row["text"]))
)
def test_a_customer_who_says_they_will_not_complain_is_not_flagged(row):
    assert flags(row["text"]) == set()


HEDGES = re.compile(r"不是很满意|不太满意|一般般|还行吧|中规中矩")


@pytest.mark.parametrize("row", dev_rows(lambda row: HEDGES.search(row["text"])))
def test_a_hedged_judgement_is_never_positive(row):
    assert text_analyze(row["text"]).sentiment_label != Sentiment.POSITIVE


@pytest.mark.parametrize(
    "text",
    [
        "不是很满意",
        "一般般",
        "还行吧",
        "中规中矩",
        "整体还行吧，也就那样",
        "对这次的处理不是很满意",
        "东西中规中矩，价格还行",
    ],
)
def test_hedged_phrases_are_never_positive(text):
    assert text_analyze(text).sentiment_label != Sentiment.POSITIVE


@pytest.mark.parametrize("text", ["不是很满意", "说实话不太满意", "体验不怎么样"])
def test_a_polite_complaint_is_negative(text):
    assert text_analyze(text).sentiment_label == Sentiment.NEGATIVE


def opinions(text: str) -> dict[str, str]:
    return {a["aspect"]: a["polarity"] for a in text_analyze(text).aspects}


@pytest.mark.parametrize(
    "text", ["App老是闪退", *[row["text"] for row in DEV if "闪退" in row["text"]]]
)
def test_an_app_that_crashes_is_a_negative_text_and_a_negative_app(text):
    analysis = text_analyze(text)
    assert analysis.sentiment_label == Sentiment.NEGATIVE
    assert opinions(text)["App/系统"] == Sentiment.NEGATIVE


@pytest.mark.parametrize(
    "text",
    [
        "排队时间有点长",
        "排队时间有点长，希望能改善",
        *[row["text"] for row in DEV if "排队时间有点长" in row["text"]],
    ],
)
def test_a_queue_a_bit_long_is_a_complaint_about_waiting(text):
    assert opinions(text)["等待时间"] == Sentiment.NEGATIVE
    assert text_analyze(text).sentiment_label == Sentiment.NEGATIVE


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("合约一到期我就携号转网", {"churn"}),
        ("已经在考虑把工资卡换到别的银行了", {"churn"}),
        ("不会再在你们平台买了", {"churn"}),
        ("我要发到网上让大家看看", {"media"}),
        ("乱扣费，已经向工信部申诉了", {"regulator"}),
        ("航班取消没人管，我打了12326", {"regulator"}),
        ("退订金拖着不退", set()),
        ("我不会投诉，也不会转网", set()),
        ("携号转网？暂时不想折腾", set()),
    ],
)
def test_risks_of_crafted_sentences(text, expected):
    assert flags(text) == expected
