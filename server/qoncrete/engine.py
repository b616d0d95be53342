"""The aggregation engine: raw events of each source, and the rows of each report,
updated as events arrive. Queries read rows and never rescan events.

A row is one (level, bucket, group path): level 0 is time only; level k adds the k-th
`groupBy` group. Its values are [count, distinct children, <user values...>].
"""
from __future__ import annotations

import base64
from datetime import datetime
from math import isfinite

import orjson

from . import preprocess as pre
from .definition import MISSING, Compiled, get_path, set_path, to_number
from .periods import label, shift

SKIP = object()


def _unique_key(value):
    if isinstance(value, (dict, list)):
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    return value


class Row:
    __slots__ = ("count", "children", "states", "text", "path")

    def __init__(self, path: tuple, text: str, kinds: list) -> None:
        self.path = path
        self.text = text
        self.count = 0
        self.children = 0
        self.states = [_NEW[k]() for k in kinds]

    def column(self, index: int, kinds: list):
        if index == 0:
            return self.count
        if index == 1:
            return self.children
        kind = kinds[index - 2]
        return _RESULT[kind](self.states[index - 2])

    def values(self, kinds: list) -> list:
        return [self.count, self.children, *(_RESULT[k](s) for k, s in zip(kinds, self.states))]


# Per value type: a new state, adding one value at time t, and the result.
def _add_count(s, v, t):
    s[0] += 1


def _add_sum(s, v, t):
    s[0] += v
    s[1] += 1


def _add_min(s, v, t):
    if s[0] is None or v < s[0]:
        s[0] = v


def _add_max(s, v, t):
    if s[0] is None or v > s[0]:
        s[0] = v


def _add_edges(s, v, t):
    if s[0] is None or t < s[0]:
        s[0], s[1] = t, v
    if s[2] is None or t >= s[2]:
        s[2], s[3] = t, v


def _add_unique(s, v, t):
    s.add(_unique_key(v))


_NEW = {"count": lambda: [0], "sum": lambda: [0, 0], "min": lambda: [None], "max": lambda: [None],
        "avg": lambda: [0, 0], "first": lambda: [None, None, None, None],
        "last": lambda: [None, None, None, None], "diff": lambda: [None, None, None, None],
        "unique": set}
_ADD = {"count": _add_count, "sum": _add_sum, "min": _add_min, "max": _add_max, "avg": _add_sum,
        "first": _add_edges, "last": _add_edges, "diff": _add_edges, "unique": _add_unique}
def finite(value):
    """A sum, average or difference beyond the 64-bit float range (inf, or NaN once
    +inf and -inf met) is null: JSON has no such numbers *(choice)*."""
    return None if isinstance(value, float) and not isfinite(value) else value


_RESULT = {
    "count": lambda s: s[0],
    "sum": lambda s: finite(s[0]),
    "min": lambda s: s[0],
    "max": lambda s: s[0],
    "avg": lambda s: finite(s[0] / s[1]) if s[1] else None,
    "first": lambda s: s[1],
    "last": lambda s: s[3],
    "diff": lambda s: finite(s[3] - s[1]) if s[0] is not None else None,
    "unique": len,
}
_NUMERIC = ("sum", "min", "max", "avg", "first", "last", "diff")


def group_text(values: list) -> str:
    return ",".join("" if v is None else str(v).lower() if isinstance(v, bool) else str(v) for v in values)


def encode_key(level: int, bucket: datetime, path: tuple) -> str:
    parts = [str(level), label(bucket)]
    parts.extend(base64.b64encode(comp.encode()).decode("ascii") for comp in path)
    return "!".join(parts)


