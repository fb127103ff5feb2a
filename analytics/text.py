"""Chinese text analytics of a verbatim: sentiment (snownlp baseline) and keywords (jieba)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import lru_cache

from analytics.models import Sentiment

# Scores between these bounds are called neutral: snownlp is unsure there.
NEGATIVE_BELOW = 0.4
POSITIVE_ABOVE = 0.6
KEYWORD_COUNT = 5
MODEL_VERSION = "jieba-snownlp-1"


@dataclass(frozen=True)
class TextAnalysis:
    sentiment_label: str
    sentiment_score: float
    keywords: list[str]


@lru_cache(maxsize=1)
def _jieba_analyse():
    import jieba
    import jieba.analyse

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba.analyse


def sentiment_label(score: float) -> str:
    if score < NEGATIVE_BELOW:
        return Sentiment.NEGATIVE
    if score > POSITIVE_ABOVE:
        return Sentiment.POSITIVE
    return Sentiment.NEUTRAL


def text_analyze(text: str) -> TextAnalysis | None:
    """Sentiment and keywords of `text`; None when there is no text to analyse."""
    text = text.strip()
    if not text:
        return None
    from snownlp import SnowNLP

    score = float(SnowNLP(text).sentiments)
    keywords = _jieba_analyse().extract_tags(text, topK=KEYWORD_COUNT)
    return TextAnalysis(
        sentiment_label=sentiment_label(score), sentiment_score=round(score, 4), keywords=keywords
    )
