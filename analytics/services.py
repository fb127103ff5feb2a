"""Writes of analytics: scoring a response, and getting it scored after its commit."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from analytics.models import ResponseScore
from analytics.scoring import response_metrics
from analytics.signals import response_scored
from analytics.text import MODEL_VERSION, text_analyze
from cem.tenancy import tenant_context
from surveys.models import Response

logger = logging.getLogger(__name__)


def response_score(*, response_id: int) -> ResponseScore | None:
    """Score one response; safe to run any number of times.

    Re-reads the response, stops if it is already scored by the current model, else computes
    metrics and text analytics, saves them and lets alert rules react (response_scored).
    Returns None when the response no longer exists.
    """
    response = (
        Response.all_tenants.select_related("tenant", "version", "touchpoint", "org_unit")
        .filter(pk=response_id)
        .first()
    )
    if response is None:
        logger.warning("response %s vanished before scoring", response_id)
        return None
    with tenant_context(response.tenant), transaction.atomic():
        existing = ResponseScore.objects.select_for_update().filter(response=response).first()
        if existing is not None and existing.model_version == MODEL_VERSION:
            return existing
        metrics = response_metrics(response.version.definition, response.answers)
        analysis = text_analyze(metrics.verbatim)
        fields = {
            "nps": metrics.nps,
            "nps_category": metrics.nps_category,
            "csat": metrics.csat,
            "ces": metrics.ces,
            "verbatim": metrics.verbatim,
            "sentiment_label": analysis.sentiment_label if analysis else "",
            "sentiment_score": analysis.sentiment_score if analysis else None,
            "keywords": analysis.keywords if analysis else [],
            "model_version": MODEL_VERSION,
            "scored_at": timezone.now(),
        }
        if existing is None:
            try:
                with transaction.atomic():
                    score = ResponseScore.objects.create(response=response, **fields)
            except IntegrityError:
                # Another worker scored it between our read and write: theirs stands.
                return ResponseScore.objects.get(response=response)
        else:
            for name, value in fields.items():
                setattr(existing, name, value)
            existing.save()
            score = existing
        score.response = response
        response_scored.send(sender=ResponseScore, score=score)
        return score


def response_enqueue_scoring(*, response_id: int) -> bool:
    """Hand a response to the scoring queue. A broker outage is logged, not raised: the
    response is already saved and the sweeper will enqueue it again."""
    from analytics.tasks import score_response

    try:
        score_response.apply_async(
            args=[response_id],
            retry=True,
            retry_policy={"max_retries": 2, "interval_start": 0, "interval_step": 0.2},
        )
    except Exception:
        logger.exception("could not enqueue scoring of response %s; the sweeper will", response_id)
        return False
    return True


def unscored_response_ids(*, older_than: timedelta | None = None, limit: int = 1000) -> list[int]:
    """Complete responses received before now - older_than with no score yet, all tenants."""
    grace = (
        older_than
        if older_than is not None
        else timedelta(seconds=settings.CEM_SWEEP_GRACE_SECONDS)
    )
    return list(
        Response.all_tenants.filter(
            status=Response.Status.COMPLETE,
            score__isnull=True,
            received_at__lte=timezone.now() - grace,
        )
        .order_by("received_at")
        .values_list("pk", flat=True)[:limit]
    )


def unscored_responses_enqueue(*, older_than: timedelta | None = None) -> int:
    ids = unscored_response_ids(older_than=older_than)
    for response_id in ids:
        response_enqueue_scoring(response_id=response_id)
    if ids:
        logger.info("sweeper re-enqueued %d unscored responses", len(ids))
    return len(ids)
