"""MONARC Stats API v2 (seed 001)."""
import json

from apitwin import FIXTURES_DIR
from apitwin.server.core.api import ApiDefinition
from apitwin.server.core.settings import Setting

from . import answers, errors
from .backend import MonarcBackend


def _adapt_spec(spec: dict, settings: dict) -> dict:
    """With authentication off, the served contract has no security requirement (the
    organization operations have none either way)."""
    if not settings.get("api_key_authentication", True):
        spec.pop("security", None)
    return spec


def _credentials() -> dict:
    first, other = json.loads((FIXTURES_DIR / "monarc" / "organizations.json").read_text(encoding="utf-8"))[:2]
    return {"api_key": first["token"], "other_api_key": other["token"]}


DEFINITION = ApiDefinition(
    name="monarc",
    title="MONARC Stats API v2",
    default_port=5000,
    backend=MonarcBackend,
    errors=errors,
    handlers="apitwin.server.monarc.handlers",
    validate_requests=False,
    redirect_slashes=True,
    redirect_page=answers.redirect_page,
    allow=answers.allow,
    options_content_type=answers.HTML,
    settings=(
        Setting("api_key_authentication", bool, True,
                "ask every stats call for an organization's X-API-KEY (the service's "
                "API_KEY_AUTHENTICATION; the organization routes never ask)"),
    ),
    adapt_spec=_adapt_spec,
    credentials=_credentials,
)
