"""OpenGrid's query language: `q`, `n`, `s` and ids as the real service reads them. No HTTP.

`q` is MongoDB filter JSON (with extended JSON `{"$oid": ...}` and `{"$date": ...}`),
evaluated by mongomock. Before mongomock sees it:
- operators that execute code (`$where`, `$function`, `$accumulator`, `$expr`) are refused;
- every `$regex` becomes a `BoundedRegex`, matched by the `regex` module under a time
  budget per request, so a pattern with catastrophic backtracking answers an error instead
  of hanging the server.
"""
from __future__ import annotations

import re
import time
from datetime import datetime, timezone

import orjson
import regex
from bson import ObjectId
from bson.regex import Regex

from apitwin.server.core.nesting import nests_deeper_than
from apitwin.server.core.store import MAX_DEPTH

from .errors import ClientError, DataError

CODE_OPERATORS = ("$where", "$function", "$accumulator", "$expr")
REGEX_BUDGET_SECONDS = 0.5  # well under the second a client should wait
MAX_PATTERN_LENGTH = 2000
MAX_LIMIT = 2**31 - 1  # a larger n means the same: every row
# Clauses of one $and/$or/$nor: each is evaluated for every row, so 5,000 took 13 s over a
# dataset. The query builder emits a handful (the contract documents the bound).
MAX_CLAUSES = 100
_HEX24 = re.compile(r"^[0-9a-fA-F]{24}$")
# The contract's `PathObjectId`: `{"$oid":"<24 hex>"}`, spaces allowed around its parts (as
# MongoDB's own JSON writes it), or the 24 hex digits alone.
_PATH_ID = re.compile(r'([0-9a-fA-F]{24})|\{ *"\$oid" *: *"([0-9a-fA-F]{24})" *\}')
_FLAGS = {"i": regex.IGNORECASE, "m": regex.MULTILINE, "s": regex.DOTALL, "x": regex.VERBOSE}


class RegexTimeout(Exception):
    """A `$regex` used up the request's matching budget."""


class Budget:
    """The time left for regular-expression matching in one request."""

    def __init__(self, seconds: float = REGEX_BUDGET_SECONDS) -> None:
        self.deadline = time.monotonic() + seconds

    def left(self) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise RegexTimeout()
        return left


class _Matcher:
    """`regex` with a timeout for each search, within the request's budget."""

    def __init__(self, compiled, budget: Budget) -> None:
        self.compiled = compiled
        self.budget = budget

    def search(self, text):
        try:
            return self.compiled.search(text, timeout=self.budget.left())
        except TimeoutError:
            raise RegexTimeout() from None


class _SimpleMatcher:
    """The standard `re` (faster) for patterns that cannot backtrack badly (see
    `_is_simple`), on short values only: one search of such a pattern is at worst
    quadratic in the value, so a short value bounds it (about a millisecond) and the budget
    is checked before each. Longer values go to the timed matcher: `.*x` over a 120 KB
    value took 6.8 s in `re`."""

    SHORT = 1024

    def __init__(self, compiled, timed: _Matcher) -> None:
        self.compiled = compiled
        self.timed = timed

    def search(self, text):
        if len(text) > self.SHORT:
            return self.timed.search(text)
        self.timed.budget.left()
        return self.compiled.search(text)


_UNBOUNDED = re.compile(r"[*+]|\{\d*,\d*\}")


def _is_simple(pattern: str, flags: int) -> bool:
    """No groups, alternation, backreferences or verbose mode, and at most one unbounded
    quantifier: the patterns the query builder emits (`contains`, `begins_with`)."""
    if flags & regex.VERBOSE or any(c in pattern for c in "()|") or re.search(r"\\[1-9gkpPNX]", pattern):
        return False
    return len(_UNBOUNDED.findall(re.sub(r"\\.", "", pattern))) <= 1


