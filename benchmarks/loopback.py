"""Shared by the benchmark scripts: a free loopback port, and a server started and waited for."""
from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(url: str, headers: dict[str, str] | None = None, seconds: float = 120,
                  timeout: float = 2) -> bool:
    """Whether `url` answered (any status) within `seconds`; asks again every 0.2 s."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            httpx.get(url, headers=headers, timeout=timeout)
            return True
        except httpx.TransportError:
            time.sleep(0.2)
    return False


@contextmanager
def served(api: str, probe_path: str, headers: dict[str, str] | None = None) -> Iterator[str]:
    """`apitwin serve <api>` on a free port for the `with` block: its base URL, once `probe_path`
    answers (else the script exits); the server is stopped when the block ends."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([str(ROOT / ".venv/bin/apitwin"), "serve", api, "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if not wait_until_up(base + probe_path, headers):
        server.kill()
        raise SystemExit("the server did not come up")
    try:
        yield base
    finally:
        server.terminate()
        server.wait(timeout=10)
