"""Benchmarks that print figures: python -m bench.http_submit, bench.scoring_worker."""
