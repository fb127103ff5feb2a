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

from cem.access import actor_require_permission
from cem.models import OrgUnit
from cem.services import Actor, audit_record
from journeys.models import Channel, Journey, KeyMoment, Stage, Touchpoint

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


def journey_document_problems(document: Any, *, replacing: Journey | None = None) -> list[Problem]:
    """Everything wrong with a journey document in the current tenant, [] when it can be
    written. `replacing`: the journey it would replace (its own codes and name are free)."""
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
    others = Journey.objects.exclude(pk=replacing.pk) if replacing else Journey.objects.all()
    if name and others.filter(name=name).exists():
        problems.append(Problem("name", _("已有同名旅程。")))
    stages = document.get("stages")
    if not isinstance(stages, list) or not 1 <= len(stages) <= STAGES_MAX:
        problems.append(Problem("stages", _("需要 1 到 %(max)d 个阶段。") % {"max": STAGES_MAX}))
        return problems
    if document.get("format", 1) != 1:
        problems.append(Problem("format", _("不支持的格式版本（应为 1）。")))
    codes_seen: dict[str, str] = {}
    units_named: list[tuple[str, str]] = []  # (where, org unit code)
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
            if not isinstance(touchpoint, dict):
                problems.append(Problem(where, _("触点必须是一个 JSON 对象。")))
                continue
            _text(touchpoint.get("name"), f"{where}.name", NAME_MAX, problems)
            code = touchpoint.get("code")
            if not isinstance(code, str) or not TOUCHPOINT_CODE.fullmatch(code):
                problems.append(
                    Problem(
                        f"{where}.code", _("编码只能由小写字母、数字、- 和 _ 组成（最多 64 位）。")
                    )
                )
            elif code in codes_seen:
                problems.append(
                    Problem(
                        f"{where}.code", _("编码与 %(other)s 重复。") % {"other": codes_seen[code]}
                    )
                )
            else:
                codes_seen[code] = where
            if touchpoint.get("channel") not in Channel.values:
                problems.append(
                    Problem(
                        f"{where}.channel", _("渠道须为：%(v)s") % {"v": ", ".join(Channel.values)}
                    )
                )
            moment = touchpoint.get("key_moment", KeyMoment.NONE)
            if moment not in KeyMoment.values:
                problems.append(
                    Problem(
                        f"{where}.key_moment",
                        _("关键时刻须为：%(v)s") % {"v": ", ".join(KeyMoment.values)},
                    )
                )
            unit = touchpoint.get("org_unit")
            if isinstance(unit, str) and unit:
                units_named.append((f"{where}.org_unit", unit))
            elif unit is not None:
                problems.append(Problem(f"{where}.org_unit", _("须为组织单元编码或 null。")))
    if touchpoint_count > TOUCHPOINTS_MAX:
        problems.append(
            Problem("stages", _("一个旅程最多 %(max)d 个触点。") % {"max": TOUCHPOINTS_MAX})
        )
    taken = Touchpoint.objects.filter(code__in=codes_seen)
    if replacing is not None:
        taken = taken.exclude(stage__journey=replacing)
    for code in taken.values_list("code", flat=True):
        problems.append(Problem(f"{codes_seen[code]}.code", _("编码已被其他旅程的触点使用。")))
    known_units = set(
        OrgUnit.objects.filter(code__in={code for _where, code in units_named}).values_list(
            "code", flat=True
        )
    )
    for where, code in units_named:
        if code not in known_units:
            problems.append(Problem(where, _("没有编码为 %(code)s 的组织单元。") % {"code": code}))
    return problems


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
