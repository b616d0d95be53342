"""The pytest plugin (entry point `pytest11`): an apitwin stand-in for your test suite.

    @pytest.mark.apitwin("monarc")
    def test_lists_stats(apitwin):
        headers = {"X-API-KEY": apitwin.credentials["api_key"]}
        assert httpx.get(f"{apitwin.url}/api/v2/stats/", headers=headers).status_code == 200

Fixtures:
- `apitwin`: the stand-in of the test's API (a `StandIn`). Built once per session for each
  API and settings, and shared by the tests that ask for the same; `url` serves it
  in-process on a free loopback port (uvicorn in a thread), `client()` talks to its ASGI
  app without a port. Its state carries over between tests unless the test asks for a
  reset (`@pytest.mark.apitwin(..., reset=True)` or `apitwin.reset()`).
- `apitwin_url`: its base URL; `apitwin_client`: an httpx client without a port.

The API: `@pytest.mark.apitwin("monarc", reset=False, settings={...})` on a test, class or
module, else `--apitwin-api monarc` or `apitwin_api = monarc` in the ini file.
Heavy imports wait until a fixture is used, so the plugin costs nothing when unused.
"""
from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta

import pytest

_HELP = "the apitwin API a test's `apitwin` fixture stands in for, when the test has no apitwin marker"


def pytest_addoption(parser):
    group = parser.getgroup("apitwin")
    group.addoption("--apitwin-api", metavar="API", help=_HELP)
    parser.addini("apitwin_api", _HELP)


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "apitwin(api, reset=False, settings=None): the API the `apitwin` fixture stands in for, "
        "its settings, and whether to reset it to its fixtures before the test")


class StandIn:
    """One stand-in: its twin (store, clock, backend) and ASGI app, served on demand."""

    def __init__(self, api: str, settings: dict) -> None:
        from apitwin.server.core.app import create
        from apitwin.server.core.api import definition

        self.api = api
        self.twin, self.app = create(api, settings=settings)
        make = definition(api).credentials
        # The seeded credentials, named as `apitwin conform <api>` takes them.
        self.credentials: dict = make() if make else {}
        self._server = None
        self._thread = None
        self._url = None

    @property
    def accounts(self) -> list[str]:
        """The seeded accounts and keys, a line each, as `apitwin serve` prints them."""
        return self.twin.accounts()

    @property
    def url(self) -> str:
        """Its base URL (e.g. http://127.0.0.1:41234); serves it on first use."""
        if self._url is None:
            self._url = self._serve()
        return self._url

    def client(self, **kwargs):
        """An httpx client to the ASGI app, without a port (Starlette's TestClient)."""
        from starlette.testclient import TestClient

        return TestClient(self.app, **kwargs)

    def reset(self) -> None:
        """Back to the fixtures, the clock too, with an empty request journal."""
        self.twin.clock.reset()
        self.twin.reset()
        self.twin.journal.clear()

    def advance_clock(self, by: str | timedelta) -> datetime:
        """Moves its clock forward (`"5h"`, `"2d"`, or a timedelta); returns the new now."""
        from apitwin.server.core.clock import parse_duration

        self.twin.clock.advance(by if isinstance(by, timedelta) else parse_duration(by))
        return self.twin.clock.now()

    def freeze_clock(self, at: str | datetime) -> datetime:
        """Stops its clock at `at` (ISO 8601 text or a datetime; UTC when naive)."""
        from apitwin.server.core.clock import parse_iso

        self.twin.clock.freeze(parse_iso(at.isoformat() if isinstance(at, datetime) else at))
        return self.twin.clock.now()

    def _serve(self) -> str:
        import socket

        import uvicorn

        from apitwin.server.core.serve import config

        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        # Served as `apitwin serve` serves it (its HTTP layer, long request targets).
        self._server = uvicorn.Server(config(self.app, "127.0.0.1", sock.getsockname()[1]))
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]},
                                        name=f"apitwin-{self.api}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"apitwin: the {self.api} stand-in did not start")
            time.sleep(0.01)
        return f"http://127.0.0.1:{sock.getsockname()[1]}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
            self._thread.join(10)


class _StandIns:
    """The session's stand-ins, one per API and settings."""

    def __init__(self) -> None:
        self._by_key: dict[tuple, StandIn] = {}

    def get(self, api: str, settings: dict) -> StandIn:
        from apitwin.server.core.api import available, definition
        from apitwin.server.core.settings import SettingError, resolve

        known = available()
        if api not in known:
            pytest.fail(f"apitwin: unknown API {api!r} (available: {', '.join(known)})", pytrace=False)
        try:
            typed = resolve(api, definition(api).settings, settings)
        except SettingError as exc:
            pytest.fail(f"apitwin: {exc}", pytrace=False)
        key = (api, tuple(sorted(typed.items())))
        if key not in self._by_key:
            self._by_key[key] = StandIn(api, typed)
        return self._by_key[key]

    def stop(self) -> None:
        for stand_in in self._by_key.values():
            stand_in.stop()


@pytest.fixture(scope="session")
def _apitwin_stand_ins():
    stand_ins = _StandIns()
    yield stand_ins
    stand_ins.stop()


@pytest.fixture
def apitwin(request, _apitwin_stand_ins) -> StandIn:
    """The stand-in of the test's API (see the module's docstring)."""
    marker = request.node.get_closest_marker("apitwin")
    api = (marker.args[0] if marker and marker.args else None) \
        or request.config.getoption("apitwin_api") or request.config.getini("apitwin_api")
    if not api:
        pytest.fail("apitwin: which API? Mark the test @pytest.mark.apitwin(\"monarc\"), "
                    "or pass --apitwin-api monarc", pytrace=False)
    options = dict(marker.kwargs) if marker else {}
    reset = options.pop("reset", False)
    settings = options.pop("settings", None) or {}
    if options:
        pytest.fail(f"apitwin: the marker takes reset= and settings=, not {', '.join(options)}", pytrace=False)
    stand_in = _apitwin_stand_ins.get(api, settings)
    if reset:
        stand_in.reset()
    return stand_in


@pytest.fixture
def apitwin_url(apitwin) -> str:
    """The base URL of the test's stand-in, served on a free loopback port."""
    return apitwin.url


@pytest.fixture
def apitwin_client(apitwin):
    """An httpx client to the test's stand-in, without a port."""
    client = apitwin.client()  # not entered: the stand-in has no lifespan to run
    yield client
    client.close()
