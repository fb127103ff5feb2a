"""Topics: a tenant's taxonomy assigned by keyword, and themes discovered in what it misses.

Discovery clusters the texts no topic covers, so that a new recurring complaint (a broken
app release, a new fee) shows up with a label and a size before anyone thought to look for it.
It runs on a worker (services.text_themes_discover); the page only counts the stored themes'
members that it may show (themes_in_view).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from analytics.chinese import TermMatcher
from analytics.models import Sentiment

# Two texts belong together when their TF-IDF vectors are this close (1 - cosine), on average
# over the cluster: about one shared distinctive word in a short comment.
THEME_DISTANCE = 0.85
THEME_MIN_SIZE = 3
THEME_MIN_SHARE = 0.02  # of the texts searched: a theme must recur, not be a pair of twins
THEME_COUNT = 8
THEME_LABEL_TERMS = 3
THEME_EXAMPLES = 3


@dataclass(frozen=True)
class TopicDefinition:
    name: str
    keywords: tuple[str, ...]


class TopicMatcher:
    """Assigns a tenant's topics to a text: every topic one of whose keywords it contains."""

    def __init__(self, topics: Sequence[TopicDefinition]) -> None:
        self.names = [topic.name for topic in topics]
        self._keywords: TermMatcher[str] = TermMatcher(
            {keyword: topic.name for topic in topics for keyword in topic.keywords}
        )

    def assign(self, text: str) -> list[str]:
        """Topic names for normalised `text`, in the taxonomy's order."""
        found = {match.value for match in self._keywords.find(text)}
        return [name for name in self.names if name in found]


@dataclass(frozen=True)
class ThemeDocument:
    id: int
    words: list[str]  # content words: no stopwords, no single characters


@dataclass(frozen=True)
class DiscoveredTheme:
    label: str
    terms: list[str]
    members: list[int]  # ids of its documents, closest to the theme first

    def as_json(self) -> dict:
        return {"label": self.label, "terms": self.terms, "members": self.members}

    @classmethod
    def from_json(cls, value: dict) -> DiscoveredTheme:
        return cls(value["label"], list(value["terms"]), list(value["members"]))


def themes_discover(documents: Sequence[ThemeDocument]) -> list[DiscoveredTheme]:
    """Recurring themes among `documents`, largest first.

    TF-IDF over the documents' words, then average-linkage agglomerative clustering on cosine
    distance, cut at THEME_DISTANCE: unlike k-means it needs no number of clusters and leaves
    one-off comments alone instead of forcing them into a theme.
    """
    from sklearn.cluster import AgglomerativeClustering
    from sklearn.feature_extraction.text import TfidfVectorizer

    documents = [doc for doc in documents if doc.words]
    min_size = max(THEME_MIN_SIZE, round(THEME_MIN_SHARE * len(documents)))
    if len(documents) < min_size:
        return []
    vectorizer = TfidfVectorizer(analyzer=_given_words, min_df=2, sublinear_tf=True, norm="l2")
    try:
        vectors = vectorizer.fit_transform([doc.words for doc in documents]).tocsr()
    except ValueError:  # no word is shared by two documents
        return []
    keep = np.flatnonzero(vectors.getnnz(axis=1))
    if len(keep) < min_size:
        return []
    vectors = vectors[keep]
    documents = [documents[i] for i in keep]
    distances = np.clip(1.0 - (vectors @ vectors.T).toarray(), 0.0, 2.0)
    labels = AgglomerativeClustering(
        n_clusters=None,
        metric="precomputed",
        linkage="average",
        distance_threshold=THEME_DISTANCE,
    ).fit_predict(distances)

    vocabulary = vectorizer.get_feature_names_out()
    themes = []
    for cluster in np.unique(labels):
        members = np.flatnonzero(labels == cluster)
        if len(members) < min_size:
            continue
        centroid = np.asarray(vectors[members].mean(axis=0)).ravel()
        terms = [str(vocabulary[i]) for i in np.argsort(-centroid)[:THEME_LABEL_TERMS]]
        closest_first = members[np.argsort(-(vectors[members] @ centroid), kind="stable")]
        themes.append(
            DiscoveredTheme(
                label="、".join(terms),
                terms=terms,
                members=[documents[i].id for i in closest_first],
            )
        )
    themes.sort(key=lambda theme: -len(theme.members))
    return themes[:THEME_COUNT]


@dataclass(frozen=True)
class ThemeText:
    """A member of a theme as a reader of the page may see it."""

    id: int
    text: str
    sentiment_label: str
    sentiment_score: float | None


@dataclass(frozen=True)
class Theme:
    """A discovered theme as the page shows it: of its members, those in view."""

    label: str
    terms: list[str]
    size: int
    sentiment_score: float | None  # mean over the texts that have one
    negative_share: int  # percent of the texts whose sentiment is negative
    examples: list[ThemeText]


def themes_in_view(
    themes: Sequence[DiscoveredTheme], texts: Mapping[int, ThemeText]
) -> list[Theme]:
    """The themes with at least THEME_MIN_SIZE members among `texts` (those of the page's
    period and filters, in the reader's scope), sized and described by those alone, largest
    first; a theme keeps its name, found among all the texts searched."""
    shown = []
    for theme in themes:
        members = [texts[pk] for pk in theme.members if pk in texts]
        if len(members) < THEME_MIN_SIZE:
            continue
        scores = [member.sentiment_score for member in members]
        known = [score for score in scores if score is not None]
        negative = sum(1 for member in members if member.sentiment_label == Sentiment.NEGATIVE)
        shown.append(
            Theme(
                label=theme.label,
                terms=theme.terms,
                size=len(members),
                sentiment_score=round(sum(known) / len(known), 3) if known else None,
                negative_share=round(100 * negative / len(members)),
                examples=members[:THEME_EXAMPLES],
            )
        )
    shown.sort(key=lambda theme: -theme.size)
    return shown


def _given_words(words: list[str]) -> list[str]:
    return words
