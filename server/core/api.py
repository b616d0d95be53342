"""What every API folder declares, and the running instance of one API (a twin)."""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from apitwin import FIXTURES_DIR, OPENAPI_DIR

from .clock import Clock
from .documents import load_document
from .settings import Setting, defaults
from .store import Store

# Every API of the project, in the order `apitwin serve` lists them.
API_NAMES = ("qoncrete", "monarc", "monarc-v1", "qore", "datacortex", "opengrid")


def module_name(name: str) -> str:
    """The Python package of API `name` (`monarc-v1` lives in `monarc_v1`)."""
    return name.replace("-", "_")


@dataclass(frozen=True)
class ApiDefinition:
    """One API folder's declaration: its contract, its backend, its error shapes."""

    name: str
    title: str
    default_port: int
    backend: Callable[["Twin"], Any]  # builds the backend over twin.store / twin.clock
    errors: Any  # the API's errors module: render(status, message, request) and friends
    handlers: str  # module path resolving operationIds
    # Connexion's request validation off when the backend validates (exact messages).
    validate_requests: bool = True
    # Werkzeug's slash handling, for routes that end with a slash (middleware `_redirect`):
    # `/path` answers a 308 to `/path/` when only the slashed route exists and serves the
    # method (else 405), repeated slashes a 308 to the path with them merged, and leading
    # slashes are read as one.
    redirect_slashes: bool = False
    # The body and content type of that redirect, given its Location (None: no body).
    redirect_page: Callable[[str], tuple[str, str]] | None = None
    # The methods a route's `Allow` header names, given those its contract serves (a
    # framework may add HEAD and OPTIONS, in an order of its own). None: the contract's.
    allow: Callable[[list[str]], list[str]] | None = None
    # OPTIONS on a served path answers 200 with `Allow` and an empty body of this content
    # type, before auth, as Flask does. None: OPTIONS is routed like any other method.
    options_content_type: str | None = None
    # Settings a user may change (`--set`, `--no-auth`, config file): `Setting`s with their
    # type, default and help (the common ones, e.g. `cors`, are added by the core).
    settings: tuple[Setting, ...] = ()
    # Transforms the loaded spec for the given settings (e.g. drop security when auth is off).
    adapt_spec: Callable[[dict, dict], dict] | None = None
    # Headers every answer carries unless it sets them itself, errors included (e.g. CORS).
    response_headers: dict = field(default_factory=dict)
    # Runs before routing on every request but the admin API's, as the real service's
    # filters do (e.g. auth checked before a 404): guard(backend, method, path, headers)
    # raises a DomainError to refuse the request.
    guard: Callable[[Any, str, str, dict], None] | None = None
    # The seeded credentials a client needs, named as `apitwin conform <api>` takes them
    # (e.g. {"api_key": ...}), for the pytest plugin: credentials() -> dict.
    credentials: Callable[[], dict] | None = None
    # An ASGI layer of the API's own around its Connexion app (inside the twin's middleware),
    # for what the real service's framework answers before any route: e.g. Werkzeug's
    # HTML 404, its slash redirects and automatic OPTIONS. wrap(app) -> app.
    wrap: Callable[[Any], Any] | None = None

    @property
    def spec_path(self):
        return OPENAPI_DIR / f"{self.name}.yaml"

    def load_spec(self) -> dict:
        return load_document(self.spec_path)


class Twin:
    """One running API: its store, clock, settings and backend."""

    def __init__(self, definition: ApiDefinition, settings: dict | None = None, clock: Clock | None = None,
                 fixtures: str | Path | None = None):
        self.definition = definition
        self.name = definition.name
        # Seed data: `<fixtures>/<api>/` when given and present (`apitwin serve --fixtures DIR`,
        # e.g. what `apitwin fixtures import` wrote), else the bundled fixtures/<api>/.
        custom = Path(fixtures) / definition.name if fixtures else None
        self.fixtures_folder = custom if custom is not None and custom.is_dir() else FIXTURES_DIR / definition.name
        self.settings = {**defaults(definition.settings), **(settings or {})}
        self.clock = clock or Clock()
        self.store = Store(definition.name)
        self.backend = definition.backend(self)
        self.journal = None  # set by the app factory
        # Required by every admin call when set (admin_access); the CLI sets it.
        self.admin_token: str | None = None
        self.faults = None  # set by the app factory

    def reset(self) -> None:
        """Back to the fixtures: empty store, fixtures loaded through the backend."""
        self.store.reset()
        self.backend.load_fixtures()

    def accounts(self) -> list[str]:
        """Seeded accounts and keys, one line each, for the start-up table."""
        return list(self.backend.accounts())


def definition(name: str) -> ApiDefinition:
    return importlib.import_module(f"apitwin.server.{module_name(name)}").DEFINITION


def available() -> list[str]:
    """The APIs whose folder declares its DEFINITION, in the project's order."""
    names = []
    for name in API_NAMES:
        try:
            module = importlib.import_module(f"apitwin.server.{module_name(name)}")
        except ModuleNotFoundError as exc:
            if exc.name != f"apitwin.server.{module_name(name)}":
                raise
            continue
        if getattr(module, "DEFINITION", None) is not None:
            names.append(name)
    return names
