"""Working-time arithmetic (organizations/business_hours.py): fixed instants for the cases
people meet (a Friday-evening complaint, National Day, a make-up Saturday, a tenant's own
closure, another time zone across a daylight-saving change), properties over random
calendars, and the parser's refusals."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, reject, settings
from hypothesis import strategies as st

from organizations.business_hours import (
    MAKEUP_WORKDAYS,
    PUBLIC_HOLIDAYS,
    CalendarError,
    WorkCalendar,
    calendar_document_parse,
    closures_text_parse,
    hours_parse,
    working_minutes_between,
    working_time_add,
    working_time_before,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
NEW_YORK = ZoneInfo("America/New_York")
NINE_TO_SIX = ((9 * 60, 18 * 60),)
WEEKDAYS_ONLY = (NINE_TO_SIX,) * 5 + ((), ())


def bank(**changes) -> WorkCalendar:
    """Monday to Friday 9:00-18:00 in Shanghai, mainland public holidays."""
    return WorkCalendar(zone=SHANGHAI, hours=WEEKDAYS_ONLY, **changes)


def at(text: str, zone: ZoneInfo = SHANGHAI) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=zone)


def test_a_friday_evening_complaint_does_not_breach_over_the_weekend():
    friday_evening = at("2026-06-12 17:00")
    due = working_time_add(bank(), friday_evening, 4 * 60)
    assert due == at("2026-06-15 12:00")  # one hour on Friday, three on Monday morning
    assert working_minutes_between(bank(), friday_evening, due) == 240
    assert working_minutes_between(bank(), at("2026-06-12 18:00"), at("2026-06-15 09:00")) == 0


def test_national_day_golden_week_is_not_working_time():
    assert date(2026, 10, 1) in PUBLIC_HOLIDAYS and date(2026, 10, 7) in PUBLIC_HOLIDAYS
    due = working_time_add(bank(), at("2026-09-30 17:00"), 2 * 60)
    assert due == at("2026-10-08 10:00")
    assert working_minutes_between(bank(), at("2026-10-01 09:00"), at("2026-10-07 18:00")) == 0


def test_a_make_up_saturday_counts_as_a_working_day():
    assert date(2026, 10, 10) in MAKEUP_WORKDAYS and date(2026, 10, 10).weekday() == 5
    due = working_time_add(bank(), at("2026-10-09 17:00"), 2 * 60)
    assert due == at("2026-10-10 10:00")
    assert working_minutes_between(bank(), at("2026-10-10 00:00"), at("2026-10-11 00:00")) == 540


def test_without_public_holidays_only_the_week_counts():
    plain = bank(public_holidays=False)
    assert working_time_add(plain, at("2026-10-09 17:00"), 2 * 60) == at("2026-10-12 10:00")
    assert working_time_add(plain, at("2026-09-30 17:00"), 2 * 60) == at("2026-10-01 10:00")


def test_a_tenant_closure_is_skipped():
    closed = bank(closures=((date(2026, 6, 15), date(2026, 6, 16)),))
    assert working_time_add(closed, at("2026-06-12 17:00"), 4 * 60) == at("2026-06-17 12:00")


def test_a_lunch_break_does_not_count():
    lunch = WorkCalendar(
        zone=SHANGHAI, hours=(((9 * 60, 12 * 60), (13 * 60, 18 * 60)),) * 5 + ((), ())
    )
    assert working_time_add(lunch, at("2026-06-10 11:30"), 60) == at("2026-06-10 13:30")
    assert working_minutes_between(lunch, at("2026-06-10 11:00"), at("2026-06-10 14:00")) == 120


def test_hours_outside_working_time_start_at_the_next_opening():
    assert working_time_add(bank(), at("2026-06-10 07:00"), 30) == at("2026-06-10 09:30")
    assert working_time_add(bank(), at("2026-06-10 18:00"), 0) == at("2026-06-11 09:00")
    assert working_time_add(bank(), at("2026-06-10 10:00"), 0) == at("2026-06-10 10:00")


def test_minutes_between_are_negative_backwards():
    assert working_minutes_between(bank(), at("2026-06-10 12:00"), at("2026-06-10 10:30")) == -90


def test_another_time_zone_across_the_daylight_saving_change():
    """New York moves its clocks forward on Sunday 8 March 2026: 9:00 on Monday is 13:00 UTC,
    where 9:00 on Friday was 14:00 UTC."""
    office = WorkCalendar(zone=NEW_YORK, hours=WEEKDAYS_ONLY, public_holidays=False)
    friday = at("2026-03-06 16:00", NEW_YORK)
    due = working_time_add(office, friday, 3 * 60)
    assert due == at("2026-03-09 10:00", NEW_YORK)
    assert due.astimezone(UTC) == datetime(2026, 3, 9, 14, 0, tzinfo=UTC)
    assert working_minutes_between(office, friday, due) == 180


def test_the_hour_a_daylight_saving_change_skips_is_not_counted():
    """Berlin skips 02:00-03:00 on Sunday 29 March 2026: worked 00:00-02:30 and 03:00-05:00,
    that night has four hours of working time, not four and a half."""
    berlin = ZoneInfo("Europe/Berlin")
    night = WorkCalendar(
        zone=berlin, hours=((),) * 6 + (((0, 150), (180, 300)),), public_holidays=False
    )
    start, end = at("2026-03-29 00:00", berlin), at("2026-03-29 06:00", berlin)
    assert working_minutes_between(night, start, end) == 240
    assert working_time_add(night, start, 240) == at("2026-03-29 05:00", berlin)


def test_a_day_worked_round_the_clock_runs_across_midnight():
    always = WorkCalendar(zone=SHANGHAI, hours=(((0, 24 * 60),),) * 7, public_holidays=False)
    assert working_time_add(always, at("2026-06-10 23:00"), 120) == at("2026-06-11 01:00")


def test_a_calendar_without_working_time_stops_looking():
    closed = bank(closures=((date(2026, 1, 1), date(2030, 12, 31)),))
    with pytest.raises(CalendarError):
        working_time_add(closed, at("2026-06-10 10:00"), 60)


# --- properties over random calendars ----------------------------------------------------------


ZONES = ["Asia/Shanghai", "America/New_York", "Europe/Berlin"]


@st.composite
def day_hours(draw) -> tuple:
    """Zero to three ordered, non-overlapping intervals within one day (minutes)."""
    cuts = sorted(
        draw(st.sets(st.integers(0, 24 * 4), min_size=0, max_size=6).map(sorted)),
    )
    cuts = [c * 15 for c in cuts][: len(cuts) // 2 * 2]
    return tuple(zip(cuts[::2], cuts[1::2], strict=True))


@st.composite
def calendars(draw) -> WorkCalendar:
    hours = draw(st.lists(day_hours(), min_size=7, max_size=7))
    if not any(hours):
        hours[draw(st.integers(0, 6))] = NINE_TO_SIX
    closures = draw(
        st.lists(
            st.tuples(st.dates(date(2025, 1, 1), date(2027, 12, 31)), st.integers(0, 20)),
            max_size=4,
        )
    )
    return WorkCalendar(
        zone=ZoneInfo(draw(st.sampled_from(ZONES))),
        hours=tuple(hours),
        public_holidays=draw(st.booleans()),
        closures=tuple((first, first + timedelta(days=length)) for first, length in closures),
    )


# Near the daylight-saving changes of 2026 in Berlin and New York half of the time: the hours
# a change skips or repeats are where wall-clock arithmetic goes wrong.
DST_CHANGES = [datetime(2026, 3, 29, 1), datetime(2026, 10, 25, 1), datetime(2026, 3, 8, 7)]
DST_CHANGES += [datetime(2026, 11, 1, 6)]
instants = st.one_of(
    st.datetimes(datetime(2025, 1, 1), datetime(2027, 12, 31), timezones=st.just(UTC)),
    st.builds(
        lambda change, offset: (change + timedelta(minutes=offset)).replace(tzinfo=UTC),
        st.sampled_from(DST_CHANGES),
        st.integers(-3 * 24 * 60, 3 * 24 * 60),
    ),
)
minutes = st.integers(0, 20_000)


def add(calendar: WorkCalendar, start: datetime, n: int) -> datetime:
    """working_time_add, leaving out the examples whose calendar cannot reach n working
    minutes within SEARCH_DAYS (a quarter hour a week and long closures): that refusal is
    tested on its own above."""
    try:
        return working_time_add(calendar, start, n)
    except CalendarError:
        reject()


@settings(max_examples=300, deadline=None)
@given(calendar=calendars(), start=instants, n=minutes)
def test_adding_n_working_minutes_leaves_n_minutes_between(calendar, start, n):
    due = add(calendar, start, n)
    assert due >= start
    assert working_minutes_between(calendar, start, due) == n


@settings(max_examples=200, deadline=None)
@given(calendar=calendars(), start=instants, a=minutes, b=minutes)
def test_adding_in_two_steps_is_adding_once(calendar, start, a, b):
    """What a pause does: the minutes left after the first part are added from later on."""
    assert add(calendar, add(calendar, start, a), b) == (add(calendar, start, a + b))


@settings(max_examples=200, deadline=None)
@given(calendar=calendars(), start=instants, n=minutes, gap=st.integers(0, 60 * 24 * 30))
def test_a_pause_delays_the_due_time_by_no_working_minutes(calendar, start, n, gap):
    """Paused at `pause`, resumed `gap` minutes later: the working minutes before the pause and
    after the resume add up to the target."""
    due = add(calendar, start, n)
    pause = start + (due - start) / 2
    used = working_minutes_between(calendar, start, pause)
    resume = pause + timedelta(minutes=gap)
    new_due = add(calendar, resume, n - used)
    assert new_due >= due
    total = used + working_minutes_between(calendar, resume, new_due)
    assert total == n


def test_counting_back_from_a_due_time_skips_the_weekend():
    """What an escalation at 80 % of a target needs: the instant a number of working minutes
    before the due time. Monday 10:00 less two hours is Friday 17:00."""
    assert working_time_before(bank(), at("2026-06-15 10:00"), 120) == at("2026-06-12 17:00")
    assert working_time_before(bank(), at("2026-06-15 10:00"), 0) == at("2026-06-15 10:00")


@settings(max_examples=300, deadline=None)
@given(calendar=calendars(), end=instants, n=minutes)
def test_counting_back_n_working_minutes_leaves_n_minutes_between(calendar, end, n):
    try:
        start = working_time_before(calendar, end, n)
    except CalendarError:
        reject()  # a calendar that has not n working minutes within the search horizon
    assert start <= end
    assert working_minutes_between(calendar, start, end) == n


@settings(max_examples=200, deadline=None)
@given(calendar=calendars(), start=instants, end=instants)
def test_minutes_between_never_exceed_the_wall_clock(calendar, start, end):
    between = working_minutes_between(calendar, start, end)
    assert abs(between) <= abs(end - start).total_seconds() // 60 + 1
    assert between == -working_minutes_between(calendar, end, start)


# --- the parser ------------------------------------------------------------------------------


def test_hours_are_read_as_people_write_them():
    assert hours_parse("09:00-12:00, 13:30 - 18:00") == ((540, 720), (810, 1080))
    assert hours_parse("9:00-12:00，13:00-17:30") == ((540, 720), (780, 1050))
    assert hours_parse("00:00-24:00") == ((0, 1440),)
    assert hours_parse("") == () and hours_parse("休息") == ()


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("9点到6点", "无法识别"),
        ("18:00-09:00", "结束时间应晚于开始时间"),
        ("09:00-12:00, 11:00-18:00", "重叠"),
        ("09:70-12:00", "不是有效的时间"),
        ("09:00-25:00", "不是有效的时间"),
    ],
)
def test_hours_that_do_not_parse_say_why(text, says):
    with pytest.raises(CalendarError, match=says):
        hours_parse(text)


def test_closures_read_days_and_ranges_with_notes():
    assert closures_text_parse("2026-12-24 ~ 2026-12-25 年会\n\n2027-1-4") == [
        ["2026-12-24", "2026-12-25", "年会"],
        ["2027-01-04", "2027-01-04", ""],
    ]


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("圣诞节", "第 1 行"),
        ("2026-02-30", "不是有效日期"),
        ("2026-12-26 ~ 2026-12-24", "结束日期早于开始日期"),
        ("2026-01-01 ~ 2027-06-01", "一段最长"),
        ("1999-12-31", "日期应在"),
    ],
)
def test_closures_that_do_not_parse_say_which_line(text, says):
    with pytest.raises(CalendarError, match=says):
        closures_text_parse(text)


def test_a_calendar_with_no_working_hours_is_refused():
    with pytest.raises(CalendarError, match="至少需要一段工作时间"):
        calendar_document_parse(
            {"hours": [""] * 7, "public_holidays": True, "closures": []},
            time_zone="Asia/Shanghai",
        )
    with pytest.raises(CalendarError, match="未知时区"):
        calendar_document_parse(
            {"hours": ["09:00-18:00"] * 7, "closures": []}, time_zone="Mars/Olympus"
        )
