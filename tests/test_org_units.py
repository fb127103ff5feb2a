"""The org-unit tree editor's services: add, change, move (the subtree's paths follow in one
UPDATE), the own-ancestor refusal, deactivate versus delete, roles and the audit log."""

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied

from organizations.models import AuditEvent, Membership, OrgUnit
from organizations.org_units import (
    OrgUnitError,
    org_unit_activate,
    org_unit_add,
    org_unit_deactivate,
    org_unit_delete,
    org_unit_move,
    org_unit_update,
)
from organizations.selectors import org_unit_choices
from organizations.signals import org_units_moved
from organizations.tenancy import tenant_context


@pytest.fixture
def owner(world):
    return get_user_model().objects.get(username=f"{world.tenant.slug}-owner")


def reread(*units):
    return [OrgUnit.objects.get(pk=unit.pk) for unit in units]


def test_an_owner_adds_a_unit_under_a_parent_with_code_kind_and_manager(in_tenant, owner):
    world = in_tenant
    unit = org_unit_add(
        name="陆家嘴支行",
        code="SH-LJZ",
        kind=OrgUnit.Kind.BRANCH,
        parent=world.region,
        manager=world.manager,
        by=owner,
    )
    assert unit.path == f"{world.region.path}{unit.pk:08d}/"
    assert (unit.manager, unit.is_active) == (world.manager, True)
    assert AuditEvent.objects.filter(action="org_unit.add", target_id=str(unit.pk)).exists()


def test_a_department_is_a_kind(in_tenant, owner):
    unit = org_unit_add(
        name="零售部", code="RETAIL", kind="department", parent=in_tenant.hq, by=owner
    )
    assert unit.get_kind_display() == "部门"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"code": "SH-PD"}, "已被其他单位使用"),
        ({"name": "  "}, "名称不能为空"),
        ({"kind": "planet"}, "类型须为"),
        ({"code": "有 空格"}, "编码须以字母或数字开头"),
    ],
)
def test_bad_input_is_refused_in_chinese_and_adds_nothing(in_tenant, owner, fields, message):
    before = OrgUnit.objects.count()
    with pytest.raises(OrgUnitError, match=message):
        org_unit_add(
            **{"name": "新单位", "code": "NEW-1", "kind": "branch", **fields},
            parent=in_tenant.region,
            by=owner,
        )
    assert OrgUnit.objects.count() == before


def test_a_manager_must_be_a_member_of_the_tenant(in_tenant, owner, other_world):
    with pytest.raises(OrgUnitError, match="负责人须是本租户的成员"):
        org_unit_add(
            name="新单位",
            code="NEW-1",
            kind="team",
            parent=in_tenant.branch,
            manager=other_world.manager,
            by=owner,
        )


def test_rename_changes_name_code_kind_and_manager_and_is_audited(in_tenant, owner):
    world = in_tenant
    org_unit_update(
        unit=world.branch,
        name="浦东新区支行",
        code="SH-PDX",
        kind="branch",
        manager=world.agent,
        by=owner,
    )
    (branch,) = reread(world.branch)
    assert (branch.name, branch.code, branch.manager) == ("浦东新区支行", "SH-PDX", world.agent)
    event = AuditEvent.objects.get(action="org_unit.update")
    assert event.before["name"] == "浦东支行" and event.after["name"] == "浦东新区支行"


def test_a_move_rewrites_the_whole_subtree_and_scoped_members_follow(in_tenant, owner):
    world = in_tenant
    west = org_unit_add(name="华西区", code="WEST", kind="region", parent=world.hq, by=owner)
    team = org_unit_add(name="理财团队", code="PD-T1", kind="team", parent=world.branch, by=owner)
    org_unit_move(unit=world.region, parent=west, by=owner)
    region, branch, team = reread(world.region, world.branch, team)
    assert region.parent == west and region.path == f"{west.path}{region.pk:08d}/"
    assert branch.path == f"{region.path}{branch.pk:08d}/"
    assert team.path == f"{branch.path}{team.pk:08d}/"
    agent = Membership.objects.get(user=world.agent)
    assert agent.org_unit == branch and agent.scope_path.startswith(west.path)
    subtree = {unit.pk for unit in OrgUnit.objects.filter(path__startswith=west.path)}
    assert {region.pk, branch.pk, team.pk, world.other_branch.pk} < subtree
    assert AuditEvent.objects.filter(action="org_unit.move").count() == 1


