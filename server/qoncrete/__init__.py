"""Qoncrete API v2 (seed 000): real-time analytics with a real aggregation engine."""
from apitwin.server.core.api import ApiDefinition

from . import errors
from .backend import QoncreteBackend

DEFINITION = ApiDefinition(
    name="qoncrete",
    title="Qoncrete API v2",
    default_port=8001,
    backend=QoncreteBackend,
    errors=errors,
    handlers="apitwin.server.qoncrete.handlers",
    validate_requests=False,
    # None: a random key per start (`--set qoncrete.jwt_secret=...` to keep tokens valid across starts).
    settings={"jwt_secret": None},
)
