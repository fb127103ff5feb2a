"""Chinese text analytics of a verbatim: sentiment (our model), aspects, keywords, risks, topics.

A tenant's dictionary (its own aspect terms, jieba words and topic taxonomy) is compiled once
into a TenantDictionary; its revision is part of the version stored with every score, so a
changed dictionary makes old scores out of date the way a new model does.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from analytics.aspects import BUILTIN_ASPECTS, AspectFinder, aspects_merge
from analytics.chinese import Segmented, segment
from analytics.keywords import keywords_extract, user_words_pattern
from analytics.models import Sentiment
from analytics.risks import risk_flags_find
from analytics.sentiment import default_model
from analytics.topics import TopicDefinition, TopicMatcher

# Bump when the analysis changes in a way that should rescore stored texts.
ANALYZER_VERSION = "text-3"  # 3: keywords from dictionary words only (no HMM)


@dataclass
class TenantDictionary:
    """What a tenant adds to the analysis: aspect terms, jieba user words, topics."""

    revision: int = 0
    aspects: Sequence[tuple[str, list[str]]] = ()  # (aspect name, terms), built-in or new
    user_words: Sequence[str] = ()
    topics: Sequence[TopicDefinition] = ()
    aspect_finder: AspectFinder = field(init=False, repr=False)
    topic_matcher: TopicMatcher = field(init=False, repr=False)
    user_words_pattern: re.Pattern | None = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.aspect_finder = AspectFinder(aspects_merge(BUILTIN_ASPECTS, self.aspects))
        self.topic_matcher = TopicMatcher(self.topics)
        self.user_words_pattern = user_words_pattern(self.user_words)

    def segment(self, text: str) -> Segmented:
        """`text` normalised and cut into words, this tenant's own words kept whole."""
        return segment(text, user_words=self.user_words_pattern)

    def words(self, text: str) -> list[str]:
        return list(self.segment(text).words)


BUILTIN_DICTIONARY = TenantDictionary()


def analyzer_version(dictionary: TenantDictionary = BUILTIN_DICTIONARY) -> str:
    """Stored with each score: analyzer, sentiment model and tenant dictionary revision."""
    return f"{ANALYZER_VERSION}/{default_model().version}/d{dictionary.revision}"


@dataclass(frozen=True)
class TextAnalysis:
    sentiment_label: str
    sentiment_score: float
    keywords: list[str]
    aspects: list[dict]  # {aspect, polarity, score, clause}
    risk_flags: list[dict]  # {flag, term}
    topics: list[str]


def text_analyze(
    text: str, *, dictionary: TenantDictionary = BUILTIN_DICTIONARY
) -> TextAnalysis | None:
    """Everything the platform reads in one verbatim; None when there is no text to analyse."""
    text = text.strip()
    if not text:
        return None
    model = default_model()
    # One cut into words serves the sentiment of the text and of its clauses, and the keywords.
    segmented = dictionary.segment(text)
    evidence = model.evidence(segmented)
    score = evidence.score()
    aspects = dictionary.aspect_finder.find(segmented, evidence=evidence)
    # Praise with a complaint in it ("服务很好，排队太久") is not confidently positive, even
    # without a 但是 for the model to see. A complaint with a kind word in it stays negative:
    # it is still a complaint to follow up. And a text the model cannot decide on, whose every
    # judgement is against something ("App老是闪退，还要重新登录"), is a complaint too: it takes
    # its harshest aspect's score.
    polarities = {aspect.polarity for aspect in aspects}
    if score > model.high and Sentiment.NEGATIVE in polarities:
        score = model.high
    elif score >= model.low and polarities == {Sentiment.NEGATIVE}:
        score = min(aspect.score for aspect in aspects)
    return TextAnalysis(
        sentiment_label=model.label(score),
        sentiment_score=round(score, 4),
        keywords=keywords_extract(list(segmented.words)),
        aspects=[aspect.as_json() for aspect in aspects],
        risk_flags=risk_flags_find(segmented.text),
        topics=dictionary.topic_matcher.assign(segmented.text),
    )
