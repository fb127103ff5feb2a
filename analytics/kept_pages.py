"""Pages drawn from the rollups (the journey map, the dashboard), kept in the cache until what
they show changes.

Drawing a journey map or a dashboard takes tens to hundreds of milliseconds at a bank's size
and comes out the same for every manager who opens the same view until the next scoring batch.
Each tenant has a version, a random token in the cache that is replaced when anything such a
page is drawn from changes (`kept_pages_stale`); a drawn body is kept with the version it was
drawn at, and used while that is still the tenant's. A body also expires after BODY_SECONDS, so
that a change no writer announced (a new release's markup, a row edited by hand) shows for
minutes at most. When the cache does not answer, the page is drawn each time.

What a body must not hold: anything of the member who drew it (a CSRF token, links their role
allows). The views draw those around the kept body, and name in its parts everything else the
body depends on (the filters, the member's scope, the language).
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Callable, Hashable
from typing import TypeVar

from django.core.cache import cache
from django.db import transaction

logger = logging.getLogger(__name__)

BODY_SECONDS = 300
Drawn = TypeVar("Drawn")


def _version_key(tenant_id: int) -> str:
    return f"cem:kept-pages:version:{tenant_id}"


def kept_pages_stale(tenant_id: int) -> None:
    """Mark the tenant's kept pages stale now and, inside a transaction, once more after it
    commits: a page drawn in between, from the figures before the commit, is kept under the
    first new version, which the second replaces. A new tenant starts with a version of its
    own, so a body kept for a tenant id of another database (a test run) never shows."""
    _version_replace(tenant_id)
    if transaction.get_connection().in_atomic_block:
        transaction.on_commit(lambda: _version_replace(tenant_id))


def _version_replace(tenant_id: int) -> None:
    try:
        cache.set(_version_key(tenant_id), uuid.uuid4().hex, timeout=None)
    except Exception:  # the cache's own errors differ by backend; a page expires soon anyway
        logger.warning("could not mark tenant %s's kept pages stale", tenant_id, exc_info=True)


def kept_body(*, tenant_id: int, parts: tuple[Hashable, ...], draw: Callable[[], Drawn]) -> Drawn:
    """The body drawn by `draw` for the view `parts` name (the page, and its filters, scope,
    language and whatever else the body shows), from the cache while the tenant's version
    holds: one cache round trip when it does."""
    version_key = _version_key(tenant_id)
    body_key = f"cem:kept-page:{tenant_id}:" + hashlib.sha256(repr(parts).encode()).hexdigest()
    try:
        found = cache.get_many([version_key, body_key])
    except Exception:
        logger.warning("cache unavailable; drawing the page", exc_info=True)
        return draw()
    version, kept = found.get(version_key), found.get(body_key)
    if version is not None and kept is not None and kept[0] == version:
        return kept[1]
    body = draw()
    try:
        if version is None:
            version = uuid.uuid4().hex
            if not cache.add(version_key, version, timeout=None):
                return body  # another process set the first version meanwhile: keep nothing
        cache.set(body_key, (version, body), timeout=BODY_SECONDS)
    except Exception:
        logger.warning("could not keep a drawn page", exc_info=True)
    return body


def _input_changed(sender, instance, **kwargs) -> None:
    tenant_id = instance.pk if sender._meta.label == "organizations.Tenant" else instance.tenant_id
    if tenant_id:
        kept_pages_stale(tenant_id)


def kept_pages_inputs_watch() -> None:
    """Mark a tenant's kept pages stale whenever a row they are drawn from is saved or
    deleted, and on every audited change, which is how the services record what a manager
    changed: that covers their writes in bulk too (a stage reorder, an org-unit import), which
    send no model signals. The rollups' writers mark them stale themselves
    (analytics.services): a scoring batch, a ticket counted, a rebuild."""
    from django.db.models.signals import post_delete, post_save

    from analytics.models import MetricAlert, OrgUnitMetricTarget, TouchpointMetric
    from journeys.models import Journey, Stage, Touchpoint
    from organizations.models import AuditEvent, OrgUnit, Tenant
    from surveys.models import Survey

    for model in (
        Journey,
        Stage,
        Touchpoint,
        TouchpointMetric,
        OrgUnitMetricTarget,
        OrgUnit,
        Tenant,
        AuditEvent,
        MetricAlert,  # the dashboard's open metric alerts
        Survey,  # the dashboard's survey filter
    ):
        for signal in (post_save, post_delete):
            signal.connect(
                _input_changed,
                sender=model,
                weak=False,
                dispatch_uid=f"kept-pages-stale-{signal is post_save}-{model._meta.label}",
            )
