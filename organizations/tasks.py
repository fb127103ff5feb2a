"""Celery tasks of the organisation core: the org-unit import. Thin: ids in, services called."""

from celery import shared_task

from organizations import org_unit_import


@shared_task(acks_late=True)
def run_org_unit_import(job_id: int) -> str:
    return org_unit_import.org_unit_import_run(job_id=job_id)


@shared_task
def requeue_org_unit_imports() -> int:
    return org_unit_import.org_unit_imports_requeue()
