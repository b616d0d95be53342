"""OpenGrid REST Service 1.4.0 (seed 004): users, groups, saved queries, datasets."""
from apitwin.server.core.api import ApiDefinition

from . import errors
from .backend import OpenGridBackend
from .handlers import CORS_HEADERS, guard
from .mongoq import REGEX_BUDGET_SECONDS

DEFINITION = ApiDefinition(
    name="opengrid",
    title="OpenGrid REST Service 1.4.0",
    default_port=8004,
    backend=OpenGridBackend,
    errors=errors,
    handlers="apitwin.server.opengrid.handlers",
    # The handlers validate, answering the service's own errors (HTTP 200 + code 0300).
    validate_requests=False,
    settings={"jwt_secret": None, "regex_budget_seconds": REGEX_BUDGET_SECONDS},
    # The browser client needs them on every answer, errors and preflights included.
    response_headers=CORS_HEADERS,
    # The token is checked before routing, as the real service's security filter does.
    guard=guard,
)
