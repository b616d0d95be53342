"""Shared by the conformance kit's tests: serve a (deliberately wrong) twin, run the kit, read its output.

Each test serves a variant of an apitwin server with uvicorn in a thread on a free loopback
port (the kit talks HTTP, as it would to any deployment) and runs `apitwin conform <api>`.
"""
from __future__ import annotations

import json
import socket
import threading
import time
from contextlib import contextmanager

import uvicorn

from apitwin.conformance.cli import main as conform
from apitwin.server.core.serve import config


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serving(app, tls=None):
    """The base URL of `app` served as `apitwin serve` serves it (its uvicorn config, HTTP
    protocol included) on a free loopback port, in a thread, until the block ends; over
    HTTPS with `tls` (a server.core.tls.Certificate)."""
    port = free_port()
    server = uvicorn.Server(config(app, "127.0.0.1", port, tls, log_level="critical"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the test server did not start"
        time.sleep(0.02)
    try:
        yield f"{'https' if tls else 'http'}://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def conform_output(capsys, argv: list[str]) -> tuple[int, str, str]:
    """`apitwin conform <argv>`: its exit code, what it printed, what it printed on stderr."""
    code = conform(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def failures_section(out: str) -> str:
    assert "FAILURES" in out, out[-3000:]
    return out[out.index("FAILURES"):]


def failing_run(run_kit, capsys, app, *extra) -> tuple[str, str]:
    """Serves `app`, runs `run_kit(capsys, url, *extra)` and asserts it exits 1.

    Returns the output and its FAILURES section."""
    with serving(app) as url:
        code, out, _ = run_kit(capsys, url, *extra)
    assert code == 1
    return out, failures_section(out)


# -- ASGI wrappers that break the answers of a correct server ------------------------------
def rewrite_json(app, path_prefix: str, method: str | None, change):
    """Answers under `path_prefix` go through change(status, body) -> (status, body, headers)."""

    async def wrapped(scope, receive, send):
        if scope["type"] != "http" or not scope["path"].startswith(path_prefix) or \
                (method and scope["method"] != method):
            await app(scope, receive, send)
            return
        start, chunks = {}, []

        async def capture(message):
            if message["type"] == "http.response.start":
                start.update(message)
            else:
                chunks.append(message.get("body", b""))
                if not message.get("more_body"):
                    body = b"".join(chunks)
                    try:
                        data = json.loads(body)
                    except ValueError:
                        data = None
                    status, data, ctype = change(start["status"], data)
                    raw = body if data is None else json.dumps(data).encode()
                    headers = [(k, v) for k, v in start.get("headers", [])
                               if k.lower() not in (b"content-length", b"content-type")]
                    headers += [(b"content-length", str(len(raw)).encode()),
                                (b"content-type", (ctype or "application/json").encode())]
                    await send({"type": "http.response.start", "status": status, "headers": headers})
                    await send({"type": "http.response.body", "body": raw})

        await app(scope, receive, capture)

    return wrapped


def plant_answer(app, api: str, operations, status: int, body, ctype: str | None = None, every: bool = False):
    """Every success of `operations` (a 2xx that is no refusal; with `every`, any answer but a
    5xx) becomes `status` with `body`."""
    from apitwin.conformance.spec import routes_for

    routes = routes_for(api)

    def change(scope_method, scope_path):
        route = routes.find(scope_method, scope_path)
        return route is not None and route.operation_id in operations

    async def wrapped(scope, receive, send):
        if scope["type"] != "http" or not change(scope["method"], scope["path"]):
            await app(scope, receive, send)
            return
        start, chunks = {}, []

        async def capture(message):
            if message["type"] == "http.response.start":
                start.update(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body"):
                return
            raw = b"".join(chunks)
            try:
                refusal = isinstance(json.loads(raw), dict) and "error" in json.loads(raw)
            except ValueError:
                refusal = False
            headers = start.get("headers", [])
            if (200 <= start["status"] < 300 and not refusal) or (every and start["status"] < 500):
                raw = body.encode() if isinstance(body, str) else json.dumps(body).encode()
                kind = ctype or ("text/plain" if isinstance(body, str) else "application/json")
                headers = [(k, v) for k, v in headers if k.lower() not in (b"content-length", b"content-type")]
                headers += [(b"content-length", str(len(raw)).encode()), (b"content-type", kind.encode())]
                await send({"type": "http.response.start", "status": status, "headers": headers})
            else:
                await send({"type": "http.response.start", "status": start["status"], "headers": headers})
            await send({"type": "http.response.body", "body": raw})

        await app(scope, receive, capture)

    return wrapped


# The seeded credentials of each stand-in, as `apitwin conform` options.
CREDENTIALS = {
    "monarc": ["--api-key", "SylsDTZTBk2zAkg016vW_aCuO1XQDXPsxrLuI1TG7z5sYvUfRlVf5R4g6kDnLI_o-c5iqrswrWzPANDKXmtV7Q"],
    "qore": ["--token", "1|qoreAliceDemoToken0000000000000000000000",
             "--other-token", "2|qoreBobDemoToken000000000000000000000000"],
    "qoncrete": ["--email", "demo@qoncrete.test", "--password", "demo1234"],
    "datacortex": ["--session-key", "dcsession-carol-0000000000000000000000003"],
    "opengrid": ["--username", "admin", "--password", "admin"],
    "monarc-v1": ["--api-key", "cases-v1-token-5b7d9f1a3c5e7a9b1d3f5a7c9e1b3d5f7a9c1e3b5d7f9a1c"],
}


def kit(capsys, api: str, url: str, *extra) -> tuple[int, str, str]:
    """`apitwin conform <api>` against `url` with the stand-in's seeded credentials."""
    return conform_output(capsys, [api, "--base-url", url, *CREDENTIALS[api], *extra])
