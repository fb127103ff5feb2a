"""Exports of a year of responses by a real Celery worker: the time to write them as CSV and as
Excel, and the worker's memory, side by side in one run.

    python -m bench.exports [--formats csv xlsx] [--rebuild] [--responses 1000000]

The tenant is bench.journey_map's (HQ > 20 regions > 2,000 branches, 10 journeys x 50
touchpoints, `--responses` scored responses over the last 365 days), in bench.dashboard's
database (cem_dashboard_bench, built by the same builder when missing or with --rebuild).

For each format the tenant's cx_manager starts an export of the whole tenant's last 366 days
through the service the dashboard's button calls (analytics.exports.export_start); one Celery
worker (`--pool solo`, queue `reports`, a process of its own started for the format) writes
the file. Printed per format: the rows written against the rows in the window, the time from
starting the export to the file written (the worker is idle, waiting for it), rows per second,
the file's size, and the worker's resident memory when idle before the job and at its peak
(VmHWM, sampled from /proc). The file is then opened to count its rows: csv by the csv
module, xlsx by openpyxl read-only.
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from bench.dashboard import BENCH_DB
from bench.http_submit import (
    POSTGRES_URL,
    database_fresh,
    django_migrate,
    django_start,
    log_tail,
    process_stop,
    redis_flush,
    solo_worker_start,
)
from bench.journey_map import (
    BENCH_REDIS_URL,
    _restart_fresh,
    database_exists,
    place_find,
    tenant_build,
)

WORKER_LOG = "exports-worker.log"
POLL_SECONDS = 0.5


def worker_start(database_url: str, media_root: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": BENCH_REDIS_URL,
        "MEDIA_ROOT": media_root,
        "DEBUG": "0",
    }
    return solo_worker_start(queue="reports", env=env, log_name=WORKER_LOG)


def memory_mb(pid: int) -> tuple[float, float]:
    """The process's resident memory now and at its peak (VmRSS, VmHWM), in MB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(value.split()[0]) / 1024
    return fields["VmRSS"], fields["VmHWM"]


def idle_memory_wait(worker: subprocess.Popen, timeout: float = 60.0) -> float:
    """Wait until the worker has started (its resident memory stops growing); that memory."""
    deadline = time.monotonic() + timeout
    last = -1.0
    while time.monotonic() < deadline:
        if worker.poll() is not None:
            raise RuntimeError(f"celery worker exited at start-up:\n{log_tail(WORKER_LOG)}")
        rss, _peak = memory_mb(worker.pid)
        if rss > 50 and abs(rss - last) < 0.5:
            return rss
        last = rss
        time.sleep(1.0)
    raise RuntimeError("celery worker did not settle within a minute")


def export_measure(place, file_format: str, database_url: str) -> None:
    from django.utils import timezone

    from analytics.exports import export_start
    from analytics.models import ExportJob
    from organizations.tenancy import tenant_context

    media_root = tempfile.mkdtemp(prefix="bench-exports-")
    worker = worker_start(database_url, media_root)
    try:
        idle = idle_memory_wait(worker)
        today = timezone.localdate()
        query = f"start={(today - timedelta(days=365)).isoformat()}&end={today.isoformat()}"
        with tenant_context(place.tenant):
            job = export_start(query=query, file_format=file_format, by=place.manager)
            peak = idle
            while job.status in (ExportJob.Status.QUEUED, ExportJob.Status.RUNNING):
                if worker.poll() is not None:
                    raise RuntimeError(f"celery worker died:\n{log_tail(WORKER_LOG)}")
                time.sleep(POLL_SECONDS)
                peak = max(peak, memory_mb(worker.pid)[1])
                job.refresh_from_db()
        peak = max(peak, memory_mb(worker.pid)[1])
        if job.status != ExportJob.Status.DONE:
            raise RuntimeError(f"export {file_format} ended {job.status}: {job.error}")
        seconds = (job.finished_at - job.created_at).total_seconds()
        path = Path(media_root) / job.file.name
        counted = file_rows(path, file_format)
        print(
            f"{file_format:<5} rows={job.rows_done} in_window={job.rows_total} "
            f"file_rows={counted} seconds={seconds:.1f} rows_per_s={job.rows_done / seconds:.0f} "
            f"file_mb={path.stat().st_size / 2**20:.0f} worker_idle_mb={idle:.0f} "
            f"worker_peak_mb={peak:.0f} loadavg_1m={os.getloadavg()[0]:.2f}",
            flush=True,
        )
    finally:
        process_stop(worker)


def file_rows(path: Path, file_format: str) -> int:
    """Data rows in the written file (headers left out; every sheet of a workbook)."""
    if file_format == "csv":
        with path.open(encoding="utf-8-sig", newline="") as handle:
            return sum(1 for _row in csv.reader(handle)) - 1
    from openpyxl import load_workbook

    workbook = load_workbook(path, read_only=True)
    try:
        return sum(sum(1 for _row in sheet.iter_rows(values_only=True)) - 1 for sheet in workbook)
    finally:
        workbook.close()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    print(f"machine cores={os.cpu_count()} loadavg_1m={os.getloadavg()[0]:.2f}", flush=True)
    fresh = args.rebuild or not database_exists(BENCH_DB)
    if fresh:
        database_fresh(BENCH_DB)
    database_url = f"{POSTGRES_URL}/{BENCH_DB}"
    redis_flush(BENCH_REDIS_URL)
    django_start(database_url, BENCH_REDIS_URL)
    django_migrate()
    place = place_find()
    if place is None:
        if not fresh:
            _restart_fresh(BENCH_DB)
        tenant_build(args)
        place = place_find()
    for file_format in args.formats:
        export_measure(place, file_format, database_url)
    return 0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.exports", description=__doc__)
    parser.add_argument("--formats", nargs="+", choices=("csv", "xlsx"), default=["csv", "xlsx"])
    parser.add_argument("--rebuild", action="store_true", help="build the tenant anew")
    parser.add_argument("--responses", type=int, default=1_000_000)
    parser.add_argument("--rollups", choices=("sql", "service"), default="sql")
    parser.add_argument("--seed", type=int, default=7)
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(main())
