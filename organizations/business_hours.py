"""A tenant's working time: its calendar (time zone, hours per weekday, mainland public holidays
with their make-up working days (调休), its own closures) and the arithmetic on it.

The arithmetic is pure and walks day by day, never minute by minute: `working_time_add` (the
instant N working minutes after another) and `working_minutes_between`. The calendar is read
from `Tenant.settings["calendar"]` (its time zone, by default `Tenant.time_zone`), a document
written only by
`organizations.services.tenant_calendar_update`, which checks it with `calendar_document_parse`.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import chinese_calendar
from django.utils.translation import gettext as _

CALENDAR = "calendar"  # the key of Tenant.settings

WEEKDAYS = 7
DAY_MINUTES = 24 * 60
DEFAULT_HOURS = ("09:00-18:00",) * 5 + ("", "")  # Monday to Friday
# No working time for this long means the calendar has none (every day closed): stop looking.
SEARCH_DAYS = 3 * 366
CLOSURES_MAX = 200
CLOSURE_DAYS_MAX = 366
NOTE_MAX = 100
YEARS = (2000, 2099)

# The mainland's public holidays (days off, weekends within a holiday included) and make-up
# working days, as the State Council publishes them, from `chinesecalendar`.
PUBLIC_HOLIDAYS = frozenset(chinese_calendar.holidays)
MAKEUP_WORKDAYS = frozenset(chinese_calendar.workdays)
PUBLIC_HOLIDAY_YEARS = (min(PUBLIC_HOLIDAYS).year, max(PUBLIC_HOLIDAYS).year)

Interval = tuple[int, int]  # minutes after local midnight: [start, end)


class CalendarError(ValueError):
    """A calendar document that cannot be used; the message says what to correct."""


@dataclass(frozen=True)
class WorkCalendar:
    """When a tenant works. `hours[weekday]` (Monday 0) are its intervals of that day;
    `closures` are (first, last) days it does not work, whatever the weekday."""

    zone: ZoneInfo
    hours: tuple[tuple[Interval, ...], ...]
    public_holidays: bool = True
    closures: tuple[tuple[date, date], ...] = ()

    def day_hours(self, day: date) -> tuple[Interval, ...]:
        """The working intervals of one local day."""
        if any(first <= day <= last for first, last in self.closures):
            return ()
        if self.public_holidays:
            if day in PUBLIC_HOLIDAYS:
                return ()
            if day in MAKEUP_WORKDAYS:
                # A make-up Saturday or Sunday is worked like a weekday: the tenant's own hours
                # for that weekday if it has some, else those of its first working weekday.
                return self.hours[day.weekday()] or self._weekday_hours
        return self.hours[day.weekday()]

    @property
    def _weekday_hours(self) -> tuple[Interval, ...]:
        return next((found for found in self.hours[:5] if found), ())


@functools.lru_cache(maxsize=8192)
def _day_intervals(calendar: WorkCalendar, day: date) -> tuple[tuple[datetime, datetime], ...]:
    """The working intervals of a local day as UTC instants (wall-clock hours, so a day that
    changes daylight-saving time keeps its opening hours). A wall-clock time the change skips
    has no instant of its own: intervals are clipped so that they never run backwards or
    overlap, and the skipped hour is not counted."""
    midnight = datetime(day.year, day.month, day.day)
    intervals: list[tuple[datetime, datetime]] = []
    for start, end in calendar.day_hours(day):
        begin, finish = (
            _instant(calendar.zone, midnight, start),
            _instant(calendar.zone, midnight, end),
        )
        if intervals:
            begin = max(begin, intervals[-1][1])
        if finish > begin:
            intervals.append((begin, finish))
    return tuple(intervals)


def _instant(zone: ZoneInfo, midnight: datetime, minutes: int) -> datetime:
    local = midnight + timedelta(minutes=minutes)  # 24:00 is the next midnight
    return local.replace(tzinfo=zone).astimezone(UTC)


def working_time_add(calendar: WorkCalendar, start: datetime, minutes: int) -> datetime:
    """The instant by which `minutes` of working time have passed since `start` (an aware
    datetime). Time outside working hours does not count, so the result is within working
    hours; with 0 minutes it is the first working instant at or after `start`."""
    if minutes < 0:
        raise ValueError("minutes must not be negative")
    start = start.astimezone(UTC)
    left = timedelta(minutes=minutes)
    day = start.astimezone(calendar.zone).date()
    for _day in range(SEARCH_DAYS):
        for begin, end in _day_intervals(calendar, day):
            if end <= start:
                continue
            begin = max(begin, start)
            if begin + left <= end:
                return begin + left
            left -= end - begin
        day += timedelta(days=1)
    raise CalendarError(_("工作日历在 %(days)d 天内没有工作时间。") % {"days": SEARCH_DAYS})


def working_time_before(calendar: WorkCalendar, end: datetime, minutes: int) -> datetime:
    """The latest instant from which `minutes` of working time remain until `end`: the inverse
    of working_time_add, walked back day by day. With 0 minutes it is `end`."""
    if minutes < 0:
        raise ValueError("minutes must not be negative")
    end = end.astimezone(UTC)
    if not minutes:
        return end
    left = timedelta(minutes=minutes)
    day = end.astimezone(calendar.zone).date()
    for _day in range(SEARCH_DAYS):
        for begin, finish in reversed(_day_intervals(calendar, day)):
            if begin >= end:
                continue
            finish = min(finish, end)
            if finish - left >= begin:
                return finish - left
            left -= finish - begin
        day -= timedelta(days=1)
    raise CalendarError(_("工作日历在 %(days)d 天内没有工作时间。") % {"days": SEARCH_DAYS})


def working_minutes_between(calendar: WorkCalendar, start: datetime, end: datetime) -> int:
    """Whole minutes of working time from `start` to `end`; negative when `end` is earlier."""
    if end < start:
        return -working_minutes_between(calendar, end, start)
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    total = timedelta()
    day = start.astimezone(calendar.zone).date()
    last = end.astimezone(calendar.zone).date()
    while day <= last:
        for begin, finish in _day_intervals(calendar, day):
            overlap = min(finish, end) - max(begin, start)
            if overlap > timedelta():
                total += overlap
        day += timedelta(days=1)
    return int(total.total_seconds() // 60)


def default_calendar_document() -> dict:
    return {"hours": list(DEFAULT_HOURS), "public_holidays": True, "closures": []}


def tenant_calendar(tenant) -> WorkCalendar:
    """The tenant's calendar; the default (Monday to Friday 9:00-18:00, mainland public
    holidays) until its owners set one."""
    document = tenant.settings.get(CALENDAR) or default_calendar_document()
    return calendar_document_parse(document, time_zone=calendar_zone_name(tenant))


def calendar_zone_name(tenant) -> str:
    """The calendar's own time zone; the tenant's until one is set. Kept apart from
    `Tenant.time_zone`, which also dates the analytics rollups' days: changing working hours
    must not move those."""
    return (tenant.settings.get(CALENDAR) or {}).get("time_zone") or tenant.time_zone


@functools.lru_cache(maxsize=256)
def _parse_cached(hours: tuple[str, ...], public_holidays: bool, closures: tuple, time_zone: str):
    return WorkCalendar(
        zone=zone_parse(time_zone),
        hours=tuple(hours_parse(text) for text in hours),
        public_holidays=public_holidays,
        closures=tuple((first, last) for first, last, _note in closures_parse_rows(closures)),
    )


def calendar_document_parse(document: dict, *, time_zone: str) -> WorkCalendar:
    """The calendar a stored document describes; CalendarError names what is wrong."""
    hours = document.get("hours")
    if not isinstance(hours, list) or len(hours) != WEEKDAYS:
        raise CalendarError(_("工作时间应按周一到周日给出 7 行。"))
    if not all(isinstance(text, str) for text in hours):
        raise CalendarError(_("工作时间格式不正确。"))
    closures = document.get("closures", [])
    if not isinstance(closures, list) or not all(isinstance(row, list) for row in closures):
        raise CalendarError(_("自定义休息日格式不正确。"))
    calendar = _parse_cached(
        tuple(hours),
        document.get("public_holidays", True) is not False,
        tuple(tuple(row) for row in closures),
        time_zone,
    )
    if not any(calendar.hours):
        raise CalendarError(_("每周至少需要一段工作时间。"))
    return calendar


def zone_parse(name: str) -> ZoneInfo:
    if not isinstance(name, str) or name not in _zone_names():
        raise CalendarError(_("未知时区：%(zone)s（例如 Asia/Shanghai）。") % {"zone": name})
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:  # listed, yet its file is unreadable
        raise CalendarError(_("未知时区：%(zone)s。") % {"zone": name}) from error


@functools.cache
def _zone_names() -> frozenset[str]:
    return frozenset(available_timezones())


_INTERVAL = re.compile(r"^(\d{1,2}):(\d{2})\s*[-–~～至]\s*(\d{1,2}):(\d{2})$")


def hours_parse(text: str) -> tuple[Interval, ...]:
    """One day's hours written as "09:00-12:00, 13:30-18:00" ("" or "休息": none), in order and
    not overlapping; 24:00 ends a day."""
    text = text.strip()
    if text in ("", "休息", "-", "closed"):
        return ()
    intervals = []
    for part in re.split(r"(?<=\d)[,，;；、\s]+(?=\d)", text):
        found = _INTERVAL.match(part.strip())
        if not found:
            raise CalendarError(
                _("无法识别的工作时间「%(part)s」，请写成 09:00-18:00。") % {"part": part.strip()}
            )
        h1, m1, h2, m2 = map(int, found.groups())
        start, end = h1 * 60 + m1, h2 * 60 + m2
        if m1 > 59 or m2 > 59 or start >= DAY_MINUTES or end > DAY_MINUTES:
            raise CalendarError(_("「%(part)s」不是有效的时间。") % {"part": part.strip()})
        if start >= end:
            raise CalendarError(
                _("「%(part)s」的结束时间应晚于开始时间（跨夜请分成两天填写）。")
                % {"part": part.strip()}
            )
        if intervals and start < intervals[-1][1]:
            raise CalendarError(
                _("「%(part)s」与前一段重叠或顺序颠倒，请按时间先后填写。") % {"part": part.strip()}
            )
        intervals.append((start, end))
    return tuple(intervals)


def hours_format(intervals: tuple[Interval, ...]) -> str:
    return ", ".join(f"{_clock(start)}-{_clock(end)}" for start, end in intervals)


def _clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


_CLOSURE = re.compile(
    r"^(\d{4}-\d{1,2}-\d{1,2})(?:\s*(?:~|～|至|\.\.)\s*(\d{4}-\d{1,2}-\d{1,2}))?(?:\s+(.*))?$"
)


def closures_text_parse(text: str) -> list[list[str]]:
    """The tenant's own closures, one a line: "2026-12-24" or "2026-12-24 ~ 2026-12-26",
    optionally followed by a note; returned as stored: [first, last, note] in ISO dates."""
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        found = _CLOSURE.match(line)
        if not found:
            raise CalendarError(
                _(
                    "自定义休息日第 %(line)d 行「%(text)s」无法识别，请写成 2026-12-24 或 "
                    "2026-12-24 ~ 2026-12-26，可在后面加说明。"
                )
                % {"line": number, "text": line[:40]}
            )
        first_text, last_text, note = found.groups()
        first = _date(first_text, line=number)
        last = _date(last_text, line=number) if last_text else first
        rows.append([first.isoformat(), last.isoformat(), (note or "").strip()])
    closures_parse_rows(tuple(tuple(row) for row in rows))
    return rows


def _date(text: str, *, line: int) -> date:
    try:
        return date.fromisoformat("-".join(part.zfill(2) for part in text.split("-")))
    except ValueError as error:
        raise CalendarError(
            _("自定义休息日第 %(line)d 行：%(text)s 不是有效日期。") % {"line": line, "text": text}
        ) from error


def closures_parse_rows(rows: tuple) -> list[tuple[date, date, str]]:
    """Check stored closures: each (first, last, note) with first <= last, within the years
    the platform accepts, at most CLOSURE_DAYS_MAX days, at most CLOSURES_MAX of them."""
    if len(rows) > CLOSURES_MAX:
        raise CalendarError(_("自定义休息日最多 %(max)d 条。") % {"max": CLOSURES_MAX})
    parsed = []
    for number, row in enumerate(rows, start=1):
        if not isinstance(row, tuple) or len(row) != 3 or not all(isinstance(x, str) for x in row):
            raise CalendarError(_("自定义休息日格式不正确。"))
        try:
            first, last = date.fromisoformat(row[0]), date.fromisoformat(row[1])
        except ValueError as error:
            raise CalendarError(_("自定义休息日格式不正确。")) from error
        if not (YEARS[0] <= first.year <= YEARS[1] and YEARS[0] <= last.year <= YEARS[1]):
            raise CalendarError(
                _("自定义休息日第 %(line)d 行：日期应在 %(first)d 到 %(last)d 年之间。")
                % {"line": number, "first": YEARS[0], "last": YEARS[1]}
            )
        if last < first:
            raise CalendarError(
                _("自定义休息日第 %(line)d 行：结束日期早于开始日期。") % {"line": number}
            )
        if (last - first).days >= CLOSURE_DAYS_MAX:
            raise CalendarError(
                _("自定义休息日第 %(line)d 行：一段最长 %(days)d 天。")
                % {"line": number, "days": CLOSURE_DAYS_MAX}
            )
        if len(row[2]) > NOTE_MAX:
            raise CalendarError(
                _("自定义休息日第 %(line)d 行：说明最多 %(max)d 字。")
                % {"line": number, "max": NOTE_MAX}
            )
        parsed.append((first, last, row[2]))
    return parsed


def closures_text(rows: list[list[str]]) -> str:
    """The stored closures as the form shows them, one a line."""
    lines = []
    for first, last, note in rows:
        span = first if first == last else f"{first} ~ {last}"
        lines.append(f"{span} {note}".strip())
    return "\n".join(lines)
