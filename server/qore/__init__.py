"""Qore API (seed 002): the generic resources of a Qore (Laravel) application."""
from apitwin.server.core.api import ApiDefinition

from . import errors
from .backend import QoreBackend

DEFINITION = ApiDefinition(
    name="qore",
    title="Qore API",
    default_port=8080,
    backend=QoreBackend,
    errors=errors,
    handlers="apitwin.server.qore.handlers",
    # The backend validates with Laravel's messages, GET bodies included.
    validate_requests=False,
)
