"""The admin API (`/__apitwin/...`) is safe: no CORS, JSON-only writes, a token off
loopback, secrets hidden and masked (issue #12)."""
from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from starlette.testclient import TestClient

from apitwin.server.core.admin_access import is_loopback, token_for
from apitwin.server.core.app import create
from conformance_helpers import free_port
from conftest import make_client

ORIGIN = {"Origin": "https://evil.example"}
ADMIN_PATHS = [("GET", "/__apitwin/state"), ("POST", "/__apitwin/reset"), ("GET", "/__apitwin/requests"),
               ("GET", "/__apitwin/clock")]


@pytest.mark.parametrize("settings", [{}, {"cors": True}])
def test_no_cors_headers_on_admin_paths_not_opengrids_nor_cors(settings):
    _, client = make_client("opengrid", **settings)
    api = client.get("/capabilities", headers=ORIGIN)
    assert api.headers.get("access-control-allow-origin")  # the API itself keeps its CORS
    for method, path in ADMIN_PATHS:
        r = client.request(method, path, headers=ORIGIN)
        assert not any(h.startswith("access-control-") for h in r.headers), (path, dict(r.headers))
        assert r.status_code == 403 and r.json() == {"error": "The admin API does not answer pages of other origins."}
    preflight = client.options("/__apitwin/reset", headers={**ORIGIN, "Access-Control-Request-Method": "POST"})
    assert not any(h.startswith("access-control-") for h in preflight.headers)


def test_a_cross_site_form_cannot_reset():
    twin, client = make_client("monarc")
    twin.store["organizations"].delete_many({})
    for ctype in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"):
        r = client.post("/__apitwin/reset", headers={"Content-Type": ctype}, content=b"x=1")
        assert r.status_code == 415 and r.json() == {"error": "The admin API takes application/json bodies only."}
    assert len(twin.store["organizations"]) == 0  # not reset
    assert client.post("/__apitwin/reset").status_code == 200  # curl -X POST, no body
    assert client.post("/__apitwin/reset", json={}).status_code == 200
    assert len(twin.store["organizations"]) == 2


def test_the_same_origin_swagger_ui_may_call_the_admin_api():
    _, client = make_client("monarc")
    r = client.get("/__apitwin/clock", headers={"Origin": "http://testserver"})
    assert r.status_code == 200


def test_with_an_admin_token_every_admin_path_needs_it_but_the_documentation():
    _, app = create("qore", admin_token="s3cret", validate_responses=True)
    client = TestClient(app)
    for method, path in [*ADMIN_PATHS, ("POST", "/__apitwin/clock"), ("DELETE", "/__apitwin/requests"),
                         ("GET", "/__apitwin/faults"), ("GET", "/__apitwin/anything-added-later")]:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "s3cret"}):
            r = client.request(method, path, headers=headers)
            assert r.status_code == 401, (method, path, headers)
            assert r.headers["www-authenticate"] == "Bearer"
    good = {"Authorization": "Bearer s3cret"}
    assert client.get("/__apitwin/state", headers=good).status_code == 200
    assert client.post("/__apitwin/clock", headers=good, json={"advance": "1s"}).status_code == 200
    for path in ("/__apitwin/ui/", "/__apitwin/openapi.json", "/__apitwin/admin/openapi.json"):
        assert client.get(path).status_code == 200
    # The API itself is untouched by the admin token.
    assert client.get("/api/me", headers={"Authorization": "Bearer 1|qoreAliceDemoToken0000000000000000000000"}).status_code == 200


def test_off_loopback_a_token_is_generated_unless_given():
    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5")
    assert token_for("127.0.0.1", None) is None
    assert token_for("127.0.0.1", "given") == "given" and token_for("0.0.0.0", "given") == "given"
    first, second = token_for("0.0.0.0", None), token_for("0.0.0.0", None)
    assert first and len(first) >= 32 and first != second


def test_apitwin_serve_off_loopback_prints_the_admin_token_and_requires_it():
    port = free_port()
    apitwin = Path(sys.executable).with_name("apitwin")
    proc = subprocess.Popen([str(apitwin), "serve", "monarc", "--port", str(port), "--host", "0.0.0.0", "--quiet"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                refused = httpx.get(f"http://127.0.0.1:{port}/__apitwin/state")
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.1)
        assert refused.status_code == 401
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=15)
    line = next(line for line in out.splitlines() if line.startswith("Admin API token"))
    token = line.rsplit(" ", 1)[1]
    assert len(token) >= 32


def test_state_hides_secrets_unless_asked():
    _, client = make_client("qoncrete")
    hidden = client.get("/__apitwin/state").json()["collections"]
    assert {t["_id"] for t in hidden["tokens"]} == {"<hidden>"}
    assert {u["password"] for u in hidden["users"]} == {"<hidden>"}
    assert hidden["users"][0]["email"].endswith("@qoncrete.test")  # the rest stays
    shown = client.get("/__apitwin/state?secrets=true").json()["collections"]
    assert "97b8a203-f4ca-4832-8469-d2188e4c4871" in {t["_id"] for t in shown["tokens"]}


@pytest.mark.parametrize("api, collection, fields", [
    ("monarc", "organizations", ["token"]),
    ("qore", "personal_access_tokens", ["token"]),
    ("qore", "rows_users", ["password"]),
    ("datacortex", "sessions", ["_id", "manual_code", "verify_url"]),
    ("datacortex", "api_keys", ["_id"]),
    ("datacortex", "apps", ["api_key_list"]),
    ("opengrid", "credentials", ["hash"]),
])
def test_every_apis_secrets_are_hidden(api, collection, fields):
    _, client = make_client(api)
    docs = client.get("/__apitwin/state").json()["collections"][collection]
    assert docs and all(doc[f] == "<hidden>" for doc in docs for f in fields)


def test_the_journal_masks_tokens_and_keys_in_query_strings():
    _, client = make_client("qoncrete")
    client.get("/v2/source?token=97b8a203-f4ca-4832-8469-d2188e4c4871&x=1")
    client.get("/api/1/user?session_key=abc")
    queries = [e["query"] for e in client.get("/__apitwin/requests").json()["requests"]]
    assert queries == ["token=<hidden>&x=1", "session_key=<hidden>"]
