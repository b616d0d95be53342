"""Qoncrete API v2: users, tokens, sources, shares, store and ingest, through HTTP."""
from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest

from qoncrete_helpers import (  # noqa: F401 (fixtures)
    MASTER, WRITE, READ, ALICE, SOURCE, BY_COUNTRY, BROWSERS, client, qon, twin,
)



def new_source(client, token=MASTER, **fields):
    r = client.post(f"/v2/source?token={token}", json={"name": "test", "rawttl": "", **fields})
    assert r.status_code == 200, r.text
    return r.json()


def register(client, email=None, password="secret123"):
    email = email or f"{uuid.uuid4().hex[:10]}@example.test"
    r = client.post("/v2/user/register", json={"email": email, "password": password, "passwordConfirm": password})
    assert r.status_code == 200, r.text
    r = client.post("/v2/user/login", json={"email": email, "password": password})
    return email, {"Authorization": "Bearer " + r.json()["token"]}


def error(r, status, starts=""):
    assert r.status_code == status, r.text
    body = r.json()
    assert body["code"] == status
    assert body["text"].startswith(starts), body["text"]
    return body["text"]


# -- users and auth ----------------------------------------------------------------------
def test_login_gives_a_jwt_that_authorizes(client):
    r = client.post("/v2/user/login", json={"email": "demo@qoncrete.test", "password": "demo1234"})
    assert r.status_code == 200
    headers = {"Authorization": "Bearer " + r.json()["token"]}
    sources = client.get("/v2/source", headers=headers).json()
    assert [s["_id"] for s in sources] == [SOURCE]
    assert sources[0]["reports"] == [BY_COUNTRY, BROWSERS]


def test_wrong_password_is_401_in_qoncrete_shape(client):
    r = client.post("/v2/user/login", json={"email": "demo@qoncrete.test", "password": "nope"})
    assert error(r, 401) == "invalid email or password"
    assert r.headers["content-type"] == "application/json"


def test_jwt_is_valid_48_hours_by_the_server_clock(client, twin):
    _, headers = register(client)
    twin.clock.advance(timedelta(hours=47, minutes=59))
    assert client.get("/v2/source", headers=headers).status_code == 200
    twin.clock.advance(timedelta(minutes=2))
    error(client.get("/v2/source", headers=headers), 401)


@pytest.mark.parametrize("headers,query", [({}, ""), ({"Authorization": "Bearer nonsense"}, ""),
                                           ({}, "?token=" + str(uuid.uuid4())), ({}, "?token=bad")])
def test_missing_or_unknown_credentials_are_401(client, headers, query):
    error(client.get("/v2/source" + query, headers=headers), 401)


def test_register_checks_each_field_by_name(client):
    ok = {"email": "x@example.test", "password": "123456", "passwordConfirm": "123456"}
    for changes, field in (({"email": "not-an-email"}, "email"), ({"password": "12"}, "password"),
                           ({"passwordConfirm": "654321"}, "passwordConfirm")):
        error(client.post("/v2/user/register", json={**ok, **changes}), 400, field + ":")
    error(client.post("/v2/user/register", json={**ok, "email": "DEMO@qoncrete.test"}), 409, "email:")
    error(client.post("/v2/user/register", content=b"{not json", headers={"Content-Type": "application/json"}),
          400, "body:")


# -- tokens ------------------------------------------------------------------------------
def test_token_access_bits_decide_what_a_token_may_do(client):
    assert client.get(f"/v2/source?token={READ}").status_code == 200
    error(client.post(f"/v2/source?token={READ}", json={"name": "x"}), 403)
    error(client.get(f"/v2/source?token={WRITE}"), 403)
    error(client.get(f"/v2/token?token={READ}"), 403)
    assert client.post(f"/v2/store/ui?token={WRITE}", json={"name": "a", "value": "{}"}).status_code == 200


def test_token_crud_and_revocation(client):
    _, headers = register(client)
    r = client.post("/v2/token", headers=headers, json={"name": "Read", "access": "1"})
    assert r.status_code == 200
    token = r.json()
    assert token["access"] == 1 and token["name"] == "Read"
    assert client.get(f"/v2/token/{token['_id']}", headers=headers).json() == token
    changed = client.put(f"/v2/token/{token['_id']}", headers=headers, json={"access": 7}).json()
    assert changed["access"] == 7 and changed["name"] == "Read"
    assert client.get(f"/v2/source?token={token['_id']}").status_code == 200
    assert client.delete(f"/v2/token/{token['_id']}", headers=headers).status_code == 204
    error(client.get(f"/v2/source?token={token['_id']}"), 401)
    error(client.get(f"/v2/token/{token['_id']}", headers=headers), 404)
    # Another user's token is not found.
    error(client.get(f"/v2/token/{MASTER}", headers=headers), 404)


