"""MONARC's error shapes: `{"error": "..."}` and `{"field-errors": {...}}`, never problem+json."""
from __future__ import annotations

NOT_JSON = "Please send valid JSON with a 'Content-Type: application/json' header."


def shape(status: int, message: str, kind: str, details=None) -> tuple[int, dict]:
    if kind == "invalid":
        return 400, {"field-errors": details or {}}
    if kind == "unauthorized":
        # The real service's exact body, whatever went wrong with the key.
        return 401, {"error": "Unauthorized"}
    if kind == "bad_body":
        return 400, {"error": "The request contains invalid JSON."}
    if kind == "unsupported_media_type":
        return 400, {"error": NOT_JSON}
    if kind == "not_found":
        return 404, {"error": message if message.startswith("Empty query") else "Not Found"}
    if kind == "method_not_allowed":
        return 405, {"error": "The method is not allowed for the requested URL."}
    if kind == "server_error":
        return 500, {"error": "Internal Server Error"}
    return (status if 400 <= status < 500 else 400), {"error": message}
