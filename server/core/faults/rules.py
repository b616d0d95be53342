"""A fault rule: which requests it matches, what it does to them, how often and how long.

Rules arrive as JSON (`POST /__apitwin/faults`), as TOML tables (`[[faults]]` in the
config file) or as one command-line string (`--fault 'GET /path status=503 rate=0.2'`,
see `cli_rule`); all three become the same dict, and `parse` checks it with one set of
messages.
"""
from __future__ import annotations

import math
import random
import shlex
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from ..clock import parse_duration
from ..routes import path_pattern

# The error kinds a rule may answer with, and the status each stands for. Every API's
# errors.shape renders them in the API's own body (and may choose its own status).
KIND_STATUS = {
    "unauthorized": 401,
    "forbidden": 403,
    "not_found": 404,
    "rate_limited": 429,
    "server_error": 500,
    "unavailable": 503,
}
STATUS_KIND = {status: kind for kind, status in KIND_STATUS.items()}
CONNECTION_FAULTS = ("reset", "close", "truncate", "malformed")
HTTP_METHODS = ("GET", "PUT", "POST", "DELETE", "OPTIONS", "HEAD", "PATCH", "TRACE")
_Z99 = 2.3263478740408408  # the standard normal's 99th percentile
_KEYS = {"method", "path", "operation", "headers", "query", "latency", "slow_body", "status", "kind",
         "message", "body", "content_type", "retry_after", "connection", "rate_limit", "times", "rate",
         "seed", "ttl"}


def seconds(value, name: str) -> float:
    """'150ms', '2s', or a number of milliseconds -> seconds (>= 0)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(f"{name}: a duration such as '150ms' or '2s', got {value!r}")
    result = value / 1000 if isinstance(value, (int, float)) else parse_duration(value).total_seconds()
    if result < 0 or math.isinf(result) or math.isnan(result):
        raise ValueError(f"{name}: a duration of zero or more, got {value!r}")
    return result


@dataclass(frozen=True)
class Latency:
    """A fixed delay, a uniform range, or a log-normal one given by its median and p99."""

    low: float
    high: float | None = None  # uniform between low and high
    p99: float | None = None  # log-normal: median = low

    def sample(self, rng: random.Random) -> float:
        if self.high is not None:
            return rng.uniform(self.low, self.high)
        if self.p99 is not None:
            sigma = (math.log(self.p99) - math.log(self.low)) / _Z99
            return rng.lognormvariate(math.log(self.low), sigma)
        return self.low


def _latency(value) -> Latency:
    if isinstance(value, str) and ".." in value:
        low, _, high = value.partition("..")
        value = {"min": low, "max": high}
    if not isinstance(value, dict):
        return Latency(seconds(value, "latency"))
    if set(value) == {"min", "max"}:
        low, high = seconds(value["min"], "latency.min"), seconds(value["max"], "latency.max")
        if high < low:
            raise ValueError("latency: max must not be below min")
        return Latency(low, high=high)
    if set(value) == {"median", "p99"}:
        median, p99 = seconds(value["median"], "latency.median"), seconds(value["p99"], "latency.p99")
        if not 0 < median < p99:
            raise ValueError("latency: a log-normal needs 0 < median < p99")
        return Latency(median, p99=p99)
    raise ValueError("latency: a duration ('150ms'), a range ('100ms..300ms' or {min, max}) "
                     "or a long tail ({median, p99})")


@dataclass(frozen=True)
class SlowBody:
    """The answer's body trickled out in `chunks` pieces over `duration` seconds."""

    duration: float
    chunks: int = 10


def _slow_body(value) -> SlowBody:
    if not isinstance(value, dict):
        value = {"duration": value}
    unknown = set(value) - {"duration", "chunks"}
    if unknown or "duration" not in value:
        raise ValueError("slow_body: a duration ('2s') or {duration, chunks}")
    chunks = value.get("chunks", 10)
    if isinstance(chunks, bool) or not isinstance(chunks, int) or not 1 <= chunks <= 1000:
        raise ValueError("slow_body.chunks: an integer from 1 to 1000")
    return SlowBody(seconds(value["duration"], "slow_body.duration"), chunks)


@dataclass(frozen=True)
class ErrorAnswer:
    """An error kind in the API's own shape, or a literal body; `status` overrides the API's."""

    kind: str | None
    status: int | None
    message: str = ""
    body: object = None  # literal: str as is, anything else as JSON
    content_type: str | None = None
    retry_after: int | None = None


@dataclass(frozen=True)
class RateLimit:
    """At most `requests` per `window` for each credential (key, token or session)."""

    requests: int
    window: timedelta


