"""The twin serving the current request, for handlers and security functions."""
from __future__ import annotations

from contextvars import ContextVar
from typing import Any

_current = ContextVar("apitwin_twin")
_raw_body = ContextVar("apitwin_raw_body", default=b"")
_path = ContextVar("apitwin_path", default="")


def set_twin(twin) -> Any:
    return _current.set(twin)


def twin():
    return _current.get()


def backend():
    return _current.get().backend


def set_raw_body(body: bytes) -> None:
    _raw_body.set(body)


def raw_body() -> bytes:
    """The request's body as it arrived, before any parsing (Connexion parses forms and
    JSON before the handler runs, and its parsed body cannot be read again raw)."""
    return _raw_body.get()


def set_request_path(path: str) -> None:
    _path.set(path)


def request_path() -> str:
    """The current request's path, for error shapes that differ by route (an API whose
    ingest endpoint answers text where the rest answers JSON)."""
    return _path.get()
