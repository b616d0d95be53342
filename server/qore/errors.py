"""Laravel's error shapes: `{"message": ...}`, and `{"message", "errors"}` for 422. Never problem+json.

429 is Laravel's throttle middleware's (`Too Many Attempts.`, with its headers:
`rate_limit_headers`), 503 its maintenance mode's (`Service Unavailable`).
"""
from __future__ import annotations

UNAUTHENTICATED = "Unauthenticated."
UNAUTHORIZED = "This action is unauthorized."
TOO_MANY = "Too Many Attempts."


def shape(status: int, message: str, kind: str, details=None) -> tuple[int, dict]:
    if kind == "invalid":
        if isinstance(details, dict):
            return 422, {"message": message or "The given data was invalid.", "errors": details}
        # Connexion's own validation (never on, as the backend validates): still Laravel's shape.
        return 422, {"message": message or "The given data was invalid.", "errors": {}}
    if kind == "unauthorized":
        return 401, {"message": UNAUTHENTICATED}
    if kind == "forbidden":
        return 403, {"message": UNAUTHORIZED}
    if kind == "not_found":
        return 404, {"message": message if message.startswith("No query results") else "Not Found"}
    if kind == "method_not_allowed":
        return 405, {"message": message if message.startswith("The ") else "The method is not supported for this route."}
    if kind == "conflict":
        return 409, {"message": message}
    if kind == "unsupported_media_type":
        return 415, {"message": "Unsupported Media Type"}
    if kind == "bad_body":
        return 400, {"message": "The request body is not valid UTF-8."}
    if kind == "server_error":
        return 500, {"message": "Server Error"}
    if kind == "rate_limited":
        return 429, {"message": TOO_MANY}
    if kind == "unavailable":
        return 503, {"message": "Service Unavailable"}
    return (status if 400 <= status < 500 else 400), {"message": message or "Bad Request"}


def rate_limit_headers(limit: int, remaining: int, retry_after: int | None, reset: int | None) -> dict[str, str]:
    """Laravel's ThrottleRequests: the limit and what is left on every answer it lets through;
    on its 429, remaining 0, Retry-After (seconds to the window's end) and X-RateLimit-Reset
    (that moment as a Unix time)."""
    headers = {"X-RateLimit-Limit": str(limit), "X-RateLimit-Remaining": str(remaining)}
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
        headers["X-RateLimit-Reset"] = str(reset)
    return headers
