"""Fault and latency injection, and a rate limit per credential, in each API's own words.

Each twin has a `Faults` (rules added through `/__apitwin/faults`, the command line or
the config file). For every request but the admin API's, `plan` asks each rule in turn
whether it matches and fires: delays add up, the first slow body and the first answer
(an error, a connection fault or a refused rate limit) win. The middleware runs the
`Injection` and marks the request in the journal.
"""
from __future__ import annotations

import asyncio
import math
from datetime import datetime

from starlette.datastructures import QueryParams
from starlette.requests import cookie_parser

from ..admin_access import is_admin
from ..routes import RouteTable
from . import inject, rules
from .rules import ErrorAnswer, Rule
from .startup import install, startup_rules, summary  # noqa: F401  (the CLI's entry points)


class Faults:
    def __init__(self, clock, spec: dict, api_errors) -> None:
        self.clock = clock
        self.routes = RouteTable(spec)  # the API's own routes, not the admin API's
        self.spec = spec
        self.api_errors = api_errors
        self._credential_places = _credential_places(spec)
        self._rules: list[Rule] = []
        self._startup: list[dict] = []
        self._next_id = 1
        # (rule id, credential) -> [window start, requests in it]
        self._windows: dict[tuple[str, str], list] = {}

    # -- the rule set ----------------------------------------------------------------------
    def add(self, spec: dict, *, startup: bool = False) -> Rule:
        """Checks and adds a rule (ValueError says what is wrong); start-up rules come back on reset."""
        rule = rules.parse(spec, f"f{self._next_id}", self.clock.now(), self.routes)
        self._next_id += 1
        self._rules.append(rule)
        if startup:
            self._startup.append(spec)
        return rule

    def describe(self) -> list[dict]:
        self._expire(self.clock.now())
        return [rule.describe() for rule in self._rules]

    def remove(self, rule_id: str) -> bool:
        kept = [rule for rule in self._rules if rule.id != rule_id]
        found = len(kept) != len(self._rules)
        self._rules = kept
        self._windows = {key: window for key, window in self._windows.items() if key[0] != rule_id}
        return found

    def clear(self) -> None:
        self._rules = []
        self._windows.clear()

    def reset(self, mode: str = "startup") -> None:
        """On `/__apitwin/reset`: the start-up rules afresh, the rules as they are, or none."""
        if mode == "keep":
            return
        self.clear()
        if mode == "startup":
            for spec in self._startup:
                self.add(spec)

    # -- one request -------------------------------------------------------------------------
    def plan(self, scope, headers, send) -> "Injection | None":
        """What the rules do to this request, or None when none fires."""
        if not self._rules or is_admin(scope["path"]):
            return None
        now = self.clock.now()
        self._expire(now)
        method, path = scope["method"], scope["path"]
        route = _Lazy(lambda: self.routes.route(method, path) or (None, None))
        query = _Lazy(lambda: QueryParams(scope.get("query_string", b"").decode("latin-1")))
        injection = Injection(transport=inject.transport_of(send))
        for rule in list(self._rules):
            if injection.answer is not None and rule.answers and rule.rate_limit is None:
                continue  # one answer per request; later rules keep their turn
            if not rule.matches(method, path, headers, query, lambda: route()[1]):
                continue
            if rule.rate_limit is not None:  # counts every matching call, answered or not
                self._count(rule, now, scope, headers, query, injection)
                continue
            if not rule.fires():
                continue
            rule.applied += 1
            if rule.spent():
                self.remove(rule.id)
            self._apply(rule, injection, method, route()[0])
        return injection if injection.notes or injection.limit_headers else None

    def _apply(self, rule: Rule, injection: "Injection", method: str, template: str | None) -> None:
        if rule.latency is not None:
            delay = rule.latency.sample(rule.rng)
            injection.delay += delay
            injection.note(rule.id, f"latency {delay * 1000:.0f} ms")
        if rule.slow_body is not None and injection.slow_body is None:
            injection.slow_body = rule.slow_body
            injection.note(rule.id, f"slow body over {rule.slow_body.duration * 1000:.0f} ms")
        if rule.error is not None:
            injection.answer = inject.error_response(self.api_errors, rule.error)
            injection.note(rule.id, _error_note(rule.error))
        elif rule.connection is not None:
            example = inject.success_example(self.spec, method, template)
            injection.answer = inject.connection_fault(rule.connection, injection.transport, example, rule.rng)
            injection.dropped = rule.connection in ("reset", "close")
            injection.note(rule.id, f"connection {rule.connection}")

    def _count(self, rule: Rule, now: datetime, scope, headers, query, injection: "Injection") -> None:
        """One more request of this credential in its window; refused past the limit."""
        key = (rule.id, self._credential(scope, headers, query))
        window = self._windows.get(key)
        if window is None or now >= window[0] + rule.rate_limit.window:
            window = self._windows[key] = [now, 0]
        window[1] += 1
        limit = rule.rate_limit.requests
        if window[1] <= limit or injection.answer is not None:
            if not injection.limit_headers:  # the first rate limit speaks for the answer
                injection.limit_headers = self._limit_headers(limit, max(0, limit - window[1]))
            return
        retry_after = max(1, math.ceil((window[0] + rule.rate_limit.window - now).total_seconds()))
        error = ErrorAnswer("rate_limited", None)
        injection.answer = inject.error_response(self.api_errors, error, retry_after)
        # The refusing limit's headers: Unix time of the end of its window, as the API counts it.
        injection.limit_headers = self._limit_headers(limit, 0, retry_after, math.floor(now.timestamp()) + retry_after)
        injection.note(rule.id, f"rate limit of {limit} per "
                                f"{rule.rate_limit.window.total_seconds():g}s exceeded: rate_limited")

    def _limit_headers(self, limit: int, remaining: int, retry_after: int | None = None,
                       reset: int | None = None) -> dict[str, str]:
        """The headers the API's rate limit sends (its errors module's `rate_limit_headers`),
        on every answer under the limit; none when the API declares none. `retry_after` and
        `reset` (a Unix time) are given on a refusal only."""
        headers = getattr(self.api_errors, "rate_limit_headers", None)
        return headers(limit, remaining, retry_after, reset) if headers else {}

    def _credential(self, scope, headers, query) -> str:
        """The API's key, token or session (as its spec's security schemes say where), else
        the client's address."""
        for place, name in self._credential_places:
            if place == "header":
                value = headers.get(name)
            elif place == "query":
                value = query().get(name)
            else:
                value = cookie_parser(headers.get("cookie", "")).get(name)
            if value:
                return f"{place}:{name}:{value}"
        client = scope.get("client")
        return f"client:{client[0] if client else ''}"

    def _expire(self, now: datetime) -> None:
        for rule in [rule for rule in self._rules if rule.expires_at is not None and now >= rule.expires_at]:
            self.remove(rule.id)


