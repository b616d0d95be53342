"""MONARC Stats API v1 (`/api/v1`): the generation the MONARC application calls."""
from apitwin.server.core.api import ApiDefinition

from . import errors, urls
from .backend import StatsBackend

def _adapt_spec(spec: dict, settings: dict) -> dict:
    """The operations check the key themselves, after the User-Agent gate (the real order),
    so Connexion is not given the document's security requirement to enforce first."""
    spec.pop("security", None)
    return spec


DEFINITION = ApiDefinition(
    name="monarc-v1",
    title="MONARC Stats API v1",
    default_port=5001,
    backend=StatsBackend,
    errors=errors,
    handlers="apitwin.server.monarc_v1.handlers",
    validate_requests=False,
    # Registration is closed by default, as in the real service's production config.
    settings={"client_registration_open": False},
    adapt_spec=_adapt_spec,
    # Flask's session interface marks every answer (no cookie is ever set).
    response_headers={"Vary": "Cookie"},
    wrap=urls.wrap,
)
