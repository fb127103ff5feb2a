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
from analytics.hedges import hedges_find
from analytics.keywords import keywords_extract, user_words_pattern
from analytics.models import Sentiment
from analytics.relations import RelationFinder
from analytics.risks import risk_flags_find
from analytics.sentiment import default_model
from analytics.topics import TopicDefinition, TopicMatcher

# Bump when the analysis changes in a way that should rescore stored texts.
ANALYZER_VERSION = "text-5"  # 4: hedges, sarcasm, sector aspects, risks; 5: relations
# How far past the neutral band a hedged complaint's score is put.
HEDGE_MARGIN = 0.05
# A hedge is the verdict of a short text ("整体还行吧"); in a long review it qualifies one point
# among many ("环境还可以，早餐丰富，服务热情…"). Feedback texts average under 40 characters. On
# chnsenticorp_dev, without this limit 25 more positive reviews were held at neutral.
HEDGE_VERDICT_CHARS = 40
# P(positive) above which the model's verdict is only held at neutral, never turned round.
CONFIDENT = 0.9


@dataclass
class TenantDictionary:
    """What a tenant adds to the analysis: aspect terms, jieba user words, topics."""

    revision: int = 0
    aspects: Sequence[tuple[str, list[str]]] = ()  # (aspect name, terms), built-in or new
    user_words: Sequence[str] = ()
    topics: Sequence[TopicDefinition] = ()
    aspect_finder: AspectFinder = field(init=False, repr=False)
    relation_finder: RelationFinder = field(init=False, repr=False)
    topic_matcher: TopicMatcher = field(init=False, repr=False)
    user_words_pattern: re.Pattern | None = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.aspect_finder = AspectFinder(aspects_merge(BUILTIN_ASPECTS, self.aspects))
        self.relation_finder = RelationFinder(self.aspect_finder.aspects)
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
    relations: list[dict]  # {target, opinion}


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
    # Praise with a complaint in it ("服务很好，排队太久") is mixed, neutral, with or without a
    # 但是 for the model to see, unless it threatens to leave or escalate. A text whose every
    # judgement is against something ("App老是闪退，还要重新登录", "排队时间有点长，希望能改善")
    # is a complaint, however politely put: it takes its harshest aspect's score.
    # Only a model that is not sure is overruled by aspects and hedges: above CONFIDENT, a long
    # review that praises much and blames a little ("超赞！屏幕清晰…虽然有一点点小瑕疵") is
    # held at neutral instead.
    risk_flags = risk_flags_find(segmented.text)
    polarities = {aspect.polarity for aspect in aspects}
    sure = score > CONFIDENT
    if polarities == {Sentiment.NEGATIVE}:
        score = model.high if sure else min(score, min(aspect.score for aspect in aspects))
    elif {Sentiment.POSITIVE, Sentiment.NEGATIVE} <= polarities and not risk_flags:
        score = min(max(score, model.low), model.high)
    elif score > model.high and Sentiment.NEGATIVE in polarities:
        score = model.high
    # Risks, hedges and sarcasm have the last word: "不是很满意" is negative, "还行吧" and
    # "中规中矩" are never positive, and neutral unless something in the text says more.
    # A threat to leave or escalate is a complaint whatever its tone; a question, or a
    # customer who says they will not complain, is not one unless an aspect says otherwise.
    hedges = hedges_find(segmented.text)
    if (hedges.complaint and not sure) or risk_flags:
        score = min(score, model.low - HEDGE_MARGIN)
    elif hedges.complaint:
        score = model.high
    elif (hedges.hedged or hedges.calm) and len(segmented.text) <= HEDGE_VERDICT_CHARS:
        score = min(score, model.high)
        if Sentiment.NEGATIVE not in polarities:
            score = max(score, model.low)
    return TextAnalysis(
        sentiment_label=model.label(score),
        sentiment_score=round(score, 4),
        keywords=keywords_extract(list(segmented.words)),
        aspects=[aspect.as_json() for aspect in aspects],
        risk_flags=risk_flags,
        topics=dictionary.topic_matcher.assign(segmented.text),
        relations=[relation.as_json() for relation in dictionary.relation_finder.find(segmented)],
    )
