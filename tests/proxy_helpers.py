"""Shared by the proxy's tests: a target served on a free port with `apitwin proxy` in front.

Both run in-process with uvicorn on free loopback ports (tests/conformance_helpers.py
`serving`); the app's side is an httpx client on the proxy's URL.
"""
from __future__ import annotations

from contextlib import contextmanager

import httpx

from apitwin.conformance.proxy import Proxy
from conformance_helpers import serving


@contextmanager
def proxied(api: str, app, **options):
    """(client on the proxy, the Proxy, the violation log lines) in front of `app`."""
    lines: list[str] = []
    with serving(app) as url:
        proxy = Proxy(api, url, log=lines.append, **options)
        with serving(proxy) as proxy_url:
            with httpx.Client(base_url=proxy_url, timeout=30) as client:
                yield client, proxy, lines


def sides(proxy: Proxy) -> dict[str, list[str]]:
    """The violations found so far, by side, each as "[check] operation: title"."""
    return {side: [f"[{f.check}] {f.operation}: {f.title}" for f in failures.values()]
            for side, failures in proxy.tally.by_side.items()}
