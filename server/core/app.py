"""The app factory: one Connexion AsyncApp per API, with the admin API beside it."""
from __future__ import annotations

import logging
from importlib import resources

import connexion
from connexion.datastructures import MediaTypeDict
from connexion.middleware.lifespan import LifespanMiddleware
from connexion.middleware.main import ConnexionMiddleware
from connexion.middleware.response_validation import ResponseValidationMiddleware
from connexion.options import SwaggerUIOptions
from connexion.resolver import RelativeResolver
from connexion.validators import VALIDATOR_MAP, ParameterValidator

from . import errors, routing, speedups
from .api import ApiDefinition, Twin
from .documents import load_document
from .faults import Faults
from .journal import Journal
from .middleware import TwinMiddleware
from .routes import RouteTable

ADMIN_PREFIX = "/__apitwin"
ADMIN_SPEC = resources.files(__package__) / "admin.yaml"

# Connexion logs every 4xx problem as a warning; the request log already says it.
logging.getLogger("connexion").setLevel(logging.ERROR)
speedups.install()
routing.install()


class _NoParameterValidation(ParameterValidator):
    def validate(self, scope):  # the backend validates, with the API's own messages
        return None


class _NoBodyValidation:
    def __init__(self, **kwargs):
        pass

    async def wrap_receive(self, receive, *, scope):
        return receive, scope


_BACKEND_VALIDATES = {
    "parameter": _NoParameterValidation,
    "body": MediaTypeDict({"*/*": _NoBodyValidation}),
    "response": VALIDATOR_MAP["response"],
}


def _middlewares(validate_responses: bool) -> list:
    """Connexion's stack less the layers this app does not use, as each costs every
    request: the servers run with lifespan off, and answers are validated only in tests.
    (Request validation stays: it also refuses undocumented content types.)"""
    unused = {LifespanMiddleware}
    if not validate_responses:
        unused.add(ResponseValidationMiddleware)
    return [m for m in ConnexionMiddleware.default_middlewares if m not in unused]


def load_admin_spec() -> dict:
    return load_document(ADMIN_SPEC)


def served_spec(definition: ApiDefinition, settings: dict) -> dict:
    """The API's spec as this server serves it (e.g. without security when auth is off)."""
    spec = definition.load_spec()
    return definition.adapt_spec(spec, settings) if definition.adapt_spec else spec


def build_app(twin: Twin, *, validate_responses: bool = False, quiet: bool = True):
    """An ASGI app serving `twin` at its real paths, with fixtures loaded."""
    definition = twin.definition
    spec = served_spec(definition, twin.settings)
    admin_spec = load_admin_spec()
    routes = RouteTable(spec, admin_spec, allow=definition.allow)

    app = connexion.AsyncApp(f"apitwin.{definition.name}", middlewares=_middlewares(validate_responses))
    # Both APIs share the base path "": Connexion then hands a request no route of the
    # first matched to the second, whereas a separate mount would shadow one of them.
    # Connexion's sort of equal base paths reverses them, so the API, added second, comes
    # first and its Swagger UI is reachable (a test checks it).
    app.add_api(
        admin_spec,
        base_path="",
        name="admin",
        resolver=RelativeResolver("apitwin.server.core.admin"),
        validate_responses=validate_responses,
        swagger_ui_options=SwaggerUIOptions(serve_spec=False, swagger_ui=False),
    )
    app.add_api(
        spec,
        base_path="",
        name=definition.name,
        resolver=RelativeResolver(definition.handlers),
        validate_responses=validate_responses,
        validator_map=None if definition.validate_requests else _BACKEND_VALIDATES,
        # The UI reads the document at spec_path, served by the admin API (`api_spec`)
        # with this server's URL in `servers` (Connexion's has a blank one).
        swagger_ui_options=SwaggerUIOptions(
            serve_spec=False, swagger_ui_path=f"{ADMIN_PREFIX}/ui", spec_path=f"{ADMIN_PREFIX}/openapi.json"
        ),
    )
    errors.install(app, definition.errors, routes)

    twin.journal = Journal(definition.name, quiet=quiet)
    twin.faults = Faults(twin.clock, spec, definition.errors)
    twin.reset()
    inner = definition.wrap(app) if definition.wrap else app
    return TwinMiddleware(inner, twin, routes)


def create(name: str, *, settings: dict | None = None, validate_responses: bool = False,
           quiet: bool = True, admin_token: str | None = None, fixtures=None):
    """Build the twin of API `name` and its app; returns (twin, asgi_app). With
    `admin_token`, every admin call must send it (`Authorization: Bearer <token>`).
    `fixtures`: a folder whose `<name>/` replaces the bundled fixtures (see Twin)."""
    from .api import definition

    twin = Twin(definition(name), settings, fixtures=fixtures)
    twin.admin_token = admin_token
    return twin, build_app(twin, validate_responses=validate_responses, quiet=quiet)
