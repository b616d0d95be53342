"""Data Cortex Report API v1 (seed 003): login with a verification step, user, apps, ingest."""
import os

from apitwin.server.core.api import ApiDefinition

from . import errors
from .backend import DataCortexBackend


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


DEFINITION = ApiDefinition(
    name="datacortex",
    title="Data Cortex Report API v1",
    default_port=8003,
    backend=DataCortexBackend,
    errors=errors,
    handlers="apitwin.server.datacortex.handlers",
    # The backend validates every input itself, with the API's own `{"error": ...}` answers.
    validate_requests=False,
    settings={
        # Sessions are active right after login, without the verification page
        # (unattended use: CI, demos). Also set by DATACORTEX_AUTO_VERIFY=1.
        "auto_verify": _env_flag("DATACORTEX_AUTO_VERIFY"),
        # How long a login may wait for its verification before the key is dead.
        "verify_hours": 24,
    },
)
