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
    codes: dict[str, str], units: list[tuple[str, str]], *, itself: Touchpoint | None = None
) -> list[Problem]:
    """Touchpoint codes (code -> where) another touchpoint of the tenant has (than `itself`,
    when one is edited), and org unit codes ((where, code)) the tenant lacks."""
    others = Touchpoint.objects.exclude(pk=itself.pk) if itself else Touchpoint.objects.all()
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


def journey_document_problems(document: Any) -> list[Problem]:
    """Everything wrong with a journey document in the current tenant, [] when it can be
    written."""
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
    if name and Journey.objects.filter(name=name).exists():
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
    return problems + _tenant_problems(codes, units)


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
    units = {
        unit.code: unit
        for unit in OrgUnit.objects.filter(
            code__in={
                tp["org_unit"]
                for stage in document["stages"]
                for tp in stage.get("touchpoints", [])
                if tp.get("org_unit")
            }
        )
    }
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
    _raise_if(problems + _tenant_problems(codes, units, itself=itself))
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
