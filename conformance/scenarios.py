"""Behavioural scenarios, written once per API and run against any base URL.

A scenario is a function `(run: ScenarioRun) -> None` declared with `@scenario(...)`. It
talks to the deployment through `run.request(...)` (authenticated, re-logging in when the
deployment answers 401/403), states what must hold with `run.expect(...)` (a failed
expectation is a failure naming the fault, with the curl line that shows it) and
`run.require(...)` (the same, and the scenario stops), and registers what it creates with
`run.created(...)` so the run deletes it at the end.
"""
from __future__ import annotations

import time
import traceback
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

import httpx

from .exchange import Exchange
from .results import RUN, Failure, Results, ScenarioResult
from .safety import Ledger, violations
from .spec import Routes
from .verdicts import judge

if TYPE_CHECKING:
    from .profiles import Created, Profile


class Unreachable(Exception):
    """The deployment did not answer at all."""


class UnsafeWrite(Exception):
    """A scenario was about to write to an object the run did not create (a kit defect)."""


class StandInOnly(Exception):
    """A scenario needs an operation only apitwin's stand-in has: it does not apply here."""


class Session:
    """HTTP to the deployment with the profile's credentials; every answer is checked."""

    def __init__(self, base_url: str, profile: "Profile", creds: dict, results: Results, routes: Routes,
                 timeout: float = 15.0, ledger: Ledger | None = None, show_secrets: bool = False,
                 verify=True) -> None:
        self.base_url = base_url.rstrip("/")
        self.profile = profile
        self.creds = creds
        self.results = results
        self.routes = routes
        self.ledger = ledger or Ledger()
        self.show_secrets = show_secrets
        self.skipped_operations: frozenset[str] = frozenset()  # stand-in-only ones, elsewhere
        # verify: an https:// deployment's certificate is checked against these CAs (--ca-file).
        self.http = httpx.Client(base_url=self.base_url, timeout=timeout, follow_redirects=False, verify=verify)
        self.headers: dict[str, str] = {}
        self.strict = False  # True: known deviations of the profile are failures too
        self.logins = 0
        self._logged_in_at = 0.0
        self._useless_logins = 0

    def close(self) -> None:
        self.http.close()

    # -- auth ----------------------------------------------------------------------------
    def login(self) -> dict[str, str]:
        """Log in (again); raises LoginRefused or Unreachable."""
        try:
            headers = dict(self.profile.login(self.http, self.creds))
        except httpx.TransportError as exc:
            raise Unreachable(f"{self.base_url}: {exc.__class__.__name__}: {exc}") from exc
        if headers != self.headers or not self.logins:  # a static key "logs in" to the same headers
            self.logins += 1
        self.headers = headers
        self._logged_in_at = time.monotonic()
        return self.headers

    def auth_headers(self) -> dict[str, str]:
        renew = self.profile.renew_after
        if not self.logins or (renew is not None and time.monotonic() - self._logged_in_at > renew):
            self.login()
        return self.headers

    @property
    def secrets(self) -> tuple[str, ...]:
        return () if self.show_secrets else self.profile.secrets(self.creds, self.headers)

    # -- requests ------------------------------------------------------------------------
    def request(self, method: str, path: str, *, params: dict | None = None, json: Any = None,
                content: bytes | str | None = None, data: dict | None = None, headers: dict | None = None,
                auth: bool = True, check: bool = True, count: bool = True) -> Exchange:
        """Send a request; with `auth`, retried once after a new login on 401/403.

        A write that could touch an object the run did not create is never sent (UnsafeWrite)."""
        self._guard(method, path, params, json if json is not None else data)
        exchange = self._send(method, path, params, json, content, data, headers, auth)
        if auth and exchange.status in self.profile.refused_statuses and self._useless_logins < 3:
            self.login()
            exchange = self._send(method, path, params, json, content, data, headers, auth)
            # Logging in again that does not help (credentials revoked, or a refusal that is
            # about the request, not the token) is not tried forever.
            refused = exchange.status in self.profile.refused_statuses
            self._useless_logins = self._useless_logins + 1 if refused else 0
        elif auth and exchange.status not in self.profile.refused_statuses:
            self._useless_logins = 0
        if auth and count and exchange.status is not None:
            self.results.statuses[exchange.status] += 1
        if exchange.status is not None:
            self.results.answers[exchange.status] += 1
        if exchange.status is not None and 200 <= exchange.status < 300:
            item = self.profile.created(exchange)
            if item is not None:
                self.ledger.add(item)
        if check:
            self.check_conventions(exchange)
        return exchange

    def _guard(self, method: str, path: str, params, body) -> None:
        route = self.routes.find(method, path.split("?", 1)[0])
        if route is not None and route.operation_id in self.skipped_operations:
            raise StandInOnly(route.label)
        problems = violations(self.profile, self.ledger, route, method, path.split("?", 1)[0],
                              dict(params or {}), body)
        if problems:
            raise UnsafeWrite(f"{method} {path}: " + "; ".join(problems))

    def _send(self, method, path, params, json, content, data, headers, auth) -> Exchange:
        merged = dict(self.auth_headers()) if auth else {}
        merged.update(headers or {})
        request = self.http.build_request(method, path, params=params, json=json, content=content, data=data,
                                          headers=merged)
        route = self.routes.find(method, request.url.path)
        try:
            response = self.http.send(request)
        except httpx.TransportError as exc:
            raise Unreachable(f"{method} {request.url}: {exc.__class__.__name__}: {exc}") from exc
        finally:
            # No cookie jar: every request carries exactly the credentials it was given.
            self.http.cookies.clear()
        return Exchange(
            method=method.upper(), url=str(request.url), request_headers=dict(request.headers),
            request_body=request.content or None, status=response.status_code,
            headers={k.lower(): v for k, v in response.headers.items()}, body=response.content,
            operation=route.operation_id if route else None,
            label=route.label if route else self.routes.label(method, request.url.path),
            secrets=self.secrets,
        )

    def check_conventions(self, exchange: Exchange) -> list[str]:
        """The profile's conventions, recorded as checks of the operation the request hit."""
        verdict = judge(self.profile, exchange, strict=self.strict)
        if verdict.waived is not None:
            self.results.waive(verdict.waived, exchange)
        problems = verdict.problems
        check = f"{self.profile.name}.conventions"
        if not problems:
            self.results.check(exchange.label, True)
        for problem in problems:
            self.results.check(exchange.label, False, Failure(
                check=check, operation=exchange.label or RUN, title=problem,
                message="answer: " + exchange.summary(), curl=exchange.curl()))
        return problems


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    func: Callable[["ScenarioRun"], None]
    writes: bool  # creates objects: not run with --read-only


