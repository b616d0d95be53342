"""Serving a twin as `apitwin serve` does (its uvicorn config, HTTP protocol included), in
a thread on a free loopback port: for what the in-process TestClient cannot show (the
HTTP layer's limits, a real browser)."""
from __future__ import annotations

import threading
import time
from contextlib import contextmanager

import uvicorn

from apitwin.server.core.serve import config
from conformance_helpers import free_port


@contextmanager
def served(app):
    """The base URL of `app` served on a free port, until the block ends."""
    port = free_port()
    server = uvicorn.Server(config(app, "127.0.0.1", port, log_level="critical"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the test server did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
