"""Celery tasks of improvements: the hourly sweep that proposes projects for recurring causes.

A beat sweep rather than a hook on ticket resolution: recurrence is a count over a window of
days, so an hour's delay costs nothing; the sweep sees a root cause however it was recorded
(the workbench, the API, a bulk action, an import) without a hook in every one of those paths;
and a sweep that fails is simply run again by the next beat. Running it twice is harmless: a
cause with a proposed or open project is skipped, and the partial unique constraint turns away
a concurrent second proposal.
"""

from celery import shared_task

from improvements import services


@shared_task
def propose_for_recurring_causes() -> int:
    return services.recurring_causes_sweep()
