"""How the real service writes its answers: flask-mongorest's JSON and Werkzeug 1.0's pages.

The real v2 service is a Flask application: flask-mongorest writes every JSON answer with
`json.dumps` (a space after `:` and `,`, non-ASCII escaped, no final newline), and Werkzeug
answers what no view handles (a path no rule serves: 404; 405, the slash redirect,
OPTIONS) with its own small pages.
"""
from __future__ import annotations

import html
import json

JSON = "application/json"
HTML = "text/html"  # the server adds `; charset=utf-8`, as Werkzeug does

NOT_FOUND_PAGE = (
    '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 3.2 Final//EN">\n'
    "<title>404 Not Found</title>\n"
    "<h1>Not Found</h1>\n"
    "<p>The requested URL was not found on the server. If you entered the URL manually please "
    "check your spelling and try again.</p>\n"
)
METHOD_NOT_ALLOWED_PAGE = (
    '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 3.2 Final//EN">\n'
    "<title>405 Method Not Allowed</title>\n"
    "<h1>Method Not Allowed</h1>\n"
    "<p>The method is not allowed for the requested URL.</p>\n"
)

# Werkzeug adds HEAD to every GET route and OPTIONS to every route, and names a route's
# methods in the order of a Python set: the order observed on the real service.
_ALLOW_ORDER = ("POST", "PUT", "HEAD", "GET", "OPTIONS")


def to_json(payload) -> bytes:
    return json.dumps(payload).encode("ascii")


def allow(methods: list[str]) -> list[str]:
    """The `Allow` header's methods of a route whose contract serves `methods`."""
    served = set(methods) | {"OPTIONS"} | ({"HEAD"} if "GET" in methods else set())
    return [m for m in _ALLOW_ORDER if m in served] + sorted(served - set(_ALLOW_ORDER))


def redirect_page(location: str) -> tuple[str, str]:
    """Werkzeug 1.0's page of a redirect to `location`, and its content type."""
    shown = html.escape(location, quote=True).replace("&#x27;", "'")
    return (
        '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 3.2 Final//EN">\n'
        "<title>Redirecting...</title>\n"
        "<h1>Redirecting...</h1>\n"
        "<p>You should be redirected automatically to target URL: "
        f'<a href="{shown}">{shown}</a>.  If not click the link.',
        HTML,
    )
