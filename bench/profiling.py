"""cProfile inside the bench's gunicorn workers, one profile per kind of request.

`python -m bench.http_submit --profile` serves `bench.profiling:application` with
`-c bench/profiling.py`: each request runs under the profile of its kind (method and the
path's first segment), and each worker writes its profiles to var/bench/profile/ on exit.
"""

from __future__ import annotations

import cProfile
import os
import pstats
import time
from collections.abc import Iterable
from pathlib import Path

PROFILE_DIR = Path(__file__).resolve().parent.parent / "var" / "bench" / "profile"
KINDS = {
    ("POST", "/bench/floor/"): "floor_insert",
    ("GET", "/bench/floor-page/"): "floor_page",
    ("GET", "/s/"): "respond_get",
    ("POST", "/s/"): "respond_post",
    ("POST", "/api/"): "api_submit",
}
_profiles: dict[str, cProfile.Profile] = {}


def _kind(environ: dict) -> str | None:
    method, path = environ.get("REQUEST_METHOD", ""), environ.get("PATH_INFO", "")
    for (kind_method, prefix), kind in KINDS.items():
        if method == kind_method and path.startswith(prefix):
            return kind
    return None


def application(environ: dict, start_response) -> Iterable[bytes]:
    # Imported here: the bench process imports this module for its reports, and must not set
    # Django up before it has pointed the settings at the bench database.
    from cem.wsgi import application as django_application

    kind = _kind(environ)
    if kind is None:
        return django_application(environ, start_response)
    # CPU time, as the bench's server_cpu_ms_per_req: waiting on PostgreSQL, Redis or a busy
    # machine is not this process's cost.
    profile = _profiles.setdefault(kind, cProfile.Profile(time.process_time))
    profile.enable()
    try:
        # The body is built inside the view; closing is cheap: profile them together.
        result = django_application(environ, start_response)
        body = b"".join(result)
        if hasattr(result, "close"):
            result.close()
    finally:
        profile.disable()
    return [body]


def worker_exit(server, worker) -> None:
    """gunicorn hook: keep this worker's profiles. gunicorn runs this file as its config under
    another module name, so the profiles are those of the imported bench.profiling."""
    import bench.profiling

    bench.profiling.profiles_dump()


def profiles_dump() -> None:
    PROFILE_DIR.mkdir(parents=True, exist_ok=True)
    for kind, profile in _profiles.items():
        profile.dump_stats(PROFILE_DIR / f"{kind}.{os.getpid()}.prof")


def profiles_clear() -> None:
    for path in PROFILE_DIR.glob("*.prof") if PROFILE_DIR.exists() else []:
        path.unlink()


def profile_report(kind: str, top: int) -> str:
    """The `top` functions of one kind by time spent in them, and by cumulative time, per
    request, from all workers' profiles."""
    paths = sorted(PROFILE_DIR.glob(f"{kind}.*.prof"))
    if not paths:
        return f"profile {kind}: none"
    stats = pstats.Stats(*map(str, paths))
    requests = sum(
        values[1]
        for (filename, _line, name), values in stats.stats.items()
        if name == "__call__" and filename.endswith("django/core/handlers/wsgi.py")
    )
    lines = [
        f"profile {kind}: {requests} requests, "
        f"{1000 * stats.total_tt / requests:.2f} ms CPU profiled per request (cProfile inflates it)"
    ]
    for title, key in (("own time", 2), ("cumulative", 3)):
        lines.append(f"  top {top} by {title} (ms per request, calls per request):")
        rows = sorted(stats.stats.items(), key=lambda item: item[1][key], reverse=True)
        for (filename, line, name), values in rows[:top]:
            where = _short(filename)
            lines.append(
                f"    {1000 * values[key] / requests:7.3f}  {values[1] / requests:6.1f}  "
                f"{name} ({where}:{line})"
            )
    return "\n".join(lines)


def _short(filename: str) -> str:
    for marker in ("site-packages/", str(Path(__file__).resolve().parent.parent) + "/"):
        if marker in filename:
            return filename.split(marker, 1)[1]
    return filename
