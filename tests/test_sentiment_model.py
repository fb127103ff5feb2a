"""Behaviour of our Chinese sentiment model (analytics.sentiment) and its training command."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from analytics.sentiment import (
    SPECIALIST_SHARE,
    SentimentModel,
    SentimentResult,
    default_model,
    features,
    read_labelled_csv,
    train,
)

TINY_TRAINING_SET = [
    (1, "服务很好，非常满意"),
    (1, "柜员热情，办理很快"),
    (1, "环境干净，态度很好"),
    (1, "很满意，下次还来"),
    (1, "效率高，服务周到"),
    (1, "非常好，推荐"),
    (0, "服务很差，非常失望"),
    (0, "排队太久，没人管"),
    (0, "态度恶劣，效率很低"),
    (0, "很失望，再也不来了"),
    (0, "乱收费，太差了"),
    (0, "非常差，不推荐"),
]


@pytest.mark.parametrize(
    "text",
    ["柜员态度非常好，办理很快", "服务很周到，环境也很干净", "东西质量很好，物流也快，下次还来"],
)
def test_clearly_positive_feedback_is_labelled_positive(text):
    [result] = default_model().predict([text])
    assert result.label == "positive"
    assert result.score > 0.8


@pytest.mark.parametrize(
    "text",
    ["排队两个小时没人管，太差了", "态度恶劣，再也不来了", "收费不透明，乱扣钱，非常失望"],
)
def test_clearly_negative_feedback_is_labelled_negative(text):
    [result] = default_model().predict([text])
    assert result.label == "negative"
    assert result.score < 0.2


@pytest.mark.parametrize("text", ["服务态度很好，但是排队太久了", "柜员挺热情的，不过办理速度太慢"])
def test_praise_followed_by_a_complaint_is_not_confidently_positive(text):
    [result] = default_model().predict([text])
    assert result.label in ("neutral", "negative") or result.score < 0.7


def test_a_complaint_followed_by_praise_keeps_its_positive_verdict():
    [result] = default_model().predict(["价格有点贵，但是质量非常好，很满意"])
    assert result.score >= 0.5


def test_scores_are_probabilities_and_labels_follow_the_thresholds():
    model = default_model()
    texts = ["", "   ", "😀", "ok", "!!!", "还行", "服务很好", "太差了", "Ｆｕｌｌ　ｗｉｄｔｈ！"]
    results = model.predict(texts)
    assert len(results) == len(texts)
    for result in results:
        assert isinstance(result, SentimentResult)
        assert 0.0 <= result.score <= 1.0
        assert result.label == model.label(result.score)
    assert 0.0 < model.low < 0.5 < model.high < 1.0


def test_text_without_known_features_is_neutral():
    [result] = default_model().predict([""])
    assert result.label == "neutral"


def test_shipped_model_has_a_version_and_is_loaded_once():
    assert default_model() is default_model()
    assert default_model().version.startswith("ours-")


def test_fast_runtime_features_equal_the_training_features():
    model = default_model()
    index = {feature: i for i, feature in enumerate(model.vocabulary)}
    for text in ["柜员态度非常好，办理很快", "Ａ　ｂ  c\t服务\n一般！！但是 价格便宜", "", "好"]:
        expected = sorted(index[f] for f in features(text) if f in index)
        assert sorted(model.feature_ids(text)[0].tolist()) == expected


def test_trained_model_saves_loads_and_predicts(tmp_path):
    model = train(TINY_TRAINING_SET, dev_rows=TINY_TRAINING_SET[:4] + TINY_TRAINING_SET[6:10])
    path = tmp_path / "model.npz"
    model.save(path)
    loaded = SentimentModel.load(path)

    assert loaded.version == model.version
    assert (loaded.low, loaded.high) == (model.low, model.high)
    texts = ["服务很好，很满意", "太差了，很失望"]
    before, after = model.predict(texts), loaded.predict(texts)
    assert [r.score for r in after] == pytest.approx([r.score for r in before], abs=1e-5)
    assert after[0].score > 0.5 > after[1].score


HOTEL_ROWS = [
    (1, "房间很干净，前台热情"),
    (1, "酒店位置好，早餐丰富"),
    (1, "房间大，床很舒服"),
    (0, "房间有异味，隔音很差"),
    (0, "酒店前台态度差，早餐难吃"),
    (0, "床单不干净，空调坏了"),
]


def test_a_hotel_specialist_is_saved_and_gated_to_hotel_texts(tmp_path):
    model = train(TINY_TRAINING_SET, specialist_rows=HOTEL_ROWS)
    assert model.coef.shape[1] == 3
    assert model.specialist_share == SPECIALIST_SHARE
    path = tmp_path / "model.npz"
    model.save(path)
    loaded = SentimentModel.load(path)

    assert loaded.specialist_share == model.specialist_share
    texts = ["房间很干净，很满意", "柜员态度恶劣，太差了", ""]
    before, after = model.predict(texts), loaded.predict(texts)
    assert [r.score for r in after] == pytest.approx([r.score for r in before], abs=1e-5)
    assert after[0].score > 0.5 > after[1].score
    assert after[2].score == 0.5


def test_without_a_specialist_the_general_model_alone_scores():
    model = train(TINY_TRAINING_SET)
    assert model.coef.shape[1] == 1
    assert model.specialist_share == 0.0


def test_a_specialist_needs_both_classes():
    with pytest.raises(ValueError, match="specialist"):
        train(TINY_TRAINING_SET, specialist_rows=[(1, "房间很干净"), (1, "早餐丰富")])


def test_train_needs_both_classes_and_binary_labels():
    with pytest.raises(ValueError, match="both"):
        train([(1, "很好"), (1, "不错")])
    with pytest.raises(ValueError, match="0 or 1"):
        train([(1, "很好"), (2, "不错")])


def test_read_labelled_csv_ignores_extra_columns(tmp_path):
    path = tmp_path / "reviews.csv"
    path.write_text('cat,label,text\n银行,1,服务很好\n银行,0,"排队太久,没人管"\n', "utf-8")
    assert read_labelled_csv(path) == [(1, "服务很好"), (0, "排队太久,没人管")]


def test_train_sentiment_command_rejects_a_bad_label_naming_file_and_line(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("label,text\n1,服务很好\npositive,办理很快\n", "utf-8")
    with pytest.raises(CommandError, match=r"bad\.csv line 3: label must be 0 or 1"):
        call_command("train_sentiment", "--data", str(path), "--out", str(tmp_path / "m.npz"))


def test_train_sentiment_command_rejects_a_missing_text_column(tmp_path):
    path = tmp_path / "no_text.csv"
    path.write_text("label,comment\n1,服务很好\n", "utf-8")
    with pytest.raises(CommandError, match=r"missing column\(s\) text"):
        call_command("train_sentiment", "--data", str(path), "--out", str(tmp_path / "m.npz"))


def test_train_sentiment_command_rejects_a_missing_file(tmp_path):
    with pytest.raises(CommandError, match="no such file"):
        call_command(
            "train_sentiment",
            "--data",
            str(tmp_path / "absent.csv"),
            "--out",
            str(tmp_path / "m.npz"),
        )


def test_train_sentiment_command_trains_reports_dev_accuracy_and_saves(tmp_path):
    data = tmp_path / "train.csv"
    data.write_text(
        "label,text\n" + "".join(f"{label},{text}\n" for label, text in TINY_TRAINING_SET),
        "utf-8",
    )
    out = tmp_path / "model.npz"
    stdout = StringIO()
    call_command(
        "train_sentiment",
        "--data",
        str(data),
        "--dev",
        str(data),
        "--out",
        str(out),
        "--model-version",
        "ours-test-1",
        stdout=stdout,
    )
    assert "dev accuracy" in stdout.getvalue()
    assert SentimentModel.load(out).version == "ours-test-1"
