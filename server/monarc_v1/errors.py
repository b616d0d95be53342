"""MONARC Stats v1's error shapes, as Flask-RESTX and Werkzeug write them.

- auth and the API's own refusals: `{"Error": "..."}` (capital E);
- reqparse: `{"errors": {"<field>": "<help> <reason>"}, "message": "Input payload validation failed"}`
  or `{"message": "Unknown arguments: a, b"}`;
- Werkzeug's HTTP errors: `{"message": "<Werkzeug's description>"}`;
- unknown paths: Werkzeug's HTML 404 page (answered by `urls.py`, before any route).
"""
from __future__ import annotations

from apitwin.server.core.errors import DomainError

from .output import restx_json

INVALID = "Input payload validation failed"
NOT_JSON = "Did not attempt to load JSON data because the request Content-Type was not 'application/json'."
BAD_REQUEST = "The browser (or proxy) sent a request that this server could not understand."
METHOD_NOT_ALLOWED = "The method is not allowed for the requested URL."
FORBIDDEN = ("You don't have the permission to access the requested resource. "
             "It is either read-protected or not readable by the server.")
SERVER_ERROR = "Internal Server Error"
UNAUTHENTICATED = "Unauthorized - Authentication required."
AUTHENTICATION_FAILED = "Forbidden - Authentication failed."
# Werkzeug's 404, 429 and 503 as Flask-RESTX answers them; the service had no rate limit
# or maintenance mode of its own, injected ones (`/__apitwin/faults`) look like a proxy's.
_INJECTED = {
    "not_found": (404, {"message": "The requested URL was not found on the server. If you entered the URL "
                                   "manually please check your spelling and try again."}),
    "rate_limited": (429, {"message": "This user has exceeded an allotted request count. Try again later."}),
    "unavailable": (503, {"message": "The server is temporarily unable to service your request due to "
                                     "maintenance downtime or capacity problems. Please try again later."}),
}


class Refused(DomainError):
    """A refusal the service words itself: `{"Error": "..."}` with a 400."""

    kind = "refused"


class NotAdmin(DomainError):
    """Flask-Principal's refusal: Werkzeug's 403 description under `message`."""

    kind = "not_admin"


class NotJson(DomainError):
    """Flask's `get_json()` on a body that is not declared JSON."""

    kind = "unsupported_media_type"


class UpgradeRequired(DomainError):
    """The MONARC client is too old (the real service means 426 but answers 500)."""

    kind = "upgrade_required"


# The core writes every error body with it: Flask-RESTX's JSON.
render = restx_json


def shape(status: int, message: str, kind: str, details=None) -> tuple[int, dict]:
    if kind == "invalid":
        return 400, {"errors": details or {}, "message": INVALID}
    if kind in ("unauthorized", "forbidden"):
        # The service's own words when the caller (an injected fault) gives none.
        default = UNAUTHENTICATED if kind == "unauthorized" else AUTHENTICATION_FAILED
        return (401 if kind == "unauthorized" else 403), {"Error": message or default}
    if kind in _INJECTED:  # only fault rules ask for these: Werkzeug's descriptions
        return _INJECTED[kind]
    if kind == "refused":
        return 400, {"Error": message}
    if kind == "upgrade_required":
        return 426, {"Error": message}
    if kind == "not_admin":
        return 403, {"message": FORBIDDEN}
    if kind == "unsupported_media_type":
        return 415, {"message": NOT_JSON}
    if kind == "bad_body":
        return 400, {"message": BAD_REQUEST}
    if kind == "method_not_allowed":
        return 405, {"message": METHOD_NOT_ALLOWED}
    if kind == "server_error" or status >= 500:
        return 500, {"message": SERVER_ERROR}
    return (status if 400 <= status < 500 else 400), {"message": message or BAD_REQUEST}
