"""Writes of journeys. A journey arrives whole (a template, a JSON import, the API) as a
document; one validation reads every such document and says what is wrong where, before
anything is written.

The document (docs/journeys.md):

    {"name": "开户", "description": "",
     "stages": [{"name": "了解", "touchpoints": [
         {"code": "open-app", "name": "App 开户", "channel": "mobile_app",
          "key_moment": "none", "org_unit": "HQ"}]}]}
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import ProtectedError, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from journeys.models import Channel, Journey, KeyMoment, Stage, Touchpoint
from organizations.access import actor_require_permission
from organizations.models import OrgUnit
from organizations.services import Actor, audit_record

NAME_MAX = 200
DESCRIPTION_MAX = 2000
STAGES_MAX = 30
TOUCHPOINTS_MAX = 200
# What a touchpoint's code may be: API events and triggers name touchpoints by it.
TOUCHPOINT_CODE = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a journey document: where (a path such as stages[2].touchpoints[0]
    .code) and why."""

    where: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"where": self.where, "message": self.message}


class JourneyDocumentError(ValueError):
    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("; ".join(f"{p.where}: {p.message}" for p in problems))


def _text(value: Any, where: str, limit: int, problems: list[Problem], *, required=True) -> str:
    if not isinstance(value, str) or (required and not value.strip()):
        problems.append(Problem(where, _("必须是非空文本。")))
        return ""
    if len(value) > limit or "\x00" in value:
        problems.append(
            Problem(where, _("最多 %(limit)d 个字符，且不能含有 NUL。") % {"limit": limit})
        )
        return ""
    return value.strip()


def _touchpoint_problems(touchpoint: Any, where: str, problems: list[Problem]) -> str | None:
    """What is wrong with one touchpoint's own fields (not yet whether its code is free or its
    unit exists); returns the org unit code it names, if any."""
    if not isinstance(touchpoint, dict):
        problems.append(Problem(where, _("触点必须是一个 JSON 对象。")))
        return None
    _text(touchpoint.get("name"), f"{where}.name", NAME_MAX, problems)
    code = touchpoint.get("code")
    if not isinstance(code, str) or not TOUCHPOINT_CODE.fullmatch(code):
        problems.append(
            Problem(f"{where}.code", _("编码只能由小写字母、数字、- 和 _ 组成（最多 64 位）。"))
        )
    if touchpoint.get("channel") not in Channel.values:
        problems.append(
            Problem(f"{where}.channel", _("渠道须为：%(v)s") % {"v": ", ".join(Channel.values)})
        )
    if touchpoint.get("key_moment", KeyMoment.NONE) not in KeyMoment.values:
        problems.append(
            Problem(
                f"{where}.key_moment", _("关键时刻须为：%(v)s") % {"v": ", ".join(KeyMoment.values)}
            )
        )
    unit = touchpoint.get("org_unit")
    if isinstance(unit, str) and unit:
        return unit
    if unit is not None:
        problems.append(Problem(f"{where}.org_unit", _("须为组织单元编码或 null。")))
    return None


def _tenant_problems(
    codes: dict[str, str], units: list[tuple[str, str]], *, own: QuerySet | None = None
) -> list[Problem]:
    """Touchpoint codes (code -> where) another touchpoint of the tenant has (than those `own`,
    being edited), and org unit codes ((where, code)) the tenant lacks."""
    others = Touchpoint.objects.all()
    if own is not None:
        others = others.exclude(pk__in=own.values("pk"))
    problems = [
        Problem(f"{codes[code]}.code", _("编码已被其他触点使用。"))
        for code in others.filter(code__in=codes).values_list("code", flat=True)
    ]
    known = set(
        OrgUnit.objects.filter(code__in={code for _where, code in units}).values_list(
            "code", flat=True
        )
    )
    problems += [
        Problem(where, _("没有编码为 %(code)s 的组织单元。") % {"code": code})
        for where, code in units
        if code not in known
    ]
    return problems


