"""Scoring throughput of one Celery worker process (solo pool), and of scoring in-process."""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from bench.http_submit import (
    django_migrate,
    django_start,
    group_cpu_seconds,
    log_tail,
    on_fresh_database,
    process_cpu_seconds,
    process_stop,
    solo_worker_start,
)

BENCH_DB = "cem_bench_scoring"
BENCH_REDIS_URL = "redis://127.0.0.1:6379/10"
WORKER_LOG = "scoring-worker.log"
# Scored before the clock starts: the first task of a worker loads jieba's dictionary and
# snownlp's model, a one-off cost reported apart as cold_start_s.
WARMUP_RESPONSES = 5
POLL_SECONDS = 0.1

PRAISE = [
    "柜员办理业务非常专业，几分钟就帮我开好了账户。",
    "大堂经理主动引导我取号，还帮我填好了单子，服务很贴心。",
    "网点环境干净整洁，等候区有饮用水和充电插座。",
    "手机银行界面简洁，转账和理财都很方便。",
    "客服电话很快就接通了，问题一次就解决了。",
    "理财经理耐心讲解了产品风险，没有强行推销。",
    "今天人不多，基本没有排队，效率很高。",
    "信用卡额度调整很快，短信通知也很及时。",
    "工作人员态度热情，对老年人特别有耐心。",
    "新版App的人脸识别登录很顺畅，体验比以前好多了。",
    "贷款审批比我预想的快，客户经理全程跟进。",
    "外币兑换手续简单，汇率也比较透明。",
]
COMPLAINTS = [
    "排队等了一个多小时，只开了两个窗口，太浪费时间了。",
    "柜员态度冷淡，问了几遍都不耐烦。",
    "手机银行转账一直提示系统繁忙，试了好几次都失败。",
    "客服电话转了三次人工才接通，问题还是没解决。",
    "跨行转账手续费太高，而且事先没有任何说明。",
    "办理挂失要求提供的材料太多，来回跑了三趟。",
    "理财产品亏损了，当初销售时根本没讲清楚风险。",
    "ATM机吞卡了，打电话半天没人处理。",
    "App更新后经常闪退，登录还要反复验证短信。",
    "网点门口没有停车位，残障通道也被杂物堵住了。",
    "信用卡年费被莫名扣了，投诉后一直没有回复。",
    "叫号系统出错，后来的客户反而先办理了。",
]
NEUTRAL = [
    "今天来办理社保卡激活。",
    "整体还可以，就是流程有点繁琐。",
    "希望以后能在周末多开几个窗口。",
    "建议在App里增加预约取号的功能。",
    "服务一般，没有特别好也没有特别差。",
    "办完了，希望下次能快一点。",
]


def verbatim(rng: random.Random, nps: int) -> str:
    """One to three sentences whose tone follows the score, as real comments mostly do."""
    if nps >= 9:
        pools = [PRAISE, PRAISE, PRAISE, NEUTRAL]
    elif nps >= 7:
        pools = [PRAISE, NEUTRAL, NEUTRAL, COMPLAINTS]
    else:
        pools = [COMPLAINTS, COMPLAINTS, COMPLAINTS, NEUTRAL]
    return "".join(rng.choice(rng.choice(pools)) for _ in range(rng.randint(1, 3)))


def answers_for(keys: dict[str, str], rng: random.Random) -> dict[str, Any]:
    """NPS skewed like a bank's (mostly passives and promoters), CSAT and CES that agree."""
    nps = rng.choices(range(11), weights=[2, 1, 1, 2, 2, 4, 6, 10, 14, 14, 12])[0]
    csat = max(1, min(5, round(nps / 2.5) + rng.choice([-1, 0, 0, 1])))
    ces = max(1, min(7, 8 - round(nps * 0.7) + rng.choice([-1, 0, 1])))
    return {
        keys["nps"]: nps,
        keys["csat"]: csat,
        keys["ces"]: ces,
        keys["text"]: verbatim(rng, nps),
    }


