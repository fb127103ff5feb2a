"""Celery tasks of surveys: sending invitations and reminders. Thin: ids in, services called."""

from celery import shared_task

from organizations.messaging import DeliveryError
from surveys import distribution


@shared_task(bind=True, acks_late=True, max_retries=5)
def send_invitation(self, invitation_id: int, reminder: bool = False) -> None:
    try:
        distribution.invitation_send(invitation_id=invitation_id, reminder=reminder)
    except DeliveryError as error:
        if self.request.retries >= self.max_retries:
            distribution.invitation_fail(invitation_id=invitation_id, error=str(error))
            return
        raise self.retry(exc=error, countdown=min(600, 30 * 2**self.request.retries)) from error


@shared_task
def dispatch_due_invitations() -> int:
    """Beat: send what is due (including what a lost task left behind) and the reminders."""
    due, reminders = distribution.invitations_due()
    for invitation_id in due:
        send_invitation.delay(invitation_id)
    for invitation_id in reminders:
        send_invitation.delay(invitation_id, reminder=True)
    return len(due) + len(reminders)