def journey_document_problems(document: Any, *, replacing: Journey | None = None) -> list[Problem]:
    """Everything wrong with a journey document in the current tenant, [] when it can be
    written (as a new journey, or in place of `replacing`, whose name and touchpoint codes it
    may keep)."""
    problems: list[Problem] = []
    if not isinstance(document, dict):
        return [Problem("", _("旅程必须是一个 JSON 对象。"))]
    unknown = set(document) - {"name", "description", "stages", "format"}
    if unknown:
        problems.append(
            Problem("", _("未知字段：%(names)s") % {"names": ", ".join(sorted(unknown))})
        )
    name = _text(document.get("name"), "name", NAME_MAX, problems)
    if "description" in document:  # may be left out, but not null
        _text(document["description"], "description", DESCRIPTION_MAX, problems, required=False)
    namesakes = Journey.objects.filter(name=name)
    if replacing is not None:
        namesakes = namesakes.exclude(pk=replacing.pk)
    if name and namesakes.exists():
        problems.append(Problem("name", _("已有同名旅程。")))
    if document.get("format", 1) != 1:
        problems.append(Problem("format", _("不支持的格式版本（应为 1）。")))
    stages = document.get("stages")
    if not isinstance(stages, list) or not 1 <= len(stages) <= STAGES_MAX:
        problems.append(Problem("stages", _("需要 1 到 %(max)d 个阶段。") % {"max": STAGES_MAX}))
        return problems
    codes: dict[str, str] = {}  # code -> where it first appears
    units: list[tuple[str, str]] = []  # (where, org unit code)
    touchpoint_count = 0
    for s, stage in enumerate(stages):
        at = f"stages[{s}]"
        if not isinstance(stage, dict):
            problems.append(Problem(at, _("阶段必须是一个 JSON 对象。")))
            continue
        _text(stage.get("name"), f"{at}.name", NAME_MAX, problems)
        touchpoints = stage.get("touchpoints", [])
        if not isinstance(touchpoints, list):
            problems.append(Problem(f"{at}.touchpoints", _("必须是列表。")))
            continue
        for t, touchpoint in enumerate(touchpoints):
            touchpoint_count += 1
            where = f"{at}.touchpoints[{t}]"
            unit = _touchpoint_problems(touchpoint, where, problems)
            if unit:
                units.append((f"{where}.org_unit", unit))
            code = touchpoint.get("code") if isinstance(touchpoint, dict) else None
            if not isinstance(code, str) or not TOUCHPOINT_CODE.fullmatch(code):
                continue
            if code in codes:
                problems.append(
                    Problem(f"{where}.code", _("编码与 %(other)s 重复。") % {"other": codes[code]})
                )
            else:
                codes[code] = where
    if touchpoint_count > TOUCHPOINTS_MAX:
        problems.append(
            Problem("stages", _("一个旅程最多 %(max)d 个触点。") % {"max": TOUCHPOINTS_MAX})
        )
    own = Touchpoint.objects.filter(stage__journey=replacing) if replacing else None
    return problems + _tenant_problems(codes, units, own=own)


@transaction.atomic
def journey_create(*, document: dict, by: Actor) -> Journey:
    """Create a journey with its stages and touchpoints from a document (a template, an
    import, the API), or raise JourneyDocumentError with every problem and write nothing."""
    actor_require_permission(by, "journey.manage")
    problems = journey_document_problems(document)
    if problems:
        raise JourneyDocumentError(problems)
    journey = Journey.objects.create(
        name=document["name"].strip(), description=(document.get("description") or "").strip()
    )
    units = _document_units(document)
    stages = Stage.objects.bulk_create(
        Stage(journey=journey, name=stage["name"].strip(), position=position, tenant=journey.tenant)
        for position, stage in enumerate(document["stages"])
    )
    Touchpoint.objects.bulk_create(
        Touchpoint(
            tenant=journey.tenant,
            stage=stage,
            code=tp["code"],
            name=tp["name"].strip(),
            channel=tp["channel"],
            key_moment=tp.get("key_moment", KeyMoment.NONE),
            org_unit=units.get(tp.get("org_unit") or ""),
        )
        for stage, stage_document in zip(stages, document["stages"], strict=True)
        for tp in stage_document.get("touchpoints", [])
    )
    audit_record(by=by, action="journey.create", target=journey, after=journey_export(journey))
    return journey


def _document_units(document: dict) -> dict[str, OrgUnit]:
    """The org units a (checked) document's touchpoints name, by code."""
    codes = {
        tp["org_unit"]
        for stage in document["stages"]
        for tp in stage.get("touchpoints", [])
        if tp.get("org_unit")
    }
    return {unit.code: unit for unit in OrgUnit.objects.filter(code__in=codes)}