def question_keys(definition: dict) -> dict[str, str]:
    """The key of the first question of each type the bench answers."""
    from surveys.definition import iter_questions

    keys: dict[str, str] = {}
    for question in iter_questions(definition):
        keys.setdefault(question["type"], question["key"])
    return keys


def responses_create(world: Any, count: int, rng: random.Random) -> list[int]:
    """Complete responses stored without the submit signal, so nothing enqueues scoring yet."""
    from django.utils import timezone

    from organizations.tenancy import tenant_context
    from surveys.models import Response

    with tenant_context(world.tenant):
        version = world.survey.live_version
    keys = question_keys(version.definition)
    now = timezone.now()
    rows = [
        Response(
            tenant=world.tenant,
            survey=world.survey,
            version=version,
            link=world.link,
            touchpoint=world.touchpoint,
            org_unit=world.branch,
            answers=answers_for(keys, rng),
            submitted_at=now - timedelta(minutes=rng.randint(0, 60 * 24 * 30)),
            source=Response.Source.LINK,
            status=Response.Status.COMPLETE,
        )
        for _ in range(count)
    ]
    with tenant_context(world.tenant):
        return [row.pk for row in Response.objects.bulk_create(rows, batch_size=500)]


def scored_count() -> int:
    from analytics.models import ResponseScore
    from organizations.tenancy import system_context

    with system_context():
        return ResponseScore.all_tenants.count()


def ticket_count() -> int:
    from alerts.models import Ticket
    from organizations.tenancy import system_context

    with system_context():
        return Ticket.all_tenants.count()


def sentiment_mix() -> str:
    from django.db.models import Count

    from analytics.models import ResponseScore
    from organizations.tenancy import system_context

    rows = ResponseScore.all_tenants.values("sentiment_label").annotate(n=Count("id"))
    with system_context():
        return " ".join(f"{row['sentiment_label']}={row['n']}" for row in rows.order_by("-n"))


def worker_start(database_url: str) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": BENCH_REDIS_URL, "DEBUG": "0"}
    return solo_worker_start(queue="scoring", env=env, log_name=WORKER_LOG, loglevel="INFO")


def worker_ready_wait(
    worker: subprocess.Popen, *, log: str = WORKER_LOG, timeout: float = 60.0
) -> None:
    """Wait until the worker answers a ping; its log's tail when it exits first."""
    from celery import current_app as app

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if worker.poll() is not None:
            raise RuntimeError(f"celery worker exited at start-up:\n{log_tail(log)}")
        if app.control.ping(timeout=1.0):
            return
    raise RuntimeError(f"celery worker did not answer a ping within {timeout:.0f} s")


def scored_wait(target: int, worker: subprocess.Popen, timeout: float) -> None:
    """Poll until `target` responses have a score; fail if the worker dies or stalls."""
    deadline = time.monotonic() + timeout
    while scored_count() < target:
        if worker.poll() is not None:
            raise RuntimeError(f"celery worker died:\n{log_tail(WORKER_LOG)}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {scored_count()}/{target} scored after {timeout:.0f} s")
        time.sleep(POLL_SECONDS)


def enqueue_all(ids: list[int]) -> None:
    # The path a submission takes after commit (and the sweeper after an outage).
    from analytics.services import response_enqueue_scoring

    for response_id in ids:
        if not response_enqueue_scoring(response_id=response_id):
            raise RuntimeError(f"could not enqueue response {response_id}")


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def score_through_worker(
    ids: list[int], target: int, worker: subprocess.Popen, timeout: float
) -> tuple[float, float]:
    """Enqueue `ids`, wait until `target` responses are scored: (enqueue seconds, total)."""
    started = time.perf_counter()
    enqueue_all(ids)
    enqueued = time.perf_counter() - started
    scored_wait(target, worker, timeout)
    return enqueued, time.perf_counter() - started


