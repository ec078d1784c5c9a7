"""Opening hours of a queue (SPEC Q1, Q4), read in the queue's time zone.

The text an administrator types::

    mon-fri 08:00-12:00,14:00-18:00; sat 09:00-12:00
    fri 22:00-02:00
    2025-12-25 closed
    2025-12-24 09:00-12:00

* ``""`` (or ``always open``) means always open.
* Entries are separated by ``;`` or new lines; each is ``DAYS RANGES``.
* ``DAYS``: a day (``mon`` … ``sun`` or ``monday`` … ``sunday``, any case), a range of
  days (``mon-fri``; it may wrap: ``fri-mon``), a date ``YYYY-MM-DD`` (a holiday), or a
  comma list of these (``mon,wed,fri``).
* ``RANGES``: ``HH:MM-HH:MM`` ranges separated by commas, or ``closed``.  ``24:00`` may
  end a range.  An end before its start runs past midnight into the next day
  (``22:00-02:00``); a range may not be empty (``09:00-09:00``).  Overlapping and
  touching ranges are merged.
* Entries for the same day add up; ``closed`` empties the day (later entries may add
  to it again).  Days that no entry names are closed, unless the text names no weekday
  at all (only holidays): then every weekday is open all day.
* A date's entries replace the weekday rule for that date.  A range past midnight
  belongs to the day it starts on: ``fri 22:00-02:00`` keeps the queue open until 02:00
  on Saturday even when Saturday is ``closed`` or a closed holiday.

Hours are wall-clock hours: the queue is open when the clock of its time zone shows a
time within them.  On the spring-forward day the skipped hour never shows; on the
fall-back day the repeated hour shows twice, so a range covering it is open both times.
This module is pure (no I/O besides the time-zone data that :mod:`zoneinfo` reads).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from bannertui.domain.errors import BannerError

__all__ = [
    "ALWAYS_OPEN",
    "NEXT_OPENING_HORIZON",
    "InvalidOpeningHours",
    "InvalidTimeZone",
    "OpeningHours",
    "check_timezone",
    "parse_hours",
]


class InvalidOpeningHours(BannerError):
    """Opening hours that cannot be read; the detail names the entry and why."""

    name = "Invalid opening hours"


class InvalidTimeZone(BannerError):
    """A time-zone name that is not an IANA name known to this machine."""

    name = "Invalid time zone"


Range = tuple[int, int]
"""``(start, end)`` in minutes after the day's midnight; ``0 <= start < 1440`` and
``start < end``.  ``end > 1440`` runs past midnight into the next day."""

DAY_MINUTES = 24 * 60
NEXT_OPENING_HORIZON = timedelta(days=14)
"""How far :meth:`OpeningHours.next_opening` looks ahead."""

_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_FULL_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_DAY_INDEX = {name: i for names in (_DAYS, _FULL_DAYS) for i, name in enumerate(names)}
_FULL_DAY: tuple[Range, ...] = ((0, DAY_MINUTES),)

_ENTRY_SPLIT = re.compile(r"[;\n]")
_AROUND_SEPARATORS = re.compile(r"\s*([,\-])\s*")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_RANGE = re.compile(r"([0-9]{1,2}):([0-9]{2})-([0-9]{1,2}):([0-9]{2})")
_SHOWN_ENTRY_MAX = 60

# 400 Gregorian years: same calendar, same weekdays; time-zone rules either do not
# change that far from now or repeat every year.  Used to read instants whose local
# time is beyond datetime's range (year 1 or 9999).
_CYCLE = timedelta(days=146_097)


# --- Time zones -------------------------------------------------------------------


@lru_cache(maxsize=1)
def _zone_keys() -> dict[str, str]:
    """Known IANA keys by their lower-case spelling (``europe/paris`` -> ``Europe/Paris``)."""
    excluded = {"localtime", "posixrules", "factory"}
    return {key.lower(): key for key in available_timezones() if key.lower() not in excluded}


def check_timezone(name: str) -> ZoneInfo:
    """The zone named ``name`` (an IANA name, any case), or :class:`InvalidTimeZone`."""
    key = name.strip()
    if not key:
        raise InvalidTimeZone("no time zone given")
    keys = _zone_keys()
    canonical = keys.get(key.lower()) if keys else key
    if canonical is None:
        raise InvalidTimeZone(f"unknown time zone {_show(key)} (e.g. 'Europe/Paris', 'UTC')")
    try:
        return ZoneInfo(canonical)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise InvalidTimeZone(f"unknown time zone {_show(key)}") from exc


# --- The rule ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OpeningHours:
    """Normalised opening hours: one rule per weekday and the dates that override it.

    ``week[0]`` is Monday.  Each rule is a sorted tuple of merged :data:`Range`.
    ``holidays`` holds ``(date, ranges)`` pairs sorted by date; an empty ``ranges``
    closes the date.  Build it with :func:`parse_hours`.
    """

    week: tuple[tuple[Range, ...], ...] = (_FULL_DAY,) * 7
    holidays: tuple[tuple[date, tuple[Range, ...]], ...] = ()
    _by_date: dict[int, tuple[Range, ...]] = field(
        init=False, repr=False, compare=False, hash=False
    )

    def __post_init__(self) -> None:
        if len(self.week) != 7:
            raise ValueError("week needs one rule per weekday")
        by_date = {day.toordinal(): ranges for day, ranges in self.holidays}
        object.__setattr__(self, "_by_date", by_date)

    # -- queries -------------------------------------------------------------------

    @property
    def always_open(self) -> bool:
        """True when every weekday is open all day and no date overrides it."""
        return not self.holidays and all(rule == _FULL_DAY for rule in self.week)

    def ranges_on(self, ordinal: int) -> tuple[Range, ...]:
        """The ranges that start on the day ``date.fromordinal(ordinal)`` (holiday first)."""
        holiday = self._by_date.get(ordinal)
        if holiday is not None:
            return holiday
        return self.week[(ordinal - 1) % 7]  # date.fromordinal(1) is a Monday

    def is_open(self, at: datetime, tz: ZoneInfo) -> bool:
        """True when the queue is open at the instant ``at`` (aware) in the zone ``tz``."""
        _require_aware(at)
        if self.always_open:
            return True
        ordinal, minute = _wall(at, tz)
        return self._covers(ordinal, minute) or self._covers(ordinal - 1, minute + DAY_MINUTES)

    def next_opening(self, at: datetime, tz: ZoneInfo) -> datetime | None:
        """The first instant from ``at`` on when the queue is open, in the zone ``tz``.

        ``at`` itself when the queue is open then; otherwise the instant it opens
        (never an instant whose local time is skipped by a clock change).  ``None``
        when it does not open within :data:`NEXT_OPENING_HORIZON`.
        """
        _require_aware(at)
        if self.is_open(at, tz):
            return _in_zone_or(at, tz, at)
        # Candidates are in UTC: datetimes that share a tzinfo compare by wall time.
        candidates = [
            c for c in self._candidates(at, tz) if at < c and c - at <= NEXT_OPENING_HORIZON
        ]
        candidates.sort()
        for candidate in candidates:
            if self.is_open(candidate, tz):
                return _in_zone_or(candidate, tz, candidate)
        return None

    def describe(self) -> str:
        """A normalised text of these hours; :func:`parse_hours` reads it back unchanged."""
        if self.always_open:
            return "always open"
        entries: list[str] = []
        groups: dict[tuple[Range, ...], list[int]] = {}
        for index, rule in enumerate(self.week):
            groups.setdefault(rule, []).append(index)
        # Open days in weekday order, then the closed ones.
        for rule, days in sorted(groups.items(), key=lambda item: not item[0]):
            entries.append(f"{_describe_days(days)} {_describe_ranges(rule)}")
        dates: dict[tuple[Range, ...], list[date]] = {}
        for day, rule in self.holidays:
            dates.setdefault(rule, []).append(day)
        for rule, days_ in sorted(dates.items(), key=lambda item: item[1][0]):
            listed = ",".join(day.isoformat() for day in days_)
            entries.append(f"{listed} {_describe_ranges(rule)}")
        return "; ".join(entries)

    def __str__(self) -> str:
        return self.describe()

    # -- internals -----------------------------------------------------------------

    def _covers(self, ordinal: int, minute: int) -> bool:
        return any(start <= minute < end for start, end in self.ranges_on(ordinal))

    def _candidates(self, at: datetime, tz: ZoneInfo) -> Iterator[datetime]:
        """Every instant (in UTC) near ``at`` where the queue may go from closed to open.

        The local clock reaches the start of a range (either time it shows, on a
        fall-back day), or the clock jumps over a change of UTC offset.
        """
        first, _ = _wall(at, tz)
        last = first + NEXT_OPENING_HORIZON.days + 1
        for ordinal in range(max(first - 1, 1), min(last, date.max.toordinal()) + 1):
            day = date.fromordinal(ordinal)
            for start, _end in self.ranges_on(ordinal):
                wall = datetime.combine(day, time(start // 60, start % 60))
                for fold in (0, 1):
                    try:
                        yield wall.replace(tzinfo=tz, fold=fold).astimezone(UTC)
                    except OverflowError:
                        continue
        yield from _offset_changes(at, tz)


ALWAYS_OPEN = OpeningHours()


def _require_aware(at: datetime) -> None:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("opening hours need an aware datetime (with a time zone)")


def _wall(at: datetime, tz: ZoneInfo) -> tuple[int, int]:
    """``(date ordinal, minute of the day)`` that the clock of ``tz`` shows at ``at``.

    The ordinal may be 0 or one past ``date.max`` for instants at the edge of
    datetime's range.
    """
    try:
        local = _in_zone(at, tz)
        shift = 0
    except OverflowError:
        shift = _CYCLE.days if at.year < 5000 else -_CYCLE.days
        local = _in_zone(at + timedelta(days=shift), tz)
    return local.toordinal() - shift, local.hour * 60 + local.minute


def _in_zone(at: datetime, tz: ZoneInfo) -> datetime:
    """``at`` as the clock of ``tz`` shows it (with the right ``fold``).

    Through UTC: ``astimezone`` returns a datetime already in ``tz`` unchanged, even a
    wall time that a clock change skips.
    """
    return at.astimezone(UTC).astimezone(tz)


def _in_zone_or(at: datetime, tz: ZoneInfo, default: datetime) -> datetime:
    try:
        return _in_zone(at, tz)
    except OverflowError:
        return default


def _offset_changes(at: datetime, tz: ZoneInfo) -> Iterator[datetime]:
    """The instants within the horizon after ``at`` where the UTC offset of ``tz`` changes.

    Sampled every hour, then each change found to the second (offsets change on whole
    seconds).  Stops quietly at the edge of datetime's range.
    """
    try:
        start = at.astimezone(UTC)
    except OverflowError:
        if at.year > 5000:
            return
        start = datetime.min.replace(tzinfo=UTC)
    step = timedelta(hours=1)
    try:
        previous = _offset(start, tz)
        for hour in range(1, NEXT_OPENING_HORIZON.days * 24 + 2):
            sample = start + hour * step
            offset = _offset(sample, tz)
            if offset != previous:
                yield _first_with_offset(sample - step, sample, offset, tz)
                previous = offset
    except OverflowError:
        return


def _offset(instant: datetime, tz: ZoneInfo) -> timedelta | None:
    return instant.astimezone(tz).utcoffset()


def _first_with_offset(
    low: datetime, high: datetime, offset: timedelta | None, tz: ZoneInfo
) -> datetime:
    """The first whole second in ``(low, high]`` from which ``tz`` has ``offset``."""
    low = low.replace(microsecond=0)
    lo, hi = 0, int((high - low).total_seconds())  # offset(low) != offset, offset(high) == it
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if _offset(low + timedelta(seconds=mid), tz) == offset:
            hi = mid
        else:
            lo = mid
    return low + timedelta(seconds=hi)


# --- Parsing ----------------------------------------------------------------------


def parse_hours(text: str) -> OpeningHours:
    """Read opening hours (see the module documentation) or raise :class:`InvalidOpeningHours`."""
    if text.strip().lower() in ("", "always open"):
        return ALWAYS_OPEN
    week: list[list[Range] | None] = [None] * 7  # None: no entry named the day
    holidays: dict[date, list[Range]] = {}
    for raw in _ENTRY_SPLIT.split(text):
        entry = raw.strip()
        if not entry:
            continue
        weekdays, dates, ranges = _parse_entry(entry)
        for index in weekdays:
            current = week[index]
            week[index] = [] if ranges is None else [*(current or []), *ranges]
        for day in dates:
            holidays[day] = [] if ranges is None else [*holidays.get(day, []), *ranges]
    no_weekday = all(rule is None for rule in week)
    return OpeningHours(
        week=tuple(_FULL_DAY if no_weekday else _merge(rule or []) for rule in week),
        holidays=tuple((day, _merge(holidays[day])) for day in sorted(holidays)),
    )


def _parse_entry(entry: str) -> tuple[list[int], list[date], list[Range] | None]:
    """``(weekdays, dates, ranges)`` of one entry; ``ranges`` is None for ``closed``."""
    tokens = _AROUND_SEPARATORS.sub(r"\1", entry.lower()).split()
    if len(tokens) != 2:
        raise _bad(entry, "expected days then hours, e.g. 'mon-fri 09:00-18:00' or 'sat closed'")
    days_token, ranges_token = tokens
    weekdays: list[int] = []
    dates: list[date] = []
    for item in days_token.split(","):
        if not item:
            raise _bad(entry, "empty day in the list")
        if _DATE.fullmatch(item):
            try:
                dates.append(date.fromisoformat(item))
            except ValueError:
                raise _bad(entry, f"invalid date {item!r}") from None
        elif "-" in item:
            first, _, last = item.partition("-")
            weekdays.extend(_day_span(_day(entry, first), _day(entry, last)))
        else:
            weekdays.append(_day(entry, item))
    if ranges_token == "closed":
        return weekdays, dates, None
    return weekdays, dates, [_parse_range(entry, item) for item in ranges_token.split(",")]


def _day(entry: str, name: str) -> int:
    index = _DAY_INDEX.get(name)
    if index is None:
        raise _bad(entry, f"unknown day {_show(name)} (mon, tue, wed, thu, fri, sat, sun)")
    return index


def _day_span(first: int, last: int) -> list[int]:
    """``first`` to ``last`` inclusive, wrapping past Sunday (``fri-mon``)."""
    return [(first + offset) % 7 for offset in range((last - first) % 7 + 1)]


def _parse_range(entry: str, item: str) -> Range:
    if item == "closed":
        raise _bad(entry, "'closed' cannot be mixed with hours")
    match = _RANGE.fullmatch(item)
    if match is None:
        raise _bad(entry, f"bad time range {_show(item)} (expected HH:MM-HH:MM)")
    start_text, end_text = item.split("-")
    start = _minutes(entry, start_text, int(match[1]), int(match[2]))
    end = _minutes(entry, end_text, int(match[3]), int(match[4]))
    if start == DAY_MINUTES:
        raise _bad(entry, f"{start_text} can only end a range")
    if end == start:
        raise _bad(entry, f"empty range {item}")
    if end < start:
        end += DAY_MINUTES  # past midnight, into the next day
    return start, end


def _minutes(entry: str, text: str, hours: int, minutes: int) -> int:
    if minutes > 59 or hours > 24 or (hours == 24 and minutes):
        raise _bad(entry, f"bad time {text} (00:00 to 24:00)")
    return hours * 60 + minutes


def _merge(ranges: Iterable[Range]) -> tuple[Range, ...]:
    """Sorted ranges with overlapping or touching ones merged.

    Two ranges stay apart when their union would last more than a day past its
    start's midnight in a way ``HH:MM-HH:MM`` cannot write (at least 24 hours and
    ending after midnight), which keeps :meth:`OpeningHours.describe` exact.
    """
    merged: list[Range] = []
    for start, end in sorted(ranges):
        if merged:
            last_start, last_end = merged[-1]
            union_end = max(last_end, end)
            if start <= last_end and _writable(last_start, union_end):
                merged[-1] = (last_start, union_end)
                continue
        merged.append((start, end))
    return tuple(merged)


def _writable(start: int, end: int) -> bool:
    return end <= DAY_MINUTES or end - start < DAY_MINUTES


def _bad(entry: str, why: str) -> InvalidOpeningHours:
    return InvalidOpeningHours(f"{_show(entry)}: {why}")


def _show(text: str) -> str:
    if len(text) > _SHOWN_ENTRY_MAX:
        text = text[: _SHOWN_ENTRY_MAX - 1] + "…"
    return repr(text)


# --- Describing -------------------------------------------------------------------


def _clock(minute: int) -> str:
    if minute > DAY_MINUTES:
        minute -= DAY_MINUTES
    return f"{minute // 60:02d}:{minute % 60:02d}"


def _describe_ranges(rule: tuple[Range, ...]) -> str:
    if not rule:
        return "closed"
    return ",".join(f"{_clock(start)}-{_clock(end)}" for start, end in rule)


def _describe_days(days: list[int]) -> str:
    """``mon-fri``, ``sat,sun``, ``mon,wed,fri``, ``fri-mon`` ... for weekday indexes.

    Runs of days read from Monday to Sunday; a run ending on Sunday continues into
    the following week only over a short tail (``fri-mon``, not ``sat-thu``).
    """
    runs: list[list[int]] = []
    for index in sorted(set(days)):
        if runs and runs[-1][-1] == index - 1:
            runs[-1].append(index)
        else:
            runs.append([index])
    if len(runs) > 1 and runs[0][0] == 0 and runs[-1][-1] == 6 and len(runs[0]) <= 2:
        runs[-1].extend(runs.pop(0))
    parts: list[str] = []
    for run in runs:
        if len(run) >= 3:
            parts.append(f"{_DAYS[run[0]]}-{_DAYS[run[-1]]}")
        else:
            parts.extend(_DAYS[index] for index in run)
    return ",".join(parts)