@transaction.atomic
def journey_update(*, journey: Journey, document: dict, by: Actor) -> Journey:
    """Make a journey what a whole document says (the API's PUT), checked as journey_create
    checks, or raise JourneyDocumentError and change nothing.

    Stages are matched by position (renamed, added, the surplus removed); touchpoints by code,
    so a touchpoint keeps its identity and its data when it moves between stages. A touchpoint
    the document leaves out is removed as the editor removes one: deleted, or archived when
    data points at it; naming an archived one restores it.
    """
    actor_require_permission(by, "journey.manage")
    problems = journey_document_problems(document, replacing=journey)
    _raise_if(problems)
    before = journey_export(journey)
    journey.name = document["name"].strip()
    journey.description = (document.get("description") or "").strip()
    journey.save(update_fields=["name", "description"])
    units = _document_units(document)
    stages = list(Stage.objects.filter(journey=journey).order_by("position", "id"))
    kept_stages = []
    for position, stage_document in enumerate(document["stages"]):
        if position < len(stages):
            stage = stages[position]
            stage.name, stage.position = stage_document["name"].strip(), position
            stage.save(update_fields=["name", "position"])
        else:
            stage = Stage.objects.create(
                journey=journey, name=stage_document["name"].strip(), position=position
            )
        kept_stages.append(stage)
    existing = {tp.code: tp for tp in Touchpoint.objects.filter(stage__journey=journey)}
    named = set()
    for stage, stage_document in zip(kept_stages, document["stages"], strict=True):
        for tp in stage_document.get("touchpoints", []):
            named.add(tp["code"])
            touchpoint = existing.get(tp["code"]) or Touchpoint(code=tp["code"])
            touchpoint.stage = stage
            touchpoint.name = tp["name"].strip()
            touchpoint.channel = tp["channel"]
            touchpoint.key_moment = tp.get("key_moment") or KeyMoment.NONE
            touchpoint.org_unit = units.get(tp.get("org_unit") or "")
            touchpoint.archived_at = None
            touchpoint.save()
    kept = {stage.pk for stage in kept_stages}
    for code, touchpoint in existing.items():
        if code not in named:
            stays = touchpoint.stage_id in kept
            _touchpoint_delete_or_archive(touchpoint, last_stage=None if stays else kept_stages[-1])
    for stage in stages[len(kept_stages) :]:
        stage.delete()  # its touchpoints were moved, deleted or archived into the last stage
    audit_record(
        by=by, action="journey.update", target=journey, before=before, after=journey_export(journey)
    )
    return journey


def journey_export(journey: Journey) -> dict:
    """The journey as a document that journey_create reads back."""
    stages = Stage.objects.filter(journey=journey).order_by("position", "id")
    touchpoints = (
        Touchpoint.objects.filter(stage__journey=journey).select_related("org_unit").order_by("id")
    )
    by_stage: dict[int, list[dict]] = {}
    for tp in touchpoints:
        by_stage.setdefault(tp.stage_id, []).append(
            {
                "code": tp.code,
                "name": tp.name,
                "channel": tp.channel,
                "key_moment": tp.key_moment,
                "org_unit": tp.org_unit.code if tp.org_unit else None,
            }
        )
    return {
        "format": 1,
        "name": journey.name,
        "description": journey.description,
        "stages": [
            {"name": stage.name, "touchpoints": by_stage.get(stage.pk, [])} for stage in stages
        ],
    }


# ---- The journey editor: one change at a time, checked as a document's parts are.


def _raise_if(problems: list[Problem]) -> None:
    if problems:
        raise JourneyDocumentError(problems)


def journey_rename(*, journey: Journey, name: str, description: str, by: Actor) -> Journey:
    actor_require_permission(by, "journey.manage")
    problems: list[Problem] = []
    name = _text(name, "name", NAME_MAX, problems)
    description = _text(description, "description", DESCRIPTION_MAX, problems, required=False)
    if name and Journey.objects.exclude(pk=journey.pk).filter(name=name).exists():
        problems.append(Problem("name", _("已有同名旅程。")))
    _raise_if(problems)
    before = {"name": journey.name, "description": journey.description}
    journey.name, journey.description = name, description
    journey.save(update_fields=["name", "description"])
    audit_record(
        by=by,
        action="journey.rename",
        target=journey,
        before=before,
        after={"name": name, "description": description},
    )
    return journey


def stage_add(*, journey: Journey, name: str, by: Actor) -> Stage:
    actor_require_permission(by, "journey.manage")
    problems: list[Problem] = []
    name = _text(name, "name", NAME_MAX, problems)
    if Stage.objects.filter(journey=journey).count() >= STAGES_MAX:
        problems.append(Problem("name", _("一个旅程最多 %(max)d 个阶段。") % {"max": STAGES_MAX}))
    _raise_if(problems)
    last = Stage.objects.filter(journey=journey).order_by("-position").first()
    stage = Stage.objects.create(
        journey=journey, name=name, position=(last.position + 1) if last else 0
    )
    audit_record(by=by, action="stage.add", target=stage, after={"name": name})
    return stage


