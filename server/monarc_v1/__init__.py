"""MONARC Stats API v1 (`/api/v1`): the generation the MONARC application calls."""
import json

from apitwin import FIXTURES_DIR
from apitwin.server.core.api import ApiDefinition
from apitwin.server.core.settings import Setting

from . import errors, urls
from .backend import StatsBackend

def _adapt_spec(spec: dict, settings: dict) -> dict:
    """The operations check the key themselves, after the User-Agent gate (the real order),
    so Connexion is not given the document's security requirement to enforce first."""
    spec.pop("security", None)
    return spec


def _credentials() -> dict:
    clients = json.loads((FIXTURES_DIR / "monarc_v1" / "clients.json").read_text(encoding="utf-8"))
    tokens = {client["name"]: client["token"] for client in clients}
    return {"api_key": tokens["CASES"], "other_api_key": tokens["ACME"], "admin_api_key": tokens["admin"]}


DEFINITION = ApiDefinition(
    name="monarc-v1",
    title="MONARC Stats API v1",
    default_port=5001,
    backend=StatsBackend,
    errors=errors,
    handlers="apitwin.server.monarc_v1.handlers",
    validate_requests=False,
    settings=(
        Setting("client_registration_open", bool, False,
                "let an admin client register clients (the service's CLIENT_REGISTRATION_OPEN; "
                "closed, as in its production config)"),
        Setting("instance_url", str, "",
                "the service's INSTANCE_URL: the Swagger UI page at /api/v1/ loads "
                "<instance_url>/api/v1/swagger.json (empty: the scheme and host the page is asked at)"),
    ),
    credentials=_credentials,
    adapt_spec=_adapt_spec,
    # Flask's session interface marks every answer (no cookie is ever set).
    response_headers={"Vary": "Cookie"},
    wrap=urls.wrap,
)
