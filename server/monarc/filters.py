"""MongoEngine-style query filters (`month__gt=2`) turned into MongoDB queries.

As the real service reads them (flask-mongorest over MongoEngine):
- only `type`, `organization`, `day`, `week`, `month`, `year` and `created_at` filter;
  `quarter`, `anr` and `updated_at` are accepted and ignored, as is any unknown parameter;
- an empty value means null (`month=` matches no stat, since every stat has a month), and
  `""` or `''` means the empty string;
- `in` and `nin` take one value and MongoEngine iterates it: text is taken character by
  character (`type__in=risk` is the types `r`, `i`, `s`, `k`), and so are numbers
  (`month__in=1` is month 1).
Where the real service crashed (a value that cannot be converted, `month__in=1,2`,
`month__in=`), the answer is a field error instead.
"""
from __future__ import annotations

import re

from apitwin.server.core.errors import Invalid

from .fields import FieldError, to_datetime, to_int

TEXT_FIELDS = ("type", "organization")
INT_FIELDS = ("day", "week", "month", "year")
DATE_FIELDS = ("created_at",)
FILTERABLE = TEXT_FIELDS + INT_FIELDS + DATE_FIELDS

_COMPARISONS = {"gt": "$gt", "gte": "$gte", "lt": "$lt", "lte": "$lte", "ne": "$ne"}
_TEXT_MATCHES = {
    "contains": ("{}", 0), "icontains": ("{}", re.IGNORECASE),
    "startswith": ("^{}", 0), "istartswith": ("^{}", re.IGNORECASE),
    "endswith": ("{}$", 0), "iendswith": ("{}$", re.IGNORECASE),
    "iexact": ("^{}$", re.IGNORECASE),
}
OPERATORS = ("exact", *_COMPARISONS, *_TEXT_MATCHES, "in", "nin")


def _convert(field: str, value: str | None):
    if value is None:
        return None
    if field in INT_FIELDS:
        return to_int(value)
    if field in DATE_FIELDS:
        return to_datetime(value)
    return value


def _each_character(field: str, operator: str, raw: str | None) -> dict:
    """The clause of `in`/`nin`: MongoEngine iterates the value, one character each."""
    if raw is None:
        raise FieldError(f"{operator} needs a value")
    # Each character once: a repeated one changes nothing, and a long value stays cheap.
    characters = list(dict.fromkeys(raw))
    if field in TEXT_FIELDS and characters:
        # One character class, not a list MongoDB's $in would walk for every row.
        one_of = re.compile(r"\A[" + "".join(map(re.escape, characters)) + r"]\Z")
        return one_of if operator == "in" else {"$not": one_of}
    try:
        values = [_convert(field, character) for character in characters]
    except FieldError:
        kind = "int" if field in INT_FIELDS else "datetime"
        raise FieldError(f"{raw} could not be converted to {kind}") from None
    return {"$" + operator: values}


def _clause(field: str, operator: str, raw: str | None) -> dict:
    if operator == "exact":
        return {field: _convert(field, raw)}
    if operator in _COMPARISONS:
        return {field: {_COMPARISONS[operator]: _convert(field, raw)}}
    if operator in ("in", "nin"):
        return {field: _each_character(field, operator, raw)}
    if field not in TEXT_FIELDS:
        raise FieldError(f"{operator} is only available on text fields")
    if raw is None:
        raise FieldError(f"{operator} needs a value")
    pattern, flags = _TEXT_MATCHES[operator]
    return {field: re.compile(pattern.format(re.escape(raw)), flags)}


def _value(raw: str) -> str | None:
    """flask-mongorest's reading of a filter value: empty is null, quotes are empty."""
    if raw == "":
        return None
    return "" if raw in ('""', "''") else raw


def build_query(params: dict[str, str]) -> dict:
    """Query parameters (the first value of each) -> a MongoDB query.

    Raises Invalid with one message per parameter that cannot be used.
    """
    clauses, problems = [], {}
    for name, raw in params.items():
        field, _, operator = name.partition("__")
        operator = operator or "exact"
        if field not in FILTERABLE or operator not in OPERATORS:
            continue
        try:
            clauses.append(_clause(field, operator, _value(raw)))
        except FieldError as exc:
            problems[name] = str(exc)
    if problems:
        raise Invalid("invalid filter", problems)
    if not clauses:
        return {}
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}