def stage_rename(*, stage: Stage, name: str, by: Actor) -> Stage:
    actor_require_permission(by, "journey.manage")
    problems: list[Problem] = []
    name = _text(name, "name", NAME_MAX, problems)
    _raise_if(problems)
    before = {"name": stage.name}
    stage.name = name
    stage.save(update_fields=["name"])
    audit_record(by=by, action="stage.rename", target=stage, before=before, after={"name": name})
    return stage


@transaction.atomic
def stage_move(*, stage: Stage, offset: int, by: Actor) -> None:
    """Move a stage earlier (offset -1) or later (+1) in its journey; the positions are
    renumbered 0..n-1 in the new order."""
    actor_require_permission(by, "journey.manage")
    stages = list(
        Stage.objects.select_for_update()
        .filter(journey_id=stage.journey_id)
        .order_by("position", "id")
    )
    index = next(i for i, s in enumerate(stages) if s.pk == stage.pk)
    target = min(max(index + offset, 0), len(stages) - 1)
    stages.insert(target, stages.pop(index))
    for position, each in enumerate(stages):
        each.position = position
    Stage.objects.bulk_update(stages, ["position"])
    audit_record(by=by, action="stage.move", target=stage, after={"order": [s.pk for s in stages]})


def _touchpoint_fields(fields: dict, *, itself: Touchpoint | None) -> tuple[dict, OrgUnit | None]:
    """Checked fields of one touchpoint from the editor, and the org unit they name."""
    problems: list[Problem] = []
    fields = {
        **fields,
        "org_unit": fields.get("org_unit") or None,
        "key_moment": fields.get("key_moment") or KeyMoment.NONE,
    }
    unit_code = _touchpoint_problems(fields, "touchpoint", problems)
    code = fields.get("code")
    codes = (
        {code: "touchpoint"} if isinstance(code, str) and TOUCHPOINT_CODE.fullmatch(code) else {}
    )
    units = [("touchpoint.org_unit", unit_code)] if unit_code else []
    own = Touchpoint.objects.filter(pk=itself.pk) if itself else None
    _raise_if(problems + _tenant_problems(codes, units, own=own))
    unit = OrgUnit.objects.get(code=unit_code) if unit_code else None
    return fields, unit


def touchpoint_add(*, stage: Stage, fields: dict, by: Actor) -> Touchpoint:
    """Add a touchpoint (code, name, channel, key_moment, org_unit code) at the end of a stage."""
    actor_require_permission(by, "journey.manage")
    if Touchpoint.objects.filter(stage__journey_id=stage.journey_id).count() >= TOUCHPOINTS_MAX:
        _raise_if(
            [Problem("touchpoint", _("一个旅程最多 %(max)d 个触点。") % {"max": TOUCHPOINTS_MAX})]
        )
    fields, unit = _touchpoint_fields(fields, itself=None)
    touchpoint = Touchpoint.objects.create(
        stage=stage,
        code=fields["code"],
        name=fields["name"].strip(),
        channel=fields["channel"],
        key_moment=fields.get("key_moment") or KeyMoment.NONE,
        org_unit=unit,
    )
    audit_record(
        by=by, action="touchpoint.add", target=touchpoint, after=_touchpoint_audit(touchpoint)
    )
    return touchpoint


def touchpoint_update(*, touchpoint: Touchpoint, fields: dict, by: Actor) -> Touchpoint:
    """Change a touchpoint's code, name, channel, key moment or owning unit. A new code is
    what API events and triggers must then name."""
    actor_require_permission(by, "journey.manage")
    fields, unit = _touchpoint_fields(fields, itself=touchpoint)
    before = _touchpoint_audit(touchpoint)
    touchpoint.code = fields["code"]
    touchpoint.name = fields["name"].strip()
    touchpoint.channel = fields["channel"]
    touchpoint.key_moment = fields.get("key_moment") or KeyMoment.NONE
    touchpoint.org_unit = unit
    touchpoint.save()
    audit_record(
        by=by,
        action="touchpoint.update",
        target=touchpoint,
        before=before,
        after=_touchpoint_audit(touchpoint),
    )
    return touchpoint


