"""Template context: the signed-in member's unread notification count for the header."""

from functools import partial

from notifications.selectors import notification_unread_count


def unread(request) -> dict:
    if getattr(request, "membership", None) is None:
        return {}
    # A callable: the template calls it where the header shows it, so a page without the
    # header (a download, a redirect) runs no query for it.
    return {"notifications_unread": partial(notification_unread_count, user=request.user)}
