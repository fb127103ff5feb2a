"""The escalation chain of a tenant's tickets: at thresholds of a ticket's resolution SLA (per
cent of its target, in working time) the ticket reaches a manager further up the org tree,
from the manager of its own unit to head office; and a ticket nobody has responded to by its
first-response due time reaches its unit's manager once (`FIRST_RESPONSE_STEP`). Reads and
arithmetic only; the sweep that writes the steps is alerts.services.tickets_escalate_due.

A step names a level of the tree. A unit without a manager (or whose manager has left the
tenant) is passed for the next unit up with one, and a person the ticket already reached (or
its assignee) is passed too, so no one is told twice about one ticket.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from alerts.models import Ticket
from alerts.sla import SLA, SlaPolicy
from organizations.business_hours import WorkCalendar, working_time_add, working_time_before
from organizations.models import OrgUnit

ESCALATION = "escalation"  # the key of the tenant's SLA settings

# Levels of the org tree in rising order: a chain climbs them, never back down.
LEVELS = {
    "unit": _lazy("本单位负责人"),
    "parent": _lazy("上级单位负责人"),
    "region": _lazy("区域负责人"),
    "head_office": _lazy("总部负责人"),
}
LEVEL_RANK = {level: rank for rank, level in enumerate(LEVELS)}
PERCENT_RANGE = (1, 1000)
STEPS_MAX = len(LEVELS)


@dataclass(frozen=True)
class EscalationStep:
    """At `percent` of the ticket's resolution target, the ticket reaches `level`."""

    percent: int
    level: str

    @property
    def level_label(self) -> str:
        return str(LEVELS[self.level])


# At 100 % of the first-response target of a ticket nobody has responded to, the manager of its
# unit is told (climbing like a chain step past a unit without a manager, or the assignee).
FIRST_RESPONSE_STEP = EscalationStep(100, "unit")

DEFAULT_CHAIN = (
    EscalationStep(80, "unit"),
    EscalationStep(100, "parent"),
    EscalationStep(150, "region"),
    EscalationStep(200, "head_office"),
)


def escalation_chain(tenant) -> tuple[EscalationStep, ...]:
    """The tenant's chain (an empty one: no escalation); the default until one is set. A
    stored chain that no longer passes the check is replaced by the default."""
    stored = (tenant.settings.get(SLA) or {}).get(ESCALATION)
    if stored is None:
        return DEFAULT_CHAIN
    try:
        return tuple(EscalationStep(**step) for step in escalation_chain_check(stored))
    except (ValidationError, TypeError):
        return DEFAULT_CHAIN


def escalation_chain_check(steps: Sequence) -> list[dict]:
    """The chain as stored ([{"percent": 80, "level": "unit"}, ...]), or a ValidationError that
    says what is wrong: an unknown level, a threshold out of range, thresholds that do not
    rise, or a level reached twice or after a higher one (the chain would loop back to a
    person it already reached)."""
    if not isinstance(steps, list | tuple) or len(steps) > STEPS_MAX:
        raise ValidationError(_("升级链最多 %(max)d 步。") % {"max": STEPS_MAX})
    checked: list[dict] = []
    low, high = PERCENT_RANGE
    for number, step in enumerate(steps, start=1):
        level = step.get("level") if isinstance(step, dict) else None
        percent = step.get("percent") if isinstance(step, dict) else None
        if level not in LEVELS:
            raise ValidationError(_("第 %(n)d 步：请选择升级到哪一级。") % {"n": number})
        if not isinstance(percent, int) or isinstance(percent, bool) or not low <= percent <= high:
            raise ValidationError(
                _("第 %(n)d 步：阈值应为 SLA 的 %(low)d%% 到 %(high)d%%。")
                % {"n": number, "low": low, "high": high}
            )
        if checked:
            previous = checked[-1]
            if LEVEL_RANK[level] <= LEVEL_RANK[previous["level"]]:
                raise ValidationError(
                    _(
                        "第 %(n)d 步升级到「%(level)s」，不高于上一步的「%(previous)s」："
                        "升级链会回到已经通知过的人，形成循环。请让每一步升到更高一级。"
                    )
                    % {
                        "n": number,
                        "level": LEVELS[level],
                        "previous": LEVELS[previous["level"]],
                    }
                )
            if percent <= previous["percent"]:
                raise ValidationError(
                    _("第 %(n)d 步的阈值（%(percent)d%%）应高于上一步（%(previous)d%%）。")
                    % {"n": number, "percent": percent, "previous": previous["percent"]}
                )
        checked.append({"percent": percent, "level": level})
    return checked


def step_due_at(
    ticket: Ticket, step: EscalationStep, *, calendar: WorkCalendar, policy: SlaPolicy
) -> datetime:
    """When `step` is due for a running ticket: when `step.percent` of its resolution target
    has been used, in working time, counted from its resolution due time (so a pause, a
    resume or a reason that brought the due time forward are accounted for)."""
    target = ticket.sla_minutes or policy.resolution[ticket.priority]
    used = round(target * step.percent / 100)
    if used <= target:
        return working_time_before(calendar, ticket.sla_due_at, target - used)
    return working_time_add(calendar, ticket.sla_due_at, used - target)


@dataclass(frozen=True)
class Reached:
    """Whom a step reaches: a manager and the unit they answer for, or nobody (no unit up the
    tree has a manager the ticket has not reached yet)."""

    step: EscalationStep
    user_id: int | None
    unit: OrgUnit | None


def chain_people(
    *,
    chain: Sequence[EscalationStep],
    ancestors: Sequence[OrgUnit],
    active_user_ids: set[int],
    assignee_id: int | None,
) -> list[Reached]:
    """Whom each step of the chain reaches for a ticket of the last unit of `ancestors` (its
    units from head office down). A step starts at its level's unit, or at the unit above the
    one the previous step reached if that is higher, and climbs to the first unit whose
    manager is an active member not reached yet. No query."""
    reached: list[Reached] = []
    seen = {assignee_id} if assignee_id else set()
    below = len(ancestors)  # the next step starts under this index
    for step in chain:
        start = min(_level_index(step.level, ancestors), below - 1)
        found = next(
            (
                index
                for index in range(start, -1, -1)
                if ancestors[index].manager_id in active_user_ids
                and ancestors[index].manager_id not in seen
            ),
            None,
        )
        if found is None:
            reached.append(Reached(step=step, user_id=None, unit=None))
            below = 0
            continue
        unit = ancestors[found]
        seen.add(unit.manager_id)
        reached.append(Reached(step=step, user_id=unit.manager_id, unit=unit))
        below = found
    return reached


def _level_index(level: str, ancestors: Sequence[OrgUnit]) -> int:
    """Where a level is among the units from head office (0) down to the ticket's."""
    own = len(ancestors) - 1
    if level == "unit":
        return own
    if level == "head_office":
        return 0
    if level == "region":
        regions = [i for i, unit in enumerate(ancestors) if unit.kind == OrgUnit.Kind.REGION]
        if regions:
            return regions[-1]
    return max(own - 1, 0)


def unit_ancestor_ids(path: str) -> list[int]:
    """The ids of a unit and its ancestors, head office first, from its materialised path."""
    return [int(part) for part in path.split("/") if part]
