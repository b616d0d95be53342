"""Qoncrete API v2 (seed 000): real-time analytics with a real aggregation engine."""
import json

from apitwin import FIXTURES_DIR
from apitwin.server.core.api import ApiDefinition
from apitwin.server.core.settings import Setting

from . import errors
from .backend import QoncreteBackend


def _credentials() -> dict:
    first = json.loads((FIXTURES_DIR / "qoncrete" / "accounts.json").read_text(encoding="utf-8"))["users"][0]
    master = next(token for token in first["tokens"] if token["name"] == "Master")
    return {"email": first["email"], "password": first["password"], "token": master["_id"]}


DEFINITION = ApiDefinition(
    name="qoncrete",
    title="Qoncrete API v2",
    default_port=8001,
    backend=QoncreteBackend,
    errors=errors,
    handlers="apitwin.server.qoncrete.handlers",
    validate_requests=False,
    settings=(
        # A random key per start unless set (to keep tokens valid across starts).
        Setting("jwt_secret", str, None,
                "the key that signs and checks the JWTs of /v2/user/login (unset: a random key per start)"),
    ),
    credentials=_credentials,
)