def test_token_cannot_grant_more_than_its_creator(client):
    _, headers = register(client)
    manage = client.post("/v2/token", headers=headers, json={"name": "m", "access": 4}).json()["_id"]
    error(client.post(f"/v2/token?token={manage}", json={"name": "all", "access": 7}), 403, "access:")
    error(client.post("/v2/token", headers=headers, json={"name": "bad", "access": 9}), 400, "access:")


# -- sources -----------------------------------------------------------------------------
def test_source_crud(client):
    source = new_source(client, name="DATATEST", rawttl="30d")
    assert source["name"] == "DATATEST" and source["rawttl"] == "30d"
    assert source["_extra"] == {"count": 0, "size": 0}
    assert source["readAccess"] is True and source["writeAccess"] is True
    sid = source["_id"]
    assert client.get(f"/v2/source/{sid}?token={MASTER}").json() == source
    changed = client.put(f"/v2/source/{sid}?token={MASTER}", json={"name": "renamed"}).json()
    assert changed["name"] == "renamed" and changed["rawttl"] == "30d"
    assert changed["sourceVersion"] == source["sourceVersion"] + 1
    assert sid in [s["_id"] for s in client.get(f"/v2/source?token={MASTER}").json()]
    assert client.delete(f"/v2/source/{sid}?token={MASTER}").status_code == 204
    error(client.get(f"/v2/source/{sid}?token={MASTER}"), 404)
    assert sid not in [s["_id"] for s in client.get(f"/v2/source?token={MASTER}").json()]


@pytest.mark.parametrize("body,field", [({"rawttl": "forever"}, "rawttl"), ({"name": ""}, "name"),
                                        ({"name": " \u3000\n"}, "name"), ({"name": 3}, "name"), ({}, "name")])
def test_bad_source_fields_are_400_naming_the_field(client, body, field):
    error(client.post(f"/v2/source?token={MASTER}", json={"name": "x", **body} if field != "name" else body),
          400, field + ":")


def test_a_name_is_blank_only_as_the_contract_says(client):
    """The contract's `\\S` is ECMA-262's: \\x85 and \\x1f are characters of a name, not whitespace."""
    for name in ("\x85", "\x1f"):
        r = client.post(f"/v2/source?token={MASTER}", json={"name": name})
        assert r.status_code == 200 and r.json()["name"] == name, r.text


def test_sources_of_others_are_not_found(client):
    _, headers = register(client)
    assert client.get("/v2/source", headers=headers).json() == []
    error(client.get(f"/v2/source/{SOURCE}", headers=headers), 404)
    error(client.get(f"/v2/source/{SOURCE}/report/{BY_COUNTRY}", headers=headers), 404)
    error(client.post(f"/v2/source/{SOURCE}/report/{BY_COUNTRY}/scankeys", headers=headers, json={}), 404)
    error(client.delete(f"/v2/source/{SOURCE}", headers=headers), 404)


def test_a_read_share_shows_the_source_but_not_for_writing(client):
    mine = [s for s in client.get(f"/v2/source?token={ALICE}").json() if s["_id"] == SOURCE]
    assert len(mine) == 1
    assert mine[0]["readAccess"] is True and mine[0]["writeAccess"] is False
    assert all(r["writeAccess"] is False for r in mine[0]["reportList"])
    error(client.put(f"/v2/source/{SOURCE}?token={ALICE}", json={"name": "x"}), 403)
    error(client.post(f"/v2/source/{SOURCE}/report?token={ALICE}", json={"name": "x", "period": "1d"}), 403)
    error(client.get(f"/v2/source/{SOURCE}/share?token={ALICE}"), 403)
    assert client.post(f"/v2/source/{SOURCE}/report/{BY_COUNTRY}/scankeys?token={ALICE}",
                       json={"at": "now-1d"}).status_code == 200