class BoundedRegex(Regex):
    """A bson Regex that mongomock compiles (`try_compile`) into a time-bounded matcher."""

    def __init__(self, pattern: str, flags: int = 0, budget: Budget | None = None) -> None:
        super().__init__(pattern, flags)
        self.budget = budget or Budget()
        self._matcher = None

    def try_compile(self):
        if self._matcher is None:
            # `regex` validates with PCRE-like syntax, and times out.
            timed = _Matcher(regex.compile(self.pattern, self.flags), self.budget)
            self._matcher = timed
            if _is_simple(self.pattern, self.flags):
                try:
                    self._matcher = _SimpleMatcher(re.compile(self.pattern, self.flags), timed)
                except re.error:
                    pass
        return self._matcher

    def __deepcopy__(self, memo):  # mongomock copies filters; keep the budget shared
        return self


# -- ids ---------------------------------------------------------------------------------
def parse_id(raw: str) -> ObjectId:
    """A path's id (URL-decoded already) -> ObjectId; exactly the contract's `PathObjectId`."""
    found = _PATH_ID.fullmatch(raw or "")
    if found is None:
        raise ClientError(f"Invalid object id {raw}: expected {{\"$oid\":\"<24 hex digits>\"}} or 24 hex digits.")
    return ObjectId(found.group(1) or found.group(2))


