"""Cross-origin access for browser apps served from another origin (`apitwin serve --cors`).

Off by default, since a real service answers only the origins it was configured for; on,
every answer to a request with an `Origin` allows that origin (with credentials, so
cookie sessions work), and preflights are answered before routing or auth, as a CORS
filter in front of the real service would.

Operations a contract marks `x-apitwin-cors: any-origin` (the ingest endpoints, which
browser SDKs call from pages of any origin) always answer so, whatever the setting, and
with `*` when the request names no origin (or when it was refused before its headers
were read).
"""
from __future__ import annotations

from starlette.datastructures import Headers
from starlette.responses import Response

METHODS = "GET, POST, PUT, PATCH, DELETE, OPTIONS, HEAD"
# The contract's marker of an operation open to every origin.
MARKER = "x-apitwin-cors"
ANY_ORIGIN = "any-origin"


def response_headers(headers: Headers, *, any_origin: bool = False) -> list[tuple[bytes, bytes]]:
    origin = headers.get("origin")
    if not origin:
        return [(b"access-control-allow-origin", b"*")] if any_origin else []
    return [
        (b"access-control-allow-origin", origin.encode("latin-1")),
        (b"access-control-allow-credentials", b"true"),
        (b"access-control-expose-headers", b"*"),
        (b"vary", b"Origin"),
    ]


def requested_method(scope, headers: Headers) -> str:
    """The method a request is for: a preflight's `Access-Control-Request-Method`, else its own."""
    if scope["method"] == "OPTIONS" and headers.get("access-control-request-method"):
        return headers["access-control-request-method"].upper()
    return "GET" if scope["method"] == "HEAD" else scope["method"]


def preflight(scope, headers: Headers) -> Response | None:
    """The answer to a CORS preflight (OPTIONS with Origin and Access-Control-Request-Method)."""
    if scope["method"] != "OPTIONS" or not headers.get("origin") or \
            not headers.get("access-control-request-method"):
        return None
    return Response(status_code=204, headers={
        "Access-Control-Allow-Methods": METHODS,
        "Access-Control-Allow-Headers": headers.get("access-control-request-headers", "*"),
        "Access-Control-Max-Age": "600",
    })