def test_source_share_lifecycle(client):
    sid = new_source(client)["_id"]
    email, headers = register(client)
    error(client.post(f"/v2/source/{sid}/share?token={MASTER}", json={"email": "nobody@example.test"}), 404, "email:")
    error(client.post(f"/v2/source/{sid}/share?token={MASTER}", json={"email": "demo@qoncrete.test"}), 400, "email:")
    r = client.post(f"/v2/source/{sid}/share?token={MASTER}", json={"email": email, "writeAccess": True})
    share = r.json()
    assert share["userEmail"] == email and share["sourceId"] == sid
    assert share["readAccess"] is True and share["writeAccess"] is True
    error(client.post(f"/v2/source/{sid}/share?token={MASTER}", json={"email": email}), 409, "email:")
    assert client.get(f"/v2/source/{sid}/share?token={MASTER}").json() == [share]
    assert client.get(f"/v2/source/{sid}/share/{share['_id']}?token={MASTER}").json() == share
    seen = client.get(f"/v2/source/{sid}", headers=headers).json()
    assert seen["writeAccess"] is True
    assert client.put(f"/v2/source/{sid}", headers=headers, json={"name": "by them"}).status_code == 200
    error(client.delete(f"/v2/source/{sid}", headers=headers), 403)
    assert client.delete(f"/v2/source/{sid}/share/{share['_id']}?token={MASTER}").status_code == 204
    error(client.get(f"/v2/source/{sid}", headers=headers), 404)


def test_a_report_share_shows_that_report_only(client):
    sid = new_source(client)["_id"]
    reports = [client.post(f"/v2/source/{sid}/report?token={MASTER}", json={"name": n, "period": "1d"}).json()
               for n in ("shared", "private")]
    email, headers = register(client)
    r = client.post(f"/v2/source/{sid}/report/{reports[0]['_id']}/share?token={MASTER}", json={"email": email})
    share = r.json()
    assert share["reportId"] == reports[0]["_id"]
    path = f"/v2/source/{sid}/report/{reports[0]['_id']}/share/{share['_id']}?token={MASTER}"
    assert client.get(path).json() == share
    assert [r["_id"] for r in client.get(f"/v2/source/{sid}/report", headers=headers).json()] == [reports[0]["_id"]]
    error(client.get(f"/v2/source/{sid}", headers=headers), 404)
    error(client.get(f"/v2/source/{sid}/report/{reports[1]['_id']}", headers=headers), 404)
    assert client.post(f"/v2/source/{sid}/report/{reports[0]['_id']}/scandates", headers=headers,
                       json={"from": "now-1d", "to": "now"}).status_code == 200
    assert client.delete(path).status_code == 204
    error(client.get(f"/v2/source/{sid}/report/{reports[0]['_id']}", headers=headers), 404)


# -- store -------------------------------------------------------------------------------
def test_store_crud_is_per_user_and_per_kind(client):
    _, headers = register(client)
    value = json.dumps({"f1": "field one", "f2": 10})
    item = client.post("/v2/store/dashboards", headers=headers, json={"name": "test", "value": value}).json()
    assert item["name"] == "test" and item["value"] == value
    assert client.get("/v2/store/dashboards", headers=headers).json() == [item]
    assert client.get("/v2/store/other", headers=headers).json() == []
    assert client.get(f"/v2/store/dashboards/{item['id']}", headers=headers).json() == item
    changed = client.put("/v2/store/dashboards", headers=headers, json={**item, "value": "{}"}).json()
    assert changed == {**item, "value": "{}"}
    error(client.get(f"/v2/store/dashboards/{item['id']}?token={MASTER}"), 404)
    error(client.put("/v2/store/dashboards", headers=headers, json={"name": "x", "value": "{}"}), 400, "id:")
    error(client.post("/v2/store/dashboards", headers=headers, json={"name": "x", "value": {"a": 1}}), 400, "value:")
    assert client.delete(f"/v2/store/dashboards/{item['id']}", headers=headers).status_code == 204
    error(client.get(f"/v2/store/dashboards/{item['id']}", headers=headers), 404)


