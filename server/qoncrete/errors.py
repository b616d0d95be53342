"""Qoncrete's error shape: `{"code": <HTTP status>, "text": "<message>"}`, never problem+json.

The body is the one of the product's later API (see the research notes); `code` repeats
the HTTP status *(choice)*. Nothing public shows the service's 429 or 503: injected ones
(`/__apitwin/faults`, rate limits) use the same body with that code *(choice)*.
"""
from __future__ import annotations

_DEFAULTS = {
    "unauthorized": (401, "authentication required: send Authorization: Bearer <jwt> or ?token=<api token>"),
    "ingest_unauthorized": (401, "unknown source or token"),
    "ingest_rejected": (402, "invalid event"),
    "forbidden": (403, "forbidden"),
    "not_found": (404, "not found"),
    "method_not_allowed": (405, "method not allowed"),
    "conflict": (409, "conflict"),
    "uri_too_long": (414, "request target too long"),
    "unsupported_media_type": (400, "body: send JSON with Content-Type: application/json"),
    "bad_body": (400, "body: not valid UTF-8"),
    "invalid": (400, "invalid request"),
    "bad_request": (400, "bad request"),
    "server_error": (500, "internal server error"),
    "rate_limited": (429, "too many requests"),
    "unavailable": (503, "service unavailable"),
}
# Connexion's own messages, which say nothing useful to a Qoncrete client.
_GENERIC = ("The requested URL was not found", "No authorization token provided",
            "Provided token is not valid", "Method Not Allowed", "Not Found")


def shape(status: int, message: str, kind: str, details=None) -> tuple[int, dict]:
    code, default = _DEFAULTS.get(kind, (status if 400 <= status < 600 else 400, "bad request"))
    if kind == "unauthorized" and message and any(message.startswith(g) for g in _GENERIC):
        message = default if "No authorization" in message else "invalid or expired token"
    if not message or any(message.startswith(g) for g in _GENERIC):
        message = default
    if kind in ("server_error", "bad_body", "unsupported_media_type"):
        message = default
    return code, {"code": code, "text": message}
