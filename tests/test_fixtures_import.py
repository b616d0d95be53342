"""`apitwin proxy --record` then `apitwin fixtures import`: a session's data, taken home.

The traffic goes through the proxy to a stand-in (as it would to the real service), is
recorded as HAR with its secrets masked, imported as fixtures, and a new stand-in started
on them (`create(..., fixtures=...)`, what `apitwin serve --fixtures DIR` does) holds it."""
from __future__ import annotations

import json

from starlette.testclient import TestClient

from apitwin.conformance.fixtures_cli import main as fixtures_cli
from apitwin.conformance.fixtures_import import OPENGRID_PASSWORD, monarc_token
from apitwin.conformance.har import HarRecorder
from apitwin.server.core.app import create
from proxy_helpers import proxied

KEY = "SylsDTZTBk2zAkg016vW_aCuO1XQDXPsxrLuI1TG7z5sYvUfRlVf5R4g6kDnLI_o-c5iqrswrWzPANDKXmtV7Q"
NEW_TOKEN = "a-brand-new-organization-token-0123456789"


def _record(api: str, tmp_path, session) -> str:
    recorder = HarRecorder(tmp_path / "har", api)
    _, app = create(api)
    with proxied(api, app, recorder=recorder) as (client, _, lines):
        session(client)
    recorder.close()
    assert lines == [], lines
    return recorder.path.read_text(encoding="utf-8")


def _import(api: str, tmp_path, capsys) -> str:
    assert fixtures_cli(["import", api, str(tmp_path / "har"), "--out", str(tmp_path / "out")]) == 0
    return capsys.readouterr().out


def test_a_monarc_session_becomes_fixtures(tmp_path, capsys):
    created = {}

    def session(c):
        h = {"X-API-KEY": KEY}
        made = c.post("/api/v2/organizations/", json={"name": "NEWORG", "token": NEW_TOKEN}, headers=h)
        assert made.status_code == 200, made.text
        stat = c.post("/api/v2/stats/", headers={"X-API-KEY": NEW_TOKEN},
                      json={"type": "risk", "anr": "5e6f33d1-99b1-4244-a573-942498a4a201", "data": {"total": 42},
                            "day": 3, "week": 1, "month": 1, "quarter": 1, "year": 2021})
        assert stat.status_code == 200, stat.text
        created.update(stat.json())
        assert c.get("/api/v2/stats/", params={"_limit": "3"}, headers=h).status_code == 200

    har = _record("monarc", tmp_path, session)
    assert KEY not in har and NEW_TOKEN not in har  # keys and tokens, in headers and bodies, are masked
    out = _import("monarc", tmp_path, capsys)
    assert f"organization NEWORG: X-API-KEY {monarc_token('NEWORG')}" in out
    assert f"apitwin serve monarc --fixtures {tmp_path / 'out'}" in out

    _, app = create("monarc", fixtures=tmp_path / "out")
    client = TestClient(app)
    mine = client.get(f"/api/v2/stats/{created['id']}/", headers={"X-API-KEY": monarc_token("NEWORG")})
    assert mine.status_code == 200 and mine.json() == created
    assert client.get("/api/v2/organizations/CASES/", headers={"X-API-KEY": KEY}).status_code == 200  # bundled keys
    bundled = json.loads((tmp_path / "out" / "monarc" / "stats.json").read_text())
    assert len(bundled) == len(create("monarc")[0].store["stats"].find()) + 1


def test_an_opengrid_session_becomes_fixtures(tmp_path, capsys):
    ids = {}

    def session(c):
        token = c.post("/users/token", json={"username": "admin", "password": "admin"}).headers["x-auth-token"]
        h = {"X-AUTH-TOKEN": token}
        group = c.post("/groups", headers=h, json={"id": None, "o": {
            "groupId": "field_crew", "name": "Field crew", "datasets": ["weather"], "functions": ["Quick Search"]}})
        assert group.status_code == 200 and "error" not in group.json(), group.text
        user = c.post("/users", headers=h, json={"id": None, "o": {
            "userId": "dana", "password": "dana-secret-pw", "firstName": "Dana", "lastName": "Field",
            "groups": ["field_crew"]}})
        assert user.status_code == 200 and "error" not in user.json(), user.text
        rows = c.get("/datasets/weather/query", params={"n": "3"}, headers=h).json()["features"]
        ids["rows"] = [row["properties"]["_id"]["$oid"] for row in rows]
        assert c.get("/users", params={"n": "50"}, headers=h).status_code == 200
        assert c.get("/autocomplete/zipcodes", headers=h).status_code == 200

    har = _record("opengrid", tmp_path, session)
    assert "dana-secret-pw" not in har
    posted = [json.loads(e["request"]["postData"]["text"]) for e in json.loads(har)["log"]["entries"]
              if e["request"]["method"] == "POST"]
    assert posted[0]["password"] == "***" and posted[-1]["o"]["password"] == "***"  # login, then the new user
    out = _import("opengrid", tmp_path, capsys)
    assert f"user dana: password {OPENGRID_PASSWORD}" in out

    _, app = create("opengrid", fixtures=tmp_path / "out")
    client = TestClient(app)
    login = client.post("/users/token", json={"username": "dana", "password": OPENGRID_PASSWORD})
    assert login.status_code == 200 and login.headers.get("x-auth-token"), login.text
    admin = {"X-AUTH-TOKEN": client.post("/users/token", json={"username": "admin", "password": "admin"})
             .headers["x-auth-token"]}
    groups = client.get("/groups", params={"n": "50"}, headers=admin).json()
    assert "field_crew" in [g["groupId"] for g in groups]
    rows = json.loads((tmp_path / "out" / "opengrid" / "weather.json").read_text())
    assert set(ids["rows"]) <= {row["_id"] for row in rows}


def test_import_refuses_what_it_cannot_use(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert fixtures_cli(["import", "qore", str(tmp_path / "empty")]) == 2
    assert "no importer for 'qore'" in capsys.readouterr().err
    assert fixtures_cli(["import", "monarc", str(tmp_path / "empty")]) == 2
    assert "no recorded exchanges" in capsys.readouterr().err