# -- ingest ------------------------------------------------------------------------------
def test_ingest_counts_events_and_daily_statistics(client, twin):
    sid = new_source(client)["_id"]
    event = {"type": "pageview", "country": "FR"}
    assert client.post(f"/{sid}?token={WRITE}", json=event).status_code == 204
    r = client.post(f"/{sid}/batch?token={WRITE}", json=[event, event])
    assert r.status_code == 204 and r.content == b""
    ndjson = b'{"a": 1}\n\n{"a": 2}\n'
    assert client.post(f"/{sid}?token={WRITE}", content=ndjson,
                       headers={"Content-Type": "application/x-ndjson"}).status_code == 204
    assert client.get(f"/{sid}", params={"token": WRITE, "body": json.dumps(event)}).status_code == 204
    extra = client.get(f"/v2/source/{sid}?token={MASTER}").json()["_extra"]
    assert extra["count"] == 6
    sizes = 4 * len(json.dumps(event, separators=(",", ":"))) + 2 * len('{"a":1}')
    assert extra["size"] == sizes
    today = twin.clock.now().strftime("%Y-%m-%d")
    assert client.get(f"/v2/source/{sid}/stat/daily?token={MASTER}").json() == [
        {"date": today, "count": 6, "size": sizes}]


def test_ingest_with_a_jwt_and_by_a_write_share(client):
    sid = new_source(client)["_id"]
    email, headers = register(client)
    r = client.post(f"/{sid}", headers=headers, json={"a": 1})
    assert error(r, 402) == "this token has no write access to the source"
    client.post(f"/v2/source/{sid}/share?token={MASTER}", json={"email": email, "writeAccess": True})
    assert client.post(f"/{sid}", headers=headers, json={"a": 1}).status_code == 204


@pytest.mark.parametrize("path,token,body,status,text", [
    ("/{bad}", WRITE, b'{"a":1}', 401, "unknown source"),
    ("/{sid}", str(uuid.UUID(int=7)), b'{"a":1}', 401, "unknown token"),
    ("/{sid}", None, b'{"a":1}', 401, "unknown token"),
    ("/{sid}", READ, b'{"a":1}', 402, "this token has no write access"),
    ("/{sid}", WRITE, b"", 402, "empty body"),
    ("/{sid}", WRITE, b'{"a":1}\n{oops', 402, "invalid JSON on line 2"),
    ("/{sid}/batch", WRITE, b"[]", 402, "empty batch"),
    ("/{sid}/batch", WRITE, b"[1, 2]", 402, "event 0: must be a JSON object"),
    ("/{sid}/batch", WRITE, json.dumps([{"a": 1}] * 1001).encode(), 402, "a batch holds at most 1000"),
    ("/{sid}/batch", WRITE, b'[{"a":1},{"_qtime":"yesterday"}]', 402, "event 1: _qtime"),
])
def test_ingest_errors_keep_nothing(client, path, token, body, status, text):
    sid = new_source(client)["_id"]
    url = path.format(sid=sid, bad=uuid.UUID(int=5)) + (f"?token={token}" if token else "")
    r = client.post(url, content=body, headers={"Content-Type": "application/json"})
    error(r, status, text)
    assert client.get(f"/v2/source/{sid}?token={MASTER}").json()["_extra"]["count"] == 0


def test_ingest_get_without_body_is_402(client):
    sid = new_source(client)["_id"]
    error(client.get(f"/{sid}?token={WRITE}"), 402, "empty body")


# -- errors ------------------------------------------------------------------------------
def test_unknown_route_and_method_answer_in_qoncrete_shape(client):
    error(client.get(f"/v2/nothing/here?token={MASTER}"), 404)
    r = client.patch(f"/v2/source/{SOURCE}?token={MASTER}", json={})
    error(r, 405)
    assert "GET" in r.headers["allow"]
    error(client.get(f"/v2/source/not-a-uuid?token={MASTER}"), 404)
    error(client.post(f"/v2/source?token={MASTER}", content=b"\xff\xfe", headers={"Content-Type": "application/json"}),
          400, "body:")


def test_admin_reset_brings_back_the_fixtures_and_empties_the_engine(client):
    sid = new_source(client)["_id"]
    assert client.post(f"/{SOURCE}?token={WRITE}", json={"a": 1}).status_code == 204
    assert client.get(f"/v2/source/{SOURCE}?token={MASTER}").json()["_extra"]["count"] == 3001
    r = client.post("/__apitwin/reset")
    assert r.status_code == 200 and r.json()["collections"]["sources"] == 1
    assert client.get(f"/v2/source/{SOURCE}?token={MASTER}").json()["_extra"]["count"] == 3000
    assert client.get(f"/v2/source/{sid}?token={MASTER}").status_code == 404
    state = client.get("/__apitwin/state").json()
    assert state["summary"]["sources"][SOURCE]["events"] == 3000
    assert set(state["summary"]["sources"][SOURCE]["reports"]) == {BY_COUNTRY, BROWSERS}
