"""Data Cortex's error shapes: `{"error": "..."}` for the report API, plain text for ingest.

The report API answers its failures as JSON `{"error": "<message>"}` (403 when not logged
in or not allowed). The ingest endpoints (`/{org}/1/track`, `/{org}/1/app_log`) answer
plain text, like their `OK`; backends ask for that with `details={"format": "text"}`.
Never problem+json.

Nothing public shows its 429 or 503: injected ones (`/__apitwin/faults`, rate limits)
take the same forms, `{"error": ...}` or text on ingest *(choice)*.
"""
from __future__ import annotations

import re

from apitwin.server.core.context import request_path

from .pages import dead_link

TEXT = {"format": "text"}
# Failures the core answers before the handler (a body that is not UTF-8, a content type
# the operation does not take, a request target too long) are plain text on the ingest
# endpoints too.
_INGEST = re.compile(r"^/[^/]+/1/(track|app_log)/?$", re.DOTALL)
_INGEST_TEXT = {"bad_body": 400, "unsupported_media_type": 400, "bad_request": 400, "uri_too_long": 414}
# ... and the verification page a user opens from the email answers them as an HTML page.
_VERIFY = re.compile(r"^/api/1/verify/?$")


HTML = {"Content-Type": "text/html"}


NOT_LOGGED_IN = "Not logged in"
NOT_JSON = "The request body is not valid JSON (a JSON object is expected)."
MEDIA_TYPES = "Unsupported Content-Type: see the request body types of this operation."
INGEST_FORBIDDEN = "Forbidden: api_key is not a key of an application of this organization"
# Kinds only fault injection asks for.
_INJECTED = {"rate_limited": (429, "Too many requests"), "unavailable": (503, "Service unavailable")}


def shape(status: int, message: str, kind: str, details=None) -> tuple:
    if isinstance(details, dict) and details.get("format") == "text":
        return status, message
    if _INGEST.match(request_path()) and kind in _INGEST_TEXT:
        return _INGEST_TEXT[kind], message or "Bad request"
    if _INGEST.match(request_path()) and kind in ("unauthorized", "forbidden"):
        return 403, message or INGEST_FORBIDDEN
    if kind in _INJECTED:
        status, text = _INJECTED[kind]
        return status, (message or text) if _INGEST.match(request_path()) else {"error": message or text}
    if _VERIFY.match(request_path()) and kind in ("bad_body", "unsupported_media_type", "bad_request"):
        return 400, dead_link(message or "Bad request"), HTML
    if kind == "unauthorized":
        return 403, {"error": NOT_LOGGED_IN}
    if kind == "forbidden":
        return 403, {"error": message or "Forbidden"}
    if kind == "not_found":
        return 404, {"error": "Not found"}
    if kind == "method_not_allowed":
        return 405, {"error": "Method not allowed"}
    if kind == "bad_body":
        return 400, {"error": "The request body is not valid UTF-8."}
    if kind == "unsupported_media_type":
        # Connexion's message names the type sent and the types expected.
        return 400, {"error": message or MEDIA_TYPES}
    if kind == "server_error":
        return 500, {"error": "Internal server error"}
    if kind == "conflict":
        return 409, {"error": message or "Conflict"}
    return (status if 400 <= status < 500 else 400), {"error": message or "Bad request"}