def test_the_moved_signal_names_every_unit_whose_path_changed(
    in_tenant, owner, django_capture_on_commit_callbacks
):
    world = in_tenant
    received = []

    def receiver(sender, tenant, unit_ids, **kwargs):
        received.append((tenant.pk, sorted(unit_ids)))

    org_units_moved.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            org_unit_move(unit=world.branch, parent=world.hq, by=owner)
    finally:
        org_units_moved.disconnect(receiver)
    assert received == [(world.tenant.pk, [world.branch.pk])]


@pytest.mark.parametrize("target", ["region", "branch"])
def test_a_unit_cannot_move_under_itself_or_its_descendant(in_tenant, owner, target):
    world = in_tenant
    paths = dict(OrgUnit.objects.values_list("pk", "path"))
    with pytest.raises(OrgUnitError, match="不能把「华东区」移到它自己或它的下级单位"):
        org_unit_move(unit=world.region, parent=getattr(world, target), by=owner)
    assert dict(OrgUnit.objects.values_list("pk", "path")) == paths
    assert not AuditEvent.objects.filter(action="org_unit.move").exists()


def test_a_unit_of_another_tenant_cannot_be_a_parent(world, other_world):
    with tenant_context(other_world.tenant):
        owner = get_user_model().objects.get(username=f"{other_world.tenant.slug}-owner")
        with pytest.raises(OrgUnit.DoesNotExist):
            org_unit_add(name="X", code="X1", kind="team", parent=world.branch, by=owner)
        with pytest.raises(OrgUnit.DoesNotExist):
            org_unit_move(unit=other_world.branch, parent=world.region, by=owner)
        with pytest.raises(OrgUnit.DoesNotExist):
            org_unit_move(unit=world.branch, parent=other_world.region, by=owner)
    with tenant_context(world.tenant):
        assert OrgUnit.objects.get(pk=world.branch.pk).parent_id == world.region.pk


def test_deactivating_hides_the_subtree_from_pickers_and_keeps_it(in_tenant, owner):
    world = in_tenant
    assert org_unit_deactivate(unit=world.region, by=owner) == 3
    assert set(org_unit_choices()) == {world.hq}
    assert OrgUnit.objects.filter(is_active=False).count() == 3
    assert Membership.objects.get(user=world.agent).org_unit_id == world.branch.pk
    with pytest.raises(OrgUnitError, match="已停用"):
        org_unit_add(name="新网点", code="N1", kind="branch", parent=world.region, by=owner)
    with pytest.raises(OrgUnitError, match="已停用"):
        org_unit_activate(unit=world.branch, by=owner)
    org_unit_activate(unit=world.region, by=owner)
    assert set(org_unit_choices()) == {world.hq, world.region}


def test_a_unit_something_points_at_is_not_deleted(in_tenant, owner):
    world = in_tenant
    for unit in (world.region, world.branch):  # children; members and a touchpoint
        with pytest.raises(OrgUnitError, match="不能删除；请改为停用"):
            org_unit_delete(unit=unit, by=owner)
    assert OrgUnit.objects.filter(pk__in=[world.region.pk, world.branch.pk]).count() == 2


def test_an_unused_unit_is_deleted_and_audited(in_tenant, owner):
    unit = org_unit_add(name="临时", code="TMP", kind="team", parent=in_tenant.branch, by=owner)
    org_unit_delete(unit=unit, by=owner)
    assert not OrgUnit.objects.filter(code="TMP").exists()
    assert AuditEvent.objects.filter(action="org_unit.delete", target_id=str(unit.pk)).exists()


@pytest.mark.parametrize("who", ["manager", "agent", "viewer"])
def test_roles_below_admin_may_not_change_the_tree(in_tenant, who):
    world = in_tenant
    by = getattr(world, who)
    attempts = [
        lambda: org_unit_add(name="X", code="X1", kind="team", parent=world.branch, by=by),
        lambda: org_unit_update(
            unit=world.branch, name="X", code="SH-PD", kind="branch", manager=None, by=by
        ),
        lambda: org_unit_move(unit=world.branch, parent=world.hq, by=by),
        lambda: org_unit_deactivate(unit=world.branch, by=by),
        lambda: org_unit_activate(unit=world.branch, by=by),
        lambda: org_unit_delete(unit=world.branch, by=by),
    ]
    for attempt in attempts:
        with pytest.raises(PermissionDenied):
            attempt()
