"""Who may call the admin API (`/__apitwin/...`): one check in front of every admin path.

The admin API resets the store and reads every secret in it, so:
- browsers of other origins never get in: no CORS headers are ever sent on admin paths
  (the middleware leaves them out), and a request whose `Origin` is another site is
  refused, as is a write whose body is not `application/json` (what a cross-site form
  can send);
- served on a host other than loopback (`--host 0.0.0.0`), every admin call but the
  documentation needs `Authorization: Bearer <admin token>` (`--admin-token`, or one
  generated and printed at start-up). On loopback a token is needed only when one is set.
"""
from __future__ import annotations

import hmac
import ipaddress
import secrets
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.responses import JSONResponse

PREFIX = "/__apitwin/"
# Read-only documentation, for a browser (which cannot add the token header).
DOCUMENTATION = ("/__apitwin/ui", "/__apitwin/openapi.json", "/__apitwin/admin/openapi.json")
_SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def is_admin(path: str) -> bool:
    return path.startswith(PREFIX)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def token_for(host: str, given: str | None) -> str | None:
    """The admin token a server on `host` requires: the one given, or a new one when the
    host is not loopback (None: no token needed)."""
    if given:
        return given
    return None if is_loopback(host) else secrets.token_urlsafe(24)


def _refuse(status: int, message: str, headers: dict | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def refusal(scope, token: str | None) -> JSONResponse | None:
    """The answer refusing this admin request, or None to let it through."""
    headers = Headers(scope=scope)
    origin = headers.get("origin")
    if origin and urlsplit(origin).netloc != headers.get("host", ""):
        return _refuse(403, "The admin API does not answer pages of other origins.")
    method = scope["method"]
    ctype = headers.get("content-type", "").split(";")[0].strip().lower()
    if method not in _SAFE_METHODS and ctype and ctype != "application/json":
        return _refuse(415, "The admin API takes application/json bodies only.")
    if token is None or scope["path"].startswith(DOCUMENTATION):
        return None
    scheme, _, given = headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), token.encode()):
        return _refuse(401, "The admin API needs Authorization: Bearer <admin token> (printed at start-up).",
                       {"WWW-Authenticate": "Bearer"})
    return None
