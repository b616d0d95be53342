"""Qore API (seed 002): the generic resources of a Qore (Laravel) application."""
import json

from apitwin import FIXTURES_DIR
from apitwin.server.core.api import ApiDefinition

from . import errors
from .backend import QoreBackend


def _credentials() -> dict:
    first, other = json.loads((FIXTURES_DIR / "qore" / "accounts.json").read_text(encoding="utf-8"))[:2]
    return {"token": first["tokens"][0]["token"], "other_token": other["tokens"][0]["token"],
            "email": first["email"], "password": first["password"]}


DEFINITION = ApiDefinition(
    name="qore",
    title="Qore API",
    default_port=8080,
    backend=QoreBackend,
    errors=errors,
    handlers="apitwin.server.qore.handlers",
    # The backend validates with Laravel's messages, GET bodies included.
    validate_requests=False,
    credentials=_credentials,
)
