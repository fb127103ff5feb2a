"""Service levels of tickets in working time: the tenant's targets per priority (first
response, resolution), the due times they give, and the clock a person reads on the queue and
the ticket (time left in working hours, near breach, breached, paused).

Working time is the tenant's calendar (organizations/business_hours.py). A ticket's
`sla_due_at` is its resolution due time; `first_response_due_at` the time by which a person
should first act on it. While the ticket waits on the customer the resolution clock stops:
the working minutes left are kept at the pause and a new due time is counted from the resume.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from alerts.models import OPEN_STATUSES, Priority, Ticket, TicketStatus
from organizations.business_hours import (
    WorkCalendar,
    tenant_calendar,
    working_minutes_between,
    working_time_add,
)

SLA = "sla"  # the key of Tenant.settings

# Working minutes. A rule may ask for less than its priority's resolution target, never more.
DEFAULT_FIRST_RESPONSE = {
    Priority.URGENT: 30,
    Priority.HIGH: 2 * 60,
    Priority.NORMAL: 4 * 60,
    Priority.LOW: 8 * 60,
}
DEFAULT_RESOLUTION = {
    Priority.URGENT: 4 * 60,
    Priority.HIGH: 24 * 60,
    Priority.NORMAL: 40 * 60,
    Priority.LOW: 80 * 60,
}
NEAR_BREACH_PERCENT = 80
TARGET_MINUTES_MAX = 30 * 24 * 60
NEAR_BREACH_RANGE = (50, 99)


@dataclass(frozen=True)
class SlaPolicy:
    """A tenant's targets (working minutes by priority) and when a clock counts as near breach
    (the share of its target used, in per cent)."""

    first_response: dict[str, int]
    resolution: dict[str, int]
    near_breach_percent: int


def sla_policy(tenant) -> SlaPolicy:
    """The tenant's policy, each value it has not set (or that is out of range) defaulted."""
    stored = tenant.settings.get(SLA) or {}
    percent = stored.get("near_breach_percent")
    return SlaPolicy(
        first_response=_targets(stored.get("first_response"), DEFAULT_FIRST_RESPONSE),
        resolution=_targets(stored.get("resolution"), DEFAULT_RESOLUTION),
        near_breach_percent=(
            percent if _is_int_in(percent, *NEAR_BREACH_RANGE) else NEAR_BREACH_PERCENT
        ),
    )


def _targets(stored, defaults: dict[str, int]) -> dict[str, int]:
    stored = stored if isinstance(stored, dict) else {}
    return {
        str(priority): stored[priority]
        if _is_int_in(stored.get(priority), 1, TARGET_MINUTES_MAX)
        else minutes
        for priority, minutes in defaults.items()
    }


