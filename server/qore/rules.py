"""Laravel's validation rules over one field, with Laravel's English messages.

`check` converts and checks a value by the rules that need nothing but the value
(required, string, integer, numeric, boolean, date, email, in, array, file, min, max); the
backend checks the rules that read the store (exists, unique) afterwards.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date, datetime, timezone

from .definitions import Field

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# ASCII digits only, as PHP's is_numeric and FILTER_VALIDATE_INT ("١٢" is no number there).
_INTEGER = re.compile(r"^[+-]?\d{1,19}$", re.ASCII)
PHP_INT_MAX = 2**63 - 1  # a larger number is a float in PHP: no integer, no id
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$", re.ASCII)


@dataclass(frozen=True)
class Upload:
    """A file sent as multipart form data."""

    name: str
    mime_type: str
    content: bytes

    @property
    def size(self) -> int:
        return len(self.content)


def attribute(name: str) -> str:
    """How Laravel names an attribute in its messages (`due_on` -> `due on`)."""
    return name.replace("_", " ")


def message(rule: str, name: str, **args) -> str:
    attr = attribute(name)
    texts = {
        "required": "The {attr} field is required.",
        "string": "The {attr} field must be a string.",
        "integer": "The {attr} field must be an integer.",
        "numeric": "The {attr} field must be a number.",
        "boolean": "The {attr} field must be true or false.",
        "date": "The {attr} field must be a valid date.",
        "email": "The {attr} field must be a valid email address.",
        "array": "The {attr} field must be an array.",
        "file": "The {attr} field must be a file.",
        "in": "The selected {attr} is invalid.",
        "exists": "The selected {attr} is invalid.",
        "unique": "The {attr} has already been taken.",
        "max.numeric": "The {attr} field must not be greater than {n}.",
        "max.string": "The {attr} field must not be greater than {n} characters.",
        "max.file": "The {attr} field must not be greater than {n} kilobytes.",
        "max.array": "The {attr} field must not have more than {n} items.",
        "min.numeric": "The {attr} field must be at least {n}.",
        "min.string": "The {attr} field must be at least {n} characters.",
        "min.file": "The {attr} field must be at least {n} kilobytes.",
        "min.array": "The {attr} field must have at least {n} items.",
        "after": "The {attr} field must be a date after {n}.",
    }
    return texts[rule].format(attr=attr, **args)


def summary(errors: dict[str, list[str]]) -> str:
    """Laravel's top-level message: the first error and how many more there are."""
    messages = [m for ms in errors.values() for m in ms]
    if not messages:
        return "The given data was invalid."
    rest = len(messages) - 1
    if rest == 0:
        return messages[0]
    return f"{messages[0]} (and {rest} more error{'s' if rest > 1 else ''})"


def is_empty(value) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "") or value == []


def to_id(value):
    """A related row's id (an integer within PHP's) from `3`, `"3"` or `{"value": 3}`; None when it is not one."""
    if isinstance(value, dict):
        value = value.get("value", value.get("id"))
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    elif isinstance(value, str) and _INTEGER.match(value.strip()):
        value = int(value)
    return value if isinstance(value, int) and abs(value) <= PHP_INT_MAX else None


def parse_date(value) -> date | None:
    if not isinstance(value, str):
        return None
    text = value.strip()
    try:
        if len(text) == 10:
            return date.fromisoformat(text)
        return datetime.fromisoformat(text.replace("Z", "+00:00")).date()
    except ValueError:
        return None


def parse_datetime(value) -> datetime | None:
    """A date (midnight UTC) or date and time; aware UTC."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return datetime(day.year, day.month, day.day, tzinfo=timezone.utc)
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _number(value):
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if abs(value) <= PHP_INT_MAX else None  # what a database column holds
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, str) and _NUMBER.match(value.strip()):
        number = float(value)
        if not math.isfinite(number):
            return None
        whole = _INTEGER.match(value.strip()) and abs(int(value)) <= PHP_INT_MAX
        return int(value.strip()) if whole else number
    return None


def _size_kind(f: Field) -> str:
    if f.type == "File":
        return "file"
    if f.type == "BelongsToMany" or f.rule("array") is not None:
        return "array"
    if f.rule("integer") is not None or f.rule("numeric") is not None or f.type == "Number":
        return "numeric"
    return "string"


def _size(kind: str, value) -> float:
    if kind == "file":
        return value.size / 1024
    if kind in ("array", "string"):
        return len(value)
    return value


def check(f: Field, value) -> tuple[object, list[str]]:
    """(converted value, messages) for one present, non-empty value."""
    name = f.name
    if f.type == "File" or f.rule("file") is not None:
        if not isinstance(value, Upload):
            return value, [message("file", name)]
    elif isinstance(value, Upload):
        return value, [message("string" if f.type in ("Text", "Textarea", "Email") else "in", name)]
    if f.type == "BelongsToMany" or f.rule("array") is not None:
        if not isinstance(value, list):
            return value, [message("array", name)]
        ids = [to_id(item) for item in value]
        if any(i is None for i in ids):
            return value, [message("exists", name)]
        value = list(dict.fromkeys(ids))
    elif f.type == "BelongsTo":
        converted = to_id(value)
        if converted is None:
            return value, [message("exists", name)]
        value = converted
    if f.rule("integer") is not None:
        number = _number(value)
        if number is None or (isinstance(number, float) and not number.is_integer()):
            return value, [message("integer", name)]
        value = int(number)
    elif f.rule("numeric") is not None or f.type == "Number":
        number = _number(value)
        if number is None:
            return value, [message("numeric", name)]
        value = number
    if f.rule("boolean") is not None or f.type == "Boolean":
        if value in (True, 1, "1") and not isinstance(value, float):
            value = True
        elif value in (False, 0, "0") and not isinstance(value, float):
            value = False
        else:
            return value, [message("boolean", name)]
    if f.rule("string") is not None or f.type in ("Text", "Textarea", "Email"):
        if not isinstance(value, str):
            return value, [message("string", name)]
    if f.rule("date") is not None or f.type == "Date":
        day = parse_date(value)
        if day is None:
            return value, [message("date", name)]
        value = day.isoformat()

    problems = []
    if f.rule("email") is not None or f.type == "Email":
        if not isinstance(value, str) or not _EMAIL.match(value):
            problems.append(message("email", name))
    allowed = f.rule("in")
    choices = allowed.split(",") if allowed else [str(o["value"]) for o in f.options]
    if (allowed is not None or f.type == "Select") and str(value) not in choices:
        problems.append(message("in", name))
    elif f.type == "Select":
        value = next((o["value"] for o in f.options if str(o["value"]) == str(value)), value)
    kind = _size_kind(f)
    for rule in ("min", "max"):
        limit = f.rule(rule)
        if not limit or kind in ("date",):
            continue
        size = _size(kind, value) if not isinstance(value, bool) else None
        if size is None or isinstance(size, str):
            continue
        bound = float(limit)
        if (rule == "max" and size > bound) or (rule == "min" and size < bound):
            problems.append(message(f"{rule}.{kind}", name, n=limit))
    return value, problems
