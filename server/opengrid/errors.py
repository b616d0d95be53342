"""OpenGrid's error shapes: `{"error": {"code", "message"}}`, mostly with HTTP 200.

The real service answers handled errors with HTTP 200 and an error object whose code says
what failed: `0100` service, `0101` system, `0200` database/data, `0300` client. Only a
failed login answers 401, and every other authentication or permission failure 403.

The service itself never limits or refuses for load: a 429 or 503 comes from what is in
front of it (a gateway, Tomcat while it deploys). Injected ones (`/__apitwin/faults`, rate
limits) keep that status, so a client keyed off the status sees it, with the service's
error object and code `0100` (service), so its error display has a message *(choice)*.
"""
from __future__ import annotations

from apitwin.server.core.context import request_path
from apitwin.server.core.errors import DomainError

SERVICE, SYSTEM, DATA, CLIENT = "0100", "0101", "0200", "0300"
# Only a refused login answers 401 (an injected `unauthorized` there too).
LOGIN_PATH = "/users/token"


class DataError(DomainError):
    """Bad `q` JSON, unknown id on delete, group still in use: 200 + code 0200."""

    kind = "data"


class ClientError(DomainError):
    """Bad input, unknown route, bad method: 200 + code 0300."""

    kind = "client"


class LoginFailed(DomainError):
    """Wrong username or password on /users/token: 401."""

    kind = "login_failed"


def error_body(code: str, message: str) -> dict:
    return {"error": {"code": code, "message": message}}


def shape(status: int, message: str, kind: str, details=None) -> tuple[int, dict]:
    if kind == "login_failed" or (kind == "unauthorized" and request_path() == LOGIN_PATH):
        return 401, error_body(CLIENT, message or "Authentication failed: invalid username or password.")
    if kind in ("unauthorized", "forbidden"):
        return 403, error_body(CLIENT, _access_message(message))
    if kind in ("data", "conflict"):
        return 200, error_body(DATA, message)
    if kind == "not_found":
        return 200, error_body(CLIENT, message if message.startswith("No ") else "No resource matches this path.")
    if kind == "method_not_allowed":
        return 200, error_body(CLIENT, "This method is not supported on this path.")
    if kind == "bad_body":
        return 200, error_body(CLIENT, "The request body is not valid UTF-8.")
    if kind == "server_error":
        return 500, error_body(SYSTEM, "Internal server error.")
    if kind == "service":
        return 200, error_body(SERVICE, message)
    if kind == "rate_limited":
        return 429, error_body(SERVICE, message or "Too many requests: try again later.")
    if kind == "unavailable":
        return 503, error_body(SERVICE, message or "Service unavailable: try again later.")
    return 200, error_body(CLIENT, message or "Invalid request.")


def _access_message(message: str) -> str:
    if not message or "authorization token" in message.lower() or "apikey" in message.lower():
        return "Access denied: a valid X-AUTH-TOKEN header is required."
    return message
