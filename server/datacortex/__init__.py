"""Data Cortex Report API v1 (seed 003): login with a verification step, user, apps, ingest."""
import json
import os

from apitwin import FIXTURES_DIR
from apitwin.server.core.api import ApiDefinition
from apitwin.server.core.settings import Setting

from . import errors
from .backend import DataCortexBackend


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def _credentials() -> dict:
    seeded = json.loads((FIXTURES_DIR / "datacortex" / "accounts.json").read_text(encoding="utf-8"))
    return {"session_key": seeded["sessions"][0]["session_key"], "app_key": seeded["apps"][0]["api_key_list"][0]}


DEFINITION = ApiDefinition(
    name="datacortex",
    title="Data Cortex Report API v1",
    default_port=8003,
    backend=DataCortexBackend,
    errors=errors,
    handlers="apitwin.server.datacortex.handlers",
    # The backend validates every input itself, with the API's own `{"error": ...}` answers.
    validate_requests=False,
    settings=(
        # For unattended use: CI, demos.
        Setting("auto_verify", bool, _env_flag("DATACORTEX_AUTO_VERIFY"),
                "sessions are active right after login, without the verification page "
                "(also DATACORTEX_AUTO_VERIFY=1)"),
        Setting("verify_hours", float, 24.0, "how long a login may wait for its verification before its key is dead"),
    ),
    credentials=_credentials,
)