def _rate_limit(value) -> RateLimit:
    if isinstance(value, str) and "/" in value:
        count, _, window = value.partition("/")
        value = {"requests": int(count) if count.strip().isdigit() else count, "window": window}
    if not isinstance(value, dict) or set(value) != {"requests", "window"}:
        raise ValueError("rate_limit: {requests, window} or 'N/window' such as '100/1m'")
    count = value["requests"]
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise ValueError("rate_limit.requests: an integer of 0 or more")
    window = seconds(value["window"], "rate_limit.window")
    if window <= 0:
        raise ValueError("rate_limit.window: a duration above zero")
    return RateLimit(count, timedelta(seconds=window))


@dataclass
class Rule:
    id: str
    spec: dict  # as given, for listing
    method: str | None = None
    path: str | None = None
    operation: str | None = None
    headers: dict = field(default_factory=dict)  # lower-case name -> value
    query: dict = field(default_factory=dict)
    latency: Latency | None = None
    slow_body: SlowBody | None = None
    error: ErrorAnswer | None = None
    connection: str | None = None
    rate_limit: RateLimit | None = None
    times: int | None = None
    rate: float | None = None
    seed: int = 0
    expires_at: datetime | None = None
    applied: int = 0
    rng: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self._pattern = path_pattern(self.path) if self.path else None

    @property
    def answers(self) -> bool:
        """Whether it answers in place of the API (an error, a connection fault, a limit)."""
        return bool(self.error or self.connection or self.rate_limit)

    def matches(self, method: str, path: str, headers, query, operation) -> bool:
        if self.method and self.method != method:
            return False
        if self._pattern is not None and not self._pattern.match(path):
            return False
        if self.operation and self.operation != operation():
            return False
        if any(headers.get(name) != value for name, value in self.headers.items()):
            return False
        return all(value in query().getlist(name) for name, value in self.query.items())

    def fires(self) -> bool:
        """One throw of the rule's seeded coin (always heads without a rate)."""
        return self.rate is None or self.rng.random() < self.rate

    def spent(self) -> bool:
        return self.times is not None and self.applied >= self.times

    def describe(self) -> dict:
        return {"id": self.id, **self.spec, "seed": self.seed, "applied": self.applied,
                **({"remaining": self.times - self.applied} if self.times is not None else {}),
                **({"expires_at": self.expires_at.isoformat()} if self.expires_at else {})}


def _string_map(value, name: str) -> dict:
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise ValueError(f"{name}: an object of names to string values")
    return dict(value)


def _error(spec: dict) -> ErrorAnswer | None:
    if not {"status", "kind", "body"} & set(spec):
        if {"message", "content_type", "retry_after"} & set(spec):
            raise ValueError("message, content_type and retry_after go with a status, kind or body")
        return None
    status, kind = spec.get("status"), spec.get("kind")
    if status is not None and (isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599):
        raise ValueError(f"status: an HTTP status from 100 to 599, got {status!r}")
    if kind is not None and kind not in KIND_STATUS:
        raise ValueError(f"kind: one of {', '.join(KIND_STATUS)}, got {kind!r}")
    if "body" in spec:
        if kind is not None:
            raise ValueError("give a kind (the API's own body) or a literal body, not both")
        status = status or 500
    elif kind is None:
        kind = STATUS_KIND.get(status, "server_error" if status >= 500 else None)
        if kind is None:
            raise ValueError(f"status {status}: name a kind ({', '.join(KIND_STATUS)}) or give a literal body")
    message = spec.get("message", "")
    if not isinstance(message, str):
        raise ValueError("message: a string")
    content_type = spec.get("content_type")
    if content_type is not None and not isinstance(content_type, str):
        raise ValueError("content_type: a string")
    retry_after = spec.get("retry_after")
    if retry_after is not None and (isinstance(retry_after, bool) or not isinstance(retry_after, int) or retry_after < 0):
        raise ValueError("retry_after: a number of seconds (an integer of 0 or more)")
    return ErrorAnswer(kind, status, message, spec.get("body"), content_type, retry_after)


