"""The submission path's hand-built INSERT stores what Model.save stores."""

from __future__ import annotations

from datetime import UTC, datetime

from django.forms.models import model_to_dict
from django.utils.translation import gettext_lazy

from organizations.db.rows import insert_one
from surveys.models import Response

MOMENT = datetime(2026, 6, 10, 4, 0, tzinfo=UTC)


def _response(world, **values) -> Response:
    return Response(
        tenant=world.tenant,
        survey=world.survey,
        version=world.survey.live_version,
        link=world.link,
        touchpoint=world.touchpoint,
        org_unit=world.branch,
        answers={"q": 3, "t": "排队太久"},
        extra={"store": "浦东"},
        page_path=["p1"],
        started_at=MOMENT,
        submitted_at=MOMENT,
        **values,
    )


def _stored(response: Response) -> dict:
    stored = Response.objects.get(pk=response.pk)
    return {
        key: value
        for key, value in model_to_dict(stored).items()
        if key not in {"id", "received_at", "updated_at", "resume_key", "client_submission_id"}
    }


def test_insert_one_stores_the_row_save_stores(in_tenant):
    world = in_tenant
    # Plain values, and values the fields must prepare: a lazy text, a number in a text field.
    by_save = _response(world, external_customer_id=gettext_lazy("客户"), client_submission_id=41)
    by_insert = _response(world, external_customer_id=gettext_lazy("客户"), client_submission_id=42)
    by_save.resume_key, by_insert.resume_key = "a" * 32, "b" * 32  # both unique per tenant
    by_save.save()
    insert_one(by_insert)

    assert by_insert.pk is not None and by_insert.pk != by_save.pk
    assert _stored(by_insert) == _stored(by_save)
    assert _stored(by_insert)["external_customer_id"] == "客户"
    assert Response.objects.get(pk=by_insert.pk).client_submission_id == "42"
    assert Response.objects.get(pk=by_insert.pk).updated_at is not None  # auto_now ran


def test_update_many_writes_each_rows_own_values_and_nothing_of_another_tenant(world, other_world):
    from organizations.db.rows import update_many
    from organizations.models import OrgUnit
    from organizations.tenancy import system_context

    with system_context():
        mine = [world.branch, world.other_branch]
        theirs = OrgUnit.all_tenants.get(pk=other_world.branch.pk)
    mine[0].name, mine[0].manager = "浦东新区支行", world.manager
    mine[1].name, mine[1].manager = "西湖 支行", None
    theirs.name = "不应写入"
    theirs.tenant_id = world.tenant.pk  # a forged row: the tenant check leaves the row alone
    with system_context():
        update_many([*mine, theirs], ["name", "manager"])
        stored = {
            unit.pk: unit
            for unit in OrgUnit.all_tenants.filter(pk__in=[u.pk for u in mine] + [theirs.pk])
        }
    assert (
        stored[mine[0].pk].name == "浦东新区支行"
        and stored[mine[0].pk].manager_id == world.manager.pk
    )
    assert stored[mine[1].pk].name == "西湖 支行" and stored[mine[1].pk].manager_id is None
    assert stored[theirs.pk].name == other_world.branch.name
