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
_ISO_DAY = re.compile(r"^\s*(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s*(?:Z|[+-]\d{2}(?::?\d{2})?)?)?\s*$", re.I)
_US_DAY = re.compile(r"^\s*(\d{1,2})/(\d{1,2})/(\d{4})\s*$")
_COMPACT_DAY = re.compile(r"^\s*(\d{4})(\d{2})(\d{2})\s*$")
_RELATIVE_DAYS = {"today": 0, "yesterday": -1, "tomorrow": 1}


def pg_date(value, today: date) -> date:
    """A stat's `date` as PostgreSQL casts text to `date` (DateStyle ISO, MDY): ISO dates and
    datetimes (cut to the date), MM/DD/YYYY, YYYYMMDD, today/yesterday/tomorrow. Raises
    ValueError for anything else (the real service then fails with a 500)."""
    if not isinstance(value, str):
        raise ValueError(f"must be a date string, not {type(value).__name__}")
    relative = _RELATIVE_DAYS.get(value.strip().lower())
    if relative is not None:
        return today + timedelta(days=relative)
    for pattern, order in ((_ISO_DAY, (0, 1, 2)), (_US_DAY, (2, 0, 1)), (_COMPACT_DAY, (0, 1, 2))):
        match = pattern.match(value)
        if match:
            parts = [int(match.group(i + 1)) for i in order]
            try:
                return date(*parts)
            except ValueError:
                break
    raise ValueError(f'invalid input syntax for type date: "{value}"')


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
    """A `type` sent in a batch: text, or a number cast to text; nothing else fits."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ValueError(f"must be a string, not {_json_type(value)}")
    if isinstance(value, float):
        return format(Decimal(repr(value)).normalize(), "f") if "e" in repr(value) else repr(value)
    return str(value)


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
