"""Report queries over the aggregated rows: scankeys, scandates, mergereports, CSV export."""
from __future__ import annotations

import csv
import io
from datetime import datetime

import orjson

from .definition import fail
from .engine import _RESULT, ReportRows, Row, encode_key, finite, group_text
from .periods import TIMELESS, TimeError, label, parse_query_time, parse_shift, shift

COMPARISONS = {
    ">=": lambda a, b: a >= b, ">": lambda a, b: a > b, "<=": lambda a, b: a <= b,
    "<": lambda a, b: a < b, "=": lambda a, b: a == b, "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b, "gte": lambda a, b: a >= b, "gt": lambda a, b: a > b,
    "lte": lambda a, b: a <= b, "lt": lambda a, b: a < b, "eq": lambda a, b: a == b,
    "ne": lambda a, b: a != b,
}
MAX_COUNT = 1000
_LOWEST = float("-inf")
MAX_EXPORT = 100000


def _object(body, where="body"):
    if not isinstance(body, dict):
        fail(where, "must be a JSON object")
    return body


def _int(body: dict, name: str, default: int, low: int, high: int, where: str = "") -> int:
    value = body.get(name)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        elif isinstance(value, str) and value.strip().lstrip("-").isdigit():
            value = int(value)
        else:
            fail(where + name, "must be an integer")
    if not low <= value <= high:
        fail(where + name, f"must be between {low} and {high}")
    return value


def _time(body: dict, name: str, now: datetime, where: str = "", default: str | None = None) -> datetime:
    value = body.get(name, default)
    if value is None:
        fail(where + name, "is required")
    try:
        return parse_query_time(value, now)
    except TimeError as exc:
        fail(where + name, str(exc))


def _order(body: dict, name: str, default: str, where: str = "") -> bool:
    """True for descending."""
    value = body.get(name)
    if value in (None, ""):
        value = default
    if isinstance(value, str) and value.lower() in ("asc", "desc"):
        return value.lower() == "desc"
    if value in (1, -1):
        return value == -1
    fail(where + name, 'must be "asc" or "desc"')


def row_filters(body: dict, rows: ReportRows, where: str = "") -> list:
    """`filters: [{value: <column>, comp: ">=", to: 10}]` -> (column, compare, to)."""
    items = body.get("filters")
    if items is None:
        return []
    if not isinstance(items, list):
        fail(where + "filters", "must be an array")
    checks = []
    for i, item in enumerate(items):
        at = f"{where}filters[{i}]"
        if not isinstance(item, dict):
            fail(at, "must be an object")
        column = item.get("value")
        if isinstance(column, bool) or not isinstance(column, int) or not 0 <= column < rows.c.columns:
            fail(f"{at}.value", f"must be a column index between 0 and {rows.c.columns - 1}")
        comp = COMPARISONS.get(item.get("comp")) if isinstance(item.get("comp"), str) else None
        if comp is None:
            fail(f"{at}.comp", "must be one of >=, >, <=, <, =, !=")
        to = item.get("to")
        if isinstance(to, bool) or not isinstance(to, (int, float)):
            fail(f"{at}.to", "must be a number")
        checks.append((column, comp, to))
    return checks


def _passes(row: Row, checks: list, kinds: list) -> bool:
    for column, comp, to in checks:
        value = row.column(column, kinds)
        if value is None or not comp(value, to):
            return False
    return True


def column_values(candidates: list, pos: int, kinds: list) -> list:
    """Column `pos` of each row, for sorting (a null value sorts below every number)."""
    if pos == 0:
        return [r.count for r in candidates]
    if pos == 1:
        return [r.children for r in candidates]
    kind, i = kinds[pos - 2], pos - 2
    if kind in ("count", "min", "max"):  # the result is the state's first slot
        values = [r.states[i][0] for r in candidates]
    elif kind == "sum":  # the first slot, null when beyond the float range
        values = [finite(r.states[i][0]) for r in candidates]
    elif kind == "unique":
        return [len(r.states[i]) for r in candidates]
    else:
        result = _RESULT[kind]
        values = [result(r.states[i]) for r in candidates]
    return [_LOWEST if v is None else v for v in values]


query_time = _time


def bucket_at(rows: ReportRows, body: dict, name: str, now: datetime, where: str = "") -> datetime:
    if rows.c.period.timeless:
        return TIMELESS
    return rows.c.period.floor(_time(body, name, now, where, default="now"))


