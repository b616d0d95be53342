"""What every API gets from the core: admin API, Swagger UI, store indexes, the CLI."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from apitwin.server.core.clock import Clock, parse_duration
from apitwin.server.core.store import DuplicateKey, Store
from conftest import make_client

KEY = {"X-API-KEY": "SylsDTZTBk2zAkg016vW_aCuO1XQDXPsxrLuI1TG7z5sYvUfRlVf5R4g6kDnLI_o-c5iqrswrWzPANDKXmtV7Q"}
STAT = {"anr": "5e6f33d1-99b1-4244-a573-942498a4a201", "type": "risk", "day": 1, "week": 1,
        "month": 1, "quarter": 1, "year": 2020, "data": {}}


@pytest.fixture
def client():
    return make_client("monarc")[1]


def test_reset_goes_back_to_the_fixtures(client):
    created = client.post("/api/v2/stats/", json=STAT, headers=KEY).json()
    assert client.get(f"/api/v2/stats/{created['id']}/", headers=KEY).status_code == 200
    r = client.post("/__apitwin/reset")
    assert r.json() == {"api": "monarc", "collections": {"organizations": 2, "stats": 300}}
    assert client.get(f"/api/v2/stats/{created['id']}/", headers=KEY).status_code == 404


def test_state_dumps_every_collection_as_json(client):
    state = client.get("/__apitwin/state").json()
    assert state["api"] == "monarc"
    assert len(state["collections"]["stats"]) == 300
    assert isinstance(state["collections"]["stats"][0]["_id"], str)
    assert state["summary"]["stats_per_organization"] == {"OTHER": 100, "CASES": 200}


def test_request_journal_records_method_path_and_status(client):
    client.get("/api/v2/stats/?month=2", headers=KEY)
    client.get("/api/v2/stats/nope/", headers=KEY)
    entries = client.get("/__apitwin/requests", params={"limit": 2}).json()["requests"]
    assert [(e["method"], e["path"], e["query"], e["status"]) for e in entries] == [
        ("GET", "/api/v2/stats/", "month=2", 200), ("GET", "/api/v2/stats/nope/", "", 404)]
    assert all(not e["path"].startswith("/__apitwin/") for e in client.get("/__apitwin/requests").json()["requests"])
    assert client.delete("/__apitwin/requests").status_code == 204
    assert client.get("/__apitwin/requests").json()["requests"] == []


def test_clock_advance_freeze_and_reset(client):
    frozen = client.post("/__apitwin/clock", json={"freeze": "2026-01-01T00:00:00Z"}).json()
    assert frozen == {"now": "2026-01-01T00:00:00+00:00", "frozen": True}
    assert client.post("/__apitwin/clock", json={"advance": "5h"}).json()["now"] == "2026-01-01T05:00:00+00:00"
    assert client.post("/__apitwin/clock", json={"advance": "2d"}).json()["now"] == "2026-01-03T05:00:00+00:00"
    back = client.post("/__apitwin/clock", json={"reset": True}).json()
    assert back["frozen"] is False and back["now"] > "2026-11"


@pytest.mark.parametrize("body", [{"advance": "5x"}, {}, {"freeze": "not a time"}])
def test_clock_refuses_what_it_cannot_read(client, body):
    r = client.post("/__apitwin/clock", json=body)
    assert r.status_code == 400
    assert r.headers["content-type"] == "application/json"


def test_swagger_ui_and_spec_are_served_beside_the_api(client):
    assert "swagger" in client.get("/__apitwin/ui/").text.lower()
    assert client.get("/__apitwin/openapi.json").json()["info"]["title"] == "MONARC Stats API"
    assert client.get("/__apitwin/admin/openapi.json").json()["info"]["title"] == "apitwin admin API"


def test_clock_units():
    assert parse_duration("90s").total_seconds() == 90
    assert parse_duration("1.5m").total_seconds() == 90
    clock = Clock()
    clock.freeze(clock.now())
    before = clock.now()
    clock.advance(parse_duration("1d"))
    assert (clock.now() - before).days == 1


def test_store_keeps_unique_indexes_in_step_with_writes():
    coll = Store("t").collection("things", unique=("code",))
    a = coll.insert({"code": "A", "n": 1})
    assert coll.get(a["_id"])["n"] == 1 and coll.get_by("code", "A")["_id"] == a["_id"]
    with pytest.raises(DuplicateKey):
        coll.insert({"code": "A"})
    coll.update(a["_id"], {"code": "B"})
    assert coll.get_by("code", "A") is None and coll.get_by("code", "B")["_id"] == a["_id"]
    coll.insert({"code": "A"})  # the old value is free again
    assert coll.delete(a["_id"]) and coll.get(a["_id"]) is None and coll.get_by("code", "B") is None
    # What get() hands out is a copy: changing it does not change the store.
    doc = coll.get_by("code", "A")
    doc["code"] = "Z"
    assert coll.get_by("code", "A") is not None
    assert coll.find({"code": "A"})[0]["code"] == "A"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_apitwin_serve_prints_the_table_serves_and_stops_on_ctrl_c():
    port = _free_port()
    apitwin = Path(sys.executable).with_name("apitwin")
    proc = subprocess.Popen([str(apitwin), "serve", "monarc", "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/api/v2/stats/?_limit=1", headers=KEY)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.1)
        assert r.status_code == 200 and len(r.json()["data"]) == 1
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=15)
    assert proc.returncode == 0
    assert f"http://127.0.0.1:{port}/__apitwin/ui/" in out
    assert "(CASES)" in out and "(OTHER)" in out
    assert "GET /api/v2/stats/?_limit=1 200" in err


def test_apitwin_serve_refuses_an_unknown_api():
    apitwin = Path(sys.executable).with_name("apitwin")
    r = subprocess.run([str(apitwin), "serve", "nosuch"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and "unknown API nosuch" in r.stderr


def test_cors_is_off_by_default():
    client = make_client("monarc")[1]
    r = client.get("/api/v2/stats/?_limit=1", headers={**KEY, "Origin": "http://localhost:3000"})
    assert "access-control-allow-origin" not in r.headers


def test_cors_on_allows_the_origin_on_every_answer_and_answers_preflights():
    client = make_client("monarc", cors=True)[1]
    origin = {"Origin": "http://localhost:3000"}
    ok = client.get("/api/v2/stats/?_limit=1", headers={**KEY, **origin})
    refused = client.get("/api/v2/stats/", headers=origin)
    for r in (ok, refused):
        assert r.headers["access-control-allow-origin"] == "http://localhost:3000"
        assert r.headers["access-control-allow-credentials"] == "true"
    assert refused.status_code == 401 and refused.json() == {"error": "Unauthorized"}
    pre = client.options("/api/v2/stats/", headers={**origin, "Access-Control-Request-Method": "POST",
                                                     "Access-Control-Request-Headers": "x-api-key, content-type"})
    assert pre.status_code == 204
    assert pre.headers["access-control-allow-headers"] == "x-api-key, content-type"
    assert "POST" in pre.headers["access-control-allow-methods"]
    # An OPTIONS that is not a preflight gets the API's own answer (MONARC's is Flask's).
    plain = client.options("/api/v2/stats/", headers=KEY)
    assert plain.status_code == 200 and plain.headers["allow"] == "POST, HEAD, GET, OPTIONS"


def test_a_path_parameter_may_hold_a_line_feed(client):
    # Routed to the operation, which answers its own "not found" (it matched no route before).
    r = client.get("/api/v2/stats/a%0Ab/", headers=KEY)
    assert r.status_code == 404
    assert r.json() == {"error": "Empty query: Stats matching query does not exist."}
