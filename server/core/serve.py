"""Serving several twins from one process, each on its own port."""
from __future__ import annotations

import asyncio
import contextlib
import signal
import sys

import uvicorn

from .app import ADMIN_PREFIX
from .http_protocol import TwinHttpProtocol


class _Server(uvicorn.Server):
    """A uvicorn server that leaves signals to `serve_all`, which stops every server."""

    @contextlib.contextmanager
    def capture_signals(self):
        yield


def startup_table(rows: list[tuple], admin_token: str | None = None) -> str:
    """API | URL | Swagger UI | accounts, one API a block."""
    lines = [f"{'API':<11} {'URL':<24} {'Swagger UI':<40} Seeded accounts / keys"]
    lines.append("-" * 110)
    for name, url, accounts in rows:
        first, *rest = accounts or ["-"]
        lines.append(f"{name:<11} {url:<24} {url + ADMIN_PREFIX + '/ui/':<40} {first}")
        lines.extend(f"{'':<77} {line}" for line in rest)
    lines.append("")
    lines.append(f"Admin API on every port: {ADMIN_PREFIX}/reset, /state, /requests, /clock "
                 f"(described at {ADMIN_PREFIX}/admin/openapi.json). Ctrl-C stops.")
    if admin_token:
        lines.append(f"Admin API token (send Authorization: Bearer <token>): {admin_token}")
    return "\n".join(lines)


def config(app, host: str, port: int, **options) -> uvicorn.Config:
    """How every twin is served (tests serve through it too): long request targets, and
    the HTTP layer's refusals in the API's shape (http_protocol.py)."""
    settings = {"log_level": "warning", "access_log": False, "lifespan": "off", **options}
    return uvicorn.Config(app, host=host, port=port, http=TwinHttpProtocol, **settings)


async def _serve_all(servers: list[_Server]) -> None:
    loop = asyncio.get_running_loop()

    def stop(*_):
        for server in servers:
            if server.should_exit:
                server.force_exit = True
            server.should_exit = True

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop)
    await asyncio.gather(*(server.serve() for server in servers))


def serve_all(apps: list[tuple], host: str, rows: list[tuple], admin_token: str | None = None) -> int:
    """apps: (name, asgi_app, port). Blocks until Ctrl-C; returns an exit code."""
    servers = [_Server(config(app, host, port)) for _, app, port in apps]
    print(startup_table(rows, admin_token), flush=True)
    try:
        asyncio.run(_serve_all(servers))
    except KeyboardInterrupt:
        pass
    if any(not server.started for server in servers):
        print("apitwin: a server could not start (is its port already in use?)", file=sys.stderr)
        return 1
    return 0
