"""Per-API profiles: how to log in, the API's conventions, its behavioural scenarios.

Each API adds one module `profiles/<api>.py` defining `PROFILE`, an instance of a
`Profile` subclass (see README.md). `get(name)` imports it; `names()` lists those present.
"""
from __future__ import annotations

import importlib
import json
import pkgutil
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    import httpx

    from ..exchange import Exchange
    from ..scenarios import Scenario, Session


class LoginRefused(Exception):
    """The deployment refused the credentials: the run cannot happen (exit 2)."""


class WrongTarget(Exception):
    """The deployment is not this API: it answers 404 to what the API serves (exit 2)."""


def probe_by_get(session: "Session", path: str, refused: str, params: dict | None = None) -> None:
    """A `Profile.probe`: one GET of `path`; on 401/403, LoginRefused("<refused>: GET <path> answered ...");
    on 404, WrongTarget (the base URL or the API is wrong)."""
    answer = session.request("GET", path, params=params, check=False, count=False)
    if answer.status in (401, 403):
        raise LoginRefused(f"{refused}: GET {path} answered {answer.summary()}")
    if answer.status == 404:
        raise WrongTarget(f"GET {path} answered 404: is this the {session.profile.name} API, and is "
                          f"{session.base_url} its base URL?")


def short(value, limit: int = 200) -> str:
    """A value for a message: a string as it is, anything else as JSON; cut after `limit` characters."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[:limit] + "..."


# MongoDB's integers (and PostgreSQL's bigint) are 64 bits.
INT64 = (-(2**63), 2**63 - 1)


def beyond_int64(value) -> bool:
    """Whether `value` is a JSON integer (not a boolean) that no 64-bit integer holds."""
    return isinstance(value, int) and not isinstance(value, bool) and not INT64[0] <= value <= INT64[1]


def nearest_int64(value: int) -> int:
    return min(max(value, INT64[0]), INT64[1])


def well_formed(value):
    """`value` (any JSON) without lone UTF-16 surrogates in its strings and keys, which no UTF-8
    store holds (a pair of them is one character and stays: it is sent as the same JSON text)."""
    if isinstance(value, str):
        return value.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "ignore")
    if isinstance(value, dict):
        return {well_formed(key): well_formed(item) for key, item in value.items()}
    if isinstance(value, list):
        return [well_formed(item) for item in value]
    return value


def shown_body(ex: "Exchange") -> str:
    """The answer's body for a message: its JSON, or its first 200 bytes as text; shortened."""
    body = ex.json()
    return short(body if body is not None else ex.body[:200].decode("utf-8", "replace"))


@dataclass(frozen=True)
class AuthOption:
    """One credential: `--<name with dashes>`, env `APITWIN_<API>_<NAME>`, config key `<name>`."""

    name: str
    help: str
    secret: bool = True

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")


@dataclass(frozen=True)
class Deviation:
    """A known deviation of a deployment from the contract, waived unless `--strict`.

    `matches(check, exchange)` says whether a Schemathesis failure of check `check` is this
    deviation. Each one names who should fix it; remove it once fixed.
    """

    check: str  # a Schemathesis check, or "api_conventions" for the profile's own rules
    operation: str  # operationId
    why: str
    matches: Callable[[str, "Exchange"], bool]


@dataclass(frozen=True)
class Documented:
    """An answer a Schemathesis check calls a failure, which is this API's documented behaviour.

    Narrow by construction: one operation (or a few named ones), one status, and `matches`
    looks at the API's own message or field *and* at the request, to tell a justified
    refusal from a fault that happens to look like one. `reason` says what the real service
    does. `--strict` fails on every answer a rule accepts.
    """

    name: str  # short, unique within the profile: the summary counts answers per rule
    check: str  # the Schemathesis check whose failure it explains ("positive_data_acceptance", ...)
    operations: tuple[str, ...]  # operationIds
    status: int
    matches: Callable[["Exchange"], bool]
    reason: str
    # A made-up answer of this rule's shape and message that a *valid* request must not
    # get accepted with (the planted-fault tests send it in place of a success); a rule for
    # positive_data_acceptance only (a valid request answered 2xx is no failure to plant).
    planted: tuple[int, Any] | None = None
    # How a generated valid request is made to meet the rule before it is sent (True when
    # it changed the draft): the kit's valid cases then test what the rule leaves valid,
    # and a deployment that still refuses them fails. The summary counts completions per rule.
    complete: Callable[["Draft"], bool] | None = None

    def accepts(self, check: str, exchange: "Exchange") -> bool:
        return check == self.check and exchange.operation in self.operations and exchange.status == self.status \
            and bool(self.matches(exchange))


