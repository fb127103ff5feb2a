"""Chinese text primitives the analyzers share: normalisation, words, clauses, negation, term
lookup."""

from __future__ import annotations

import bisect
import functools
import logging
import math
import re
import string
import threading
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

T = TypeVar("T")

# Punctuation that ends a clause, full- and half-width (NFKC folds most full-width forms into
# ASCII, but not 、 or 。). 、 separates the items of an enumeration.
_CLAUSE_END = re.compile(r"([,，.。!！?？;；:：、…~～\n\r]+)")
# Contrast words open a new clause. 不过 inside 只不过 ("only") or 不过如此 ("nothing special")
# is no contrast; a bare 但 is left out because it hides in 不但 and 但愿. 就是, 只是 and 可惜
# are a contrast only where a clause starts with them ("态度挺好，就是等得太久").
_CONTRAST = re.compile(r"(但是|(?<!只)不过(?!如此)|可是|然而|^(?:就是|只是|可惜))")
# A negator shortly before a term flips it ("不慢", "没有排队", "不是很专业"), unless it is
# part of a word that negates nothing: 不仅, 不但, 不过, 不错, 不少, 不断, 无论, 没想到, and
# 别 in 特别, 区别, 分别, 个别, 级别, 类别, 性别, 差别 ("物流特别快" is praise).
_NEGATOR = re.compile(
    r"(?:不|没|无|未|(?<![特区分个级类性差识告])别)(?!仅|但|只|光|过|错|少|断|论|想到)"
)
NEGATION_WINDOW = 3  # characters before a term that are searched for a negator


def normalise(text: str) -> str:
    """NFKC (full-width letters and digits to ASCII) and lower case: the form every term list
    is matched against."""
    return unicodedata.normalize("NFKC", text).lower()


CX_WORDS = Path(__file__).resolve().parent / "data" / "cx_words.txt"

_tokenizer: DictionaryCut | None = None
_tokenizer_lock = threading.Lock()

# How jieba splits a text: runs of these characters are cut with the dictionary; in between,
# whitespace stays whole and anything else is a character per piece (jieba's re_han_default
# and re_skip_default).
_JIEBA_BLOCK = re.compile(r"([\u4e00-\u9fd5a-zA-Z0-9+#&\._%\-]+)")
_JIEBA_SKIP = re.compile(r"(\r\n|\s)")
_ASCII_ALNUM = frozenset(string.ascii_letters + string.digits)


class DictionaryCut:
    """jieba's cut without HMM (Tokenizer.cut(text, HMM=False)), piece for piece the same.

    Written out here because jieba's generators and the dict of every word start it builds per
    block took 40 % more time than this one loop; tests/test_segmentation.py holds the two to
    the same answer.
    """

    def __init__(self, tokenizer) -> None:
        self.tokenizer = tokenizer
        self.freq: dict[str, int] = tokenizer.FREQ  # a word's count; 0 for a mere prefix
        # The single characters apart, a small table that stays in the CPU's cache: every
        # position of a text looks its character up first (45 % of the lookups of a shop review).
        self.chars = {word: count for word, count in self.freq.items() if len(word) == 1}
        self.log_total = math.log(tokenizer.total)

    def cut(self, text: str) -> list[str]:
        """jieba's pieces of `text`, whitespace and punctuation included."""
        pieces: list[str] = []
        for block in _JIEBA_BLOCK.split(text):
            if _JIEBA_BLOCK.match(block):
                pieces += self._block(block)
            else:
                for part in _JIEBA_SKIP.split(block):
                    if _JIEBA_SKIP.match(part):
                        pieces.append(part)
                    else:
                        pieces += part  # one piece per character
        return pieces

    def _block(self, block: str) -> list[str]:
        """The block's most probable cut into dictionary words (jieba's dynamic programme from
        the end of the block), then each run of single ASCII letters and digits as one word."""
        freq, chars, log_total = self.freq, self.chars, self.log_total
        n = len(block)
        # best[i]: (log-probability of the best cut of block[i:], where its first word ends);
        # ties go to the longer first word, as in jieba's max() over the same tuples.
        best = [(0.0, 0)] * (n + 1)
        for start in range(n - 1, -1, -1):
            count = chars.get(block[start])  # None: no dictionary word starts with it
            choice = (math.log(count) - log_total + best[start + 1][0], start) if count else None
            for end in range(start + 2, n + 1) if count is not None else ():
                count = freq.get(block[start:end])
                if count is None:  # no dictionary word starts with block[start:end]
                    break
                if count:
                    option = (math.log(count) - log_total + best[end][0], end - 1)
                    if choice is None or option > choice:
                        choice = option
            if choice is None:  # no word starts here: the character is a word by itself
                choice = (-log_total + best[start + 1][0], start)
            best[start] = choice
        words: list[str] = []
        letters = ""
        start = 0
        while start < n:
            end = best[start][1] + 1
            word = block[start:end]
            if word in _ASCII_ALNUM:  # a single letter or digit
                letters += word
            else:
                if letters:
                    words.append(letters)
                    letters = ""
                words.append(word)
            start = end
        if letters:
            words.append(letters)
        return words