def scan_keys(rows: ReportRows, body, now: datetime, *, names: dict | None = None,
              where: str = "", limit_max: int = MAX_COUNT, limit_default: int = 20):
    """(level, bucket, [rows], has_more, next cursor) of one bucket and level, filtered, sorted, paged."""
    names = names or {}
    body = _object(body, where.rstrip(".") or "body")
    n = lambda key: names.get(key, key)  # noqa: E731
    bucket = bucket_at(rows, body, n("at"), now, where)
    depth = rows.c.depth
    level = _int(body, n("klen"), min(1, depth), 0, depth, where)
    search = body.get(n("keySearch"), "")
    if search is None:
        search = ""
    if not isinstance(search, str):
        fail(where + n("keySearch"), "must be a string")
    count = _int(body, n("count"), limit_default, 0, limit_max, where)
    cursor = _int(body, n("cursor"), 0, 0, 10**9, where)
    descending = _order(body, n("sortType"), "desc", where)
    pos = _int(body, n("sortPos"), 0, -1, rows.c.columns - 1, where)
    checks = row_filters(body, rows, where)
    candidates = rows.rows_by_path(level, bucket)  # ordered by group values
    if search:
        prefix = f"{level}!"
        if search.startswith(prefix):
            candidates = [r for r in candidates if encode_key(level, bucket, r.path).startswith(search)]
        else:
            candidates = [r for r in candidates if r.text.startswith(search)]
    if checks:
        candidates = [r for r in candidates if _passes(r, checks, rows.kinds)]
    end = cursor + count + 1
    if pos < 0:
        chosen = candidates[::-1][:end] if descending else candidates[:end]
    else:
        # A stable sort in C over the column: ties keep the order of group values.
        values = column_values(candidates, pos, rows.kinds)
        order = sorted(range(len(values)), key=values.__getitem__, reverse=descending)
        chosen = [candidates[i] for i in order[:end]]
    page = chosen[cursor:cursor + count]
    return level, bucket, page, len(chosen) > cursor + count, cursor + len(page)


def _group_path(rows: ReportRows, keys, where: str) -> tuple:
    if keys is None:
        return ()
    if not isinstance(keys, list):
        fail(where + "keys", "must be an array of group values (one per groupBy level)")
    if len(keys) > rows.c.depth:
        fail(where + "keys", f"has {len(keys)} levels but the report has {rows.c.depth} groupBy levels")
    path = []
    for i, group in enumerate(keys):
        values = group if isinstance(group, list) else [group]
        if len(values) != len(rows.c.groups[i]):
            fail(f"{where}keys[{i}]", f"must hold {len(rows.c.groups[i])} value(s), one per key of groupBy[{i}]")
        path.append(orjson.dumps(values).decode())
    return tuple(path)


def scan_dates(rows: ReportRows, body, now: datetime, *, limit_max: int = MAX_COUNT, limit_default: int = 100):
    """(level, [(bucket, row)], has_more) of one group path over the buckets from..to."""
    body = _object(body)
    if rows.c.period.timeless:
        start, end = TIMELESS, TIMELESS
    else:
        # `to` before `from` is a range without buckets: no rows, as the contract reads.
        start = rows.c.period.floor(_time(body, "from", now))
        end = _time(body, "to", now)
    path = _group_path(rows, body.get("keys"), "")
    descending = _order(body, "sort", "asc")
    count = _int(body, "count", limit_default, 0, limit_max)
    checks = row_filters(body, rows)
    level = len(path)
    found = []
    for bucket in sorted(rows.levels[level], reverse=descending):
        if start <= bucket <= end:
            row = rows.levels[level][bucket].get(path)
            if row is not None and _passes(row, checks, rows.kinds):
                found.append((bucket, row))
    return level, found[:count], len(found) > count


MERGE_NAMES = {"keySearch": "search", "count": "limit", "sortType": "order", "sortPos": "sort"}


def sub_row(sub: ReportRows, main_level: int, at: datetime, path: tuple, search: str) -> dict:
    """The sub-report's row for the same group path at its bucket holding `at` (zeros if none)."""
    bucket = TIMELESS if sub.c.period.timeless else sub.c.period.floor(at)
    row = sub.levels[main_level].get(bucket, {}).get(path)
    if row is not None and (not search or row.text.startswith(search)):
        return sub.render(main_level, bucket, row)
    return {"key": encode_key(main_level, bucket, path), "values": [0, 0] + [None] * len(sub.kinds)}


def parse_time_diff(item: dict, where: str):
    diff = item.get("timeDiff")
    if diff in (None, ""):
        return None
    try:
        return parse_shift(diff)
    except TimeError as exc:
        fail(where + "timeDiff", str(exc))


def shifted(at: datetime, diff) -> datetime:
    return at if diff is None or at == TIMELESS else shift(at, diff[0], diff[1])


# -- CSV ---------------------------------------------------------------------------------
def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def to_csv(rows: ReportRows, level: int, items: list[tuple[datetime, Row]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["key", "date", *rows.c.group_names[:level], "count", "distinct", *rows.c.value_names])
    for bucket, row in items:
        groups = [group_text(orjson.loads(comp)) for comp in row.path]
        writer.writerow([encode_key(level, bucket, row.path), label(bucket), *groups,
                         *(_cell(v) for v in row.values(rows.kinds))])
    return out.getvalue()
