"""Qoncrete's time grammar: periods (`10m`, `1d`, `1M`, `timeless`), durations, times."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

UTC = timezone.utc
_AMOUNT = re.compile(r"^([1-9][0-9]{0,3})(m|h|d|W|M|Y)$")
_SHIFT = re.compile(r"^([+-]?)([0-9]{1,4})(m|h|d|W|M|Y)$")
_RELATIVE = re.compile(r"^now(?:([+-])([0-9]{1,4})(m|h|d|W|M|Y))?$")
# A query's time, exactly as the contract's QueryTime says: `now`, `now-2d`, or an ISO 8601
# date (calendar days, leap years included; `0000-01-01` is the timeless bucket) with an
# optional time of day (hours 0-23, minutes and seconds 0-59) and UTC offset (up to 23:59).
_YEAR = r"(?:[0-9]{3}[1-9]|[0-9]{2}[1-9][0-9]|[0-9][1-9][0-9]{2}|[1-9][0-9]{3})"
_MONTH_DAY = (r"(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)"
              r"|02-(?:0[1-9]|1[0-9]|2[0-8]))")
_LEAP_DAY = r"(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:0[48]|[2468][048]|[13579][26])00)-02-29"
_CLOCK = (r"[T ](?:[01][0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9](?:\.[0-9]{1,6})?)?"
          r"(?:Z|[+-](?:[01][0-9]|2[0-3]):?[0-5][0-9])?")
QUERY_TIME = re.compile(rf"now(?:[+-][0-9]{{1,4}}[mhdWMY])?"
                        rf"|(?:{_YEAR}-{_MONTH_DAY}|{_LEAP_DAY}|0000-01-01)(?:{_CLOCK})?")
_SECONDS = {"m": 60, "h": 3600, "d": 86400, "W": 7 * 86400}
# Weeks start on Monday; 1970-01-05 is the first Monday after the epoch.
_MONDAY = int(datetime(1970, 1, 5, tzinfo=UTC).timestamp())
TIMELESS = datetime(1, 1, 1, tzinfo=UTC)
TIMELESS_LABEL = "0000-01-01T00:00:00Z"
UNITS = "m (minute), h (hour), d (day), W (week), M (month) or Y (year)"


class TimeError(ValueError):
    """A period, duration or time that cannot be read; the message says why."""


EARLIEST = datetime(1, 1, 2, tzinfo=UTC)
LATEST = datetime(9999, 12, 30, tzinfo=UTC)


def shift(at: datetime, amount: int, unit: str) -> datetime:
    """`at` moved by `amount` units (months and years keep the day when they can), kept
    within the years 1-9999."""
    if unit in _SECONDS:
        try:
            return at + timedelta(seconds=amount * _SECONDS[unit])
        except OverflowError:
            return LATEST if amount > 0 else EARLIEST
    months = amount * (12 if unit == "Y" else 1)
    index = at.year * 12 + at.month - 1 + months
    year, month = divmod(index, 12)
    year = min(max(year, 1), 9999)
    day = at.day
    while True:
        try:
            return at.replace(year=year, month=month + 1, day=day)
        except ValueError:
            day -= 1


class Period:
    """A report's time bucket: N units, or one timeless bucket."""

    def __init__(self, text: str) -> None:
        self.text = text
        if text == "timeless":
            self.amount, self.unit = 0, ""
            return
        match = _AMOUNT.match(text) if isinstance(text, str) else None
        if not match:
            raise TimeError(f"must be \"timeless\" or a number (1-9999) followed by {UNITS}, e.g. \"1d\"")
        self.amount, self.unit = int(match.group(1)), match.group(2)

    @property
    def timeless(self) -> bool:
        return self.unit == ""

    def floor(self, at: datetime) -> datetime:
        """The start of the bucket holding `at`."""
        if self.timeless:
            return TIMELESS
        try:
            return self._floor(at)
        except (OverflowError, ValueError, OSError):  # a bucket starting before year 1
            return EARLIEST

    def _floor(self, at: datetime) -> datetime:
        unit, n = self.unit, self.amount
        if unit in ("m", "h", "d"):
            size = n * _SECONDS[unit]
            ts = int(at.timestamp() // 1)
            return datetime.fromtimestamp(ts - ts % size, UTC)
        if unit == "W":
            size = n * _SECONDS["W"]
            ts = int(at.timestamp() // 1) - _MONDAY
            return datetime.fromtimestamp(_MONDAY + ts - ts % size, UTC)
        if unit == "M":
            index = at.year * 12 + at.month - 1
            index -= index % n
            return datetime(max(index // 12, 1), index % 12 + 1, 1, tzinfo=UTC)
        year = at.year - at.year % n
        return datetime(max(year, 1), 1, 1, tzinfo=UTC)


def label(bucket: datetime) -> str:
    """A bucket as written in row keys: `2016-11-26T16:00:00Z`."""
    if bucket == TIMELESS:
        return TIMELESS_LABEL
    return (f"{bucket.year:04d}-{bucket.month:02d}-{bucket.day:02d}"
            f"T{bucket.hour:02d}:{bucket.minute:02d}:{bucket.second:02d}Z")


def parse_shift(text) -> tuple[int, str]:
    """`-2d`, `1M`, `+3h` -> (amount, unit)."""
    match = _SHIFT.match(text) if isinstance(text, str) else None
    if not match:
        raise TimeError(f"must be a signed number followed by {UNITS}, e.g. \"-2d\"")
    amount = int(match.group(2))
    return (-amount if match.group(1) == "-" else amount), match.group(3)


def parse_ttl(text) -> tuple[int, str] | None:
    """A source's `rawttl`: "" (keep forever) or a period such as `30d`."""
    if text in ("", None):
        return None
    match = _AMOUNT.match(text) if isinstance(text, str) else None
    if not match:
        raise TimeError(f"must be \"\" (keep forever) or a number (1-9999) followed by {UNITS}, e.g. \"30d\"")
    return int(match.group(1)), match.group(2)


def parse_time(text, now: datetime) -> datetime:
    """ISO 8601 (UTC when no offset), `0000-01-01T00:00:00Z`, `now` or `now-2d` style."""
    if not isinstance(text, str) or not text:
        raise TimeError("must be an ISO 8601 time or \"now\", \"now-2d\"")
    if text.startswith(TIMELESS_LABEL[:10]):
        return TIMELESS
    match = _RELATIVE.match(text)
    if match:
        if not match.group(1):
            return now
        amount = int(match.group(2))
        return shift(now, -amount if match.group(1) == "-" else amount, match.group(3))
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise TimeError(f"{text!r} is not an ISO 8601 time (e.g. \"2016-11-26T16:00:00Z\") nor \"now-2d\"") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def parse_query_time(text, now: datetime) -> datetime:
    """A query's `at`, `from` or `to`: only what QUERY_TIME spells (no other ISO 8601 forms)."""
    if isinstance(text, str) and text and not QUERY_TIME.fullmatch(text):
        raise TimeError(f"{text!r} is not an ISO 8601 time (e.g. \"2016-11-26T16:00:00Z\") nor \"now-2d\"")
    return parse_time(text, now)


def iso(at: datetime) -> str:
    """Times of objects: ISO with offset, to the millisecond (`2016-10-12T10:57:11.324+00:00`)."""
    return at.astimezone(UTC).isoformat(timespec="milliseconds")