@dataclass
class Draft:
    """A generated valid request before it is sent: what a `Documented.complete` may change.

    `path` and `query` are dicts (never None); `body` may be replaced by any value (it is
    Schemathesis' NOT_SET when the request has none)."""

    operation: str
    method: str
    path: dict
    query: dict
    body: Any = None
    media_type: str | None = None
    # `get(path, params=None, once=True)`: the JSON of a GET through the run's own session, None
    # unless it answered 200 -- what a `complete` may learn from the API itself (a resource's own
    # fields, a table's own columns). `once`: asked once per run (what does not change while it
    # runs); None outside a run.
    get: Callable[..., Any] | None = None


@dataclass(frozen=True)
class ToolArtefact:
    """A failure Schemathesis reports that is the checker's mistake, not the deployment's.

    Listed as such in every report; not a failure, with `--strict` neither.
    """

    name: str
    check: str
    operations: tuple[str, ...]
    matches: Callable[["Exchange", Any], bool]  # (exchange, Schemathesis' failure)
    why: str


@dataclass
class Created:
    """An object a run created, to delete at the end (or list as left over)."""

    kind: str
    ident: str
    data: Any = None
    targets: tuple[str, ...] = ()  # other values that name it in paths (its kind's name, ...)

    def __str__(self) -> str:
        return f"{self.kind} {self.ident}"


