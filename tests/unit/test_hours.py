"""SPEC Q1/Q4: opening hours of a queue, in its time zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from bannertui.domain.errors import BannerError
from bannertui.domain.hours import (
    ALWAYS_OPEN,
    NEXT_OPENING_HORIZON,
    InvalidOpeningHours,
    InvalidTimeZone,
    OpeningHours,
    check_timezone,
    parse_hours,
)

PARIS = ZoneInfo("Europe/Paris")
NEW_YORK = ZoneInfo("America/New_York")
OFFICE = parse_hours("mon-fri 09:00-18:00")
TICK = timedelta(microseconds=1)


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, us: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, us, tzinfo=UTC)


def paris(
    year: int,
    month: int,
    day: int,
    hour: int = 0,
    minute: int = 0,
    second: int = 0,
    us: int = 0,
    *,
    fold: int = 0,
) -> datetime:
    return datetime(year, month, day, hour, minute, second, us, tzinfo=PARIS, fold=fold)


def instant(at: datetime | None) -> datetime | None:
    """``at`` in UTC: datetimes in a repeated or skipped hour never equal one in another zone."""
    return None if at is None else at.astimezone(UTC)


# --- the errors ------------------------------------------------------------------------


def test_errors_are_named_banner_errors() -> None:
    assert issubclass(InvalidOpeningHours, BannerError)
    assert issubclass(InvalidTimeZone, BannerError)
    assert InvalidOpeningHours.name == "Invalid opening hours"
    assert InvalidTimeZone.name == "Invalid time zone"


# --- check_timezone ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("Europe/Paris", "Europe/Paris"),
        ("  Europe/Paris ", "Europe/Paris"),
        ("europe/paris", "Europe/Paris"),
        ("AMERICA/NEW_YORK", "America/New_York"),
        ("UTC", "UTC"),
        ("Asia/Kolkata", "Asia/Kolkata"),
    ],
)
def test_check_timezone_accepts_iana_names(name: str, key: str) -> None:
    zone = check_timezone(name)
    assert isinstance(zone, ZoneInfo)
    assert zone.key == key


@pytest.mark.parametrize(
    "name",
    [
        "",
        "   ",
        "Europe/Nowhere",
        "Paris",
        "CEST+2",
        "../etc/passwd",
        "/etc/localtime",
        "localtime",
        "posixrules",
        "Europe/Paris\x00",
        "Europe/../Europe/Paris",
    ],
)
def test_check_timezone_refuses_unknown_names(name: str) -> None:
    with pytest.raises(InvalidTimeZone) as caught:
        check_timezone(name)
    assert caught.value.name == "Invalid time zone"
    assert caught.value.detail


def test_check_timezone_detail_names_the_zone() -> None:
    with pytest.raises(InvalidTimeZone, match="Mars/Olympus"):
        check_timezone("Mars/Olympus")


# --- parsing -----------------------------------------------------------------------------


def test_empty_text_is_always_open() -> None:
    for text in ("", "   ", "\n", "always open", "Always Open"):
        hours = parse_hours(text)
        assert hours == ALWAYS_OPEN
        assert hours.always_open
        assert hours.describe() == "always open"
    assert ALWAYS_OPEN.is_open(utc(2025, 1, 5, 3, 0), PARIS)


@pytest.mark.parametrize(
    ("text", "described"),
    [
        ("mon-fri 09:00-18:00", "mon-fri 09:00-18:00; sat,sun closed"),
        ("MON-FRI 9:00-18:00", "mon-fri 09:00-18:00; sat,sun closed"),
        ("Monday - Friday 09:00 - 18:00", "mon-fri 09:00-18:00; sat,sun closed"),
        ("monday 08:00-12:00, 14:00-18:00", "mon 08:00-12:00,14:00-18:00; tue-sun closed"),
        ("mon,wed,fri 10:00-11:00", "mon,wed,fri 10:00-11:00; tue,thu,sat,sun closed"),
        ("fri-mon 10:00-11:00", "fri-mon 10:00-11:00; tue-thu closed"),
        ("sun-mon 10:00-11:00", "sun,mon 10:00-11:00; tue-sat closed"),
        ("mon-sun 00:00-24:00", "always open"),
        ("mon-sun closed", "mon-sun closed"),
        ("fri 22:00-02:00", "fri 22:00-02:00; mon-thu,sat,sun closed"),
        ("fri 22:00-00:00", "fri 22:00-24:00; mon-thu,sat,sun closed"),
        ("sat 00:00-24:00", "sat 00:00-24:00; mon-fri,sun closed"),
        # overlapping and touching ranges are merged
        ("mon 09:00-12:00,11:00-14:00", "mon 09:00-14:00; tue-sun closed"),
        ("mon 09:00-12:00,12:00-14:00", "mon 09:00-14:00; tue-sun closed"),
        ("mon 14:00-18:00,09:00-12:00", "mon 09:00-12:00,14:00-18:00; tue-sun closed"),
        ("mon 22:00-02:00,23:00-03:00", "mon 22:00-03:00; tue-sun closed"),
        ("mon 09:00-18:00,10:00-11:00", "mon 09:00-18:00; tue-sun closed"),
        # entries for the same day add up; closed empties the day
        ("mon-fri 09:00-12:00; mon 14:00-16:00",
         "mon 09:00-12:00,14:00-16:00; tue-fri 09:00-12:00; sat,sun closed"),
        ("mon-fri 09:00-18:00; wed closed", "mon,tue,thu,fri 09:00-18:00; wed,sat,sun closed"),
        ("mon-fri 09:00-18:00; wed closed; wed 10:00-12:00",
         "mon,tue,thu,fri 09:00-18:00; wed 10:00-12:00; sat,sun closed"),
        # separators: ; and new lines, blank entries ignored
        ("mon 09:00-10:00\ntue 09:00-10:00;;\n\n", "mon,tue 09:00-10:00; wed-sun closed"),
        ("mon 09:00-10:00\r\ntue 11:00-12:00", "mon 09:00-10:00; tue 11:00-12:00; wed-sun closed"),
        # holidays
        ("mon-fri 09:00-18:00; 2025-12-25 closed",
         "mon-fri 09:00-18:00; sat,sun closed; 2025-12-25 closed"),
        ("2025-12-25 closed", "mon-sun 00:00-24:00; 2025-12-25 closed"),
        (
            "mon-fri 09:00-18:00; 2026-01-01 closed; 2025-12-24 09:00-12:00; 2025-12-25 closed",
            "mon-fri 09:00-18:00; sat,sun closed; 2025-12-24 09:00-12:00; "
            "2025-12-25,2026-01-01 closed",
        ),
        ("mon 09:00-10:00; 2025-12-24,2025-12-31 closed",
         "mon 09:00-10:00; tue-sun closed; 2025-12-24,2025-12-31 closed"),
    ],
)  # fmt: skip
def test_parse_and_describe(text: str, described: str) -> None:
    hours = parse_hours(text)
    assert hours.describe() == described
    assert str(hours) == described
    assert parse_hours(described) == hours


def test_normalised_structure() -> None:
    hours = parse_hours("mon 14:00-18:00,09:00-12:00; fri 22:00-02:00; 2025-12-25 closed")
    assert hours.week[0] == ((540, 720), (840, 1080))
    assert hours.week[4] == ((1320, 1560),)
    assert hours.week[1] == ()
    assert hours.holidays == ((date(2025, 12, 25), ()),)


def test_a_full_day_and_a_night_that_cannot_be_one_range_stay_apart() -> None:
    hours = parse_hours("fri 00:00-24:00,22:00-02:00")
    assert hours.week[4] == ((0, 1440), (1320, 1560))
    assert parse_hours(hours.describe()) == hours
    assert hours.is_open(paris(2025, 1, 4, 1, 59), PARIS)  # Saturday
    assert not hours.is_open(paris(2025, 1, 4, 2, 0), PARIS)


def test_opening_hours_are_hashable_values() -> None:
    assert parse_hours("mon-fri 09:00-18:00") == parse_hours("monday-friday 9:00-18:00")
    assert hash(parse_hours("mon 09:00-10:00")) == hash(parse_hours("mon 09:00-10:00"))
    assert parse_hours("mon 09:00-10:00") != parse_hours("mon 09:00-11:00")
    with pytest.raises(AttributeError):
        OFFICE.week = ()  # type: ignore[misc]


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("mon-fry 09:00-18:00", "unknown day 'fry'"),
        ("lundi 09:00-18:00", "unknown day 'lundi'"),
        ("mon,,fri 09:00-18:00", "empty day"),
        ("mon-fri", "expected days then hours"),
        ("09:00-18:00", "expected days then hours"),
        ("mon fri 09:00-18:00", "expected days then hours"),
        ("mon-fri 09:00-18:00 14:00-15:00", "expected days then hours"),
        ("mon 25:00-26:00", "bad time 25:00"),
        ("mon 09:60-10:00", "bad time 09:60"),
        ("mon 09:00-24:30", "bad time 24:30"),
        ("mon 24:00-02:00", "24:00 can only end a range"),
        ("mon 09:00-09:00", "empty range 09:00-09:00"),
        ("mon 00:00-00:00", "empty range"),
        ("mon 9-17", "bad time range '9-17'"),
        ("mon 0900-1700", "bad time range"),
        ("mon 09:00", "bad time range '09:00'"),
        ("mon 09:00-", "bad time range"),
        ("mon 09:00-18:00,", "bad time range ''"),
        ("mon 09:00-12:00,closed", "'closed' cannot be mixed"),
        ("mon open", "bad time range 'open'"),
        ("mon ٠٩:٠٠-١٠:٠٠", "bad time range"),
        ("2025-02-30 closed", "invalid date '2025-02-30'"),
        ("2025-13-01 closed", "invalid date"),
        ("25-12-2025 closed", "unknown day"),
    ],
)
def test_invalid_entries_are_named(text: str, why: str) -> None:
    with pytest.raises(InvalidOpeningHours) as caught:
        parse_hours(text)
    error = caught.value
    assert error.name == "Invalid opening hours"
    assert error.detail is not None
    assert why in error.detail
    assert error.message.startswith("Invalid opening hours: ")


def test_the_detail_names_the_bad_entry_among_good_ones() -> None:
    with pytest.raises(InvalidOpeningHours) as caught:
        parse_hours("mon-fri 09:00-18:00; sat 10:00-25:00; sun closed")
    assert caught.value.detail == "'sat 10:00-25:00': bad time 25:00 (00:00 to 24:00)"


def test_a_very_long_entry_is_shortened_in_the_detail() -> None:
    with pytest.raises(InvalidOpeningHours) as caught:
        parse_hours("x" * 500 + " 09:00-10:00")
    assert caught.value.detail is not None
    assert len(caught.value.detail) < 200


# --- is_open: the time-zone boundary ------------------------------------------------------


def test_paris_office_in_winter() -> None:
    # Wednesday 2025-01-15: Paris is UTC+1.
    assert not OFFICE.is_open(utc(2025, 1, 15, 7, 59), PARIS)
    assert not OFFICE.is_open(utc(2025, 1, 15, 7, 59, 59, 999999), PARIS)
    assert OFFICE.is_open(utc(2025, 1, 15, 8, 0), PARIS)
    assert OFFICE.is_open(utc(2025, 1, 15, 16, 59), PARIS)
    assert not OFFICE.is_open(utc(2025, 1, 15, 17, 0), PARIS)


def test_paris_office_in_summer() -> None:
    # Wednesday 2025-07-16: Paris is UTC+2.
    assert not OFFICE.is_open(utc(2025, 7, 16, 6, 59), PARIS)
    assert OFFICE.is_open(utc(2025, 7, 16, 7, 0), PARIS)
    assert OFFICE.is_open(utc(2025, 7, 16, 15, 59), PARIS)
    assert not OFFICE.is_open(utc(2025, 7, 16, 16, 0), PARIS)


def test_the_instant_matters_not_the_zone_it_is_written_in() -> None:
    instant = utc(2025, 1, 15, 8, 30)
    for zone in ("Asia/Tokyo", "America/Los_Angeles", "Pacific/Kiritimati"):
        assert OFFICE.is_open(instant.astimezone(ZoneInfo(zone)), PARIS)
    assert OFFICE.is_open(instant.astimezone(timezone(timedelta(hours=-5))), PARIS)
    # The same instant is 03:30 in New York: closed there.
    assert not OFFICE.is_open(instant, NEW_YORK)


def test_the_local_date_decides_the_weekday() -> None:
    friday_night = parse_hours("fri 00:00-24:00")
    # Friday 23:30 in Paris is Friday 22:30 UTC ...
    assert friday_night.is_open(utc(2025, 1, 17, 22, 30), PARIS)
    # ... and Saturday 00:30 in Paris is still Friday 23:30 UTC.
    assert not friday_night.is_open(utc(2025, 1, 17, 23, 30), PARIS)
    # In Tokyo, Friday 01:00 UTC is already Friday 10:00; Thursday 16:00 UTC is Friday 01:00.
    tokyo = ZoneInfo("Asia/Tokyo")
    assert friday_night.is_open(utc(2025, 1, 16, 16, 0), tokyo)
    assert not friday_night.is_open(utc(2025, 1, 16, 14, 59), tokyo)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        OFFICE.is_open(datetime(2025, 1, 15, 9, 0), PARIS)
    with pytest.raises(ValueError, match="aware"):
        OFFICE.next_opening(datetime(2025, 1, 15, 9, 0), PARIS)
    with pytest.raises(ValueError, match="aware"):
        ALWAYS_OPEN.is_open(datetime(2025, 1, 15, 9, 0), PARIS)


# --- is_open: past midnight -----------------------------------------------------------------


def test_a_range_past_midnight_runs_into_the_next_day() -> None:
    night = parse_hours("fri 22:00-02:00")
    assert not night.is_open(paris(2025, 1, 17, 21, 59), PARIS)  # Friday
    assert night.is_open(paris(2025, 1, 17, 22, 0), PARIS)
    assert night.is_open(paris(2025, 1, 17, 23, 59), PARIS)
    assert night.is_open(paris(2025, 1, 18, 0, 0), PARIS)  # Saturday
    assert night.is_open(paris(2025, 1, 18, 1, 0), PARIS)
    assert night.is_open(paris(2025, 1, 18, 1, 59, 59), PARIS)
    assert not night.is_open(paris(2025, 1, 18, 2, 0), PARIS)
    assert not night.is_open(paris(2025, 1, 18, 22, 30), PARIS)  # Saturday night
    assert not night.is_open(paris(2025, 1, 17, 1, 0), PARIS)  # Friday early morning


def test_a_night_range_on_sunday_runs_into_monday() -> None:
    night = parse_hours("sun 23:00-01:00")
    assert night.is_open(paris(2025, 1, 20, 0, 30), PARIS)  # Monday
    assert not night.is_open(paris(2025, 1, 20, 1, 0), PARIS)


def test_closing_the_next_day_does_not_cut_the_night_short() -> None:
    hours = parse_hours("fri 22:00-02:00; sat closed")
    assert hours.is_open(paris(2025, 1, 18, 1, 0), PARIS)
    assert not hours.is_open(paris(2025, 1, 18, 10, 0), PARIS)


def test_end_at_24_00() -> None:
    hours = parse_hours("mon 20:00-24:00")
    assert hours.is_open(paris(2025, 1, 13, 23, 59, 59), PARIS)
    assert not hours.is_open(paris(2025, 1, 14, 0, 0), PARIS)


# --- is_open: holidays -----------------------------------------------------------------------


def test_a_closed_holiday_overrides_the_weekday() -> None:
    hours = parse_hours("mon-fri 09:00-18:00; 2025-12-25 closed")
    assert not hours.is_open(paris(2025, 12, 25, 10, 0), PARIS)  # Thursday
    assert hours.is_open(paris(2025, 12, 26, 10, 0), PARIS)
    assert hours.is_open(paris(2025, 12, 24, 10, 0), PARIS)


def test_a_holiday_with_its_own_hours() -> None:
    hours = parse_hours("mon-fri 09:00-18:00; 2025-12-24 09:00-12:00; 2025-12-27 10:00-11:00")
    assert hours.is_open(paris(2025, 12, 24, 11, 59), PARIS)
    assert not hours.is_open(paris(2025, 12, 24, 12, 0), PARIS)
    assert hours.is_open(paris(2025, 12, 27, 10, 30), PARIS)  # a Saturday, opened
    assert not hours.is_open(paris(2025, 12, 28, 10, 30), PARIS)


def test_holiday_entries_add_up_and_closed_empties_them() -> None:
    hours = parse_hours("2025-12-24 09:00-10:00; 2025-12-24 11:00-12:00")
    assert hours.holidays == ((date(2025, 12, 24), ((540, 600), (660, 720))),)
    closed = parse_hours("2025-12-24 09:00-10:00; 2025-12-24 closed")
    assert closed.holidays == ((date(2025, 12, 24), ()),)


def test_only_holidays_means_open_every_other_day() -> None:
    hours = parse_hours("2025-12-25 closed")
    assert hours.is_open(paris(2025, 12, 24, 3, 0), PARIS)
    assert not hours.is_open(paris(2025, 12, 25, 12, 0), PARIS)
    assert hours.is_open(paris(2025, 12, 26, 0, 0), PARIS)


def test_a_holiday_night_runs_into_the_next_day() -> None:
    hours = parse_hours("mon-fri 09:00-18:00; 2025-12-31 20:00-02:00; 2026-01-01 closed")
    assert hours.is_open(paris(2026, 1, 1, 1, 30), PARIS)
    assert not hours.is_open(paris(2026, 1, 1, 10, 0), PARIS)


def test_the_night_before_a_closed_holiday_still_ends_as_planned() -> None:
    hours = parse_hours("wed 22:00-02:00; 2025-12-25 closed")
    assert hours.is_open(paris(2025, 12, 25, 1, 0), PARIS)  # Wednesday 24th's night


# --- is_open: daylight-saving days ---------------------------------------------------------------

# Paris springs forward on Sunday 2025-03-30 (02:00 CET -> 03:00 CEST, at 01:00 UTC)
# and falls back on Sunday 2025-10-26 (03:00 CEST -> 02:00 CET, at 01:00 UTC).


def test_sunday_office_on_the_spring_forward_day() -> None:
    sunday = parse_hours("sun 09:00-18:00")
    assert not sunday.is_open(utc(2025, 3, 30, 6, 59), PARIS)
    assert sunday.is_open(utc(2025, 3, 30, 7, 0), PARIS)  # 09:00 CEST
    assert sunday.is_open(utc(2025, 3, 30, 15, 59), PARIS)
    assert not sunday.is_open(utc(2025, 3, 30, 16, 0), PARIS)


def test_sunday_office_on_the_fall_back_day() -> None:
    sunday = parse_hours("sun 09:00-18:00")
    assert not sunday.is_open(utc(2025, 10, 26, 7, 59), PARIS)
    assert sunday.is_open(utc(2025, 10, 26, 8, 0), PARIS)  # 09:00 CET
    assert not sunday.is_open(utc(2025, 10, 26, 17, 0), PARIS)


def test_a_whole_day_lasts_23_or_25_hours() -> None:
    sunday = parse_hours("sun 00:00-24:00")
    # Spring: 2025-03-29 23:00 UTC to 2025-03-30 22:00 UTC.
    assert not sunday.is_open(utc(2025, 3, 29, 22, 59), PARIS)
    assert sunday.is_open(utc(2025, 3, 29, 23, 0), PARIS)
    assert sunday.is_open(utc(2025, 3, 30, 1, 0), PARIS)  # the jump itself
    assert sunday.is_open(utc(2025, 3, 30, 21, 59), PARIS)
    assert not sunday.is_open(utc(2025, 3, 30, 22, 0), PARIS)
    # Autumn: 2025-10-25 22:00 UTC to 2025-10-26 23:00 UTC.
    assert not sunday.is_open(utc(2025, 10, 25, 21, 59), PARIS)
    assert sunday.is_open(utc(2025, 10, 25, 22, 0), PARIS)
    assert sunday.is_open(utc(2025, 10, 26, 22, 59), PARIS)
    assert not sunday.is_open(utc(2025, 10, 26, 23, 0), PARIS)


def test_the_skipped_hour_never_shows() -> None:
    skipped = parse_hours("sun 02:00-03:00")
    for minute in range(0, 24 * 60, 5):
        instant = utc(2025, 3, 29, 20, 0) + timedelta(minutes=minute)
        assert not skipped.is_open(instant, PARIS), instant
    assert skipped.next_opening(utc(2025, 3, 29, 12, 0), PARIS) == paris(2025, 4, 6, 2, 0)


def test_a_range_over_the_jump_is_an_hour_shorter() -> None:
    night = parse_hours("sun 01:00-04:00")
    assert not night.is_open(utc(2025, 3, 29, 23, 59), PARIS)  # 00:59 CET
    assert night.is_open(utc(2025, 3, 30, 0, 0), PARIS)  # 01:00 CET
    assert night.is_open(utc(2025, 3, 30, 0, 59), PARIS)  # 01:59 CET
    assert night.is_open(utc(2025, 3, 30, 1, 0), PARIS)  # 03:00 CEST
    assert night.is_open(utc(2025, 3, 30, 1, 59), PARIS)  # 03:59 CEST
    assert not night.is_open(utc(2025, 3, 30, 2, 0), PARIS)  # 04:00 CEST


def test_the_repeated_hour_is_open_both_times() -> None:
    repeated = parse_hours("sun 02:00-03:00")
    assert not repeated.is_open(utc(2025, 10, 25, 23, 59), PARIS)  # 01:59 CEST
    assert repeated.is_open(utc(2025, 10, 26, 0, 0), PARIS)  # 02:00 CEST
    assert repeated.is_open(utc(2025, 10, 26, 0, 59), PARIS)  # 02:59 CEST
    assert repeated.is_open(utc(2025, 10, 26, 1, 0), PARIS)  # 02:00 CET
    assert repeated.is_open(utc(2025, 10, 26, 1, 59), PARIS)  # 02:59 CET
    assert not repeated.is_open(utc(2025, 10, 26, 2, 0), PARIS)  # 03:00 CET
    assert repeated.is_open(paris(2025, 10, 26, 2, 30, fold=0), PARIS)
    assert repeated.is_open(paris(2025, 10, 26, 2, 30, fold=1), PARIS)


def test_a_night_across_the_spring_jump() -> None:
    night = parse_hours("sat 22:00-06:00")
    start, end = utc(2025, 3, 29, 21, 0), utc(2025, 3, 30, 4, 0)  # 22:00 CET, 06:00 CEST
    assert not night.is_open(start - TICK, PARIS)
    instant = start
    while instant < end:
        assert night.is_open(instant, PARIS), instant
        instant += timedelta(minutes=7)
    assert not night.is_open(end, PARIS)


def test_new_york_changes_on_other_days() -> None:
    office = parse_hours("mon-fri 09:00-17:00")
    # 2025-03-10 (Monday): New York is already on EDT (UTC-4), Paris still on CET.
    assert office.is_open(utc(2025, 3, 10, 13, 0), NEW_YORK)
    assert not office.is_open(utc(2025, 3, 10, 12, 59), NEW_YORK)
    # 2025-03-07 (Friday): EST (UTC-5).
    assert not office.is_open(utc(2025, 3, 7, 13, 59), NEW_YORK)
    assert office.is_open(utc(2025, 3, 7, 14, 0), NEW_YORK)


def test_the_edges_of_datetimes_range() -> None:
    hours = parse_hours("mon-fri 09:00-18:00; 2025-12-25 closed")
    for at in (
        datetime.min.replace(tzinfo=UTC),
        datetime.max.replace(tzinfo=UTC),
        datetime.min.replace(tzinfo=ZoneInfo("Pacific/Kiritimati")),
        datetime.max.replace(tzinfo=ZoneInfo("Pacific/Pago_Pago")),
        datetime.min.replace(tzinfo=timezone(timedelta(hours=23, minutes=59))),
        datetime.max.replace(tzinfo=timezone(-timedelta(hours=23, minutes=59))),
    ):
        for zone in (PARIS, ZoneInfo("Pacific/Kiritimati"), ZoneInfo("Pacific/Pago_Pago")):
            assert isinstance(hours.is_open(at, zone), bool)
            result = hours.next_opening(at, zone)
            assert result is None or hours.is_open(result, zone)


def test_year_one_is_a_monday() -> None:
    monday = parse_hours("mon 00:00-24:00")
    assert monday.is_open(datetime(1, 1, 1, 12, tzinfo=UTC), ZoneInfo("UTC"))
    # 0001-01-01 00:30 at UTC+1 is still 31 December of year 0 (a Sunday) in UTC.
    at = datetime(1, 1, 1, 0, 30, tzinfo=timezone(timedelta(hours=1)))
    assert not monday.is_open(at, ZoneInfo("UTC"))
    assert monday.is_open(at, ZoneInfo("Etc/GMT-1"))


# --- next_opening ----------------------------------------------------------------------


def test_next_opening_across_a_weekend() -> None:
    # Friday 2025-01-17 18:30 Paris -> Monday 2025-01-20 09:00 Paris.
    result = OFFICE.next_opening(paris(2025, 1, 17, 18, 30), PARIS)
    assert result == paris(2025, 1, 20, 9, 0)
    assert result is not None
    assert result.tzinfo is PARIS
    assert result.isoformat() == "2025-01-20T09:00:00+01:00"
    # Saturday, given in UTC.
    assert OFFICE.next_opening(utc(2025, 1, 18, 12, 0), PARIS) == utc(2025, 1, 20, 8, 0)


def test_next_opening_later_the_same_day_and_the_next_morning() -> None:
    split = parse_hours("mon-fri 08:00-12:00,14:00-18:00")
    assert split.next_opening(paris(2025, 1, 15, 12, 0), PARIS) == paris(2025, 1, 15, 14, 0)
    assert split.next_opening(paris(2025, 1, 15, 6, 0), PARIS) == paris(2025, 1, 15, 8, 0)
    assert split.next_opening(paris(2025, 1, 15, 18, 0), PARIS) == paris(2025, 1, 16, 8, 0)
    assert split.next_opening(paris(2025, 1, 15, 7, 59, 59, 999999), PARIS) == paris(
        2025, 1, 15, 8, 0
    )


def test_next_opening_when_open_is_now() -> None:
    at = utc(2025, 1, 15, 9, 30)
    assert OFFICE.next_opening(at, PARIS) == at
    assert ALWAYS_OPEN.next_opening(at, PARIS) == at
    result = OFFICE.next_opening(at, PARIS)
    assert result is not None
    assert result.tzinfo is PARIS


def test_next_opening_skips_holidays() -> None:
    hours = parse_hours("mon-fri 09:00-18:00; 2025-12-25 closed; 2025-12-26 closed")
    # Wednesday 24th, evening -> Monday 29th.
    assert hours.next_opening(paris(2025, 12, 24, 19, 0), PARIS) == paris(2025, 12, 29, 9, 0)


def test_next_opening_on_a_holiday_with_hours() -> None:
    hours = parse_hours("mon-fri 09:00-18:00; 2025-12-27 10:00-12:00")
    assert hours.next_opening(paris(2025, 12, 26, 19, 0), PARIS) == paris(2025, 12, 27, 10, 0)


def test_next_opening_of_a_night() -> None:
    night = parse_hours("fri 22:00-02:00")
    assert night.next_opening(paris(2025, 1, 18, 2, 0), PARIS) == paris(2025, 1, 24, 22, 0)


def test_next_opening_across_the_spring_jump() -> None:
    # Sunday 02:30 does not exist on 2025-03-30: the queue opens when the clock jumps.
    hours = parse_hours("sun 02:30-05:00")
    result = hours.next_opening(paris(2025, 3, 29, 20, 0), PARIS)
    assert instant(result) == utc(2025, 3, 30, 1, 0)
    assert result is not None
    assert result.isoformat() == "2025-03-30T03:00:00+02:00"
    assert not hours.is_open(utc(2025, 3, 30, 1, 0) - TICK, PARIS)


def test_next_opening_on_the_fall_back_day() -> None:
    hours = parse_hours("sun 02:30-05:00")
    # First 02:30 (CEST).
    first = hours.next_opening(paris(2025, 10, 26, 1, 0), PARIS)
    assert instant(first) == utc(2025, 10, 26, 0, 30)
    assert first is not None
    assert first.fold == 0
    # From 02:00 CET (after the clocks went back), it opens again at 02:30 CET.
    second = hours.next_opening(utc(2025, 10, 26, 1, 0), PARIS)
    assert instant(second) == utc(2025, 10, 26, 1, 30)
    assert second is not None
    assert second.fold == 1
    assert second.isoformat() == "2025-10-26T02:30:00+01:00"
    # The repeated hour opens when the clocks go back.
    repeated = parse_hours("sun 02:00-02:30")
    at = utc(2025, 10, 26, 0, 40)  # 02:40 CEST
    assert instant(repeated.next_opening(at, PARIS)) == utc(2025, 10, 26, 1, 0)


def test_next_opening_within_the_horizon_only() -> None:
    hours = parse_hours(
        "; ".join(f"2025-07-{day:02d} closed" for day in range(1, 32)) + "; mon-sun 09:00-10:00"
    )
    assert hours.next_opening(paris(2025, 7, 1, 0, 0), PARIS) is None
    assert hours.next_opening(paris(2025, 7, 20, 0, 0), PARIS) == paris(2025, 8, 1, 9, 0)
    assert parse_hours("mon-sun closed").next_opening(utc(2025, 1, 1), PARIS) is None
    assert timedelta(days=14) == NEXT_OPENING_HORIZON


def test_next_opening_exactly_at_the_horizon() -> None:
    hours = parse_hours("mon 09:00-10:00; 2025-01-13 closed; 2025-01-20 closed")
    at = paris(2025, 1, 13, 9, 0)  # closed; Monday 27th at 09:00 is 14 days later
    assert hours.next_opening(at, PARIS) == paris(2025, 1, 27, 9, 0)
    assert hours.next_opening(at - TICK, PARIS) is None
    assert hours.next_opening(at + TICK, PARIS) == paris(2025, 1, 27, 9, 0)


# --- properties ----------------------------------------------------------------------

ZONES = st.sampled_from(
    [
        "UTC",
        "Europe/Paris",
        "America/New_York",
        "Australia/Lord_Howe",  # half-hour DST
        "Pacific/Chatham",
        "America/Santiago",  # changes at midnight
        "Asia/Kolkata",
        "Pacific/Kiritimati",
        "Pacific/Pago_Pago",
        "Antarctica/Troll",  # two-hour DST
    ]
).map(ZoneInfo)

AWARE = st.datetimes(timezones=st.timezones())
RECENT = st.datetimes(
    min_value=datetime(1990, 1, 1), max_value=datetime(2040, 1, 1), timezones=ZONES
)


@st.composite
def clock(draw: st.DrawFn) -> str:
    hour = draw(st.integers(0, 23))
    minute = draw(st.sampled_from([0, 0, 15, 30, 45, draw(st.integers(0, 59))]))
    return f"{hour:02d}:{minute:02d}"


@st.composite
def hours_texts(draw: st.DrawFn) -> str:
    entries: list[str] = []
    days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun", "mon-fri", "fri-mon", "sat,sun"]
    for _ in range(draw(st.integers(1, 5))):
        if draw(st.integers(0, 5)) == 0:
            day = f"2025-{draw(st.integers(1, 12)):02d}-{draw(st.integers(1, 28)):02d}"
        else:
            day = draw(st.sampled_from(days))
        if draw(st.integers(0, 6)) == 0:
            entries.append(f"{day} closed")
            continue
        ranges = []
        for _ in range(draw(st.integers(1, 3))):
            start, end = draw(clock()), draw(clock())
            assume(start != end)
            ranges.append(f"{start}-{end}")
        entries.append(f"{day} {','.join(ranges)}")
    return "; ".join(entries)


@given(text=hours_texts())
def test_describe_reads_back_to_the_same_hours(text: str) -> None:
    hours = parse_hours(text)
    described = hours.describe()
    assert parse_hours(described) == hours
    assert parse_hours(described).describe() == described


@given(text=hours_texts(), at=AWARE, zone=ZONES)
@example(text="mon 09:00-10:00", at=datetime.max.replace(tzinfo=UTC), zone=PARIS)
@example(text="mon 09:00-10:00", at=datetime.min.replace(tzinfo=UTC), zone=PARIS)
@settings(max_examples=300)
def test_is_open_never_raises_on_an_aware_datetime(text: str, at: datetime, zone: ZoneInfo) -> None:
    assert isinstance(parse_hours(text).is_open(at, zone), bool)


@given(text=hours_texts(), at=RECENT, zone=ZONES)
@settings(max_examples=300, deadline=None)
def test_next_opening_is_open_and_the_instant_before_is_closed(
    text: str, at: datetime, zone: ZoneInfo
) -> None:
    hours = parse_hours(text)
    result = hours.next_opening(at, zone)
    # Arithmetic and comparisons in UTC: in a shared tzinfo they follow the wall clock.
    start = at.astimezone(UTC)
    if result is None:
        # Closed all the way through the horizon (sampled every 10 minutes).
        step = timedelta(minutes=10)
        moment = start
        while moment <= start + NEXT_OPENING_HORIZON:
            assert not hours.is_open(moment, zone), moment
            moment += step
        return
    assert result.tzinfo is zone
    opening = result.astimezone(UTC)
    assert start <= opening <= start + NEXT_OPENING_HORIZON
    assert hours.is_open(result, zone)
    assert hours.is_open(opening, zone)
    if opening != start:
        assert not hours.is_open(at, zone)
        assert not hours.is_open(opening - TICK, zone)
        # ... and nothing opened in between (sampled).
        gap = opening - start
        for part in range(1, 20):
            assert not hours.is_open(start + gap * part / 20, zone)


@given(at=AWARE, zone=ZONES)
@example(at=datetime.max.replace(tzinfo=ZoneInfo("Pacific/Kiritimati")), zone=PARIS)
@example(at=datetime.min.replace(tzinfo=ZoneInfo("Pacific/Kiritimati")), zone=PARIS)
@example(at=datetime.max.replace(tzinfo=ZoneInfo("Pacific/Pago_Pago")), zone=PARIS)
@example(at=datetime.min.replace(tzinfo=ZoneInfo("Pacific/Pago_Pago")), zone=PARIS)
@settings(max_examples=100, deadline=None)
def test_next_opening_never_raises_on_an_aware_datetime(at: datetime, zone: ZoneInfo) -> None:
    hours = parse_hours("mon-fri 09:00-18:00; sun 22:00-02:00")
    result = hours.next_opening(at, zone)
    if result is not None:
        assert result - at >= timedelta(0) or result.tzinfo is at.tzinfo
        assert hours.is_open(result, zone)


@given(at=AWARE, zone=ZONES)
def test_always_open_is_open(at: datetime, zone: ZoneInfo) -> None:
    assert ALWAYS_OPEN.is_open(at, zone)
    assert parse_hours("mon-sun 00:00-24:00").is_open(at, zone)
    assert not parse_hours("mon-sun closed").is_open(at, zone)


@given(at=RECENT, zone=ZONES)
def test_a_week_of_whole_days_is_open_on_its_days_only(at: datetime, zone: ZoneInfo) -> None:
    weekday = at.astimezone(UTC).astimezone(zone).weekday()  # through UTC: at may be imaginary
    names = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    assert parse_hours(f"{names[weekday]} 00:00-24:00").is_open(at, zone)
    other = names[(weekday + 3) % 7]
    assert not parse_hours(f"{other} 00:00-24:00").is_open(at, zone)


def test_opening_hours_built_directly_need_seven_days() -> None:
    with pytest.raises(ValueError, match="weekday"):
        OpeningHours(week=((),) * 6)
