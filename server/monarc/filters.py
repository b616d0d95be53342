"""MongoEngine-style query filters (`month__gt=2`) turned into MongoDB queries."""
from __future__ import annotations

import re

from apitwin.server.core.errors import Invalid

from .fields import FieldError, to_datetime, to_int

TEXT_FIELDS = ("type", "organization", "anr")
INT_FIELDS = ("day", "week", "month", "quarter", "year")
DATE_FIELDS = ("created_at", "updated_at")
FILTERABLE = TEXT_FIELDS + INT_FIELDS + DATE_FIELDS

_COMPARISONS = {"gt": "$gt", "gte": "$gte", "lt": "$lt", "lte": "$lte", "ne": "$ne"}
_TEXT_MATCHES = {
    "contains": ("{}", 0), "icontains": ("{}", re.IGNORECASE),
    "startswith": ("^{}", 0), "istartswith": ("^{}", re.IGNORECASE),
    "endswith": ("{}$", 0), "iendswith": ("{}$", re.IGNORECASE),
    "iexact": ("^{}$", re.IGNORECASE),
}
OPERATORS = ("exact", *_COMPARISONS, *_TEXT_MATCHES, "in", "nin")


def _convert(field: str, value: str):
    if field in INT_FIELDS:
        return to_int(value)
    if field in DATE_FIELDS:
        return to_datetime(value)
    return value


def _clause(field: str, operator: str, raw: str) -> dict:
    if operator == "exact":
        return {field: _convert(field, raw)}
    if operator in _COMPARISONS:
        return {field: {_COMPARISONS[operator]: _convert(field, raw)}}
    if operator in ("in", "nin"):
        values = [_convert(field, part) for part in raw.split(",")]
        return {field: {"$" + operator: values}}
    if field not in TEXT_FIELDS:
        raise FieldError(f"{operator} is only available on text fields")
    pattern, flags = _TEXT_MATCHES[operator]
    return {field: re.compile(pattern.format(re.escape(raw)), flags)}


def build_query(params: dict[str, str], fields=FILTERABLE) -> dict:
    """Query parameters -> a MongoDB query. Unknown parameters are ignored.

    Raises Invalid with one message per parameter that cannot be used.
    """
    clauses, problems = [], {}
    for name, raw in params.items():
        field, _, operator = name.partition("__")
        operator = operator or "exact"
        if field not in fields or operator not in OPERATORS:
            continue
        try:
            clauses.append(_clause(field, operator, raw))
        except FieldError as exc:
            problems[name] = str(exc)
    if problems:
        raise Invalid("invalid filter", problems)
    if not clauses:
        return {}
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}

