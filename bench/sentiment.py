"""Sentiment bench: our model against snownlp on labelled CSVs (accuracy, macro-F1, speed).

    python -m bench.sentiment --data ../shared/data/sentiment/chnsenticorp_test.csv \\
        [--data other.csv] [--limit N] [--snownlp-limit 2000] [--model path.npz]

Plain Python, no Django settings needed. Binary predictions: score >= 0.5 is positive.
Speed is one process, one thread, texts in a loop, after a warm-up text (jieba's dictionary).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Sequence
from pathlib import Path


def macro_f1(labels: Sequence[int], predicted: Sequence[int]) -> float:
    """Mean F1 of the positive and the negative class."""
    scores = []
    for cls in (0, 1):
        tp = sum(1 for y, p in zip(labels, predicted, strict=True) if y == cls and p == cls)
        fp = sum(1 for y, p in zip(labels, predicted, strict=True) if y != cls and p == cls)
        fn = sum(1 for y, p in zip(labels, predicted, strict=True) if y == cls and p != cls)
        scores.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    return sum(scores) / len(scores)


def measure(
    name: str, scorer: Callable[[list[str]], list[float]], rows: list[tuple[int, str]], file: str
) -> str:
    labels = [label for label, _ in rows]
    texts = [text for _, text in rows]
    start = time.perf_counter()
    scores = scorer(texts)
    elapsed = time.perf_counter() - start
    predicted = [1 if s >= 0.5 else 0 for s in scores]
    accuracy = sum(1 for y, p in zip(labels, predicted, strict=True) if y == p) / len(rows)
    return (
        f"{name:<8} accuracy={accuracy:.3f} macro_f1={macro_f1(labels, predicted):.3f} "
        f"texts_per_s={len(rows) / elapsed:.0f} file={file} n={len(rows)}"
    )


def snownlp_scores(texts: list[str]) -> list[float]:
    from snownlp import SnowNLP

    return [float(SnowNLP(text).sentiments) if text.strip() else 0.5 for text in texts]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.sentiment", description=__doc__)
    parser.add_argument("--data", action="append", required=True, type=Path, help="label,text CSV")
    parser.add_argument("--limit", type=int, help="use only the first N rows of each file")
    parser.add_argument(
        "--snownlp-limit", type=int, default=2000, help="rows for snownlp, which is slow"
    )
    parser.add_argument("--model", type=Path, help="model file (default: the shipped one)")
    args = parser.parse_args(argv)

    # Load time as a service sees it: importing the module (numpy included) plus the file.
    start = time.perf_counter()
    from analytics.sentiment import DEFAULT_PATH, SentimentModel, read_labelled_csv

    model = SentimentModel.load(args.model)
    load_s = time.perf_counter() - start
    start = time.perf_counter()
    model.predict(["热身"])
    warm_s = time.perf_counter() - start
    path = args.model or DEFAULT_PATH
    print(
        f"model version={model.version} file={path.name} size_mb={path.stat().st_size / 1e6:.2f} "
        f"load_s={load_s:.2f} first_predict_s={warm_s:.2f} (jieba dictionary)"
    )

    def ours(texts: list[str]) -> list[float]:
        return [result.score for result in model.predict(texts)]

    for data in args.data:
        rows = read_labelled_csv(data)[: args.limit]
        print(measure("ours", ours, rows, data.name), flush=True)
        snow_rows = rows[: args.snownlp_limit]
        print(measure("snownlp", snownlp_scores, snow_rows, data.name), flush=True)


if __name__ == "__main__":
    main()
