"""The container's health check: `python -m apitwin.server.core.health PORT [PORT ...]`.

Exit 0 when the admin API answers on loopback at one of the ports (a container may serve
any of the APIs, each on its default port), 1 otherwise. Only the standard library: it
runs every few seconds and must stay cheap.
"""
from __future__ import annotations

import sys
import urllib.request

# The admin API's own document: answered without the admin token a server off loopback
# asks for, and without touching the API's state.
PROBE = "/__apitwin/admin/openapi.json"


def healthy(ports: list[int], host: str = "127.0.0.1", timeout: float = 2.0) -> bool:
    for port in ports:
        try:
            with urllib.request.urlopen(f"http://{host}:{port}{PROBE}", timeout=timeout) as answer:
                if answer.status == 200:
                    return True
        except (OSError, ValueError):  # refused, timed out, an HTTP error status
            continue
    return False


def main(argv: list[str] | None = None) -> int:
    ports = [int(port) for port in (sys.argv[1:] if argv is None else argv)]
    return 0 if healthy(ports) else 1


if __name__ == "__main__":
    sys.exit(main())
