"""Connection faults as a real HTTP client sees them, on every API served as `apitwin serve`
serves it (uvicorn, its HTTP protocol) on a free port: a reset, a close without an answer,
a truncated body, malformed bytes."""
from __future__ import annotations

import httpx
import pytest

from apitwin.server.core.app import create
from faults_helpers import PROFILES
from conformance_helpers import serving


@pytest.fixture(params=list(PROFILES), scope="module")
def server(request):
    profile = PROFILES[request.param]
    _, app = create(profile.api)
    with serving(app) as url, httpx.Client(base_url=url) as client:
        yield profile, client


def _rule(client, **rule):
    assert client.post("/__apitwin/faults", json=rule).status_code == 201


def _read(profile, client, credential):
    return client.get(profile.read_path, **credential)


def test_a_reset_connection_and_a_close_without_answer(server):
    profile, client = server
    credential, _ = profile.credentials(client)
    _rule(client, operation=profile.read_operation, connection="reset", times=1)
    with pytest.raises(httpx.ReadError, match="reset by peer"):
        _read(profile, client, credential)
    _rule(client, operation=profile.read_operation, connection="close", times=1)
    with pytest.raises(httpx.RemoteProtocolError, match="without sending a response"):
        _read(profile, client, credential)
    assert _read(profile, client, credential).status_code == 200  # each rule was for one call
    dropped = client.get("/__apitwin/requests", params={"limit": 3}).json()["requests"][:2]
    assert [(e["status"], e["fault"]["actions"][0].split(": ")[1]) for e in dropped] == \
        [(0, "connection reset"), (0, "connection close")]


def test_a_truncated_body_stops_short_of_its_content_length(server):
    profile, client = server
    credential, _ = profile.credentials(client)
    _rule(client, operation=profile.read_operation, connection="truncate", times=1)
    with pytest.raises(httpx.RemoteProtocolError, match="incomplete|expected"):
        _read(profile, client, credential)
    assert _read(profile, client, credential).status_code == 200


def test_malformed_bytes_break_the_answer(server):
    profile, client = server
    credential, _ = profile.credentials(client)
    _rule(client, operation=profile.read_operation, connection="malformed", times=1)
    with pytest.raises(httpx.RemoteProtocolError):
        _read(profile, client, credential)
    assert _read(profile, client, credential).status_code == 200
