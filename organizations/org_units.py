"""Writes of the org-unit tree from its editor: add, change, move, deactivate and delete units.

Each takes the acting person (`by`) for the role check and the audit log, runs in one
transaction and refuses bad input with an OrgUnitError whose message a person can read. Tree
writes of one tenant are serialised on the tenant's row, so two moves cannot build a cycle
between them.
"""

from __future__ import annotations

import re

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import ProtectedError, Value
from django.db.models.functions import Concat, Length, Substr
from django.utils.translation import gettext as _

from organizations.access import actor_require_permission
from organizations.models import Membership, OrgUnit, Tenant, TicketAssignment
from organizations.services import Actor, audit_record, org_unit_create
from organizations.signals import org_units_moved
from organizations.tenancy import current_tenant

# What a unit's code may be: partner systems and import files name units by it.
CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}")
NAME_MAX = 200
PATH_MAX = OrgUnit._meta.get_field("path").max_length


class OrgUnitError(ValueError):
    """A tree change refused, with the reason to show the person (translated)."""


def tree_lock() -> Tenant:
    """Serialise the tenant's tree writes (moves, imports) on its row, until commit."""
    return Tenant.objects.select_for_update().get(pk=current_tenant().pk)


def code_problem(code: str) -> str | None:
    if not CODE.fullmatch(code):
        return _("编码须以字母或数字开头，由字母、数字、-、_ 和 . 组成，最多 64 位。")
    return None


def name_problem(name: str) -> str | None:
    if not name.strip():
        return _("名称不能为空。")
    if len(name) > NAME_MAX or "\x00" in name:
        return _("名称最多 %(limit)d 个字符，且不能含有 NUL。") % {"limit": NAME_MAX}
    return None


def kind_problem(kind: str) -> str | None:
    if kind not in OrgUnit.Kind.values:
        labels = ", ".join(f"{value} ({label})" for value, label in OrgUnit.Kind.choices)
        return _("类型须为：%(kinds)s") % {"kinds": labels}
    return None


def manager_problem(manager: AbstractBaseUser | None) -> str | None:
    if (
        manager is not None
        and not Membership.objects.filter(user=manager, deactivated_at__isnull=True).exists()
    ):
        return _("负责人须是本租户的成员。")
    return None


def _check(*problems: str | None) -> None:
    found = [problem for problem in problems if problem]
    if found:
        raise OrgUnitError(" ".join(found))


def _code_taken(code: str, *, other_than: OrgUnit | None = None) -> str | None:
    taken = OrgUnit.objects.filter(code=code)
    if other_than is not None:
        taken = taken.exclude(pk=other_than.pk)
    return _("编码 %(code)s 已被其他单位使用。") % {"code": code} if taken.exists() else None


def _snapshot(unit: OrgUnit) -> dict:
    return {
        "name": unit.name,
        "code": unit.code,
        "kind": unit.kind,
        "parent": unit.parent_id,
        "manager": unit.manager_id,
        "is_active": unit.is_active,
    }


def _usable_parent(parent: OrgUnit | None) -> None:
    if parent is not None and not parent.is_active:
        raise OrgUnitError(_("上级单位「%(name)s」已停用。") % {"name": parent.name})


@transaction.atomic
def org_unit_add(
    *,
    name: str,
    code: str,
    kind: str,
    parent: OrgUnit | None,
    manager: AbstractBaseUser | None = None,
    by: Actor,
) -> OrgUnit:
    actor_require_permission(by, "org.manage")
    name, code = name.strip(), code.strip()
    _check(name_problem(name), code_problem(code), kind_problem(kind), manager_problem(manager))
    tree_lock()
    if parent is not None:
        parent = OrgUnit.objects.get(pk=parent.pk)  # this tenant's, as it is now
        if len(parent.path) + 9 > PATH_MAX:
            raise OrgUnitError(_("层级太深，不能再添加下级单位。"))
    _usable_parent(parent)
    _check(_code_taken(code))
    unit = org_unit_create(name=name, code=code, kind=kind, parent=parent)
    if manager is not None:
        unit.manager = manager
        unit.save(update_fields=["manager"])
    audit_record(by=by, action="org_unit.add", target=unit, after=_snapshot(unit))
    return unit


