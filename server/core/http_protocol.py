"""The HTTP/1.1 layer under every API: request targets as long as browser SDKs send them,
and the HTTP layer's own refusals answered in the API's error shape.

uvicorn's httptools protocol cannot serve a request target (path and query) over 65,535
bytes, since httptools' URL parser keeps offsets in 16 bits, and it answers what it
refuses (that, or a malformed request) with a plain-text 400 that no API's client reads,
without the CORS headers a browser needs to see it at all. A browser SDK's batch of 1,000
Qoncrete events is a GET of about 100 KB. This protocol:
- splits a longer target itself (the path must still fit the parser, the query need not),
  up to MAX_TARGET bytes, and refuses a longer one with 414 while reading it;
- answers every refusal through the app's `refusal` (TwinMiddleware): the API's own
  shape, CORS headers where the path has them, and a line in the journal;
- then lingers: it half-closes and reads (and drops) what the client still sends, so the
  client reads the answer instead of a connection reset.
"""
from __future__ import annotations

import http
import urllib.parse

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

MAX_TARGET = 1024 * 1024  # bytes of a request target that are served
PARSER_MAX = 65535  # the longest target httptools.parse_url reads
# How long, and how many bytes, a refused request may still send before the connection is cut.
LINGER_SECONDS = 5.0
LINGER_BYTES = 16 * 1024 * 1024
TOO_LONG = f"The request target (path and query) is longer than {MAX_TARGET} bytes."


class _Refused(Exception):
    """Raised in a parser callback to stop reading a request the protocol refuses."""


def split_target(target: bytes) -> tuple[bytes, bytes]:
    """(path, query) of a request target, without a fragment."""
    target = target.split(b"#", 1)[0]
    path, _, query = target.partition(b"?")
    return path, query


class TwinHttpProtocol(HttpToolsProtocol):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.url = b""
        self._refused: tuple[int, str, str] | None = None  # (status, kind, message)
        self._lingering = False
        self._drained = 0
        self._linger_timer = None

    # -- reading ---------------------------------------------------------------------
    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._refused = None

    def on_url(self, url: bytes) -> None:
        super().on_url(url)
        if len(self.url) > MAX_TARGET:
            self._refused = (414, "uri_too_long", TOO_LONG)
            raise _Refused(TOO_LONG)

    def on_headers_complete(self) -> None:
        if len(self.url) <= PARSER_MAX:
            super().on_headers_complete()
            return
        path, query = split_target(self.url)
        if len(path) > PARSER_MAX:
            self._refused = (414, "uri_too_long", f"The request path is longer than {PARSER_MAX} bytes.")
            raise _Refused(self._refused[2])
        # The parser reads the path alone; the scope (which the request's task, not yet
        # started, shares) gets the query.
        self.url = path
        super().on_headers_complete()
        if self.scope.get("path") is not None:
            self.scope["query_string"] = query

    def data_received(self, data: bytes) -> None:
        if self._lingering:
            self._drain(data)
            return
        super().data_received(data)

    # -- refusing --------------------------------------------------------------------
    def send_400_response(self, msg: str) -> None:
        refusal = getattr(self.config.app, "refusal", None)
        if refusal is None:  # not an apitwin app: uvicorn's own answer
            super().send_400_response(msg)
            return
        status, kind, message = self._refused or (400, "bad_request", f"Invalid HTTP request: {msg}")
        path = urllib.parse.unquote(split_target(self.url)[0].decode("latin-1")) or "/"
        status, headers, body = refusal(self._method(), path, list(self.headers or []), status, kind, message)
        self.transport.write(_answer(status, [*self.server_state.default_headers, *headers], body))
        self._linger()

    def _method(self) -> str:
        try:
            return self.parser.get_method().decode("ascii")
        except Exception:  # the method was not read (or not valid) when the request was refused
            return ""

    def _linger(self) -> None:
        """Half-close after the answer; drop what the client still sends until it closes."""
        self._lingering = True
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self._linger_timer = self.loop.call_later(LINGER_SECONDS, self.transport.close)

    def _drain(self, data: bytes) -> None:
        self._drained += len(data)
        if self._drained > LINGER_BYTES:
            self.transport.close()

    def connection_lost(self, exc) -> None:
        if self._linger_timer is not None:
            self._linger_timer.cancel()
        super().connection_lost(exc)


def _answer(status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> bytes:
    try:
        phrase = http.HTTPStatus(status).phrase
    except ValueError:
        phrase = ""
    lines = [f"HTTP/1.1 {status} {phrase}\r\n".encode("latin-1")]
    for name, value in headers:
        if name.lower() not in (b"content-length", b"connection"):
            lines.append(name + b": " + value + b"\r\n")
    lines.append(b"content-length: " + str(len(body)).encode("ascii") + b"\r\n")
    lines.append(b"connection: close\r\n\r\n")
    return b"".join(lines) + body
