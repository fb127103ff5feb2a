"""A tenant's configuration version, and the rows a process keeps while it holds.

Every public request starts by resolving what it names: an API key and its tenant, a survey
with its live version and touchpoint, a survey link. Those rows change seldom and are read on
every submission, so a process keeps them (`KeptRows`) with the tenant's configuration version
they were read under, and uses them while that is still the tenant's version.

The version is a random token in the rate limiter's Redis (`cem:config:<tenant id>`), read in
the same round trip that counts the request's limits (organizations.ratelimit), so a kept row
costs no round trip at all. `tenant_config_changed` replaces it, now and once more after the
transaction commits (a row read in between, from before the commit, is kept under the first
new version, which the second replaces); the apps call it on every save or delete of what
they resolve and on every audited change, which covers the services' bulk writes.

What a process keeps also expires after KEPT_SECONDS, so a change nobody announced (a row
edited by hand, a version lost with a write while Redis was down) shows within a minute. When
Redis does not answer there is no version, and every request reads the database.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import time
import uuid
from collections.abc import Callable, Hashable, Iterator, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from django.db import transaction

from organizations.ratelimit import Limit, rate_limits_count, shared_redis

logger = logging.getLogger(__name__)

KEPT_SECONDS = 60.0
KEPT_MAX_ROWS = 20_000
Row = TypeVar("Row")


def config_version_key(tenant_id: int) -> str:
    return f"cem:config:{int(tenant_id)}"


def tenant_config_changed(tenant_id: int) -> None:
    """Retire every row kept for the tenant, in every process: now and after commit."""
    _version_replace(tenant_id)
    if transaction.get_connection().in_atomic_block:
        transaction.on_commit(lambda: _version_replace(tenant_id))


def _version_replace(tenant_id: int) -> None:
    client = shared_redis()
    if client is None:
        return  # no shared Redis: no process reads a version, so none keeps a row
    try:
        client.set(config_version_key(tenant_id), uuid.uuid4().hex)
    except Exception:  # a kept row expires within KEPT_SECONDS anyway
        logger.warning("could not retire tenant %s's kept rows", tenant_id, exc_info=True)


@dataclass(frozen=True)
class SeenVersion:
    """A tenant's configuration version as a request read it, before reading any row."""

    tenant_id: int
    token: str


def rate_limits_count_seeing(
    limits: Sequence[Limit], *, tenant_id: int | None
) -> tuple[list[bool], SeenVersion | None]:
    """Count the request against `limits` and read `tenant_id`'s configuration version, in
    one round trip: which limits are exceeded, and the version (None without a tenant to
    ask for or a Redis that answers)."""
    if tenant_id is None:
        return rate_limits_count(limits).exceeded, None
    key = config_version_key(tenant_id)
    counted = rate_limits_count(limits, token_keys=[key])
    token = counted.tokens.get(key)
    return counted.exceeded, SeenVersion(tenant_id, token) if token else None


def config_version_read(tenant_id: int) -> SeenVersion | None:
    """The tenant's configuration version, for a request that counts no rate limit (a signed-in
    page): one round trip; None when Redis does not answer."""
    return rate_limits_count_seeing([], tenant_id=tenant_id)[1]


# The version the current request read when it resolved its member (TenantMiddleware): what
# the rows it reads later (the unit a filter names) are kept under.
_request_seen: contextvars.ContextVar[SeenVersion | None] = contextvars.ContextVar(
    "config_version_seen", default=None
)


def request_seen() -> SeenVersion | None:
    return _request_seen.get()


def request_seen_set(seen: SeenVersion | None) -> None:
    """Record the version the current request read; `request_seeing` restores the one before."""
    _request_seen.set(seen)


@contextlib.contextmanager
def request_seeing() -> Iterator[None]:
    token = _request_seen.set(None)
    try:
        yield
    finally:
        _request_seen.reset(token)


class KeptRows(Generic[Row]):
    """Rows a process keeps per key, each with the tenant it belongs to and the tenant's
    configuration version it was read under (None: read before any version was seen)."""

    def __init__(self) -> None:
        self._rows: dict[Hashable, tuple[int, str | None, float, Row]] = {}

    def tenant_of(self, key: Hashable) -> int | None:
        """The tenant of the row kept under `key`: whose version the request should read."""
        kept = self._rows.get(key)
        return kept[0] if kept is not None else None

    def get(self, key: Hashable, seen: SeenVersion | None) -> Row | None:
        """The row kept under `key` if it was read under `seen`, its tenant's version as this
        request read it, and not too long ago."""
        kept = self._rows.get(key)
        if kept is None or seen is None or (kept[0], kept[1]) != (seen.tenant_id, seen.token):
            return None
        if time.monotonic() - kept[2] > KEPT_SECONDS:
            del self._rows[key]
            return None
        return kept[3]

    def put(self, key: Hashable, tenant_id: int, seen: SeenVersion | None, row: Row) -> None:
        """Keep `row` of `tenant_id`, read after the request saw `seen`. Where that is not its
        tenant's version (or none was read) the row is kept unversioned, to name its tenant for
        the next request, which reads the version first and then the row again; it never
        replaces a versioned row, which its version vouches for or retires anyway."""
        version = seen.token if seen is not None and seen.tenant_id == tenant_id else None
        if version is None and key in self._rows:
            return
        if len(self._rows) >= KEPT_MAX_ROWS:
            self._rows.clear()
        self._rows[key] = (tenant_id, version, time.monotonic(), row)

    def clear(self) -> None:
        self._rows.clear()


def tenant_config_watch(*models, kept_if: Callable[[object], bool] | None = None) -> None:
    """Retire a tenant's kept rows whenever a row of `models` is saved or deleted; with
    `kept_if`, only a row of the kind a process keeps (a personal link, never kept, is created
    by the thousand with a batch of invitations and retires nothing)."""
    from django.db.models.signals import post_delete, post_save

    def row_changed(sender, instance, **kwargs) -> None:
        if kept_if is not None and not kept_if(instance):
            return
        tenant_id = (
            instance.pk if sender._meta.label == "organizations.Tenant" else instance.tenant_id
        )
        if tenant_id:
            tenant_config_changed(tenant_id)

    for model in models:
        for signal in (post_save, post_delete):
            signal.connect(
                row_changed,
                sender=model,
                weak=False,
                dispatch_uid=f"tenant-config-{signal is post_save}-{model._meta.label}",
            )