def parse(spec: dict, rule_id: str, now: datetime, routes) -> Rule:
    """The rule a dict describes, checked against the API's routes; ValueError says what is wrong."""
    if not isinstance(spec, dict):
        raise ValueError("a rule is an object")
    unknown = set(spec) - _KEYS
    if unknown:
        raise ValueError(f"unknown field(s) {', '.join(sorted(unknown))}; a rule takes {', '.join(sorted(_KEYS))}")
    method = spec.get("method")
    if method is not None and (not isinstance(method, str) or method.upper() not in HTTP_METHODS):
        raise ValueError(f"method: one of {', '.join(HTTP_METHODS)}, got {method!r}")
    path, operation = spec.get("path"), spec.get("operation")
    if path is not None:
        if not isinstance(path, str) or not path.startswith("/"):
            raise ValueError(f"path: a path or path template starting with /, got {path!r}")
        if path not in routes.templates() and routes.match(path) is None:
            raise ValueError(f"path {path}: no route of this API (its templates: {', '.join(sorted(routes.templates()))})")
    if operation is not None and operation not in routes.operations():
        raise ValueError(f"operation {operation!r}: not an operationId of this API")
    error = _error(spec)
    connection = spec.get("connection")
    if connection is not None and connection not in CONNECTION_FAULTS:
        raise ValueError(f"connection: one of {', '.join(CONNECTION_FAULTS)}, got {connection!r}")
    rate_limit = _rate_limit(spec["rate_limit"]) if "rate_limit" in spec else None
    if sum(x is not None for x in (error, connection, rate_limit)) > 1:
        raise ValueError("one answer per rule: an error (status/kind/body), a connection fault or a rate limit")
    latency = _latency(spec["latency"]) if "latency" in spec else None
    slow_body = _slow_body(spec["slow_body"]) if "slow_body" in spec else None
    if not (latency or slow_body or error or connection or rate_limit):
        raise ValueError("a rule needs something to do: latency, slow_body, status/kind/body, connection or rate_limit")
    times, rate, seed = spec.get("times"), spec.get("rate"), spec.get("seed")
    if times is not None and (isinstance(times, bool) or not isinstance(times, int) or times < 1):
        raise ValueError("times: an integer of 1 or more (the next N matching calls)")
    if rate is not None and (isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate <= 1):
        raise ValueError("rate: a probability from 0 to 1")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise ValueError("seed: an integer")
    if rate_limit and (times is not None or rate is not None):
        raise ValueError("a rate limit counts every matching call: no times or rate")
    ttl = timedelta(seconds=seconds(spec["ttl"], "ttl")) if "ttl" in spec else None
    return Rule(
        id=rule_id, spec=dict(spec), method=method.upper() if method else None, path=path, operation=operation,
        headers={k.lower(): v for k, v in _string_map(spec.get("headers", {}), "headers").items()},
        query=_string_map(spec.get("query", {}), "query"),
        latency=latency, slow_body=slow_body, error=error, connection=connection, rate_limit=rate_limit,
        times=times, rate=rate,
        # A seed is always set, and listed, so a run with a rate can be replayed.
        seed=seed if seed is not None else random.SystemRandom().randrange(2**31),
        expires_at=now + ttl if ttl is not None else None,
    )


# -- the command line's one-string form ----------------------------------------------------
_CLI_INTEGERS = {"status", "retry_after", "times", "seed"}


def cli_rule(text: str) -> dict:
    """'GET /api/v2/stats/{id}/ status=503 rate=0.2' -> the rule's dict.

    Words: an optional METHOD, an optional /path, then key=value pairs: the rule's fields
    (`op=` for operation, `header.NAME=`, `query.NAME=`, `median=`/`p99=` for a long-tailed
    latency, `slow=`/`chunks=` for a slow body, `limit=N/window` for a rate limit). Quote
    values with spaces (`message="try later"`).
    """
    spec: dict = {}
    try:
        words = shlex.split(text)
    except ValueError as exc:
        raise ValueError(f"fault {text!r}: {exc}") from exc
    for word in words:
        key, eq, value = word.partition("=")
        if not eq:
            if word.upper() in HTTP_METHODS and "method" not in spec and "path" not in spec:
                spec["method"] = word.upper()
            elif word.startswith("/") and "path" not in spec:
                spec["path"] = word
            else:
                raise ValueError(f"fault {text!r}: {word!r} is not METHOD, /path or key=value")
            continue
        if key.startswith(("header.", "query.")):
            group, _, name = key.partition(".")
            spec.setdefault(f"{group}s" if group == "header" else group, {})[name] = value
        elif key in ("median", "p99"):
            spec.setdefault("latency", {})[key] = value
        elif key == "slow":
            spec.setdefault("slow_body", {})["duration"] = value
        elif key == "chunks":
            spec.setdefault("slow_body", {})["chunks"] = _number(value, key)
        elif key in ("op", "limit"):
            spec["operation" if key == "op" else "rate_limit"] = value
        elif key == "rate":
            spec["rate"] = _number(value, key, float)
        elif key in _CLI_INTEGERS:
            spec[key] = _number(value, key)
        else:
            spec[key] = value
    return spec


def _number(value: str, key: str, kind=int):
    try:
        return kind(value)
    except ValueError:
        raise ValueError(f"{key}={value}: a number") from None
