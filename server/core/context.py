"""The twin serving the current request, for handlers and security functions."""
from __future__ import annotations

from contextvars import ContextVar
from typing import Any

_current = ContextVar("apitwin_twin")


def set_twin(twin) -> Any:
    return _current.set(twin)


def twin():
    return _current.get()


def backend():
    return _current.get().backend
