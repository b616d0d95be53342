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


def probe_by_get(session: "Session", path: str, refused: str, params: dict | None = None) -> None:
    """A `Profile.probe`: one GET of `path`; on 401/403, LoginRefused("<refused>: GET <path> answered ...")."""
    answer = session.request("GET", path, params=params, check=False, count=False)
    if answer.status in (401, 403):
        raise LoginRefused(f"{refused}: GET {path} answered {answer.summary()}")


def short(value, limit: int = 200) -> str:
    """A value for a message: a string as it is, anything else as JSON; cut after `limit` characters."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[:limit] + "..."


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
    operation: str  # operationId, or "*" for every operation
    why: str
    matches: Callable[[str, "Exchange"], bool]


@dataclass
class Created:
    """An object a run created, to delete at the end (or list as left over)."""

    kind: str
    ident: str
    data: Any = None

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

    def rejected(self, exchange: "Exchange") -> str | None:
        """Whether a 2xx answer is really a rejection in this API's convention (its reason)."""
        return None

    def accept(self, check: str, exchange: "Exchange") -> str | None:
        """Why a Schemathesis failure is this API's documented behaviour (None: a real failure)."""
        return None

    # -- objects the run creates ---------------------------------------------------------
    def created(self, exchange: "Exchange") -> Created | None:
        """The object a successful create answer made, if any."""
        return None

    def delete(self, session: "Session", created: Created) -> bool | None:
        """Delete it: True when gone, False when the deletion failed, None when the API cannot delete."""
        return None

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
