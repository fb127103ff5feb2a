"""Words of a text and its keywords: jieba with a tenant's own words, stopwords, TF-IDF."""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

from analytics.chinese import normalise, segment

DATA = Path(__file__).resolve().parent / "data"
KEYWORD_COUNT = 5
# A content word has a Chinese character or a Latin letter ("app", "atm"); numbers, dates and
# punctuation are never keywords.
_CONTENT = re.compile(r"[\u4e00-\u9fffa-z]")
# Counted amounts ("一个多", "两次", "三天") say how much, not what about.
_AMOUNT = re.compile(
    r"[\d一二两三四五六七八九十百千万几半多第]+[个次天年月日号点分秒位元块张件种遍趟回周多款笔份台家条]*"
)


@lru_cache(maxsize=1)
def stopwords() -> frozenset[str]:
    """analytics/data/stopwords.txt: function words and the filler of feedback (总的来说, 感觉)."""
    lines = (DATA / "stopwords.txt").read_text(encoding="utf-8").splitlines()
    return frozenset(normalise(line.strip()) for line in lines if line and line[0] != "#")


# Cached: a few thousand words make most of every text, and each is judged by three regexes.
@lru_cache(maxsize=100_000)
def is_content_word(word: str) -> bool:
    """Could be a keyword: two characters or more, not a stopword, has a letter or hanzi."""
    return (
        len(word) >= 2
        and word not in stopwords()
        and bool(_CONTENT.search(word))
        and not _AMOUNT.fullmatch(word)
    )


@lru_cache(maxsize=1)
def _idf() -> tuple[dict[str, float], float]:
    """jieba's IDF table (from a large general corpus) and its median, given to unknown words."""
    import jieba

    path = Path(jieba.__file__).resolve().parent / "analyse" / "idf.txt"
    table: dict[str, float] = {}
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            word, _space, value = line.rstrip("\n").rpartition(" ")
            table[word] = float(value)
    values = sorted(table.values())
    return table, values[len(values) // 2]


def warm_up() -> None:
    """Load the dictionary and the IDF table now rather than on the first text."""
    segment("")
    _idf()
    stopwords()


def user_words_pattern(user_words: Iterable[str]) -> re.Pattern | None:
    """One regex for a tenant's own words, longest first; None when there are none."""
    ordered = sorted({normalise(w).strip() for w in user_words} - {""}, key=lambda w: (-len(w), w))
    return re.compile("|".join(map(re.escape, ordered))) if ordered else None


def words(text: str, *, user_words: re.Pattern | None = None) -> list[str]:
    """jieba's words of the normalised text (see chinese.segment)."""
    return list(segment(text, user_words=user_words).words)


# A word's IDF if it is a content word, None if not: one lookup per word of a text instead of
# the content-word cache and then the 270k-word IDF table, which missed the CPU's cache as often
# as not. Emptied when full, so that odd words cannot grow it without bound.
_keyword_idf: dict[str, float | None] = {}
KEYWORD_IDF_CACHE = 100_000


def _keyword_idf_of(word: str) -> float | None:
    if len(_keyword_idf) >= KEYWORD_IDF_CACHE:
        _keyword_idf.clear()
    table, median = _idf()
    idf = _keyword_idf[word] = table.get(word, median) if is_content_word(word) else None
    return idf


def keywords_extract(text_words: list[str], *, count: int = KEYWORD_COUNT) -> list[str]:
    """The `count` content words with the highest TF-IDF, ties in order of appearance."""
    idf: dict[str, float] = {}
    frequency: dict[str, int] = {}
    for word in text_words:
        weight = _keyword_idf[word] if word in _keyword_idf else _keyword_idf_of(word)
        if weight is not None:
            idf[word] = weight
            frequency[word] = frequency.get(word, 0) + 1
    # A dict keeps its words in order of first appearance and sorted() is stable: ties stay in
    # that order without a table of first positions.
    ranked = sorted(frequency, key=lambda w: -frequency[w] * idf[w])
    return ranked[:count]
