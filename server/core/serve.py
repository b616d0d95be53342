"""Serving several twins from one process, each on its own port."""
from __future__ import annotations

import asyncio
import contextlib
import errno
import signal
import socket
import urllib.parse

import uvicorn

from .app import ADMIN_PREFIX
from .http_protocol import TwinHttpProtocol
from .tls import WILDCARDS, Certificate


class PortError(Exception):
    """A port that cannot be listened on; the message is one line naming the API."""


def listen(name: str, host: str, port: int) -> socket.socket:
    """A bound socket for API `name`, as uvicorn would bind it. Binding before anything
    is printed lets a taken port fail in one line rather than after the start-up table."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
    except socket.gaierror as exc:
        raise PortError(f"cannot serve {name} on host {host!r}: {exc.strerror}") from None
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
        sock.listen(2048)  # uvicorn's backlog; listening now also takes the port from a second bind
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise PortError(f"port {port} of {name} is already in use on {host} "
                            f"(another program, or another API given the same port)") from None
        raise PortError(f"cannot listen on {host}:{port} for {name}: {exc.strerror}") from None
    sock.set_inheritable(True)
    return sock


class _Server(uvicorn.Server):
    """A uvicorn server that leaves signals to `serve_all`, which stops every server."""

    @contextlib.contextmanager
    def capture_signals(self):
        yield


def startup_table(rows: list[tuple], admin_token: str | None = None, tls: Certificate | None = None) -> str:
    """API | URL | Swagger UI | accounts, one API a block; then the admin API, and how
    clients trust the certificate when served over HTTPS."""
    lines = [f"{'API':<11} {'URL':<24} {'Swagger UI':<40} Seeded accounts / keys"]
    lines.append("-" * 110)
    for name, url, accounts in rows:
        first, *rest = accounts or ["-"]
        lines.append(f"{name:<11} {url:<24} {url + ADMIN_PREFIX + '/ui/':<40} {first}")
        lines.extend(f"{'':<77} {line}" for line in rest)
    lines.append("")
    lines.append(f"Admin API on every port: {ADMIN_PREFIX}/reset, /state, /requests, /clock, /faults "
                 f"(described at {ADMIN_PREFIX}/admin/openapi.json). Ctrl-C stops.")
    if admin_token:
        lines.append(f"Admin API token (send Authorization: Bearer <token>): {admin_token}")
    if tls is not None:
        lines.extend(trust_lines(tls, rows[0][1]))
    return "\n".join(lines)


def trust_lines(tls: Certificate, url: str) -> list[str]:
    """Where the certificate is and how clients trust it (`url`: one served, for curl)."""
    if tls.ca is None:
        return [f"HTTPS with your certificate {tls.certfile} (key {tls.keyfile})."]
    ca = tls.ca
    parts = urllib.parse.urlsplit(url)
    everywhere = parts.hostname in WILDCARDS
    if everywhere:  # reached from this machine as localhost, a name the certificate is for
        url = f"{parts.scheme}://localhost:{parts.port}"
    lines = [f"HTTPS with a certificate of apitwin's local CA, {ca} (made once, kept for the next starts).",
             "Trust it in the clients:",
             f"  Node (node-data-cortex ...): NODE_EXTRA_CA_CERTS={ca} node app.js",
             f"  Python: httpx.Client(verify=ssl.create_default_context(cafile=\"{ca}\")); requests: verify=\"{ca}\"",
             f"  curl --cacert {ca} {url}{ADMIN_PREFIX}/admin/openapi.json"]
    if everywhere:
        lines.append("The certificate is for localhost, 127.0.0.1 and ::1: for clients on other machines, "
                     "serve with a certificate for this machine's name (--tls-cert, --tls-key).")
    return lines


def config(app, host: str, port: int, tls: Certificate | None = None, **options) -> uvicorn.Config:
    """How every twin is served (tests serve through it too): long request targets, and
    the HTTP layer's refusals in the API's shape (http_protocol.py); over HTTPS with `tls`."""
    settings = {"log_level": "warning", "access_log": False, "lifespan": "off", **options}
    if tls is not None:
        settings.update(ssl_certfile=str(tls.certfile), ssl_keyfile=tls.keyfile and str(tls.keyfile))
    return uvicorn.Config(app, host=host, port=port, http=TwinHttpProtocol, **settings)


async def _serve_all(servers: list[tuple[_Server, socket.socket]]) -> None:
    loop = asyncio.get_running_loop()

    def stop(*_):
        for server, _ in servers:
            if server.should_exit:
                server.force_exit = True
            server.should_exit = True

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop)
    await asyncio.gather(*(server.serve(sockets=[sock]) for server, sock in servers))


def serve_all(apps: list[tuple], host: str, rows: list[tuple], admin_token: str | None = None,
              tls: Certificate | None = None) -> int:
    """apps: (name, asgi_app, socket from `listen`); over HTTPS with `tls`. Blocks until
    Ctrl-C; returns 0."""
    servers = [(_Server(config(app, host, sock.getsockname()[1], tls)), sock) for _, app, sock in apps]
    print(startup_table(rows, admin_token, tls), flush=True)
    try:
        asyncio.run(_serve_all(servers))
    except KeyboardInterrupt:
        pass
    return 0