def scenario(name: str, description: str, *, writes: bool = False):
    """Declare a scenario: `@scenario("paging", "pages add up to the whole")`."""

    def wrap(func):
        return Scenario(name, description, func, writes)

    return wrap


class StopScenario(Exception):
    pass


class ScenarioRun:
    """What a scenario works with: requests, expectations, created objects, unique names."""

    def __init__(self, session: Session, result: ScenarioResult) -> None:
        self.session = session
        self.result = result
        self.run_id = session.ledger.run_id
        self._labels: list[str] = []
        self._last: Exchange | None = None

    # -- requests ------------------------------------------------------------------------
    def request(self, method: str, path: str, **kwargs) -> Exchange:
        exchange = self.session.request(method, path, **kwargs)
        self._labels.append(exchange.label or RUN)
        self._last = exchange
        return exchange

    def get(self, path: str, **kwargs) -> Exchange:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs) -> Exchange:
        return self.request("POST", path, **kwargs)

    def unique(self, label: str = "x", kind: str = "name") -> str:
        """A name (or "email", "uuid") no deployment holds: apitwin-<run id>-<label>-<n>."""
        return self.session.ledger.unique_as(kind, label)

    # -- expectations --------------------------------------------------------------------
    def expect(self, ok: bool, title: str, exchange: Exchange | None = None, detail: str = "") -> bool:
        label = exchange.label if exchange is not None else (self._labels[-1] if self._labels else RUN)
        self.result.checks += 1
        failure = None
        if not ok:
            self.result.failed += 1
            message = detail
            if exchange is not None:
                message = (message + "\n" if message else "") + "answer: " + exchange.summary()
            # Without an exchange of its own, the last request of the scenario shows where it stood.
            shown = exchange if exchange is not None else self._last
            failure = Failure(check=f"scenario:{self.result.name}", operation=label or RUN, title=title,
                              message=message, curl=shown.curl() if shown is not None else None)
        self.session.results.check(label, ok, failure)
        return ok

    def require(self, ok: bool, title: str, exchange: Exchange | None = None, detail: str = "") -> None:
        if not self.expect(ok, title, exchange, detail):
            raise StopScenario(title)

    def expect_status(self, exchange: Exchange, *statuses: int, what: str = "") -> bool:
        return self.expect(exchange.status in statuses,
                           f"{what or exchange.method + ' ' + exchange.path}: expected status "
                           f"{' or '.join(map(str, statuses))}, got {exchange.status}", exchange)

    def require_status(self, exchange: Exchange, *statuses: int, what: str = "") -> None:
        if not self.expect_status(exchange, *statuses, what=what):
            raise StopScenario(what)

    def created(self, item: "Created") -> None:
        self.session.ledger.add(item)


def run_scenarios(session: Session, scenarios: list[Scenario], *, read_only: bool) -> None:
    for item in scenarios:
        result = ScenarioResult(item.name, item.description)
        session.results.scenarios.append(result)
        if read_only and item.writes:
            result.status, result.reason = "skipped", "writes; not run with --read-only"
            continue
        run = ScenarioRun(session, result)
        try:
            item.func(run)
        except StopScenario:
            pass
        except StandInOnly as exc:
            result.status, result.reason = "skipped", f"needs {exc}, which only apitwin's stand-in has"
            continue
        except Unreachable:
            raise
        except Exception as exc:  # a scenario that crashes names where, and the run goes on
            run.expect(False, f"scenario crashed: {exc.__class__.__name__}: {exc}",
                       detail="".join(traceback.format_exception(exc)[-3:]))
        if result.failed:
            result.status = "failed"
