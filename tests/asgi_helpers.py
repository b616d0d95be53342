"""Requests straight through an ASGI app, for URLs httpx (under the TestClient) refuses.

httpx refuses URLs over 64 KB; the abuse suite and some regressions send longer ones, as
curl can to a server whose limits allow them.
"""
from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from urllib.parse import urlencode


@dataclass
class Answer:
    status_code: int
    headers: dict
    content: bytes

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    def json(self):
        return json.loads(self.content)


def call(app, method: str, path: str, query: list, headers: dict, body: bytes | None) -> Answer:
    """One request straight through the ASGI app: httpx (under the TestClient) refuses
    URLs over 64 KB, and the suite sends longer ones."""
    raw_headers = [(k.lower().encode(), v.encode("latin-1")) for k, v in headers.items()]
    if body is not None:
        raw_headers.append((b"content-length", str(len(body)).encode()))
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
             "scheme": "http", "path": path, "raw_path": path.encode(), "root_path": "",
             "query_string": urlencode(query).encode(), "headers": [(b"host", b"testserver"), *raw_headers],
             "client": ("127.0.0.1", 50000), "server": ("testserver", 80)}
    started, chunks = {}, []
    pending = [{"type": "http.request", "body": body or b"", "more_body": False}]

    async def receive():
        return pending.pop() if pending else {"type": "http.disconnect"}

    async def send(message):
        if message["type"] == "http.response.start":
            started.update(message)
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    asyncio.run(app(scope, receive, send))
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in started.get("headers", [])}
    return Answer(started["status"], headers, b"".join(chunks))
