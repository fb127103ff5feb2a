"""Topics: a tenant's taxonomy assigned by keyword, and themes discovered in what it misses.

Discovery clusters the texts no topic covers, so that a new recurring complaint (a broken
app release, a new fee) shows up with a label and a size before anyone thought to look for it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from analytics.chinese import TermMatcher

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
    text: str
    sentiment_score: float | None
    words: list[str]  # content words: no stopwords, no single characters


@dataclass(frozen=True)
class Theme:
    label: str
    terms: list[str]
    size: int
    sentiment_score: float | None  # mean over the texts that have one
    negative_share: int  # percent of the texts whose sentiment is negative
    examples: list[ThemeDocument]


def themes_discover(
    documents: Sequence[ThemeDocument], *, negative_below: float = 0.4
) -> list[Theme]:
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
        closest = members[np.argsort(-(vectors[members] @ centroid))][:THEME_EXAMPLES]
        scores = [documents[i].sentiment_score for i in members]
        known = [s for s in scores if s is not None]
        themes.append(
            Theme(
                label="、".join(terms),
                terms=terms,
                size=len(members),
                sentiment_score=round(float(np.mean(known)), 3) if known else None,
                negative_share=round(
                    100 * sum(1 for s in known if s < negative_below) / len(members)
                ),
                examples=[documents[i] for i in closest],
            )
        )
    themes.sort(key=lambda theme: -theme.size)
    return themes[:THEME_COUNT]


def _given_words(words: list[str]) -> list[str]:
    return words
