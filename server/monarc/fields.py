"""MONARC's field conversions, with MongoEngine's error messages."""
from __future__ import annotations

import uuid
from datetime import datetime

_INT64 = (-(2**63), 2**63 - 1)
_DATE_FORMATS = ("%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d")


class FieldError(ValueError):
    """A value that cannot be converted; the message is the API's."""


def to_int(value) -> int:
    """As MongoEngine's IntField reads a value: Python's `int()`, so `1.5` and `true` are 1
    and `" 7"` is 7. Beyond 64 bits MongoDB cannot store it (the real service crashed)."""
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):
        raise FieldError(f"{value} could not be converted to int") from None
    if not _INT64[0] <= number <= _INT64[1]:
        raise FieldError(f"{value} could not be converted to int")
    return number


def to_uuid(value) -> str:
    """As MongoEngine's UUIDField reads a value: `uuid.UUID(str(value))`, with its message."""
    try:
        return str(uuid.UUID(str(value)))
    except ValueError as exc:
        raise FieldError(f"Could not convert to UUID: {exc}") from None


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
