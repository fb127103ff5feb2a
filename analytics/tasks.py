"""Celery tasks of analytics: thin wrappers that take ids and call services."""

import logging

from celery import shared_task
from django.db import DatabaseError

from analytics import exports, external_posts, report_schedules, services
from organizations.broker import publish, take_batch

logger = logging.getLogger(__name__)
# A batch merges its rollup increments: the more responses share a day and a touchpoint, the
# fewer rows its upserts touch (200 of a month scored as a backlog: ~5 times fewer than 50).
SCORING_BATCH = 200


@shared_task(
    acks_late=True,
    autoretry_for=(DatabaseError, OSError),
    retry_backoff=True,
    retry_backoff_max=300,
    max_retries=8,
)
def score_response(response_id: int) -> None:
    services.response_score(response_id=response_id)


@shared_task(acks_late=True)
def score_waiting_responses(response_ids: list[int] | None = None) -> int:
    """Score the responses handed over by services.response_enqueue_scoring (a batch at a
    time, in one transaction), or these. When the batch fails, each response is scored alone,
    and one that fails again is retried on its own (score_response)."""
    if response_ids is None:
        response_ids = take_batch(score_waiting_responses, SCORING_BATCH)
    try:
        services.responses_score(response_ids=response_ids)
    except (DatabaseError, OSError):
        logger.exception("scoring a batch of %d failed; scoring each alone", len(response_ids))
    else:
        return len(response_ids)
    for response_id in response_ids:
        try:
            services.response_score(response_id=response_id)
        except (DatabaseError, OSError):
            logger.exception("scoring response %s failed; retrying it alone", response_id)
            publish(score_response, response_id)
    return len(response_ids)


@shared_task
def sweep_unscored(older_than_seconds: int | None = None) -> int:
    from datetime import timedelta

    older_than = None if older_than_seconds is None else timedelta(seconds=older_than_seconds)
    return services.unscored_responses_enqueue(older_than=older_than)


@shared_task(acks_late=True)
def rescore_texts(tenant_id: int, days: int) -> int:
    from organizations.models import Tenant
    from organizations.tenancy import tenant_context

    tenant = Tenant.objects.filter(pk=tenant_id).first()
    if tenant is None:
        return 0
    with tenant_context(tenant):
        texts = services.outdated_texts_enqueue(days=days)
        return texts + external_posts.outdated_posts_enqueue(days=days)


@shared_task(acks_late=True)
def rebuild_text_rollups(tenant_id: int) -> int:
    """Recount a tenant's text rollups from its scores; returns the texts counted."""
    from organizations.models import Tenant
    from organizations.tenancy import tenant_context

    tenant = Tenant.objects.filter(pk=tenant_id).first()
    if tenant is None:
        return 0
    with tenant_context(tenant):
        return services.text_rollups_rebuild().texts


@shared_task(acks_late=True)
def rebuild_metric_rollups(tenant_id: int) -> int:
    """Recount a tenant's metric rollups from its scores (after an org-unit move); returns
    the rows written."""
    from organizations.models import Tenant
    from organizations.tenancy import tenant_context

    tenant = Tenant.objects.filter(pk=tenant_id).first()
    if tenant is None:
        return 0
    with tenant_context(tenant):
        return services.metric_rollups_rebuild()


@shared_task(acks_late=True)
def discover_text_themes(tenant_id: int) -> int:
    """Find a tenant's themes again (after its rescoring, or for the beat); returns how many."""
    from organizations.models import Tenant
    from organizations.tenancy import tenant_context

    tenant = Tenant.objects.filter(pk=tenant_id).first()
    if tenant is None:
        return 0
    with tenant_context(tenant):
        return len(services.text_themes_discover().themes)


@shared_task
def discover_due_text_themes() -> int:
    """Beat: have the themes found again of every tenant with texts scored since they last
    were; returns how many tenants."""
    tenant_ids = services.tenants_with_themes_due()
    for tenant_id in tenant_ids:
        publish(discover_text_themes, tenant_id)
    return len(tenant_ids)


@shared_task(
    acks_late=True,
    autoretry_for=(DatabaseError, OSError),
    retry_backoff=True,
    retry_backoff_max=300,
    max_retries=8,
)
def analyze_external_posts(post_ids: list[int]) -> int:
    """Analyse external posts; safe to run twice."""
    return external_posts.external_posts_analyze(post_ids=post_ids)


@shared_task(acks_late=True)
def analyze_unanalyzed_external_posts() -> int:
    """The beat's sweep: posts a broker outage kept from their analysis, or analysed by an
    older analyzer, are analysed now (a bounded batch each run)."""
    return external_posts.external_posts_analyze(post_ids=external_posts.posts_waiting_ids())


@shared_task(acks_late=True)
def detect_metric_drops() -> int:
    """The daily beat job: every tenant's NPS, CSAT and CES drops become metric alerts; safe to
    run twice (a series alerted for a window overlapping this one is not tested again)."""
    return services.metric_drops_sweep()


@shared_task(acks_late=True)
def run_export(job_id: int) -> str:
    return exports.export_run(job_id=job_id)


@shared_task
def requeue_export_jobs() -> int:
    return exports.export_jobs_requeue()


@shared_task
def expire_export_files() -> int:
    return exports.export_files_expire()


@shared_task
def send_scheduled_reports() -> int:
    """Hand the scheduled reports that are due to the workers, one task each; each is logged
    before it goes, so a retry or a second beat sends nothing twice."""
    return report_schedules.reports_send_due()


@shared_task
def send_report_delivery(delivery_id: int) -> bool:
    """Render and mail one claimed scheduled report."""
    return report_schedules.delivery_send(delivery_id)