@transaction.atomic
def org_unit_update(
    *,
    unit: OrgUnit,
    name: str,
    code: str,
    kind: str,
    manager: AbstractBaseUser | None,
    by: Actor,
) -> OrgUnit:
    """Rename the unit, change its code, kind or manager (its place in the tree: org_unit_move)."""
    actor_require_permission(by, "org.manage")
    name, code = name.strip(), code.strip()
    _check(name_problem(name), code_problem(code), kind_problem(kind), manager_problem(manager))
    unit = OrgUnit.objects.select_for_update().get(pk=unit.pk)
    _check(_code_taken(code, other_than=unit))
    before = _snapshot(unit)
    unit.name, unit.code, unit.kind, unit.manager = name, code, kind, manager
    unit.save(update_fields=["name", "code", "kind", "manager"])
    audit_record(by=by, action="org_unit.update", target=unit, before=before, after=_snapshot(unit))
    return unit


@transaction.atomic
def org_unit_assignment_set(*, unit: OrgUnit, mode: str, by: Actor) -> OrgUnit:
    """How the unit's new tickets find a person (organizations.models.TicketAssignment)."""
    actor_require_permission(by, "org.manage")
    if mode not in TicketAssignment.values:
        raise OrgUnitError(_("未知的分派方式。"))
    unit = OrgUnit.objects.select_for_update().get(pk=unit.pk)
    before = unit.ticket_assignment
    unit.ticket_assignment = mode
    unit.save(update_fields=["ticket_assignment"])
    audit_record(
        by=by,
        action="org_unit.assignment",
        target=unit,
        before={"ticket_assignment": before},
        after={"ticket_assignment": mode},
    )
    return unit


SENIOR_QUEUE = "senior_queue_unit_id"  # a key of Tenant.settings


@transaction.atomic
def senior_queue_set(*, unit: OrgUnit | None, by: Actor) -> Tenant:
    """Make `unit` the tenant's senior queue (None: none), where tickets with a risk signal or
    of a VIP customer go instead of their branch."""
    actor_require_permission(by, "org.manage")
    if unit is not None and not unit.is_active:
        raise OrgUnitError(_("停用的单位不能作为高级队列。"))
    tenant = Tenant.objects.select_for_update().get(pk=current_tenant().pk)
    before = tenant.settings.get(SENIOR_QUEUE)
    tenant.settings = {**tenant.settings, SENIOR_QUEUE: unit.pk if unit else None}
    tenant.save(update_fields=["settings"])
    audit_record(
        by=by,
        action="tenant.senior_queue",
        target=tenant,
        before={SENIOR_QUEUE: before},
        after={SENIOR_QUEUE: unit.pk if unit else None},
    )
    return tenant


def subtree_paths_rewrite(*, old_prefix: str, new_prefix: str) -> list[int]:
    """Give every unit under `old_prefix` the prefix `new_prefix` instead, in one UPDATE;
    returns their ids. Members and data keep their unit, so their scope follows."""
    subtree = OrgUnit.objects.filter(path__startswith=old_prefix)
    ids = list(subtree.values_list("pk", flat=True))
    subtree.update(path=Concat(Value(new_prefix), Substr("path", len(old_prefix) + 1)))
    return ids


def org_units_moved_announce(unit_ids: list[int]) -> None:
    """Send org_units_moved once the change is committed, with its tenant current."""
    tenant = current_tenant()
    if unit_ids:
        transaction.on_commit(
            lambda: org_units_moved.send(sender=OrgUnit, tenant=tenant, unit_ids=unit_ids)
        )


