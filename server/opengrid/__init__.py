"""OpenGrid REST Service 1.4.0 (seed 004): users, groups, saved queries, datasets."""
import json

from apitwin import FIXTURES_DIR
from apitwin.server.core.api import ApiDefinition
from apitwin.server.core.settings import Setting

from . import errors
from .backend import OpenGridBackend
from .handlers import CORS_HEADERS, guard
from .mongoq import REGEX_BUDGET_SECONDS


def _credentials() -> dict:
    first = json.loads((FIXTURES_DIR / "opengrid" / "users.json").read_text(encoding="utf-8"))[0]
    return {"username": first["userId"], "password": first["password"]}


DEFINITION = ApiDefinition(
    name="opengrid",
    title="OpenGrid REST Service 1.4.0",
    default_port=8004,
    backend=OpenGridBackend,
    errors=errors,
    handlers="apitwin.server.opengrid.handlers",
    # The handlers validate, answering the service's own errors (HTTP 200 + code 0300).
    validate_requests=False,
    settings=(
        Setting("jwt_secret", str, None,
                "the key that signs and checks the X-AUTH-TOKEN JWTs (unset: a random key per start)"),
        Setting("regex_budget_seconds", float, REGEX_BUDGET_SECONDS,
                "how long one $regex filter may run before it is refused"),
    ),
    # The browser client needs them on every answer, errors and preflights included.
    response_headers=CORS_HEADERS,
    # The token is checked before routing, as the real service's security filter does.
    guard=guard,
    credentials=_credentials,
)
