"""The outermost layer of every API's app: context, journal, guard, slashes, OPTIONS, body.

It wraps the whole Connexion app, so it sees the final status of every answer,
including errors, and can refuse a request before Connexion's router and parsers see it.
"""
from __future__ import annotations

import re
import time

from starlette.datastructures import URL, Headers
from starlette.responses import RedirectResponse, Response

from urllib.parse import quote, unquote_to_bytes

from . import admin_access, cors
from .context import set_raw_body, set_request_path, set_twin
from .errors import DEFAULT_STATUS, DomainError, to_response
from .nesting import nests_deeper_than
from .store import MAX_DEPTH

# Bodies that must be text; Connexion 3.3.0 answers a non-UTF-8 one with a 500.
_TEXT_TYPES = ("json", "text/", "x-www-form-urlencoded")
# The largest body any API takes (the real services sit behind limits of a few MB: PHP's
# post_max_size is 8 MB): a bigger one is refused with 413 before it is parsed.
MAX_BODY_BYTES = 10 * 1024 * 1024
TOO_DEEP = f"The JSON nests deeper than {MAX_DEPTH} levels."


class TwinMiddleware:
    def __init__(self, app, twin, routes) -> None:
        self.app = app
        self.twin = twin
        self.routes = routes
        self.extra_headers = [(k.lower().encode("latin-1"), v.encode("latin-1"))
                              for k, v in twin.definition.response_headers.items()]

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        set_twin(self.twin)
        set_request_path(scope["path"])
        start = time.perf_counter()
        status = {"code": 500}
        request_headers = Headers(scope=scope)
        admin = admin_access.is_admin(scope["path"])
        cors_headers = self._cors_headers(scope["path"], cors.requested_method(scope, request_headers),
                                          request_headers)
        extra = self._added_headers(scope["path"], cors_headers)
        fault = None  # what injected faults do to this request (faults.Injection)

        async def send_recording(message):
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                if extra:
                    message = {**message, "headers": _with_extra(message.get("headers", []), extra)}
            await (fault.sender(send) if fault else send)(message)

        try:
            # A preflight (which names its origin) is answered where answers allow that origin.
            early = (admin_access.refusal(scope, self.twin.admin_token) if admin else None) \
                or (cors.preflight(scope, request_headers) if cors_headers else None)
            fault = None if early else self.twin.faults.plan(scope, request_headers, send)
            early = early or (fault and await fault.before()) or self._guard(scope) or self._deep_query(scope)
            if early is None:
                receive, early = await self._read_body(scope, receive)
            routed = self._routed(scope)
            early = early or self._redirect(routed) or self._options(routed)
            if early is not None:
                await early(scope, receive, send_recording)
            else:
                await self.app(routed, receive, send_recording)
        finally:
            if self.twin.journal is not None:
                code, injected = fault.outcome(status["code"]) if fault else (status["code"], None)
                self.twin.journal.record(
                    self.twin.clock.now(), scope["method"], scope["path"],
                    scope.get("query_string", b"").decode("latin-1"), code,
                    (time.perf_counter() - start) * 1000,
                    # The journal is of the API's traffic, not of the calls that inspect it.
                    keep=not admin, fault=injected,
                )

    def _cors_headers(self, path: str, method: str, headers: Headers) -> list[tuple[bytes, bytes]]:
        """Always on an operation open to every origin (an ingest endpoint), else as the
        `cors` setting says; never on the admin API: no page of another site may read or
        reset it."""
        if admin_access.is_admin(path):
            return []
        any_origin = self.routes.any_origin(path, method)
        if not (any_origin or self.twin.settings.get("cors")):
            return []
        return cors.response_headers(headers, any_origin=any_origin)

    def refusal(self, method: str, path: str, headers: list, status: int, kind: str,
                message: str) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        """The API's answer to a request the HTTP layer refused before the app could see it
        (a request target too long, a malformed request): (status, headers, body), with
        the CORS headers the path would have. `headers` are those read before the refusal."""
        set_twin(self.twin)
        set_request_path(path)
        answer = self._error(status, message, kind)
        extra = self._added_headers(path, self._cors_headers(path, method, Headers(raw=headers)))
        if self.twin.journal is not None:
            self.twin.journal.record(self.twin.clock.now(), method, path, "", answer.status_code, 0.0,
                                     keep=not admin_access.is_admin(path))
        return answer.status_code, _with_extra(answer.raw_headers, extra), answer.body

    def _added_headers(self, path: str, cors_headers: list) -> list[tuple[bytes, bytes]]:
        """The API's own headers for every answer (OpenGrid's CORS) and the CORS headers;
        none on the admin API."""
        return [] if admin_access.is_admin(path) else [*self.extra_headers, *cors_headers]

    def _error(self, status: int, message: str, kind: str, details=None, headers=None) -> Response:
        answer = to_response(self.twin.definition.errors, status, message, kind, details, headers)
        return Response(answer.body, answer.status_code, answer.headers, answer.mimetype)

    def _guard(self, scope):
        """The API's own check before routing (e.g. auth before 404), if it has one."""
        guard = self.twin.definition.guard
        if guard is None or admin_access.is_admin(scope["path"]):
            return None
        try:
            guard(self.twin.backend, scope["method"], scope["path"], Headers(scope=scope))
        except DomainError as exc:
            return self._error(DEFAULT_STATUS.get(exc.kind, 400), exc.message, exc.kind, exc.details)
        return None

    def _deep_query(self, scope):
        """Query parameters holding JSON (filters) are measured as bodies are."""
        if nests_deeper_than(unquote_to_bytes(scope.get("query_string", b"")), MAX_DEPTH):
            return self._error(400, TOO_DEEP, "bad_request")
        return None

    def _redirect(self, scope):
        """Werkzeug's slash handling (since 1.0, `merge_slashes`), for APIs whose real
        service has it (`scope` as `_routed` gives it). A path that reaches a route once its
        repeated slashes are merged and its trailing slash added (its canonical path)
        answers a 308 to that path, query kept, when the request lacks the trailing slash
        and the route serves the method, or has more slashes than the canonical path,
        whatever the method. A path lacking only its slash whose route does not serve the
        method answers 405, as Werkzeug decides."""
        path = scope["path"]
        if not self.twin.definition.redirect_slashes or admin_access.is_admin(path) \
                or self.routes.match(path) is not None:
            return None
        canonical = re.sub("/+", "/", path).rstrip("/") + "/"
        allowed = self.routes.allowed(canonical)
        if not allowed:
            return None
        lacks_slash = not path.endswith("/")
        if (lacks_slash and scope["method"] in allowed) or canonical.count("/") < path.count("/"):
            return self._redirect_to(scope, canonical)
        if lacks_slash:
            return self._error(405, "", "method_not_allowed", headers={"Allow": ", ".join(allowed)})
        return None

    def _routed(self, scope):
        """The request as the app routes it: with Werkzeug's slash handling, the leading
        slashes of a path are read as one (`//api/v2/stats/` is `/api/v2/stats/`)."""
        path = scope["path"]
        if not self.twin.definition.redirect_slashes or not path.startswith("//"):
            return scope
        raw = scope.get("raw_path") or path.encode()
        return {**scope, "path": "/" + path.lstrip("/"), "raw_path": b"/" + raw.lstrip(b"/")}

    def _redirect_to(self, scope, path: str) -> Response:
        """A 308 to `path` (decoded, as routed), percent-encoded as Werkzeug quotes it."""
        location = str(URL(scope=scope).replace(path=quote(path, safe="/:|+")))
        page = self.twin.definition.redirect_page
        if page is None:
            return RedirectResponse(location, status_code=308)
        body, content_type = page(location)
        return Response(body, 308, {"Location": location}, content_type)

    def _options(self, scope):
        """OPTIONS answered for every served path, for APIs whose framework does so."""
        content_type = self.twin.definition.options_content_type
        if content_type is None or scope["method"] != "OPTIONS" or admin_access.is_admin(scope["path"]):
            return None
        allowed = self.routes.allowed(scope["path"])
        if not allowed:
            return None
        return Response(b"", 200, {"Allow": ", ".join(allowed)}, content_type)

    async def _read_body(self, scope, receive):
        """Reads the whole body once: kept raw for handlers (`context.raw_body`), refused
        when a text body is not UTF-8, and replayed to Connexion."""
        set_raw_body(b"")
        if scope["method"] in ("GET", "HEAD", "OPTIONS", "DELETE") and not _declares_body(scope):
            return receive, None
        chunks = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return receive, Response(status_code=400)
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > MAX_BODY_BYTES:
                return receive, self._error(413, f"The request body is larger than {MAX_BODY_BYTES} bytes.",
                                            "too_large")
            more = message.get("more_body", False)
        body = b"".join(chunks)
        set_raw_body(body)
        ctype = Headers(scope=scope).get("content-type", "").lower()
        if any(t in ctype for t in _TEXT_TYPES):
            try:
                body.decode("utf-8")
            except UnicodeDecodeError:
                return receive, self._error(400, "The request body is not valid UTF-8.", "bad_body")
        if not ctype.startswith("multipart/") and nests_deeper_than(_as_text(body, ctype), MAX_DEPTH):
            return receive, self._error(400, TOO_DEEP, "bad_request")

        sent = False

        async def replay():
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return replay, None


def _as_text(body: bytes, ctype: str) -> bytes:
    """A form's fields decoded (a field may hold JSON); any other body as it is. A body
    without a text type may still be parsed as JSON by a handler, so it is measured too."""
    return unquote_to_bytes(body.replace(b"+", b" ")) if "x-www-form-urlencoded" in ctype else body


def _with_extra(headers: list, extra: list) -> list:
    """The answer's headers plus those of `extra` it does not set itself."""
    present = {name.lower() for name, _ in headers}
    return [*headers, *((k, v) for k, v in extra if k not in present)]


def _declares_body(scope) -> bool:
    for name, value in scope.get("headers") or []:
        if name == b"transfer-encoding" or (name == b"content-length" and value.strip() not in (b"", b"0")):
            return True
    return False
