"""Failures as the backends raise them, and their translation to each API's own shape.

Backends know no HTTP: they raise a `DomainError` of some *kind*. Connexion raises its own
problems for routing, auth and validation. Both reach `install`'s handlers, which ask the
API's `errors` module (`shape(status, message, kind, details)`) for the answer, so no API
ever answers Connexion's problem+json.
"""
from __future__ import annotations

import logging
from typing import Any

import orjson
from connexion.exceptions import ProblemException
from connexion.lifecycle import ConnexionResponse
from starlette.exceptions import HTTPException

log = logging.getLogger("apitwin")


class DomainError(Exception):
    kind = "bad_request"

    def __init__(self, message: str = "", details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class BadRequest(DomainError):
    kind = "bad_request"


class Invalid(DomainError):
    """Field validation failed; `details` maps field -> message(s)."""

    kind = "invalid"


class Unauthorized(DomainError):
    kind = "unauthorized"


class Forbidden(DomainError):
    kind = "forbidden"


class NotFound(DomainError):
    kind = "not_found"


class Conflict(DomainError):
    kind = "conflict"


# Connexion's / Starlette's status codes, named as kinds for the API's errors module.
STATUS_KINDS = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    415: "unsupported_media_type",
    422: "invalid",
    500: "server_error",
}

DEFAULT_STATUS = {kind: status for status, kind in STATUS_KINDS.items()}


def json_body(data: Any) -> bytes:
    return orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS)


def to_response(api_errors, status: int, message: str, kind: str, details: Any = None,
                headers: dict | None = None) -> ConnexionResponse:
    """The API's answer for an error. `shape` gives (status, body) or (status, body,
    headers): its headers win over `headers`, and a `Content-Type` among them sets the
    body's type (else a `str` body is text/plain, anything else JSON)."""
    status, body, *own = api_errors.shape(status, message, kind, details)
    headers = {**(headers or {}), **(own[0] if own else {})}
    # An API may write its JSON its own way (`render(body) -> bytes`, e.g. Flask-RESTX's spacing).
    content = body if isinstance(body, (bytes, str)) else getattr(api_errors, "render", json_body)(body)
    mimetype = headers.pop("Content-Type", None) or ("text/plain" if isinstance(body, str) else "application/json")
    return ConnexionResponse(status_code=status, body=content, mimetype=mimetype, headers=headers)


def install(app, api_errors, routes) -> None:
    """Register handlers so every failure answers in the API's shape."""

    def allow_header(request) -> dict:
        methods = routes.allowed(request.url.path)
        return {"Allow": ", ".join(methods)} if methods else {}

    def on_domain(request, exc: DomainError):
        return to_response(api_errors, DEFAULT_STATUS.get(exc.kind, 400), exc.message, exc.kind, exc.details)

    def on_problem(request, exc: ProblemException):
        kind = STATUS_KINDS.get(exc.status, "bad_request")
        headers = allow_header(request) if exc.status == 405 else dict(exc.headers or {})
        return to_response(api_errors, exc.status, str(exc.detail or exc.title or ""), kind, headers=headers)

    def on_http(request, exc: HTTPException):
        kind = STATUS_KINDS.get(exc.status_code, "bad_request")
        headers = allow_header(request) if exc.status_code == 405 else dict(exc.headers or {})
        return to_response(api_errors, exc.status_code, str(exc.detail or ""), kind, headers=headers)

    def on_crash(request, exc: Exception):
        log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        return to_response(api_errors, 500, "Internal server error", "server_error")

    app.add_error_handler(DomainError, on_domain)
    app.add_error_handler(ProblemException, on_problem)
    app.add_error_handler(HTTPException, on_http)
    app.add_error_handler(Exception, on_crash)
