"""Benchmarks that print figures: python -m bench.http_submit, bench.scoring_worker."""

from pathlib import Path

# The labelled sentiment data lives beside the checkout, in ../shared/data/sentiment.
SENTIMENT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "sentiment"