class Injection:
    """What happens to one request: a delay, then its answer or the API's, perhaps trickled."""

    def __init__(self, transport) -> None:
        self.transport = transport
        self.delay = 0.0
        self.slow_body = None
        self.answer = None  # an ASGI app answering in place of the API
        self.limit_headers: dict[str, str] = {}  # the rate limit's own, on whatever answers
        self.dropped = False  # no answer at all (reset, close)
        self.notes: list[tuple[str, str]] = []
        self._send = None

    def note(self, rule_id: str, action: str) -> None:
        self.notes.append((rule_id, action))

    def sender(self, send):
        """`send`, or the one that trickles the body out when a slow body fired; either sets
        the rate limit's headers."""
        if self._send is None:
            self._send = inject.trickle(send, self.slow_body) if self.slow_body is not None else send
            if self.limit_headers:
                self._send = inject.with_headers(self._send, self.limit_headers)
        return self._send

    async def before(self):
        """Waits the delay; returns the injected answer, if any."""
        if self.delay:
            await asyncio.sleep(self.delay)
        return self.answer

    def outcome(self, status: int) -> tuple[int, dict]:
        """The journal's status (0: no answer) and its mark of what was injected (None:
        nothing was, a rate limit's headers alone are no fault)."""
        if not self.notes:
            return status, None
        return (0 if self.dropped else status), {
            "rules": list(dict.fromkeys(rule_id for rule_id, _ in self.notes)),
            "actions": [f"{rule_id}: {action}" for rule_id, action in self.notes],
        }


def _error_note(error: ErrorAnswer) -> str:
    if error.kind is None:
        return f"status {error.status} (literal body)"
    return f"{error.kind}{f' status {error.status}' if error.status else ''}"


def _credential_places(spec: dict) -> list[tuple[str, str]]:
    """Where the spec's security schemes carry a credential: (header|query|cookie, name)."""
    places = []
    for scheme in ((spec.get("components") or {}).get("securitySchemes") or {}).values():
        if scheme.get("type") == "apiKey" and scheme.get("in") in ("header", "query", "cookie"):
            places.append((scheme["in"], scheme["name"].lower() if scheme["in"] == "header" else scheme["name"]))
        elif scheme.get("type") == "http":
            places.append(("header", "authorization"))
    return places


class _Lazy:
    """A value computed on first use (a query string parsed only when a rule reads it)."""

    def __init__(self, compute) -> None:
        self._compute = compute
        self._done = False
        self._value = None

    def __call__(self):
        if not self._done:
            self._value, self._done = self._compute(), True
        return self._value
