"""How the real service's layers read values: Flask-RESTX's inputs for query arguments,
PostgreSQL's casts for what a batch stores (dates, UUIDs, JSONB)."""
from __future__ import annotations

import calendar
import math
import re
import uuid
from datetime import date, datetime, timedelta
from decimal import Decimal

import aniso8601


# -- Flask-RESTX's argument types ----------------------------------------------------------
def date_from_iso8601(value) -> date:
    """flask_restx.inputs.date_from_iso8601: an ISO 8601 date, or a datetime cut to its date."""
    try:
        try:
            return aniso8601.parse_datetime(value).date()
        except ValueError:
            return aniso8601.parse_date(value)
    except Exception:
        raise ValueError(f'Invalid date literal "{value}"') from None


def boolean(value) -> bool:
    """flask_restx.inputs.boolean."""
    if isinstance(value, bool):
        return value
    if not value:
        return False
    text = str(value).lower()
    if text in ("true", "1", "on"):
        return True
    if text in ("false", "0"):
        return False
    raise ValueError(f"Invalid literal for boolean(): {text}")


def uuid_type(value) -> uuid.UUID:
    """The service's uuid_type: Python's UUID parser, its ValueError reworded."""
    try:
        return uuid.UUID(value)
    except ValueError:
        raise ValueError("This is not a valid UUID.") from None


def months_before(day: date, months: int) -> date:
    """dateutil's `day + relativedelta(months=-months)`: the same day, clipped to the month's end."""
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    month += 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


# -- PostgreSQL's casts ----------------------------------------------------------------------
_ISO_DAY = re.compile(r"^\s*(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s*(?:Z|[+-]\d{2}(?::?\d{2})?)?)?\s*$", re.I)
_US_DAY = re.compile(r"^\s*(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})\s*$")
_JULIAN_DAY = re.compile(r"^\s*J(\d{1,7})\s*$", re.I)
JULIAN_OF_ORDINAL_ZERO = 1721425  # the Julian day before 0001-01-01
_COMPACT_DAY = re.compile(r"^\s*(\d{4})(\d{2})(\d{2})\s*$")
_RELATIVE_DAYS = {"today": 0, "yesterday": -1, "tomorrow": 1}
_MONTHS = {name: number for number, name in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), start=1)}
_WORDY_DAY = re.compile(r"^[\s,.-]*(?:(?P<m1>[a-z]+)[\s,.-]+(?P<d1>\d{1,2})|(?P<d2>\d{1,2})[\s,.-]+(?P<m2>[a-z]+))"
                        r"[\s,.-]+(?P<y>\d{4})\s*$", re.I)
_YEAR_FIRST_WORDY = re.compile(r"^\s*(?P<y>\d{4})-(?P<m>[a-z]+)-(?P<d>\d{1,2})\s*$", re.I)


def pg_date(value, today: date) -> date:
    """A stat's `date` as PostgreSQL casts text to `date` (DateStyle ISO, MDY): ISO dates and
    datetimes (cut to the date), with `-`, `/` or `.` between the parts, MM/DD/YYYY,
    YYYYMMDD, month names (`Nov 20 2026`, `20 November 2026`, `2026-Nov-20`), Julian days
    (`J2461000`), epoch, today, yesterday, tomorrow. Raises
    ValueError for anything else (the real service then fails with a 500)."""
    if not isinstance(value, str):
        raise ValueError(f"must be a date string, not {type(value).__name__}")
    relative = _RELATIVE_DAYS.get(value.strip().lower())
    if relative is not None:
        return today + timedelta(days=relative)
    if value.strip().lower() == "epoch":
        return date(1970, 1, 1)
    julian = _JULIAN_DAY.match(value)
    if julian and int(julian.group(1)) > JULIAN_OF_ORDINAL_ZERO:
        return date.fromordinal(int(julian.group(1)) - JULIAN_OF_ORDINAL_ZERO)
    parts = _numeric_day(value) or _wordy_day(value)
    if parts:
        try:
            return date(*parts)
        except ValueError:
            pass
    raise ValueError(f'invalid input syntax for type date: "{value}"')


def _numeric_day(value: str) -> tuple[int, int, int] | None:
    for pattern, order in ((_ISO_DAY, (0, 1, 2)), (_US_DAY, (2, 0, 1)), (_COMPACT_DAY, (0, 1, 2))):
        match = pattern.match(value)
        if match:
            return tuple(int(match.group(i + 1)) for i in order)
    return None