def _touchpoint_audit(touchpoint: Touchpoint) -> dict:
    return {
        "code": touchpoint.code,
        "name": touchpoint.name,
        "channel": touchpoint.channel,
        "key_moment": touchpoint.key_moment,
        "org_unit": touchpoint.org_unit.code if touchpoint.org_unit else None,
    }


def _touchpoint_delete_or_archive(
    touchpoint: Touchpoint, *, last_stage: Stage | None = None
) -> str:
    """Delete a touchpoint nothing points at; archive one that surveys, links, responses or
    events point at ("deleted" or "archived"). An archived touchpoint of a stage about to go
    moves to `last_stage`."""
    try:
        with transaction.atomic():
            touchpoint.delete()
    except ProtectedError:
        touchpoint.archived_at = touchpoint.archived_at or timezone.now()
        if last_stage is not None:
            touchpoint.stage = last_stage
        touchpoint.save(update_fields=["archived_at", "stage"])
        return "archived"
    return "deleted"


@transaction.atomic
def touchpoint_remove(*, touchpoint: Touchpoint, by: Actor) -> str:
    """Remove a touchpoint from its journey: deleted when no data points at it, archived
    (off the map, its code still taken, its data kept) when some does. Returns which."""
    actor_require_permission(by, "journey.manage")
    before = _touchpoint_audit(touchpoint)
    pk = touchpoint.pk
    outcome = _touchpoint_delete_or_archive(touchpoint)
    touchpoint.pk = pk
    audit_record(by=by, action=f"touchpoint.{outcome}", target=touchpoint, before=before)
    return outcome


def touchpoint_restore(*, touchpoint: Touchpoint, by: Actor) -> Touchpoint:
    actor_require_permission(by, "journey.manage")
    touchpoint.archived_at = None
    touchpoint.save(update_fields=["archived_at"])
    audit_record(by=by, action="touchpoint.restore", target=touchpoint)
    return touchpoint


@transaction.atomic
def stage_remove(*, stage: Stage, by: Actor) -> None:
    """Remove an empty stage; one with touchpoints (archived ones too) must be emptied first,
    so that no touchpoint's data loses its stage."""
    actor_require_permission(by, "journey.manage")
    if Touchpoint.objects.filter(stage=stage).exists():
        _raise_if([Problem("stage", _("请先移走或删除该阶段的触点（包括已归档的）。"))])
    if Stage.objects.filter(journey_id=stage.journey_id).count() <= 1:
        _raise_if([Problem("stage", _("旅程至少要有一个阶段。"))])
    audit_record(by=by, action="stage.remove", target=stage, before={"name": stage.name})
    stage.delete()
    stages = list(Stage.objects.filter(journey_id=stage.journey_id).order_by("position", "id"))
    for position, each in enumerate(stages):
        each.position = position
    Stage.objects.bulk_update(stages, ["position"])


@transaction.atomic
def stages_reorder(*, journey: Journey, order: list[int], by: Actor) -> None:
    """Put the journey's stages in `order` (every stage id once), as a drag in the editor
    leaves them."""
    actor_require_permission(by, "journey.manage")
    stages = {
        stage.pk: stage for stage in Stage.objects.select_for_update().filter(journey=journey)
    }
    if sorted(order) != sorted(stages):
        _raise_if([Problem("order", _("阶段顺序须恰好列出本旅程的每个阶段一次。"))])
    for position, pk in enumerate(order):
        stages[pk].position = position
    Stage.objects.bulk_update(stages.values(), ["position"])
    audit_record(by=by, action="stage.move", target=journey, after={"order": order})


@transaction.atomic
def journey_remove(*, journey: Journey, by: Actor) -> str:
    """Delete a journey none of whose touchpoints has data; archive it (off the map and the
    pickers, restorable, data kept) when one has. Returns "deleted" or "archived"."""
    actor_require_permission(by, "journey.manage")
    before = journey_export(journey)
    pk = journey.pk
    try:
        with transaction.atomic():
            journey.delete()
    except ProtectedError:
        journey.archived_at = timezone.now()
        journey.save(update_fields=["archived_at"])
        outcome = "archived"
    else:
        journey.pk = pk
        outcome = "deleted"
    audit_record(by=by, action=f"journey.{outcome}", target=journey, before=before)
    return outcome


def journey_restore(*, journey: Journey, by: Actor) -> Journey:
    actor_require_permission(by, "journey.manage")
    journey.archived_at = None
    journey.save(update_fields=["archived_at"])
    audit_record(by=by, action="journey.restore", target=journey)
    return journey
