"""Writes of the root-cause taxonomy (a tree per tenant, each cause with its level): add, rename,
move, set the level, deactivate or reactivate a cause, delete an unused one. Bad input is
refused with a message and changes nothing."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import ProtectedError
from django.utils.translation import gettext as _

from alerts.models import RootCause, Ticket
from organizations.access import actor_require_permission
from organizations.services import Actor, audit_record


def _state(cause: RootCause) -> dict:
    return {
        "name": cause.name,
        "level": cause.level,
        "parent": cause.parent_id,
        "is_active": cause.is_active,
    }


def _checked(*, cause: RootCause | None, name: str, level: str, parent: RootCause | None) -> str:
    """The cleaned name, or ValidationError: empty name, unknown level, a name the tenant
    already uses, a parent that is the cause itself or one of its descendants (a loop)."""
    name = name.strip()
    if not name:
        raise ValidationError(_("请填写根本原因的名称。"))
    if level not in RootCause.Level.values:
        raise ValidationError(_("请选择问题层级：个案补救、流程改进或战略改进。"))
    same_name = RootCause.objects.filter(name__iexact=name)
    if cause is not None:
        same_name = same_name.exclude(pk=cause.pk)
    if same_name.exists():
        raise ValidationError(_("已有名为「%(name)s」的根本原因。") % {"name": name})
    if parent is not None and cause is not None:
        parents = dict(RootCause.objects.values_list("pk", "parent_id"))
        step = parent.pk
        while step is not None:
            if step == cause.pk:
                raise ValidationError(
                    _("不能把「%(parent)s」设为上级：它是「%(name)s」本身或其下级，会形成循环。")
                    % {"parent": parent.name, "name": cause.name}
                )
            step = parents.get(step)
    return name


@transaction.atomic
def root_cause_create(
    *, name: str, level: str, parent: RootCause | None = None, by: Actor
) -> RootCause:
    actor_require_permission(by, "root_cause.manage")
    cause = RootCause(
        name=_checked(cause=None, name=name, level=level, parent=parent), level=level, parent=parent
    )
    cause.save()
    audit_record(by=by, action="root_cause.create", target=cause, after=_state(cause))
    return cause


@transaction.atomic
def root_cause_update(
    *, cause: RootCause, name: str, level: str, parent: RootCause | None, by: Actor
) -> RootCause:
    actor_require_permission(by, "root_cause.manage")
    cause = RootCause.objects.select_for_update().get(pk=cause.pk)
    before = _state(cause)
    cause.name = _checked(cause=cause, name=name, level=level, parent=parent)
    cause.level = level
    cause.parent = parent
    cause.save()
    audit_record(
        by=by, action="root_cause.update", target=cause, before=before, after=_state(cause)
    )
    return cause


@transaction.atomic
def root_cause_set_active(*, cause: RootCause, is_active: bool, by: Actor) -> RootCause:
    """Deactivate a cause (no longer offered when a ticket is resolved; the tickets that
    recorded it keep it) or reactivate it. Audited; setting the state it has changes nothing."""
    actor_require_permission(by, "root_cause.manage")
    cause = RootCause.objects.select_for_update().get(pk=cause.pk)
    if cause.is_active == is_active:
        return cause
    before = _state(cause)
    cause.is_active = is_active
    cause.save(update_fields=["is_active"])
    audit_record(
        by=by,
        action="root_cause.reactivate" if is_active else "root_cause.deactivate",
        target=cause,
        before=before,
        after=_state(cause),
    )
    return cause


def root_cause_in_use(cause: RootCause) -> bool:
    """Recorded on a ticket, or the parent of another cause."""
    return (
        Ticket.objects.filter(root_cause=cause).exists()
        or RootCause.objects.filter(parent=cause).exists()
    )


@transaction.atomic
def root_cause_delete(*, cause: RootCause, by: Actor) -> None:
    """Only a cause no ticket records and no cause hangs under; anything else is refused, so
    the history of tickets keeps its causes."""
    actor_require_permission(by, "root_cause.manage")
    cause = RootCause.objects.select_for_update().get(pk=cause.pk)
    if Ticket.objects.filter(root_cause=cause).exists():
        raise ValidationError(
            _("「%(name)s」已记录在工单上，不能删除；可以停用它，工单上仍会显示。")
            % {"name": cause.name}
        )
    if RootCause.objects.filter(parent=cause).exists():
        raise ValidationError(
            _("「%(name)s」下还有下级原因，请先移走或删除它们。") % {"name": cause.name}
        )
    before = _state(cause)
    audit_record(by=by, action="root_cause.delete", target=cause, before=before)
    try:
        with transaction.atomic():
            cause.delete()
    except ProtectedError as error:  # e.g. an improvement project about this cause
        raise ValidationError(
            _("「%(name)s」仍被其他记录（如改进项目）引用，不能删除。") % {"name": cause.name}
        ) from error