@transaction.atomic
def org_unit_move(*, unit: OrgUnit, parent: OrgUnit | None, by: Actor) -> OrgUnit:
    """Put `unit` (and its subtree) under `parent` (None: at the top). A unit cannot go under
    itself or one of its descendants."""
    actor_require_permission(by, "org.manage")
    tree_lock()
    unit = OrgUnit.objects.get(pk=unit.pk)
    if parent is not None:
        parent = OrgUnit.objects.get(pk=parent.pk)
        if parent.path.startswith(unit.path):
            raise OrgUnitError(
                _("不能把「%(unit)s」移到它自己或它的下级单位「%(parent)s」之下。")
                % {"unit": unit.name, "parent": parent.name}
            )
    _usable_parent(parent)
    if unit.parent_id == (parent.pk if parent else None):
        return unit
    old_prefix = unit.path
    new_prefix = OrgUnit.child_path(parent.path if parent else "", unit.pk)
    deepest = (
        OrgUnit.objects.filter(path__startswith=old_prefix)
        .annotate(length=Length("path"))
        .order_by("-length")
        .values_list("length", flat=True)
        .first()
    )
    if deepest - len(old_prefix) + len(new_prefix) > PATH_MAX:
        raise OrgUnitError(_("移动后层级太深。"))
    before = _snapshot(unit)
    unit.parent = parent
    unit.save(update_fields=["parent"])
    moved = subtree_paths_rewrite(old_prefix=old_prefix, new_prefix=new_prefix)
    unit.refresh_from_db(fields=["path"])
    audit_record(by=by, action="org_unit.move", target=unit, before=before, after=_snapshot(unit))
    org_units_moved_announce(moved)
    return unit


@transaction.atomic
def org_unit_deactivate(*, unit: OrgUnit, by: Actor) -> int:
    """Deactivate the unit and its whole subtree: they leave the pickers and keep their data.
    Returns how many units were deactivated."""
    actor_require_permission(by, "org.manage")
    unit = OrgUnit.objects.get(pk=unit.pk)
    count = OrgUnit.objects.filter(path__startswith=unit.path, is_active=True).update(
        is_active=False
    )
    audit_record(
        by=by, action="org_unit.deactivate", target=unit, after={"units_deactivated": count}
    )
    return count


@transaction.atomic
def org_unit_activate(*, unit: OrgUnit, by: Actor) -> OrgUnit:
    """Activate the unit again (alone: its descendants stay as they are); its parent must be
    active."""
    actor_require_permission(by, "org.manage")
    unit = OrgUnit.objects.select_related("parent").get(pk=unit.pk)
    _usable_parent(unit.parent)
    if not unit.is_active:
        unit.is_active = True
        unit.save(update_fields=["is_active"])
        audit_record(by=by, action="org_unit.activate", target=unit)
    return unit


def _referenced(unit: OrgUnit) -> bool:
    """Whether any row of any app points at the unit (its children and members included). Read
    from the model's reverse relations, so the core needs to know none of the apps."""
    return any(
        relation.related_model._base_manager.filter(**{relation.field.name: unit}).exists()
        for relation in OrgUnit._meta.related_objects
    )


@transaction.atomic
def org_unit_delete(*, unit: OrgUnit, by: Actor) -> None:
    """Delete a unit nothing points at; otherwise refuse, and offer deactivation instead."""
    actor_require_permission(by, "org.manage")
    unit = OrgUnit.objects.select_for_update().get(pk=unit.pk)
    refused = OrgUnitError(
        _("「%(name)s」已有下级单位、成员或业务数据指向它，不能删除；请改为停用。")
        % {"name": unit.name}
    )
    if _referenced(unit):
        raise refused
    before = _snapshot(unit)
    audit_record(by=by, action="org_unit.delete", target=unit, before=before)
    try:
        with transaction.atomic():
            unit.delete()
    except ProtectedError as error:  # a row that arrived since the check
        raise refused from error