class ReportRows:
    """The rows of one report, and how an event updates them."""

    def __init__(self, compiled: Compiled) -> None:
        self.c = compiled
        self.kinds = [vtype for _, vtype, _ in compiled.values]
        self.levels: list[dict[datetime, dict[tuple, Row]]] = [{} for _ in range(compiled.depth + 1)]
        self.row_count = 0
        self._by_path: dict[tuple[int, datetime], tuple[int, list]] = {}

    def rows_by_path(self, level: int, bucket: datetime) -> list:
        """The rows of one level and bucket sorted by group values (kept until a row is added)."""
        rows = self.levels[level].get(bucket)
        if not rows:
            return []
        cached = self._by_path.get((level, bucket))
        if cached is None or cached[0] != len(rows):
            ordered = [rows[path] for path in sorted(rows)]
            cached = self._by_path[(level, bucket)] = (len(rows), ordered)
        return cached[1]

    def prepare(self, event: dict, at: datetime, now: datetime) -> dict | None:
        """The event after pre-processing, or None when a filter drops it."""
        for key, inject, func, p1, p2 in self.c.preprocess:
            value = get_path(event, key) if key else MISSING
            result = pre.run(func, value, p1, p2, at, now)
            if result is not MISSING:
                event = set_path(event, inject, result)
        for flt in self.c.filters:
            if not flt.test(event, now):
                return None
        return event

    def add(self, event: dict, at: datetime, now: datetime) -> bool:
        event = self.prepare(event, at, now)
        if event is None:
            return False
        values = []
        for key, vtype, must in self.c.values:
            raw = get_path(event, key) if key else None
            if key and (raw is MISSING or raw is None):
                values.append(SKIP if must else (0 if vtype in _NUMERIC else None))
                continue
            if vtype in _NUMERIC:
                number = to_number(raw)
                values.append(number if number is not None else (SKIP if must else 0))
            else:
                values.append(raw)
        bucket = self.c.period.floor(at)
        path: tuple = ()
        parent = None
        kinds = self.kinds
        groups = self.c.groups
        group = None
        for level, rows_by_bucket in enumerate(self.levels):
            if level:
                group = [get_path(event, k) for k in groups[level - 1]]
                if MISSING in group:
                    group = [None if v is MISSING else v for v in group]
                path = path + (orjson.dumps(group).decode(),)
            rows = rows_by_bucket.get(bucket)
            if rows is None:
                rows = rows_by_bucket[bucket] = {}
            row = rows.get(path)
            if row is None:
                row = rows[path] = Row(path, group_text(group) if level else "", kinds)
                self.row_count += 1
                if parent is not None:
                    parent.children += 1
            row.count += 1
            for i, value in enumerate(values):
                if value is not SKIP:
                    _ADD[kinds[i]](row.states[i], value, at)
            parent = row
        return True

    def render(self, level: int, bucket: datetime, row: Row) -> dict:
        return {"key": encode_key(level, bucket, row.path), "values": row.values(self.kinds)}


class SourceData:
    """One source's retained raw events, counters, daily statistics and report rows."""

    def __init__(self) -> None:
        self.events: list[tuple[datetime, datetime, dict]] = []  # (received, at, event)
        self.count = 0
        self.size = 0
        self.daily: dict[str, list[int]] = {}
        self.reports: dict[str, ReportRows] = {}
        self.oldest: datetime | None = None  # the earliest `received` retained

    def purge(self, ttl: tuple[int, str] | None, now: datetime) -> int:
        """Drop raw events received before now - ttl; returns how many went."""
        if ttl is None or not self.events:
            return 0
        cutoff = shift(now, -ttl[0], ttl[1])
        if self.oldest is None or self.oldest >= cutoff:
            return 0
        kept = [e for e in self.events if e[0] >= cutoff]
        gone = len(self.events) - len(kept)
        self.events = kept
        self.oldest = min((e[0] for e in kept), default=None)
        return gone

    def ingest(self, items: list[tuple[datetime, datetime, dict, int]], now: datetime) -> None:
        """Keep and aggregate events given as (received, at, event, size)."""
        reports = list(self.reports.values())
        day, stat = None, None
        for received, at, event, size in items:
            if self.oldest is None or received < self.oldest:
                self.oldest = received
            received_day = received.strftime("%Y-%m-%d")
            if received_day != day:
                day = received_day
                stat = self.daily.setdefault(day, [0, 0])
            self.events.append((received, at, event))
            self.count += 1
            self.size += size
            stat[0] += 1
            stat[1] += size
            for rows in reports:
                rows.add(event, at, now)

    def rebuild(self, rid: str, compiled: Compiled, now: datetime) -> ReportRows:
        rows = ReportRows(compiled)
        for _, at, event in self.events:
            rows.add(event, at, now)
        self.reports[rid] = rows
        return rows
