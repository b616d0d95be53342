"""MONARC's error shapes: `{"error": "..."}` and `{"field-errors": {...}}`, never problem+json,
written as the real service writes them; a 405, and the 404 of a path no route serves,
are Werkzeug's HTML pages (neither Flask-RESTX nor flask-mongorest answers those: observed
on the real code, see tests/test_monarc_observed.py).

The v2 service had no rate limit, maintenance mode or 403 of its own; injected ones
(`/__apitwin/faults`) carry Werkzeug's name of the status in the same `{"error": ...}`
body, as its 401 does (`{"error": "Unauthorized"}`) *(choice)*.
"""
from __future__ import annotations

from .answers import HTML, METHOD_NOT_ALLOWED_PAGE, NOT_FOUND_PAGE
from .answers import to_json as render  # noqa: F401  (the core writes error bodies with it)

NOT_JSON = "Please send valid JSON with a 'Content-Type: application/json' header."
# The messages of the 404s the service's own views answer.
OWN_NOT_FOUND = ("Empty query: ", "404 Not Found: ")
# The message of the router's 404 (Starlette's, for a path no route serves): Werkzeug's
# HTML page. An injected 404 (`/__apitwin/faults`) stays `{"error": "Not Found"}`.
NO_ROUTE = "Not Found"
_NAMED = {"forbidden": (403, "Forbidden"), "rate_limited": (429, "Too Many Requests"),
          "unavailable": (503, "Service Unavailable")}


def shape(status: int, message: str, kind: str, details=None):
    if kind == "method_not_allowed":
        return 405, METHOD_NOT_ALLOWED_PAGE, {"Content-Type": HTML}
    if kind == "invalid":
        return 400, {"field-errors": details or {}}
    if kind == "unauthorized":
        # The real service's exact body, whatever went wrong with the key.
        return 401, {"error": "Unauthorized"}
    if kind == "bad_body":
        return 400, {"error": "The request contains invalid JSON."}
    if kind == "unsupported_media_type":
        return 400, {"error": NOT_JSON}
    if kind == "not_found" and message == NO_ROUTE:
        return 404, NOT_FOUND_PAGE, {"Content-Type": HTML}
    if kind == "not_found":
        return 404, {"error": message if message.startswith(OWN_NOT_FOUND) else "Not Found"}
    if kind == "server_error":
        return 500, {"error": "Internal Server Error"}
    if kind in _NAMED:
        status, name = _NAMED[kind]
        return status, {"error": message or name}
    return (status if 400 <= status < 500 else 400), {"error": message}