def _is_int_in(value, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


@dataclass(frozen=True)
class DueTimes:
    """A ticket's targets (working minutes) and the due times they give from one instant."""

    first_response_minutes: int
    first_response_due_at: datetime
    resolution_minutes: int
    resolution_due_at: datetime


def due_times(
    *, priority: str, hours: int, calendar: WorkCalendar, policy: SlaPolicy, start: datetime
) -> DueTimes:
    """The due times of a ticket of `priority` whose reasons ask for resolution within `hours`
    of working time: the priority's targets, or the reasons' hours when they are shorter."""
    resolution = min(hours * 60, policy.resolution[priority])
    first_response = min(policy.first_response[priority], resolution)
    return DueTimes(
        first_response_minutes=first_response,
        first_response_due_at=working_time_add(calendar, start, first_response),
        resolution_minutes=resolution,
        resolution_due_at=working_time_add(calendar, start, resolution),
    )


def sla_pause(calendar: WorkCalendar, *, due_at: datetime, at: datetime) -> int:
    """The working minutes a ticket has left when it starts waiting on the customer (0 when it
    is already past its due time)."""
    return max(0, working_minutes_between(calendar, at, due_at))


def sla_resume(calendar: WorkCalendar, *, due_at: datetime, left: int, at: datetime) -> datetime:
    """The due time of a ticket that stops waiting at `at` with `left` working minutes: counted
    from then; a ticket paused past its due time stays overdue from that time."""
    return working_time_add(calendar, at, left) if left else due_at


def sla_pause_note(left: int) -> str:
    return _("等待客户，SLA 计时暂停；剩余 %(span)s（工作时间）。") % {"span": working_span(left)}


def sla_resume_note(due_at: datetime, calendar: WorkCalendar) -> str:
    return _("SLA 计时恢复，截止 %(due)s。") % {"due": local_text(due_at, calendar)}


def sla_reopen_note(due_at: datetime, calendar: WorkCalendar) -> str:
    return _("工单重开，解决时限重新计时，截止 %(due)s。") % {"due": local_text(due_at, calendar)}


def local_text(moment: datetime, calendar: WorkCalendar) -> str:
    """An instant as the tenant reads it, in its calendar's time zone."""
    return moment.astimezone(calendar.zone).strftime("%Y-%m-%d %H:%M")


class ClockState:
    ON_TRACK = "on_track"
    NEAR_BREACH = "near_breach"
    BREACHED = "breached"
    PAUSED = "paused"


CLOCK_KINDS = {"first_response": _lazy("首次响应"), "resolution": _lazy("解决时限")}


@dataclass(frozen=True)
class SlaClock:
    """What a person reads of a ticket's service level: which target runs, how many working
    minutes are left (over, when breached), and its state."""

    kind: str  # first_response | resolution
    state: str  # a ClockState
    minutes: int  # working minutes left; when breached, minutes over
    due_at: datetime | None

    @property
    def kind_label(self) -> str:
        return str(CLOCK_KINDS[self.kind])

    @property
    def text(self) -> str:
        """The clock in words beside its state (the state is shown apart, word and icon)."""
        if self.state == ClockState.BREACHED:
            if not self.minutes:
                return self.kind_label
            return _("%(kind)s · 超出 %(span)s") % {
                "kind": self.kind_label,
                "span": working_span(self.minutes),
            }
        return _("%(kind)s · 剩余 %(span)s") % {
            "kind": self.kind_label,
            "span": working_span(self.minutes),
        }


def working_span(minutes: int) -> str:
    """Working minutes in words: "2 小时 15 分", "40 分"."""
    hours, rest = divmod(abs(minutes), 60)
    if not hours:
        return _("%(minutes)d 分") % {"minutes": rest}
    if not rest:
        return _("%(hours)d 小时") % {"hours": hours}
    return _("%(hours)d 小时 %(minutes)d 分") % {"hours": hours, "minutes": rest}


def ticket_clock(
    ticket: Ticket, *, calendar: WorkCalendar, policy: SlaPolicy, now: datetime
) -> SlaClock | None:
    """The clock that runs for an open ticket: its first response until a person has acted on
    it, then its resolution. None for a resolved or closed ticket. No query."""
    if ticket.status not in OPEN_STATUSES:
        return None
    if ticket.status == TicketStatus.WAITING_CUSTOMER and ticket.sla_paused_at is not None:
        return SlaClock(
            kind="resolution",
            state=ClockState.PAUSED,
            minutes=ticket.sla_left_minutes or 0,
            due_at=None,
        )
    kind, due, target = "resolution", ticket.sla_due_at, ticket.sla_minutes
    if ticket.first_responded_at is None and ticket.first_response_due_at is not None:
        kind, due = "first_response", ticket.first_response_due_at
        target = ticket.first_response_minutes
    left = working_minutes_between(calendar, now, due)
    if due <= now:
        return SlaClock(kind=kind, state=ClockState.BREACHED, minutes=-left, due_at=due)
    near = target is not None and left * 100 <= target * (100 - policy.near_breach_percent)
    state = ClockState.NEAR_BREACH if near else ClockState.ON_TRACK
    return SlaClock(kind=kind, state=state, minutes=left, due_at=due)


def sla_clock_reader(tenant, *, now: datetime) -> Callable[[Ticket], SlaClock | None]:
    """`ticket_clock` for the tenant's tickets at `now`: the calendar and policy read once."""
    calendar, policy = tenant_calendar(tenant), sla_policy(tenant)
    return lambda ticket: ticket_clock(ticket, calendar=calendar, policy=policy, now=now)