def worker_measure(database_url: str, warmup_ids: list[int], ids: list[int]) -> None:
    tickets_before = ticket_count()
    worker = worker_start(database_url)
    try:
        worker_ready_wait(worker)
        _, cold = score_through_worker(warmup_ids, len(warmup_ids), worker, timeout=120)
        cpu_before = group_cpu_seconds(worker.pid)
        # A generous ceiling of one second per response: a stall fails instead of hanging.
        enqueue_seconds, seconds = score_through_worker(
            ids, len(warmup_ids) + len(ids), worker, timeout=120 + len(ids)
        )
        cpu_ms = 1000 * (group_cpu_seconds(worker.pid) - cpu_before) / len(ids)
    finally:
        process_stop(worker)
    tickets = ticket_count() - tickets_before
    print(
        f"scoring_worker responses={len(ids)} seconds={seconds:.1f} "
        f"responses_per_s={len(ids) / seconds:.1f} tickets_opened={tickets} "
        f"worker_cpu_ms_per_response={cpu_ms:.1f} enqueue_s={enqueue_seconds:.2f} "
        f"cold_start_s={cold:.1f} ({sentiment_mix()})",
        flush=True,
    )


def inprocess_measure(ids: list[int]) -> None:
    """The same service called directly, a task's batch at a time: no broker, no task
    machinery, warm models."""
    from analytics.services import responses_score
    from analytics.tasks import SCORING_BATCH
    from analytics.text import text_analyze

    cold = timed(lambda: text_analyze("预热模型"))
    tickets_before, cpu_before = ticket_count(), process_cpu_seconds()
    batches = [ids[start : start + SCORING_BATCH] for start in range(0, len(ids), SCORING_BATCH)]
    seconds = timed(lambda: [responses_score(response_ids=batch) for batch in batches])
    cpu_ms = 1000 * (process_cpu_seconds() - cpu_before) / len(ids)
    tickets = ticket_count() - tickets_before
    print(
        f"scoring_inprocess responses={len(ids)} batch={SCORING_BATCH} seconds={seconds:.1f} "
        f"responses_per_s={len(ids) / seconds:.1f} tickets_opened={tickets} "
        f"cpu_ms_per_response={cpu_ms:.1f} cold_start_s={cold:.1f}",
        flush=True,
    )


def rollups_report() -> None:
    from bench.rollup_check import rollups_check

    started = time.perf_counter()
    check = rollups_check()
    print(f"{check.line()} check_s={time.perf_counter() - started:.1f}", flush=True)


def bench_run(args: argparse.Namespace, database_url: str) -> None:
    django_start(database_url, BENCH_REDIS_URL)
    django_migrate()
    from tests.factories import build_world  # needs Django set up

    world = build_world("bench")
    rng = random.Random(args.seed)
    warmup_ids = responses_create(world, WARMUP_RESPONSES, rng)
    ids = responses_create(world, args.responses, rng)
    inprocess_ids = responses_create(world, args.inprocess, rng)
    print(
        f"machine cores={os.cpu_count()} worker=celery --pool solo --concurrency 1 "
        f"loadavg_1m={os.getloadavg()[0]:.2f}",
        flush=True,
    )
    worker_measure(database_url, warmup_ids, ids)
    if inprocess_ids:
        inprocess_measure(inprocess_ids)
    rollups_report()
    print(f"loadavg_1m_after={os.getloadavg()[0]:.2f}", flush=True)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.scoring_worker", description=__doc__)
    parser.add_argument("--responses", type=int, default=2000, help="scored by the worker")
    parser.add_argument("--inprocess", type=int, default=300, help="scored in this process")
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument(
        "--database", default=BENCH_DB, help="PostgreSQL database created and dropped for it"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return on_fresh_database(args.database, BENCH_REDIS_URL, lambda url: bench_run(args, url))


if __name__ == "__main__":
    sys.exit(main())