# -- extended JSON -----------------------------------------------------------------------
def parse_date(value):
    """An ISO 8601 text or epoch milliseconds -> naive UTC datetime, or None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        try:
            return datetime.fromtimestamp(value / 1000, timezone.utc).replace(tzinfo=None)
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, dict) and "$numberLong" in value:
        try:
            return parse_date(int(value["$numberLong"]))
        except (TypeError, ValueError):
            return None
    if isinstance(value, str):
        return parse_date_text(value)
    return None


_DATE_FORMATS = ("%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y %I:%M %p", "%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M",
                 "%m/%d/%Y")


def parse_date_text(text: str):
    text = text.strip()
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        value = None
        for fmt in _DATE_FORMATS:
            try:
                value = datetime.strptime(text, fmt)
                break
            except ValueError:
                continue
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    return value


def from_extended(value):
    """Extended JSON values (`$oid`, `$date`) of a parsed document -> BSON values."""
    if isinstance(value, dict):
        if len(value) == 1 and "$oid" in value and isinstance(value["$oid"], str) and _HEX24.match(value["$oid"]):
            return ObjectId(value["$oid"])
        if len(value) == 1 and "$date" in value:
            date = parse_date(value["$date"])
            if date is None:
                raise ClientError(f"Invalid $date value: {orjson.dumps(value['$date']).decode()}")
            return date
        return {key: from_extended(item) for key, item in value.items()}
    if isinstance(value, list):
        return [from_extended(item) for item in value]
    return value


def to_extended(value):
    """BSON values -> the service's JSON (`{"$oid": ...}`, `{"$date": ...}`)."""
    if isinstance(value, dict):
        return {key: to_extended(item) for key, item in value.items()}
    if isinstance(value, list):
        return [to_extended(item) for item in value]
    if isinstance(value, ObjectId):
        return {"$oid": str(value)}
    if isinstance(value, datetime):
        return {"$date": value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"}
    return value


def parse_json_object(text: str | None, name: str, *, error=DataError) -> dict:
    """A JSON object parameter; missing or empty means `{}`."""
    if text is None or text.strip() == "":
        return {}
    if nests_deeper_than(text.encode("utf-8", "surrogatepass"), MAX_DEPTH):
        # Form fields of a multipart body reach here unmeasured by the core.
        raise ClientError(f"Parameter {name} nests deeper than {MAX_DEPTH} levels.")
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise error(f"Invalid JSON in parameter {name}: {exc}") from None
    if not isinstance(value, dict):
        raise error(f"Parameter {name} must be a JSON object.")
    return value


# -- q -----------------------------------------------------------------------------------
def parse_filter(text: str | None, *, budget: Budget | None = None, date_fields=()) -> dict:
    """`q` -> a filter mongomock can evaluate safely (bad JSON: DataError 0200)."""
    raw = parse_json_object(text, "q")
    return prepare_filter(raw, budget=budget, date_fields=date_fields)


def prepare_filter(raw: dict, *, budget: Budget | None = None, date_fields=()) -> dict:
    budget = budget or Budget()
    return _prepare(from_extended(raw), budget, set(date_fields), None)


def _regex_of(pattern, options, budget: Budget) -> BoundedRegex:
    if isinstance(pattern, Regex):
        pattern, flags = pattern.pattern, pattern.flags
    else:
        flags = 0
    if not isinstance(pattern, str):
        raise ClientError("$regex has to be a string.")
    if options is not None and not isinstance(options, str):
        raise ClientError("$options has to be a string.")
    for letter in options or "":
        if letter not in "imxsu":
            raise ClientError(f"Invalid regular expression option: {letter}")
        flags |= _FLAGS.get(letter, 0)
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise ClientError(f"Regular expression too long (more than {MAX_PATTERN_LENGTH} characters).")
    try:
        compiled = BoundedRegex(pattern, flags, budget)
        compiled.try_compile()
    except regex.error as exc:
        raise ClientError(f"Invalid regular expression /{pattern}/: {exc}") from None
    return compiled


def _date_operand(value):
    """A date column compared with text (ISO 8601 or the service's `MM/dd/yyyy hh:mm:ss AM`)
    or epoch milliseconds compares with the date it means."""
    if isinstance(value, str):
        return parse_date_text(value) or value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return parse_date(value) or value
    if isinstance(value, list):
        return [_date_operand(v) for v in value]
    return value


def _check_operand(key: str, value) -> None:
    """MongoDB's refusals of operands of the wrong kind (not Python's messages)."""
    if key in ("$and", "$or", "$nor"):
        if not isinstance(value, list) or not value:
            raise DataError(f"Invalid query filter: {key} must be a nonempty array")
        if not all(isinstance(item, dict) for item in value):
            raise DataError(f"Invalid query filter: {key} entries need to be full objects")
        if len(value) > MAX_CLAUSES:
            raise ClientError(f"Query filter too large: {key} takes at most {MAX_CLAUSES} clauses.")
    elif key in ("$in", "$nin", "$all") and not isinstance(value, list):
        raise DataError(f"Invalid query filter: {key} needs an array")


def _prepare(node, budget: Budget, date_fields: set, field: str | None):
    if isinstance(node, list):
        return [_prepare(item, budget, date_fields, field) for item in node]
    if not isinstance(node, dict):
        if field in date_fields:
            return _date_operand(node)
        return node
    out = {}
    for key, value in node.items():
        if not isinstance(key, str):
            raise ClientError("Filter keys must be strings.")
        if key in CODE_OPERATORS:
            raise ClientError(f"Operator {key} is not allowed: it executes code.")
        if key == "$regex":
            out[key] = _regex_of(value, node.get("$options"), budget)
        elif key == "$options":
            if "$regex" not in node:
                raise ClientError("$options needs a $regex.")
        elif key.startswith("$"):
            _check_operand(key, value)
            out[key] = _prepare(value, budget, date_fields, field)
        else:
            out[key] = _prepare(value, budget, date_fields, key)
    return out


# -- n and s -----------------------------------------------------------------------------
def parse_limit(raw) -> int | None:
    """`n`: missing or 0 -> 0 (no rows), negative -> None (no limit)."""
    if raw is None or str(raw).strip() == "":
        return 0
    try:
        value = int(str(raw).strip())
    except ValueError:
        raise ClientError(f"Invalid value for n: {raw} (an integer is expected).") from None
    return None if value < 0 else min(value, MAX_LIMIT)


def parse_sort(text: str | None) -> list[tuple[str, int]] | None:
    """`s`: a sort document such as `{"date": -1}`; None when missing."""
    if text is None or text.strip() == "":
        return None
    spec = parse_json_object(text, "s", error=ClientError)
    return sort_pairs(spec)


def sort_pairs(spec: dict) -> list[tuple[str, int]]:
    pairs = []
    for key, direction in spec.items():
        if isinstance(direction, bool) or direction not in (1, -1):
            raise ClientError(f"Invalid sort direction for {key}: use 1 or -1.")
        pairs.append((key, int(direction)))
    return pairs
