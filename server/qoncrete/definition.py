"""A report's definition (`period`, `preprocess`, `filter`, `groupBy`, `values`): checked,
with a message naming the bad field, and compiled into what the engine runs."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime

from apitwin.server.core.errors import BadRequest

from . import preprocess as pre
from .periods import Period, TimeError, parse_time

CONDITIONS = {"eq": "eq", "=": "eq", "==": "eq", "ne": "ne", "!=": "ne", "lt": "lt", "<": "lt",
              "lte": "lte", "<=": "lte", "gt": "gt", ">": "gt", "gte": "gte", ">=": "gte",
              "contains": "contains", "exists": "exists"}
FILTER_TYPES = ("string", "number", "time")
VALUE_TYPES = ("count", "sum", "min", "max", "avg", "first", "last", "diff", "unique")
MAX_LEVELS = 8
MAX_ITEMS = 50
MISSING = pre.MISSING


class DefinitionError(BadRequest):
    """A bad report definition or query: 400 `{"code": 400, "text": "<field>: <why>"}`."""


def fail(where: str, why: str):
    raise DefinitionError(f"{where}: {why}")


def get_path(event: dict, key: str):
    """The value at `key` (`geo.country` walks nested objects), or MISSING."""
    if key in event:
        return event[key]
    value = event
    for part in key.split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return MISSING
    return value


def set_path(event: dict, key: str, value) -> dict:
    """A copy of `event` with `value` at `key` (nested objects copied on the way)."""
    parts = key.split(".")
    top = dict(event)
    node = top
    for part in parts[:-1]:
        child = node.get(part)
        child = dict(child) if isinstance(child, dict) else {}
        node[part] = child
        node = child
    node[parts[-1]] = value
    return top


def to_number(value):
    """An int or float from a JSON number or a numeric string, else None."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return value if not isinstance(value, float) or math.isfinite(value) else None
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return None
        if not math.isfinite(number):
            return None
        return int(number) if number.is_integer() and "." not in value and "e" not in value.lower() else number
    return None


# -- checks ----------------------------------------------------------------------------
def _string(item: dict, name: str, where: str, *, required=True, empty=False) -> str:
    if name not in item and not required:
        return ""
    value = item.get(name)
    if not isinstance(value, str):
        fail(f"{where}.{name}", "must be a string")
    if not value and not empty:
        fail(f"{where}.{name}", "must not be empty")
    return value


def _list(body: dict, name: str) -> list:
    if name not in body:
        return []
    value = body[name]
    if not isinstance(value, list):
        fail(name, "must be an array")
    if len(value) > MAX_ITEMS:
        fail(name, f"must hold at most {MAX_ITEMS} items")
    for i, item in enumerate(value):
        if not isinstance(item, dict):
            fail(f"{name}[{i}]", "must be an object")
    return value


@dataclass
class Filter:
    key: str
    condition: str
    type: str
    value: object = None
    relative: str | None = None  # a `now-2d` time, resolved when an event is read

    def target(self, now: datetime):
        return parse_time(self.relative, now) if self.relative else self.value

    def test(self, event: dict, now: datetime) -> bool:
        raw = get_path(event, self.key)
        if self.condition == "exists":
            return (raw is not MISSING and raw is not None) == bool(self.value)
        if raw is MISSING or raw is None:
            return False
        if self.type == "number":
            actual = to_number(raw)
        elif self.type == "time":
            try:
                actual = parse_time(raw, now) if isinstance(raw, str) else None
            except TimeError:
                actual = None
        else:
            actual = raw if isinstance(raw, str) else str(raw).lower() if isinstance(raw, bool) else str(raw)
        if actual is None:
            return False
        try:
            return self._compare(actual, self.target(now))
        except (OverflowError, TypeError):  # e.g. a time next to year 1 in another zone
            return False

    def _compare(self, actual, target) -> bool:
        cond = self.condition
        if cond == "contains":
            return str(target) in actual
        if cond == "eq":
            return actual == target
        if cond == "ne":
            return actual != target
        if cond == "lt":
            return actual < target
        if cond == "lte":
            return actual <= target
        if cond == "gt":
            return actual > target
        return actual >= target


@dataclass
class Compiled:
    period: Period
    preprocess: list = field(default_factory=list)  # (key, injectKey, func, param1, param2)
    filters: list = field(default_factory=list)
    groups: list = field(default_factory=list)  # keys of each level 1..n
    group_names: list = field(default_factory=list)
    values: list = field(default_factory=list)  # (key, type, mustExists)
    value_names: list = field(default_factory=list)

    @property
    def depth(self) -> int:
        return len(self.groups)

    @property
    def columns(self) -> int:
        return 2 + len(self.values)


