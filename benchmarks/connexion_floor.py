"""Where a GET's time goes: in-process cost per request, no network, one core.

    .venv/bin/python benchmarks/connexion_floor.py

Times three ASGI apps called directly (no HTTP server, no load tool), best of 5 rounds of
2,000 requests:
- plain Starlette, one route answering a constant: the floor of any ASGI framework here;
- Connexion 3.3.0 AsyncApp with a one-operation spec answering a constant, with the
  layers apitwin keeps: the floor of the framework the project is built on;
- apitwin's MONARC `GET /api/v2/stats/{id}/` with a key, as `apitwin serve` runs it.
The throughput target of `run.py` (2,500 req/s over HTTP) needs about 0.4 ms a request
including uvicorn's share; this shows how much of that the framework alone takes.
"""
from __future__ import annotations

import asyncio
import sys
import tempfile
import textwrap
import time
import types
import warnings
from pathlib import Path

warnings.filterwarnings("ignore")

import connexion  # noqa: E402
from connexion.middleware.lifespan import LifespanMiddleware  # noqa: E402
from connexion.middleware.main import ConnexionMiddleware  # noqa: E402
from connexion.middleware.response_validation import ResponseValidationMiddleware  # noqa: E402
from starlette.applications import Starlette  # noqa: E402
from starlette.responses import JSONResponse  # noqa: E402
from starlette.routing import Route  # noqa: E402

from apitwin.server.core.app import create  # noqa: E402

KEY = b"SylsDTZTBk2zAkg016vW_aCuO1XQDXPsxrLuI1TG7z5sYvUfRlVf5R4g6kDnLI_o-c5iqrswrWzPANDKXmtV7Q"
SPEC = textwrap.dedent("""
    openapi: 3.0.3
    info: {title: floor, version: "1"}
    paths:
      /items/{id}/:
        get:
          operationId: floor_handlers.get_item
          parameters: [{name: id, in: path, required: true, schema: {type: string}}]
          responses: {"200": {description: ok}}
""")


async def _constant(**_):
    return {"id": "5eb9ca210381f6f321022ae6", "type": "risk"}


def starlette_app():
    async def endpoint(request):
        return JSONResponse(await _constant())
    return Starlette(routes=[Route("/items/{id}/", endpoint)])


def connexion_app():
    sys.modules["floor_handlers"] = types.SimpleNamespace(get_item=_constant)
    spec = Path(tempfile.mkdtemp()) / "floor.yaml"
    spec.write_text(SPEC)
    layers = [m for m in ConnexionMiddleware.default_middlewares
              if m not in (LifespanMiddleware, ResponseValidationMiddleware)]
    app = connexion.AsyncApp(__name__, middlewares=layers)
    app.add_api(spec)
    return app


def per_request_ms(app, path: str, headers: list) -> float:
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
             "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
             "root_path": "", "headers": [(b"host", b"bench"), *headers],
             "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80)}

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        if message["type"] == "http.response.start" and message["status"] != 200:
            raise SystemExit(f"{path} answered {message['status']}")

    async def rounds(n):
        for _ in range(n):
            await app(dict(scope), receive, send)

    asyncio.run(rounds(200))
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        asyncio.run(rounds(2000))
        best = min(best, (time.perf_counter() - start) / 2000 * 1000)
    return best


def main() -> None:
    twin, monarc = create("monarc", quiet=True)
    stat_id = str(twin.store["stats"].find(limit=1)[0]["_id"])
    rows = [
        ("plain Starlette, constant answer", per_request_ms(starlette_app(), "/items/x/", [])),
        ("Connexion AsyncApp, constant answer", per_request_ms(connexion_app(), "/items/x/", [])),
        ("apitwin MONARC GET /api/v2/stats/{id}/",
         per_request_ms(monarc, f"/api/v2/stats/{stat_id}/", [(b"x-api-key", KEY)])),
    ]
    print(f"{'in-process, one core':44} {'ms/request':>10} {'ceiling req/s':>14}")
    for name, ms in rows:
        print(f"{name:44} {ms:10.3f} {1000 / ms:14,.0f}")


if __name__ == "__main__":
    main()
