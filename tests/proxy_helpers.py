"""Shared by the proxy's tests: a target served on a free port with `apitwin proxy` in front.

Both run in-process with uvicorn on free loopback ports (tests/conformance_helpers.py
`serving`); the app's side is an httpx client on the proxy's URL.
"""
from __future__ import annotations

import threading
import time
from contextlib import contextmanager

import httpx
import uvicorn

from apitwin.conformance.proxy import Proxy, server_config
from conformance_helpers import free_port, serving


@contextmanager
def serving_proxy(proxy: Proxy):
    """The proxy served as `apitwin proxy` serves it, on a free port: its base URL."""
    server = uvicorn.Server(server_config(proxy, "127.0.0.1", free_port(), log_level="critical"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the proxy did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{server.config.port}"
    finally:
        server.should_exit = True
        thread.join(10)


@contextmanager
def proxied(api: str, app, **options):
    """(client on the proxy, the Proxy, the violation log lines) in front of `app`."""
    lines: list[str] = []
    with serving(app) as url:
        proxy = Proxy(api, url, log=lines.append, **options)
        with serving_proxy(proxy) as proxy_url:
            with httpx.Client(base_url=proxy_url, timeout=30) as client:
                yield client, proxy, lines


def sides(proxy: Proxy) -> dict[str, list[str]]:
    """The violations found so far, by side, each as "[check] operation: title"."""
    return {side: [f"[{f.check}] {f.operation}: {f.title}" for f in failures.values()]
            for side, failures in proxy.tally.by_side.items()}
