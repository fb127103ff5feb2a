"""Throughput of the text analyzer and of scoring, on one CPU core.

    python -m bench.scoring_throughput [--responses 3000] [--texts 3000] [--seed 2024]

Prints, one line each:
- analyzer_startup: a fresh Python process (Django set up) from importing analytics.text to its
  first text analysed: our sentiment model, jieba's dictionary and IDF table, the stopwords.
- analyzer: texts per second for sentiment + aspects + keywords (+ risk flags and topics)
  together, and for each part alone, on bank feedback like the demo's and on real e-commerce
  reviews (../shared/data/sentiment/online_shopping_test.csv, longer).
- scoring_inprocess: analytics.services.response_score called in this process on a fresh
  PostgreSQL database, for a tenant with a topic taxonomy, its own aspects and user words:
  responses scored per second by one worker process (no broker; bench/scoring_worker.py
  measures the Celery path), with the tickets its alert rules opened.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import time
from collections.abc import Callable

from bench import SENTIMENT_DATA
from bench.http_submit import (
    ROOT,
    django_migrate,
    django_start,
    on_fresh_database,
    process_cpu_seconds,
)
from bench.scoring_worker import responses_create, verbatim

BENCH_DB = "cem_bench_text"
BENCH_REDIS_URL = "redis://127.0.0.1:6379/12"
REVIEWS = SENTIMENT_DATA / "online_shopping_test.csv"
WARMUP_RESPONSES = 5
STARTUP_PROBE = """
import os, time
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cem.settings")
import django
django.setup()
started = time.perf_counter()
from analytics.text import text_analyze
text_analyze("服务态度很好，但是排队太久了")
print(f"{time.perf_counter() - started:.3f}")
"""
TAXONOMY = {
    "排队等候": "排队 叫号 窗口 等了",
    "手机银行": "app 手机银行 转账 登录",
    "信用卡": "信用卡 年费 额度",
    "理财": "理财 风险 收益",
}


def analyzer_startup_seconds() -> float:
    """Start-up as a fresh worker sees it, in a process of its own (nothing loaded yet)."""
    env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    probe = subprocess.run(
        [sys.executable, "-c", STARTUP_PROBE],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return float(probe.stdout.strip().splitlines()[-1])


def bank_texts(count: int, rng: random.Random) -> list[str]:
    return [verbatim(rng, rng.choice([2, 5, 8, 10])) for _ in range(count)]


def review_texts(count: int) -> list[str]:
    from analytics.sentiment import read_labelled_csv

    return [text for _label, text in read_labelled_csv(REVIEWS)[:count]]


def texts_per_second(analyse: Callable[[str], object], texts: list[str]) -> float:
    started = time.perf_counter()
    for text in texts:
        analyse(text)
    return len(texts) / (time.perf_counter() - started)


def analyzer_measure(name: str, texts: list[str]) -> None:
    from analytics.keywords import keywords_extract, words
    from analytics.sentiment import default_model
    from analytics.text import BUILTIN_DICTIONARY, text_analyze

    model = default_model()
    finder = BUILTIN_DICTIONARY.aspect_finder
    parts = {
        "all": text_analyze,
        "sentiment": lambda text: model.predict([text]),
        "aspects": lambda text: finder.find(text, model=model),
        "keywords": lambda text: keywords_extract(words(text)),
    }
    speeds = {part: texts_per_second(analyse, texts) for part, analyse in parts.items()}
    chars = sum(map(len, texts)) / len(texts)
    print(
        f"analyzer texts={name} n={len(texts)} mean_chars={chars:.0f} "
        f"texts_per_s={speeds['all']:.0f} "
        + " ".join(
            f"{part}_only={speeds[part]:.0f}" for part in ("sentiment", "aspects", "keywords")
        ),
        flush=True,
    )


def tenant_dictionary_fill(world) -> None:
    """What a real tenant would have: a small taxonomy, an aspect of its own, product words."""
    from analytics.services import aspect_terms_add, topic_keywords_add, user_words_add
    from organizations.tenancy import tenant_context

    with tenant_context(world.tenant):
        for name, keywords in TAXONOMY.items():
            topic_keywords_add(name=name, keywords=keywords, by=world.manager)
        aspect_terms_add(name="理财收益", terms="收益 年化 利率", by=world.manager)
        user_words_add(words="手机银行 大额存单 大堂经理", by=world.manager)


def scoring_measure(ids: list[int]) -> None:
    from django.db.models import Count

    from alerts.models import Ticket
    from analytics.models import ResponseScore
    from analytics.services import response_score
    from organizations.tenancy import system_context

    with system_context():
        tickets_before = Ticket.all_tenants.count()
    cpu_before = process_cpu_seconds()
    started = time.perf_counter()
    for response_id in ids:
        response_score(response_id=response_id)
    seconds = time.perf_counter() - started
    cpu_ms = 1000 * (process_cpu_seconds() - cpu_before) / len(ids)
    with system_context():
        scores = ResponseScore.all_tenants.filter(response_id__in=ids)
        with_aspects = scores.exclude(aspects=[]).count()
        with_topics = scores.exclude(topics=[]).count()
        with_risks = scores.exclude(risk_flags=[]).count()
        labels = scores.values_list("sentiment_label").annotate(n=Count("id")).order_by("-n")
        mix = " ".join(f"{label}={n}" for label, n in labels)
        print(
            f"scoring_inprocess responses={len(ids)} seconds={seconds:.1f} "
            f"responses_per_s={len(ids) / seconds:.1f} cpu_ms_per_response={cpu_ms:.2f} "
            f"tickets_opened={Ticket.all_tenants.count() - tickets_before} "
            f"with_aspects={with_aspects} with_topics={with_topics} with_risk_flags={with_risks} "
            f"({mix})",
            flush=True,
        )


def bench_run(args: argparse.Namespace, database_url: str) -> None:
    print(
        f"machine cores={os.cpu_count()} loadavg_1m={os.getloadavg()[0]:.2f} "
        "one process, one thread",
        flush=True,
    )
    print(f"analyzer_startup seconds={analyzer_startup_seconds():.2f}", flush=True)
    django_start(database_url, BENCH_REDIS_URL)
    rng = random.Random(args.seed)
    from analytics.text import text_analyze

    text_analyze("预热")
    analyzer_measure("bank_feedback", bank_texts(args.texts, rng))
    analyzer_measure("online_shopping_test", review_texts(args.texts))

    django_migrate()
    from tests.factories import build_world  # needs Django set up

    world = build_world("bench")
    tenant_dictionary_fill(world)
    warmup = responses_create(world, WARMUP_RESPONSES, rng)
    ids = responses_create(world, args.responses, rng)
    from analytics.services import response_score

    for response_id in warmup:  # the first scores load the tenant's compiled dictionary
        response_score(response_id=response_id)
    scoring_measure(ids)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.scoring_throughput", description=__doc__)
    parser.add_argument("--responses", type=int, default=3000, help="scored in this process")
    parser.add_argument("--texts", type=int, default=3000, help="texts per analyzer corpus")
    parser.add_argument("--seed", type=int, default=2024)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return on_fresh_database(BENCH_DB, BENCH_REDIS_URL, lambda url: bench_run(args, url))


if __name__ == "__main__":
    sys.exit(main())
