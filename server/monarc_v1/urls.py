"""What Werkzeug's router answers before any MONARC code runs, as an ASGI layer.

- a path no rule serves: Werkzeug's HTML 404 page (not JSON);
- a path whose rule lacks the method: 405 (the API's JSON, with `Allow`);
- a path without its trailing slash, when the slashed rule takes the method: a 308 to the
  absolute slashed URL (query kept), with Werkzeug's "Redirecting..." page;
- OPTIONS: Flask's automatic answer, 200 with an empty text/html body and `Allow`;
- HEAD: the GET, without its body.
The rules are the real service's; static segments win over `<anr>`, and a slash redirect
to a static rule wins over `<anr>` too (`/stats/processed` redirects). Flask-RESTX writes the
405 of its resources (and of its document) as JSON; Werkzeug's HTML page answers the others
(the Swagger UI page, its assets, `/about.json`).
"""
from __future__ import annotations

import re

from starlette.datastructures import URL
from starlette.responses import Response

from apitwin.server.core.errors import to_response

from . import errors

ADMIN_PREFIX = "/__apitwin/"


class Rule:
    def __init__(self, path: str, methods: tuple[str, ...], allow: str, restx: bool = True) -> None:
        self.path = path
        self.dynamic = "<" in path
        self.pattern = re.compile("^" + re.sub(r"<\w+>", "[^/]+", re.escape(path).replace(r"\<", "<").replace(r"\>", ">")) + "$", re.S)
        # GET brings HEAD; Flask adds OPTIONS to every rule.
        self.methods = set(methods) | ({"HEAD"} if "GET" in methods else set()) | {"OPTIONS"}
        self.allow = allow  # in the order the real service sent it
        self.restx = restx  # Flask-RESTX answers its 405 (JSON), else Werkzeug (HTML)

    def matches(self, path: str) -> bool:
        return bool(self.pattern.match(path))


RULES = (
    Rule("/api/v1/stats/", ("GET", "POST"), "POST, HEAD, OPTIONS, GET"),
    Rule("/api/v1/stats/processed/", ("GET",), "HEAD, OPTIONS, GET"),
    Rule("/api/v1/stats/processed/list", ("GET",), "HEAD, OPTIONS, GET"),
    Rule("/api/v1/client/", ("POST",), "POST, OPTIONS"),
    Rule("/api/v1/client/me", ("GET", "PATCH"), "PATCH, HEAD, OPTIONS, GET"),
    Rule("/api/v1/stats/<anr>", ("GET", "DELETE"), "DELETE, HEAD, OPTIONS, GET"),
    Rule("/api/v1/swagger.json", ("GET",), "HEAD, OPTIONS, GET"),
    Rule("/api/v1/", ("GET",), "HEAD, OPTIONS, GET", restx=False),
    Rule("/swaggerui/<filename>", ("GET",), "HEAD, OPTIONS, GET", restx=False),
    Rule("/about.json", ("GET",), "HEAD, OPTIONS, GET", restx=False),
)


def route(method: str, path: str):
    """("serve", rule) | ("redirect", slashed path) | ("not_allowed", rule) | ("not_found", None)."""
    not_allowed = None
    for dynamic in (False, True):
        rules = [r for r in RULES if r.dynamic == dynamic]
        for rule in rules:
            if rule.matches(path):
                if method in rule.methods:
                    return "serve", rule
                not_allowed = not_allowed or rule
        if not path.endswith("/"):
            for rule in rules:
                if rule.matches(path + "/") and method in rule.methods:
                    return "redirect", path + "/"
    if not_allowed is not None:
        return "not_allowed", not_allowed
    return "not_found", None


def escape(text: str) -> str:
    """markupsafe's escape, as Werkzeug and Jinja write a URL into a page."""
    for char, entity in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ('"', "&#34;"), ("'", "&#39;")):
        text = text.replace(char, entity)
    return text


NOT_FOUND_PAGE = (
    "<!doctype html>\n<html lang=en>\n<title>404 Not Found</title>\n<h1>Not Found</h1>\n"
    "<p>The requested URL was not found on the server. If you entered the URL manually please "
    "check your spelling and try again.</p>\n"
)
METHOD_NOT_ALLOWED_PAGE = (
    "<!doctype html>\n<html lang=en>\n<title>405 Method Not Allowed</title>\n<h1>Method Not Allowed</h1>\n"
    "<p>The method is not allowed for the requested URL.</p>\n"
)
HTML = "text/html; charset=utf-8"


def redirect_page(location: str) -> str:
    escaped = escape(location)
    return ("<!doctype html>\n<html lang=en>\n<title>Redirecting...</title>\n<h1>Redirecting...</h1>\n"
            "<p>You should be redirected automatically to the target URL: "
            f'<a href="{escaped}">{escaped}</a>. If not, click the link.\n')


def _html(body: str, status: int, headers: dict | None = None) -> Response:
    return Response(body.encode(), status, headers=headers, media_type=HTML)


def wrap(app):
    async def werkzeug_router(scope, receive, send):
        path = scope["path"]
        if scope["type"] != "http" or path.startswith(ADMIN_PREFIX):
            await app(scope, receive, send)
            return
        method = scope["method"]
        outcome, target = route(method, path)
        if outcome == "not_found":
            await _html(NOT_FOUND_PAGE, 404)(scope, receive, send)
        elif outcome == "redirect":
            location = str(URL(scope=scope).replace(path=target))
            await _html(redirect_page(location), 308, {"Location": location})(scope, receive, send)
        elif outcome == "not_allowed":
            await _not_allowed(target)(scope, receive, send)
        elif method == "OPTIONS":
            await _html("", 200, {"Allow": target.allow})(scope, receive, send)
        elif method == "HEAD":
            await app(_json_or_nothing({**scope, "method": "GET"}), receive, _without_body(send))
        else:
            await app(_json_or_nothing(scope), receive, send)

    return werkzeug_router


def _not_allowed(rule: Rule) -> Response:
    allow = {"Allow": rule.allow}
    if not rule.restx:
        return _html(METHOD_NOT_ALLOWED_PAGE, 405, allow)
    answer = to_response(errors, 405, "", "method_not_allowed", headers=allow)
    return Response(answer.body, 405, headers=allow, media_type=answer.mimetype)


def _json_or_nothing(scope):
    """The request as Connexion is shown it: a JSON content type as `application/json`, any
    other dropped. Flask reads a body only when it is JSON (`application/json` or any
    `application/...+json`) and never refuses a content type before the operation runs;
    Connexion would refuse every type the contract does not list. Nothing is lost: the
    operations read no body that is not JSON."""
    headers = []
    for name, value in scope["headers"]:
        if name == b"content-type":
            if not is_json(value.decode("latin-1")):
                continue
            value = b"application/json"
        headers.append((name, value))
    return {**scope, "headers": headers}


def is_json(content_type: str) -> bool:
    """Werkzeug's `is_json`: application/json or any application/...+json type."""
    mimetype = content_type.split(";")[0].strip().lower()
    return mimetype == "application/json" or (mimetype.startswith("application/") and mimetype.endswith("+json"))


def _without_body(send):
    async def send_head(message):
        if message["type"] == "http.response.body":
            message = {**message, "body": b""}
        await send(message)
    return send_head