class Profile:
    """What the kit must know about one API. Subclass it in `profiles/<api>.py`."""

    name: str = ""
    auth_options: tuple[AuthOption, ...] = ()
    # Log in again after this many seconds (tokens that expire); None: once per run.
    renew_after: float | None = None
    # Statuses that mean "not allowed" here (a run whose answers are all these fails).
    refused_statuses: tuple[int, ...] = (401, 403)
    deviations: tuple[Deviation, ...] = ()
    # The API documents that unknown query parameters are ignored (not refused).
    ignores_unknown_query_parameters: bool = False
    # Schemathesis checks that do not apply to this API, with the reason (shown in the report).
    skipped_checks: dict[str, str] = {}
    # Operations (operationId -> reason) Schemathesis must not call, e.g. a logout that would
    # end the run's own session; scenarios may still exercise them on sessions of their own.
    excluded_operations: dict[str, str] = {}
    # Answers that are this API's documented behaviour, though a check calls them failures.
    documented: tuple[Documented, ...] = ()
    # Failures that are the checker's mistake for this API (the generic ones are in the engine).
    artefacts: tuple[ToolArtefact, ...] = ()

    # -- what a run may write (see safety.py) -------------------------------------------
    # What a writing run creates, for the plan printed before it starts.
    creates: str = "objects named apitwin-<run id>-..."
    # Path parameters that name a kind of object, not an object (any value may be written to).
    namespace_params: frozenset[str] = frozenset()
    # operationId -> {dotted body or query field: "name" | "email" | "uuid"}: the name or id a
    # create chooses for what it makes (an upsert where it exists): always a run-unique one.
    named_fields: dict[str, dict[str, str]] = {}
    # operationId -> dotted fields naming an existing object the request changes.
    target_fields: dict[str, tuple[str, ...]] = {}
    # POST operations that change nothing (logins, queries sent by POST).
    reads_by_post: frozenset[str] = frozenset()
    # GET operations that create when given a query parameter (operationId -> parameter).
    writing_gets: dict[str, str] = {}
    # Path parameter or field -> a value no object of a deployment has ("{run}": the run id).
    absent_ids: dict[str, str] = {}

    def absent_value(self, name: str, ledger) -> str:
        """A value for `name` that names no object on any deployment."""
        template = self.absent_ids.get(name)
        return template.format(run=ledger.run_id) if template else f"{ledger.prefix}-absent"

    # -- credentials ---------------------------------------------------------------------
    def missing_credentials(self, creds: dict[str, str | None]) -> str | None:
        """A sentence naming what is missing, or None when `creds` are enough to log in."""
        missing = [o.flag for o in self.auth_options if not creds.get(o.name)]
        return f"missing {' and '.join(missing)}" if missing else None

    def login(self, http: "httpx.Client", creds: dict[str, str | None]) -> dict[str, str]:
        """Log in; returns the headers that authenticate a request. Raises LoginRefused."""
        return {}

    def probe(self, session: "Session") -> None:
        """One cheap safe request with the credentials; raise LoginRefused if they are refused."""

    def prepare(self, session: "Session") -> None:
        """Before a writing run: make objects of the run's own that its writes are aimed at."""

    def own_values(self, session: "Session") -> set[str]:
        """Values that are the run's own identity (its user's email...): its scenarios may write them."""
        return set()

    def credentials_work(self, session: "Session") -> list[str]:
        """Checks every credential the run started with still works; returns what no longer does."""
        logins = session.logins  # a check, not a login the run needed
        try:
            session.login()
            self.probe(session)
        except LoginRefused as exc:
            return [f"the starting credentials no longer work: {exc}"]
        finally:
            session.logins = logins
        return []

    def secrets(self, creds: dict[str, str | None], headers: dict[str, str]) -> tuple[str, ...]:
        """Values never written into reports (credentials, tokens)."""
        values = [v for o in self.auth_options if o.secret for v in [creds.get(o.name)] if v]
        values += [v for v in headers.values() if v]
        values += [v.split(" ", 1)[1] for v in headers.values() if v and " " in v]  # "Bearer <token>"
        return tuple(values)

    # -- checks --------------------------------------------------------------------------
    def conventions(self, exchange: "Exchange") -> list[str]:
        """The API's own rules every answer follows; one message per rule broken."""
        return []

    def rejected(self, exchange: "Exchange") -> int | None:
        """The HTTP status a 2xx answer stands for when this API's convention makes it a refusal."""
        return None

    def rejection_text(self, exchange: "Exchange") -> str:
        """The refusal a 2xx answer holds, in a few words."""
        return shown_body(exchange)

    def accept(self, check: str, exchange: "Exchange") -> Documented | None:
        """The documented-behaviour rule that explains a Schemathesis failure (None: a real failure)."""
        return next((rule for rule in self.documented if rule.accepts(check, exchange)), None)

    def artefact(self, check: str, exchange: "Exchange", failure: Any = None) -> ToolArtefact | None:
        """The tool artefact a Schemathesis failure is, if any."""
        return next((a for a in self.artefacts if a.check == check and exchange.operation in a.operations
                     and a.matches(exchange, failure)), None)

    # -- objects the run creates ---------------------------------------------------------
    def created(self, exchange: "Exchange") -> Created | None:
        """The object a successful create answer made, if any."""
        return None

    def delete(self, session: "Session", created: Created) -> bool | None:
        """Delete it: True when gone, False when the deletion failed, None when the API cannot delete."""
        return None

    def subject(self, exchange: "Exchange") -> str | None:
        """The one object a request is about ("projects 3"), where the API deletes objects by
        another request than a DELETE of their path (see `removes`); None otherwise."""
        return None

    def removes(self, exchange: "Exchange") -> bool:
        """Whether this successful answer deleted its `subject`: a deletion Schemathesis cannot
        tell (it knows only a DELETE of the object's path), so a later not-found is no fault."""
        return False

    # -- scenarios -----------------------------------------------------------------------
    def scenarios(self) -> list["Scenario"]:
        return []


def names() -> list[str]:
    """The APIs with a profile (module `monarc_v1` is API `monarc-v1`)."""
    return sorted(m.name.replace("_", "-") for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))


def get(name: str) -> Profile:
    if name not in names():
        raise KeyError(name)
    return importlib.import_module(f"{__name__}.{name.replace('-', '_')}").PROFILE
