"""What a new user sees first: Swagger UI's "Servers" list is the running server, and the
request log keeps one request on one line."""
from __future__ import annotations

import httpx
import pytest
from starlette.testclient import TestClient

from apitwin.server.core.api import available, definition
from apitwin.server.core.app import create
from conformance_helpers import serving
from conftest import make_client


@pytest.mark.parametrize("name", available())
def test_the_served_document_names_this_server_in_servers(name):
    _, client = make_client(name)  # answers validated against admin.yaml
    spec = client.get("/__apitwin/openapi.json").json()
    assert spec["servers"] == [{"url": "http://testserver", "description": "this apitwin server"}]
    assert spec["info"]["title"] == definition(name).load_spec()["info"]["title"]
    assert spec["paths"].keys() == definition(name).load_spec()["paths"].keys()


def test_swagger_ui_reads_the_document_of_the_running_server():
    _, app = create("qore")
    with serving(app) as url:
        page = httpx.get(f"{url}/__apitwin/ui/")
        assert page.status_code == 200 and '"/__apitwin/openapi.json"' in page.text
        assert httpx.get(f"{url}/__apitwin/openapi.json").json()["servers"][0]["url"] == url


def test_the_served_document_follows_the_settings():
    _, client = make_client("monarc", api_key_authentication=False)
    assert "security" not in client.get("/__apitwin/openapi.json").json()


def test_the_request_log_escapes_control_characters(capsys):
    _, app = create("monarc", quiet=False)
    client = TestClient(app)
    client.get("/api/v2/stats/a%0Ab%0D%1B%5B31m%E2%80%A8x/", params={"q": "\x7f"})
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("[monarc] GET /api/v2/stats/a\\nb\\r\\x1b[31m\\u2028x/?q=%7F 401 ")
