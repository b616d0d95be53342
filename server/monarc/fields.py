"""MONARC's field conversions, with MongoEngine's error messages."""
from __future__ import annotations

import re
import uuid
from datetime import datetime

_INT64 = (-(2**63), 2**63 - 1)
_DIGITS = re.compile(r"^[+-]?[0-9]+$")
_DATE_FORMATS = ("%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d")


class FieldError(ValueError):
    """A value that cannot be converted; the message is the API's."""


def to_int(value) -> int:
    if isinstance(value, bool):
        raise FieldError(f"{value} could not be converted to int")
    if isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and _DIGITS.match(value):
        number = int(value)
    else:
        raise FieldError(f"{value} could not be converted to int")
    if not _INT64[0] <= number <= _INT64[1]:
        raise FieldError(f"{value} could not be converted to int")
    return number


def to_uuid(value) -> str:
    if not isinstance(value, str):
        raise FieldError("Could not convert to UUID")
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise FieldError("Could not convert to UUID") from None


def to_string(value, max_length: int | None = None) -> str:
    if not isinstance(value, str):
        raise FieldError("StringField only accepts string values")
    if max_length is not None and len(value) > max_length:
        raise FieldError("String value is too long")
    return value


def to_datetime(value) -> datetime:
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(value, fmt)
        except (TypeError, ValueError):
            continue
    raise FieldError(f"{value} could not be converted to datetime")


def format_datetime(value: datetime) -> str:
    """ISO without zone, microseconds always written (MongoDB keeps milliseconds)."""
    return value.strftime("%Y-%m-%dT%H:%M:%S.%f")
