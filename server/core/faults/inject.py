"""What the rules that fired do to one request, at the ASGI level: wait, answer in the
API's own shape, trickle the body out, or break the connection.

An injected answer is sent before the request reaches the API's router and handlers, so
it never changes stored state; latency and slow bodies let the request through.
"""
from __future__ import annotations

import asyncio
import math
import random
import socket
import struct

from starlette.responses import Response

from ..errors import json_body, to_response
from .rules import KIND_STATUS, ErrorAnswer, SlowBody

# Retry-After of an injected 429 when the rule gives none (a rate limit says when its window ends).
DEFAULT_RETRY_AFTER = 1


def transport_of(send):
    """The connection under uvicorn's `send`, a bound method of its request cycle, which
    holds the transport: ASGI has no message that resets or drops a connection, so
    connection faults reach below it (tests/test_faults_connections.py checks it holds).
    None under other servers (the in-process client)."""
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    return transport if hasattr(transport, "abort") else None


def error_response(api_errors, error: ErrorAnswer, retry_after: int | None = None) -> Response:
    """The error in the API's own shape (or the literal body), with the rule's status."""
    retry_after = error.retry_after if error.retry_after is not None else retry_after
    if error.kind is None:
        literal = error.body
        content = literal.encode() if isinstance(literal, str) else json_body(literal)
        media = error.content_type or ("text/plain" if isinstance(literal, str) else "application/json")
        status = error.status
        headers = {}
    else:
        answer = to_response(api_errors, KIND_STATUS[error.kind], error.message, error.kind)
        content, media, headers = answer.body, error.content_type or answer.mimetype, dict(answer.headers or {})
        status = error.status or answer.status_code
        if error.kind == "rate_limited" and retry_after is None:
            retry_after = DEFAULT_RETRY_AFTER
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    return Response(content, status, headers, media)


def with_headers(send, headers: dict[str, str]):
    """`send` that sets `headers` on the answer, in place of any of the same names."""
    names = {name.lower().encode("latin-1") for name in headers}
    raw = [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()]

    async def send_with_headers(message):
        if message["type"] == "http.response.start":
            kept = [(k, v) for k, v in message.get("headers", []) if k.lower() not in names]
            message = {**message, "headers": kept + raw}
        await send(message)

    return send_with_headers


def trickle(send, slow: SlowBody):
    """`send` that holds the body back and sends it in `slow.chunks` pieces over `slow.duration`."""
    held: list[bytes] = []

    async def slow_send(message):
        if message["type"] != "http.response.body":
            await send(message)
            return
        held.append(message.get("body", b""))
        if message.get("more_body"):
            return
        body = b"".join(held)
        pieces = max(1, min(slow.chunks, len(body)))
        size = math.ceil(len(body) / pieces) if body else 0
        for i in range(pieces):
            await asyncio.sleep(slow.duration / pieces)
            await send({"type": "http.response.body", "body": body[i * size:(i + 1) * size],
                        "more_body": i < pieces - 1})

    return slow_send


def connection_fault(how: str, transport, example: tuple[bytes, str], rng: random.Random):
    """An ASGI app that breaks the connection `how`: reset, close, truncate or malformed."""

    async def app(scope, receive, send):
        body, media = example
        if how in ("truncate", "malformed"):
            headers = [(b"content-type", media.encode("latin-1"))]
            if how == "truncate":  # promises the whole body, sends half of it
                headers.append((b"content-length", str(len(body)).encode()))
            await send({"type": "http.response.start", "status": 200, "headers": headers})
        if transport is None:
            await _in_process(how, body, rng, send)
            return
        if how == "reset":
            sock = transport.get_extra_info("socket")
            if sock is not None:  # close with a zero linger: the peer gets an RST
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            transport.abort()
        else:
            if how == "truncate":
                await send({"type": "http.response.body", "body": body[:len(body) // 2], "more_body": True})
            elif how == "malformed":  # raw bytes where the chunked body's framing should be
                transport.write(rng.randbytes(64))
            transport.close()
        # Let the server see the connection gone before the app returns, so it does not
        # log an unfinished answer.
        for _ in range(3):
            await asyncio.sleep(0)

    return app


async def _in_process(how: str, body: bytes, rng: random.Random, send) -> None:
    """Without a socket, the nearest an ASGI app can come: the error a client would raise,
    a body shorter than its Content-Length, or bytes that are not the promised JSON."""
    if how == "reset":
        raise ConnectionResetError("apitwin fault: connection reset")
    if how == "close":
        raise ConnectionAbortedError("apitwin fault: connection closed without an answer")
    chunk = body[:len(body) // 2] if how == "truncate" else rng.randbytes(64)
    await send({"type": "http.response.body", "body": chunk, "more_body": False})


def success_example(spec: dict, method: str, template: str | None) -> tuple[bytes, str]:
    """The operation's documented success answer (the body a truncated answer cuts short)."""
    operation = ((spec.get("paths") or {}).get(template) or {}).get(method.lower()) or {}
    for status, response in sorted((operation.get("responses") or {}).items(), key=lambda r: str(r[0])):
        if not str(status).startswith("2"):
            continue
        for media, content in (_resolve(spec, response).get("content") or {}).items():
            content = _resolve(spec, content)
            examples = [content["example"]] if "example" in content else \
                [_resolve(spec, e).get("value") for e in (content.get("examples") or {}).values()]
            for value in examples:
                if value is not None:
                    return (value.encode() if isinstance(value, str) else json_body(value)), media
    return b'{"data": []}', "application/json"


def _resolve(spec: dict, node):
    """A local `$ref` (`#/components/...`) followed to what it names."""
    while isinstance(node, dict) and isinstance(node.get("$ref"), str) and node["$ref"].startswith("#/"):
        target = spec
        for part in node["$ref"][2:].split("/"):
            target = target.get(part, {}) if isinstance(target, dict) else {}
        node = target
    return node if isinstance(node, dict) else {}