def _preprocess(items: list) -> list:
    steps = []
    for i, item in enumerate(items):
        where = f"preprocess[{i}]"
        func = item.get("func")
        if not isinstance(func, str) or func not in pre.FUNCTIONS:
            fail(f"{where}.func", f"must be one of {', '.join(pre.FUNCTIONS)}")
        key = _string(item, "key", where, required=False, empty=True)
        inject = _string(item, "injectKey", where, required=False, empty=True) or key
        if not inject:
            fail(f"{where}.injectKey", "must not be empty when key is empty")
        params = []
        for name in ("param1", "param2"):
            value = item.get(name, "")
            if value is not None and not isinstance(value, (str, int, float, bool)):
                fail(f"{where}.{name}", "must be a string, a number or a boolean")
            params.append("" if value is None else value)
        if func in ("contains", "replace") and params[0] in ("", None):
            fail(f"{where}.param1", f"must not be empty for {func}")
        steps.append((key, inject, func, params[0], params[1]))
    return steps


def _filters(items: list, now: datetime) -> list:
    filters = []
    for i, item in enumerate(items):
        where = f"filter[{i}]"
        key = _string(item, "key", where)
        condition = CONDITIONS.get(item.get("condition")) if isinstance(item.get("condition"), str) else None
        if condition is None:
            fail(f"{where}.condition", "must be one of eq, ne, lt, lte, gt, gte, contains, exists "
                 "(or =, ==, !=, <, <=, >, >=)")
        ftype = item.get("type", "string")
        if ftype not in FILTER_TYPES:
            fail(f"{where}.type", "must be one of string, number, time")
        comparator = item.get("comparator")
        if "comparator" not in item and condition == "exists":
            comparator = {"value": True}
        if not isinstance(comparator, dict):
            fail(f"{where}.comparator", 'must be an object such as {"value": 10}')
        if "value" not in comparator:
            fail(f"{where}.comparator.value", "is required")
        raw = comparator["value"]
        flt = Filter(key, condition, ftype)
        if condition == "exists":
            if not isinstance(raw, bool):
                fail(f"{where}.comparator.value", "must be true or false for exists")
            flt.value = raw
        elif condition == "contains":
            if ftype != "string":
                fail(f"{where}.condition", "contains applies to the string type only")
            if not isinstance(raw, str) or not raw:
                fail(f"{where}.comparator.value", "must be a non-empty string")
            flt.value = raw
        elif ftype == "number":
            flt.value = to_number(raw)
            if flt.value is None:
                fail(f"{where}.comparator.value", "must be a number")
        elif ftype == "time":
            try:
                parse_time(raw, now)
            except TimeError as exc:
                fail(f"{where}.comparator.value", str(exc))
            if raw.startswith("now"):
                flt.relative = raw
            else:
                flt.value = parse_time(raw, now)
        else:
            if not isinstance(raw, (str, int, float, bool)):
                fail(f"{where}.comparator.value", "must be a string")
            flt.value = raw if isinstance(raw, str) else str(raw).lower() if isinstance(raw, bool) else str(raw)
        filters.append(flt)
    return filters


def compile_report(body: dict, now: datetime) -> Compiled:
    """Check a whole definition (`name` aside) and compile it; DefinitionError names the field."""
    period = body.get("period")
    if period is None:
        fail("period", "is required")
    try:
        compiled = Compiled(Period(period))
    except TimeError as exc:
        fail("period", str(exc))
    compiled.preprocess = _preprocess(_list(body, "preprocess"))
    compiled.filters = _filters(_list(body, "filter"), now)
    groups = _list(body, "groupBy")
    if len(groups) > MAX_LEVELS:
        fail("groupBy", f"must hold at most {MAX_LEVELS} levels")
    for i, item in enumerate(groups):
        where = f"groupBy[{i}]"
        compiled.group_names.append(_string(item, "name", where))
        keys = item.get("keys")
        if not isinstance(keys, list) or not keys:
            fail(f"{where}.keys", "must be a non-empty array of event keys")
        for j, key in enumerate(keys):
            if not isinstance(key, str) or not key:
                fail(f"{where}.keys[{j}]", "must be a non-empty string")
        compiled.groups.append(list(keys))
    for i, item in enumerate(_list(body, "values")):
        where = f"values[{i}]"
        name = _string(item, "name", where)
        vtype = item.get("type")
        if vtype not in VALUE_TYPES:
            fail(f"{where}.type", f"must be one of {', '.join(VALUE_TYPES)}")
        key = _string(item, "key", where, required=vtype != "count")
        must = item.get("mustExists", False)
        if not isinstance(must, bool):
            fail(f"{where}.mustExists", "must be true or false")
        if vtype == "count" and not key:
            must = False
        compiled.values.append((key, vtype, must))
        compiled.value_names.append(name)
    return compiled
