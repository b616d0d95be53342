"""The container's health check: `python -m apitwin.server.core.health PORT [PORT ...]`.

Exit 0 when the admin API answers on loopback at one of the ports (a container may serve
any of the APIs, each on its default port), 1 otherwise. Only the standard library: it
runs every few seconds and must stay cheap.
"""
from __future__ import annotations

import http.client
import ssl
import sys
import urllib.request

# The admin API's own document: answered without the admin token a server off loopback
# asks for, and without touching the API's state.
PROBE = "/__apitwin/admin/openapi.json"
# `apitwin serve --tls` serves HTTPS. Whether the server is up is asked of this machine's
# own ports, so any certificate will do (the local CA's file may be in another user's home).
SCHEMES = ("http", "https")
_ANY_CERTIFICATE = ssl.create_default_context()
_ANY_CERTIFICATE.check_hostname = False
_ANY_CERTIFICATE.verify_mode = ssl.CERT_NONE


def healthy(ports: list[int], host: str = "127.0.0.1", timeout: float = 2.0) -> bool:
    return any(_answers(f"{scheme}://{host}:{port}{PROBE}", timeout) for port in ports for scheme in SCHEMES)


def _answers(url: str, timeout: float) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout, context=_ANY_CERTIFICATE) as answer:
            return answer.status == 200
    # Refused, timed out, an HTTP error status, or the other scheme than the port's.
    except (OSError, ValueError, http.client.HTTPException):
        return False


def main(argv: list[str] | None = None) -> int:
    ports = [int(port) for port in (sys.argv[1:] if argv is None else argv)]
    return 0 if healthy(ports) else 1


if __name__ == "__main__":
    sys.exit(main())
