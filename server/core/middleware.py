"""The outermost layer of every API's app: context, journal, slashes, body encoding.

It wraps the whole Connexion app, so it sees the final status of every answer,
including errors, and can refuse a body before Connexion's parsers see it.
"""
from __future__ import annotations

import time

from starlette.datastructures import URL
from starlette.responses import RedirectResponse, Response

from .context import set_twin
from .errors import to_response

# Bodies that must be text; Connexion 3.3.0 answers a non-UTF-8 one with a 500.
_TEXT_TYPES = ("json", "text/", "x-www-form-urlencoded")


class TwinMiddleware:
    def __init__(self, app, twin, routes) -> None:
        self.app = app
        self.twin = twin
        self.routes = routes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        set_twin(self.twin)
        start = time.perf_counter()
        status = {"code": 500}

        async def send_recording(message):
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            early = self._redirect(scope)
            if early is None:
                receive, early = await self._check_body(scope, receive)
            if early is not None:
                await early(scope, receive, send_recording)
            else:
                await self.app(scope, receive, send_recording)
        finally:
            if self.twin.journal is not None:
                self.twin.journal.record(
                    self.twin.clock.now(), scope["method"], scope["path"],
                    scope.get("query_string", b"").decode("latin-1"), status["code"],
                    (time.perf_counter() - start) * 1000,
                    # The journal is of the API's traffic, not of the calls that inspect it.
                    keep=not scope["path"].startswith("/__apitwin/"),
                )

    def _redirect(self, scope):
        """A 308 to the slashed path, for APIs whose real service does so."""
        path = scope["path"]
        if not self.twin.definition.redirect_slashes or path.endswith("/"):
            return None
        if self.routes.match(path) is None and self.routes.match(path + "/") is not None:
            url = URL(scope=scope)
            return RedirectResponse(str(url.replace(path=path + "/")), status_code=308)
        return None

    async def _check_body(self, scope, receive):
        headers = dict(scope.get("headers") or [])
        ctype = headers.get(b"content-type", b"").decode("latin-1").lower()
        if scope["method"] in ("GET", "HEAD", "OPTIONS") or not any(t in ctype for t in _TEXT_TYPES):
            return receive, None
        chunks = []
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return receive, Response(status_code=400)
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        try:
            body.decode("utf-8")
        except UnicodeDecodeError:
            errors = self.twin.definition.errors
            answer = to_response(errors, 400, "The request body is not valid UTF-8.", "bad_body")
            return receive, Response(answer.body, answer.status_code, answer.headers, answer.mimetype)

        sent = False

        async def replay():
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return replay, None
