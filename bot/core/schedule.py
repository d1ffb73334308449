"""When a daily challenge fires: local wall-clock times in IANA zones, DST handled explicitly.

A local time can be missing on a spring-forward day (02:30 in Europe/Berlin on the last
Sunday of March) or happen twice on a fall-back day. The rule: a missing time fires once at
the first valid instant after the gap; a doubled time fires once, at its first occurrence.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
EXAMPLE_ZONES = "Europe/Berlin, America/New_York, Asia/Kolkata or UTC"


class ScheduleInputError(ValueError):
    """A time or zone a person typed that cannot be used; the message says what would work."""


def parse_local_time(text: str) -> time:
    """``"9:05"`` or ``"09:05"`` -> 09:05; anything else is refused with an example."""
    match = _TIME.match(text.strip())
    if not match:
        raise ScheduleInputError(f"{text!r} is not a time of day. Use 24-hour HH:MM, for example 09:00 or 17:30.")
    return time(int(match.group(1)), int(match.group(2)))


def parse_zone(text: str) -> ZoneInfo:
    """An IANA zone by name; refused with examples (and a close match) when unknown."""
    name = text.strip()
    try:
        if not name or name.startswith(("/", ".")) or ".." in name:
            raise ValueError(name)
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        hint = _close_zone(name)
        did_you_mean = f" Did you mean {hint}?" if hint else ""
        raise ScheduleInputError(f"{name!r} is not a time zone I know.{did_you_mean} Use an IANA name such as "
                                 f"{EXAMPLE_ZONES}.") from None


def _close_zone(name: str) -> str | None:
    from zoneinfo import available_timezones

    from rapidfuzz import process

    match = process.extractOne(name, sorted(available_timezones()), score_cutoff=80)
    return str(match[0]) if match else None


def fire_instant(local_date: date, at: time, zone: ZoneInfo) -> datetime:
    """The UTC instant a schedule fires on ``local_date``."""
    naive = datetime.combine(local_date, at)
    first = naive.replace(tzinfo=zone, fold=0)
    if first.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != naive:
        # The wall time does not exist (spring forward): fire when the clocks jump, i.e. the
        # first valid instant after the gap, which is the gap's start in UTC.
        return _gap_end(naive, zone)
    return first.astimezone(UTC)


def _gap_end(naive: datetime, zone: ZoneInfo) -> datetime:
    before = naive.replace(tzinfo=zone, fold=0).utcoffset() or timedelta(0)
    after = naive.replace(tzinfo=zone, fold=1).utcoffset() or timedelta(0)
    # With fold=0 zoneinfo uses the offset before the transition; the jump happens at the
    # instant whose wall time (in the old offset) is the start of the gap.
    candidate = (naive - min(before, after)).replace(tzinfo=UTC)
    # Walk back to the transition instant: the earliest minute that maps to a wall time >= naive.
    step = timedelta(minutes=1)
    while (candidate - step).astimezone(zone).replace(tzinfo=None) >= naive:
        candidate -= step
    return candidate