def _jieba() -> DictionaryCut:
    """The analyzers' own jieba dictionary, created on first use.

    jieba's dictionary and the words of customer feedback it lacks (analytics/data/
    cx_words.txt: 闪退, 大堂经理, 转人工...). Private, so that words anyone adds to the global
    jieba dictionary cannot change what the sentiment model sees (a tenant's own words are
    applied per call, see segment()); lazy, because the dictionary takes a second to load.
    """
    global _tokenizer
    if _tokenizer is None:
        with _tokenizer_lock:
            if _tokenizer is None:
                import jieba

                jieba.setLogLevel(logging.WARNING)
                tokenizer = jieba.Tokenizer()
                tokenizer.initialize()
                for line in CX_WORDS.read_text(encoding="utf-8").splitlines():
                    if line.strip() and not line.startswith("#"):
                        tokenizer.add_word(normalise(line.strip()))
                _tokenizer = DictionaryCut(tokenizer)
    return _tokenizer


@dataclass(frozen=True)
class Segmented:
    """A text normalised and cut into words once, for every analyzer that reads it."""

    text: str  # normalise()d
    words: tuple[str, ...]  # jieba's words, whitespace dropped
    starts: tuple[int, ...]  # where each word starts in text

    # Cut once, on first use, for the aspects and the relations both.
    @functools.cached_property
    def clauses(self) -> list[Clause]:
        return clauses(self.text)

    def clause_words(self, clause: Clause) -> list[tuple[int, str]]:
        """(start, word) of the words that start inside the clause; the words are in text order,
        so two bisections find them instead of a scan of every word for every clause."""
        first = bisect.bisect_left(self.starts, clause.start)
        last = bisect.bisect_left(self.starts, clause.end, first)
        return list(zip(self.starts[first:last], self.words[first:last], strict=True))


def segment(text: str, *, user_words: re.Pattern | None = None) -> Segmented:
    """Normalise and cut a text into words; the tenant's own words (a pattern from
    keywords.user_words_pattern) always stay whole, e.g. 大额存单 instead of 大额 + 存单.

    Dictionary words only, no HMM guessing of unknown words: guessing cost a third of the time
    and made keywords of fragments (时料, 手才) without helping sentiment.
    """
    text = normalise(text)
    cut = _jieba().cut
    pieces: list[str] = []
    position = 0
    for match in user_words.finditer(text) if user_words is not None else ():
        pieces += cut(text[position : match.start()])
        pieces.append(match.group())
        position = match.end()
    pieces += cut(text[position:])
    words, starts = [], []
    offset = 0
    for piece in pieces:  # jieba's pieces cover the text, whitespace and punctuation included
        if not piece.isspace():
            words.append(piece)
            starts.append(offset)
        offset += len(piece)
    return Segmented(text, tuple(words), tuple(starts))


@dataclass(frozen=True)
class Clause:
    text: str
    start: int = 0  # where the clause is in the text it was cut from
    end: int = 0
    # The clause is an item of an enumeration continued by the next clause ("态度、效率都很好").
    continues: bool = False


def clauses(text: str) -> list[Clause]:
    """Split normalised text into clauses at punctuation and before contrast words.

    The contrast word itself is dropped: in "但是排队太久了" the clause is "排队太久了".
    """
    pieces = _CLAUSE_END.split(text)  # text, separator, text, ...: together the whole text
    found: list[Clause] = []
    offset = 0
    for index in range(0, len(pieces), 2):
        separator = pieces[index + 1] if index + 1 < len(pieces) else ""
        parts: list[tuple[int, str]] = []
        position = offset
        for number, part in enumerate(_CONTRAST.split(pieces[index])):  # part, contrast, ...
            if number % 2 == 0 and part.strip():
                lead = len(part) - len(part.lstrip())
                parts.append((position + lead, part.strip()))
            position += len(part)
        for number, (start, part) in enumerate(parts):
            last = number == len(parts) - 1
            found.append(Clause(part, start, start + len(part), last and separator == "、"))
        offset += len(pieces[index]) + len(separator)
    return found


# "没有一点不耐烦", "没有任何不满": a negator farther away, across a degree word.
_FAR_NEGATOR = re.compile(r"没有?(?:一点|一丝|任何|半点)儿?$")


def negated(text: str, start: int) -> bool:
    """Whether a negator stands in the few characters before text[start]."""
    return bool(
        _NEGATOR.search(text, max(0, start - NEGATION_WINDOW), start)
        or _FAR_NEGATOR.search(text, max(0, start - 5), start)
    )


@dataclass(frozen=True)
class TermMatch(Generic[T]):
    start: int
    end: int
    term: str
    value: T


class TermMatcher(Generic[T]):
    """Finds the terms of a dictionary in a text: leftmost first, the longest term at each place,
    never overlapping, so "服务费" is found as itself and not as "服务"."""

    def __init__(self, terms: Mapping[str, T]) -> None:
        self.values = {normalise(term): value for term, value in terms.items() if term.strip()}
        ordered = sorted(self.values, key=lambda term: (-len(term), term))
        self.pattern = re.compile("|".join(map(re.escape, ordered))) if ordered else None

    def __bool__(self) -> bool:
        return self.pattern is not None

    def occurs_in(self, text: str) -> bool:
        """Whether any term is in the text: one search, and if not, no part of the text has one
        either."""
        return self.pattern is not None and self.pattern.search(text) is not None

    def find(self, text: str) -> list[TermMatch[T]]:
        if self.pattern is None:
            return []
        return [
            TermMatch(m.start(), m.end(), m.group(), self.values[m.group()])
            for m in self.pattern.finditer(text)
        ]


def terms_parse(raw: str | Iterable[str]) -> list[str]:
    """Terms typed by a person: separated by newlines, commas (either width), 、 or spaces;
    normalised, deduplicated, in the order given."""
    if isinstance(raw, str):
        raw = re.split(r"[\s,，、;；]+", raw)
    seen: dict[str, None] = {}
    for term in raw:
        term = normalise(term).strip()
        if term:
            seen.setdefault(term)
    return list(seen)