def _wordy_day(value: str) -> tuple[int, int, int] | None:
    """`Nov 20 2026`, `November 20, 2026`, `20 Nov 2026`, `2026-Nov-20`."""
    match = _WORDY_DAY.match(value)
    if match:
        month, day = (match["m1"], match["d1"]) if match["m1"] else (match["m2"], match["d2"])
    else:
        match = _YEAR_FIRST_WORDY.match(value)
        if not match:
            return None
        month, day = match["m"], match["d"]
    number = _MONTHS.get(month.lower()[:3])
    full = ("january", "february", "march", "april", "may", "june", "july", "august", "september",
            "october", "november", "december")
    if number is None or (len(month) > 3 and month.lower() not in (full[number - 1], "sept")):
        return None
    return int(match["y"]), number, int(day)


def pg_uuid(value) -> str:
    """A UUID column's input: the canonical text (lower case, dashes), or ValueError."""
    if not isinstance(value, str):
        raise ValueError(f"must be a UUID string, not {type(value).__name__}")
    text = value.strip()
    if text.startswith("{") and text.endswith("}"):
        text = text[1:-1]
    hexa = text.replace("-", "")
    if len(hexa) != 32 or not re.fullmatch(r"[0-9a-fA-F]{32}", hexa) or text.startswith("-") or "--" in text:
        raise ValueError(f'invalid input syntax for type uuid: "{value}"')
    return str(uuid.UUID(hexa))


def pg_timestamp(value) -> datetime:
    """A `created_at` sent in a batch: ISO 8601 text."""
    if not isinstance(value, str):
        raise ValueError(f"must be a timestamp string, not {type(value).__name__}")
    try:
        return datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f'invalid input syntax for type timestamp: "{value}"') from None


def pg_varchar(value) -> str:
    """A `type` sent in a batch: text, or a number, boolean or flat array cast to text as
    PostgreSQL does (psycopg2 sends a list as an ARRAY); an object does not fit."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return _pg_array(value)
    if not isinstance(value, (str, int, float)):
        raise ValueError(f"must be a string, not {_json_type(value)}")
    if isinstance(value, float):
        return format(Decimal(repr(value)).normalize(), "f") if "e" in repr(value) else repr(value)
    return str(value)


def _pg_array(items: list) -> str:
    """A flat array of one kind as PostgreSQL writes it as text: `{1,2}`, `{a,"b c"}`, `{t,f}`."""
    kinds = {bool if isinstance(i, bool) else (float if isinstance(i, (int, float)) else type(i)) for i in items}
    if len(kinds) > 1 or not kinds <= {bool, float, str}:
        raise ValueError("must be a string, not an array of mixed or nested values")
    return "{" + ",".join(_array_item(item) for item in items) + "}"


def _array_item(item) -> str:
    if isinstance(item, bool):
        return "t" if item else "f"
    if not isinstance(item, str):
        return pg_varchar(item)
    if item == "" or item.upper() == "NULL" or any(c in item for c in ' ,{}"\\\t\n'):
        return '"' + item.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return item


def _json_type(value) -> str:
    return {bool: "a boolean", list: "an array", dict: "an object", type(None): "null"}.get(type(value), type(value).__name__)


def jsonb(value):
    """A JSON value as PostgreSQL's JSONB gives it back: object keys shorter first, then in
    byte order (the last of duplicate keys kept, as the parser already did)."""
    if isinstance(value, dict):
        return {key: jsonb(value[key]) for key in sorted(value, key=lambda k: (len(k.encode()), k.encode()))}
    if isinstance(value, list):
        return [jsonb(item) for item in value]
    return value


def jsonb_number(text: str):
    """A JSON number with a fraction or exponent, as JSONB's numeric gives it back through
    Python's json: an integer when it has no digits after the point (1e2 -> 100)."""
    number = Decimal(text)
    return int(number) if number.as_tuple().exponent >= 0 else float(text)


def unstorable(value) -> str | None:
    """Why PostgreSQL would refuse this JSON (None when it takes it): text holding NUL or a lone
    UTF-16 surrogate, or a number that is not finite."""
    if isinstance(value, str):
        if "\x00" in value:
            return "text cannot hold the NUL character (\\u0000)"
        if any("\ud800" <= char <= "\udfff" for char in value):
            return "text cannot hold a lone UTF-16 surrogate"
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return "JSON numbers are finite (NaN and Infinity are not JSON)"
    if isinstance(value, dict):
        return next((why for key, item in value.items() for why in (unstorable(key), unstorable(item)) if why), None)
    if isinstance(value, list):
        return next((why for item in value for why in [unstorable(item)] if why), None)
    return None
