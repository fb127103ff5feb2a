"""Text analytics bench: our feedback set, then the public review sets, then speed; snownlp after.

    python -m bench.sentiment [--feedback analytics/data/feedback/feedback_test.jsonl] \\
        [--data ../shared/data/sentiment/chnsenticorp_test.csv --data ...] [--limit N] \\
        [--snownlp-limit 2000] [--model path.npz] [--speed-texts 3000]

Without --data the public test sets in ../shared/data/sentiment are read. On the feedback set
(three-way labels, aspects and risks written by a person, see docs/feedback-set.md) the whole
analyzer (analytics.text.text_analyze) is measured; on the public sets (binary labels) the
model alone, score >= 0.5 being positive. Speed is one process, one thread (so per core),
texts in a loop, after a warm-up text. The analyzer's speed per core is texts per second of
the process's CPU time, which other work on a shared machine does not change; the wall-clock
figure is printed next to it.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FEEDBACK_TEST = REPO / "analytics" / "data" / "feedback" / "feedback_test.jsonl"
PUBLIC_SETS = [
    REPO.parent / "shared" / "data" / "sentiment" / "chnsenticorp_test.csv",
    REPO.parent / "shared" / "data" / "sentiment" / "online_shopping_test.csv",
]
ESCALATION = frozenset({"regulator", "media", "legal"})
# snownlp gives P(positive) only; on the three-way feedback labels it gets our model's default
# neutral band.
SNOWNLP_BAND = (0.4, 0.6)


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


def read_feedback(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def detection(expected: Sequence[bool], found: Sequence[bool]) -> str:
    """precision / recall / accuracy of a yes-no flag per text."""
    tp = sum(1 for e, f in zip(expected, found, strict=True) if e and f)
    precision = tp / max(1, sum(found))
    recall = tp / max(1, sum(expected))
    accuracy = sum(1 for e, f in zip(expected, found, strict=True) if e == f) / len(expected)
    return f"p={precision:.2f} r={recall:.2f} acc={accuracy:.3f}"


def feedback_figures(
    name: str, rows: list[dict], predictions: list[dict], file: str, texts_per_s: float
) -> str:
    """One line: three-way sentiment accuracy, risk detection per text (when predicted) and
    aspect recall/precision (aspect and polarity both right; and the aspect's name only)."""
    sentiment = sum(
        1 for row, pred in zip(rows, predictions, strict=True) if row["sentiment"] == pred["label"]
    ) / len(rows)
    parts = [f"{name:<8} sentiment_accuracy={sentiment:.3f}"]
    risk_kinds = (("escalation", ESCALATION), ("churn", frozenset({"churn"})))
    for flag, kinds in risk_kinds if all("risks" in pred for pred in predictions) else ():
        expected = [bool(kinds & set(row["risks"])) for row in rows]
        found = [bool(kinds & set(pred["risks"])) for pred in predictions]
        parts.append(f"{flag}[{detection(expected, found)}]")
    if any("aspects" in pred for pred in predictions):
        gold = {
            (i, a["aspect"], a["polarity"]) for i, row in enumerate(rows) for a in row["aspects"]
        }
        got = {
            (i, a["aspect"], a["polarity"]) for i, p in enumerate(predictions) for a in p["aspects"]
        }
        gold_names = {item[:2] for item in gold}
        got_names = {item[:2] for item in got}
        parts.append(
            f"aspects[r={len(gold & got) / max(1, len(gold)):.2f} "
            f"p={len(gold & got) / max(1, len(got)):.2f} "
            f"name_r={len(gold_names & got_names) / max(1, len(gold_names)):.2f} "
            f"name_p={len(gold_names & got_names) / max(1, len(got_names)):.2f}]"
        )
    parts.append(f"texts_per_s={texts_per_s:.0f} file={file} n={len(rows)}")
    return " ".join(parts)


def snownlp_scores(texts: list[str]) -> list[float]:
    from snownlp import SnowNLP

    return [float(SnowNLP(text).sentiments) if text.strip() else 0.5 for text in texts]


def _band_label(score: float, low: float, high: float) -> str:
    if score < low:
        return "negative"
    return "positive" if score > high else "neutral"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.sentiment", description=__doc__)
    parser.add_argument("--feedback", type=Path, default=FEEDBACK_TEST, help="feedback JSONL")
    parser.add_argument("--data", action="append", type=Path, help="label,text CSV")
    parser.add_argument("--limit", type=int, help="use only the first N rows of each file")
    parser.add_argument(
        "--snownlp-limit", type=int, default=2000, help="rows for snownlp, which is slow"
    )
    parser.add_argument("--model", type=Path, help="model file (default: the shipped one)")
    parser.add_argument(
        "--speed-texts", type=int, default=3000, help="texts of each public set for the speed"
    )
    args = parser.parse_args(argv)
    public = args.data or PUBLIC_SETS

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

    # The analyzer reads its risk kinds from the Django models; no database is touched.
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cem.settings")
    import django

    django.setup()
    from analytics import text

    if args.model:
        from analytics import aspects

        text.default_model = aspects.default_model = lambda: model
    text.text_analyze("热身")

    def analyze(texts: list[str]) -> tuple[list[dict], float, float]:
        begin, begin_cpu = time.perf_counter(), time.process_time()
        results = [text.text_analyze(t) for t in texts]
        elapsed, cpu = time.perf_counter() - begin, time.process_time() - begin_cpu
        predictions = [
            {
                "label": r.sentiment_label if r else "neutral",
                "score": r.sentiment_score if r else 0.5,
                "aspects": r.aspects if r else [],
                "risks": [flag["flag"] for flag in r.risk_flags] if r else [],
            }
            for r in results
        ]
        return predictions, len(texts) / elapsed, len(texts) / cpu

    feedback = read_feedback(args.feedback)[: args.limit]
    predictions, speed, _ = analyze([row["text"] for row in feedback])
    print(feedback_figures("ours", feedback, predictions, args.feedback.name, speed), flush=True)

    def ours(texts: list[str]) -> list[float]:
        return [result.score for result in model.predict(texts)]

    public_rows = {data: read_labelled_csv(data)[: args.limit] for data in public}
    for data, rows in public_rows.items():
        print(measure("ours", ours, rows, data.name), flush=True)

    # Sentiment + aspects + keywords (+ risks, topics) together, as scoring runs them.
    for data, rows in public_rows.items():
        texts = [t for _, t in rows[: args.speed_texts]]
        _, speed, cpu_speed = analyze(texts)
        mean_chars = sum(map(len, texts)) / len(texts)
        print(
            f"analyzer texts_per_s_per_core={cpu_speed:.0f} wall_texts_per_s={speed:.0f} "
            "(sentiment+aspects+keywords+risks) "
            f"file={data.name} n={len(texts)} mean_chars={mean_chars:.0f}",
            flush=True,
        )

    if args.snownlp_limit <= 0:
        return
    start = time.perf_counter()
    snow = snownlp_scores([row["text"] for row in feedback])
    elapsed = time.perf_counter() - start
    # snownlp has neither risks nor aspects: its line has the sentiment only.
    snow_predictions = [{"label": _band_label(s, *SNOWNLP_BAND)} for s in snow]
    print(
        feedback_figures(
            "snownlp", feedback, snow_predictions, args.feedback.name, len(feedback) / elapsed
        ),
        flush=True,
    )
    for data, rows in public_rows.items():
        print(measure("snownlp", snownlp_scores, rows[: args.snownlp_limit], data.name), flush=True)


if __name__ == "__main__":
    main()
