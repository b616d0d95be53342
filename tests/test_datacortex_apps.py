"""Data Cortex user and apps: organizations of the user, list, create, delete, 403s."""
from __future__ import annotations

import pytest

from datacortex_helpers import ALICE, BOB, CAROL, as_user, client, shared  # noqa: F401


def bundle(api_key, tag="device-1"):
    return {"api_key": api_key, "app_ver": "1.0", "device_tag": tag, "events": [{"type": "dau", "event_index": 0}]}


def test_user_lists_every_organization_of_the_user(client):
    carol = client.get("/api/1/user", headers=as_user(CAROL)).json()
    assert carol == {
        "user_id": 3,
        "email": "carol@consulting.example",
        "display_name": "Carol Diaz",
        "org_list": [{"org_id": 101, "name": "Acme Games"}, {"org_id": 102, "name": "Blue Harbor Studio"}],
    }
    alice = client.get("/api/1/user", headers=as_user(ALICE)).json()
    assert alice["org_list"] == [{"org_id": 101, "name": "Acme Games"}]


def test_apps_of_an_organization_with_their_keys(client):
    answer = client.get("/api/1/app", params={"org_id": "101"}, headers=as_user(ALICE))
    assert answer.status_code == 200
    apps = answer.json()["app_list"]
    assert [app["app_id"] for app in apps] == [1001, 1002]
    assert apps[0] == {"app_id": 1001, "name": "Space Miner", "api_key_list": ["acme-spaceminer-3f9c2a7e51d04b8e"]}


def test_listing_another_organizations_apps_is_forbidden(client):
    answer = client.get("/api/1/app", params={"org_id": 102}, headers=as_user(ALICE))
    assert answer.status_code == 403
    assert answer.json() == {"error": "Not allowed to list that organization's applications."}
    # An organization that does not exist answers the same.
    assert client.get("/api/1/app", params={"org_id": 999}, headers=as_user(ALICE)).status_code == 403
    # A member of both sees both.
    assert client.get("/api/1/app", params={"org_id": 102}, headers=as_user(CAROL)).status_code == 200


def test_create_with_the_documented_get_form(client):
    created = client.get("/api/1/app", params={"org_id": "101", "app_name": "Space Miner Beta"}, headers=as_user(ALICE))
    assert created.status_code == 200
    app_id = created.json()["app_id"]
    assert isinstance(app_id, int)
    apps = client.get("/api/1/app", params={"org_id": "101"}, headers=as_user(CAROL)).json()["app_list"]
    new = [app for app in apps if app["app_id"] == app_id]
    assert len(new) == 1
    assert new[0]["name"] == "Space Miner Beta"
    assert len(new[0]["api_key_list"]) == 1


def test_create_with_post_gets_a_working_api_key(client):
    created = client.post("/api/1/app", json={"org_id": 102, "app_name": "Harbor Quest 2"}, headers=as_user(BOB))
    assert created.status_code == 200
    app_id = created.json()["app_id"]
    apps = client.get("/api/1/app", params={"org_id": 102}, headers=as_user(BOB)).json()["app_list"]
    key = next(app["api_key_list"][0] for app in apps if app["app_id"] == app_id)
    sent = client.post("/blueharbor/1/track", json=bundle(key))
    assert sent.status_code == 200 and sent.text == "OK"
    summary = client.get("/__apitwin/state").json()["summary"]
    assert summary["events_per_app"] == {str(app_id): 1}


def test_new_apps_get_new_ids(client):
    first = client.post("/api/1/app", json={"org_id": 101, "app_name": "A"}, headers=as_user(ALICE)).json()["app_id"]
    second = client.post("/api/1/app", json={"org_id": 101, "app_name": "A"}, headers=as_user(ALICE)).json()["app_id"]
    assert first not in (1001, 1002, 1003)
    assert second != first


def test_creating_in_another_organization_is_forbidden(client):
    for send in (
        lambda: client.post("/api/1/app", json={"org_id": 102, "app_name": "Sneaky"}, headers=as_user(ALICE)),
        lambda: client.get("/api/1/app", params={"org_id": 102, "app_name": "Sneaky"}, headers=as_user(ALICE)),
    ):
        answer = send()
        assert answer.status_code == 403
        assert answer.json() == {"error": "Not allowed to add an application to that organization."}
    apps = client.get("/api/1/app", params={"org_id": 102}, headers=as_user(BOB)).json()["app_list"]
    assert [app["name"] for app in apps] == ["Harbor Quest"]


@pytest.mark.parametrize("fields, message", [
    ({"app_name": "No org"}, "org_id is required"),
    ({"org_id": "abc", "app_name": "X"}, "org_id must be an integer"),
    ({"org_id": 101.5, "app_name": "X"}, "org_id must be an integer"),
    ({"org_id": 101}, "app_name is required"),
    ({"org_id": 101, "app_name": ""}, "app_name is required"),
    ({"org_id": 101, "app_name": 7}, "app_name must be a string"),
    ({"org_id": 101, "app_name": "x" * 101}, "app_name is too long (100 characters at most)"),
])
def test_create_refuses_bad_fields(client, fields, message):
    answer = client.post("/api/1/app", json=fields, headers=as_user(ALICE))
    assert answer.status_code == 400
    assert answer.json() == {"error": message}


def test_list_without_org_id_is_a_bad_request(client):
    answer = client.get("/api/1/app", headers=as_user(ALICE))
    assert answer.status_code == 400
    assert answer.json() == {"error": "org_id is required"}


def test_delete_removes_the_app_and_its_keys(client):
    before = client.post("/acme/1/track", json=bundle("acme-spaceminerweb-8b1d6e0c2a4f"))
    assert before.status_code == 200
    answer = client.delete("/api/1/app/1002", headers=as_user(ALICE))
    assert answer.status_code == 200
    assert answer.text == "OK"
    apps = client.get("/api/1/app", params={"org_id": 101}, headers=as_user(ALICE)).json()["app_list"]
    assert [app["app_id"] for app in apps] == [1001]
    after = client.post("/acme/1/track", json=bundle("acme-spaceminerweb-8b1d6e0c2a4f", "device-2"))
    assert after.status_code == 403
    # Deleted is gone: a second delete is refused like any app the user may not touch.
    assert client.delete("/api/1/app/1002", headers=as_user(ALICE)).status_code == 403


def test_deleting_another_organizations_app_is_forbidden(client):
    answer = client.delete("/api/1/app/1003", headers=as_user(ALICE))
    assert answer.status_code == 403
    assert answer.json() == {"error": "Not allowed to delete that application."}
    apps = client.get("/api/1/app", params={"org_id": 102}, headers=as_user(BOB)).json()["app_list"]
    assert [app["app_id"] for app in apps] == [1003]


def test_delete_refuses_an_id_that_is_not_a_number(client):
    answer = client.delete("/api/1/app/abc", headers=as_user(ALICE))
    assert answer.status_code == 400
    assert answer.json() == {"error": "app_id must be an integer"}


@pytest.mark.parametrize("method, path", [
    ("GET", "/api/1/user"),
    ("GET", "/api/1/app?org_id=101"),
    ("GET", "/api/1/app?org_id=101&app_name=X"),
    ("POST", "/api/1/app"),
    ("DELETE", "/api/1/app/1001"),
    ("POST", "/api/1/logout"),
])
def test_every_report_call_needs_a_session(client, method, path):
    answer = client.request(method, path, headers=as_user("not-a-session"))
    assert answer.status_code == 403
    assert answer.json() == {"error": "Not logged in"}
    assert client.get("/api/1/app", params={"org_id": 101}, headers=as_user(ALICE)).json()["app_list"][0]["app_id"] == 1001


def test_a_body_that_is_not_json_or_a_form_is_a_clear_400(client):
    answer = client.post("/api/1/app", content=b"<xml/>", headers={**as_user(ALICE), "Content-Type": "application/xml"})
    assert answer.status_code == 400
    assert "application/xml" in answer.json()["error"]
    array = client.post("/api/1/app", json=[101, "X"], headers=as_user(ALICE))
    assert array.status_code == 400
    assert array.json() == {"error": "The request body must be a JSON object."}


def test_a_lone_surrogate_in_a_json_body_is_invalid_json_not_a_500(client):
    # `"\ud800"` is valid JSON text but no UTF-8 string (found by probing after apitwin conform).
    headers = {**as_user(ALICE), "Content-Type": "application/json"}
    answer = client.post("/api/1/app", content=b'{"org_id": 101, "app_name": "\\ud800"}', headers=headers)
    assert answer.status_code == 400
    assert answer.json() == {"error": "The request body is not valid JSON (a JSON object is expected)."}
    login = client.post("/api/1/login", content=b'{"email": "\\udc00@example.com"}',
                        headers={"Content-Type": "application/json"})
    assert login.status_code == 400 and "not valid JSON" in login.json()["error"]
    # Nothing was created.
    apps = client.get("/api/1/app", params={"org_id": 101}, headers=as_user(ALICE)).json()["app_list"]
    assert [app["app_id"] for app in apps] == [1001, 1002]


def test_unknown_routes_and_methods_answer_in_the_api_shape(client):
    assert client.get("/api/1/nothing").json() == {"error": "Not found"}
    answer = client.put("/api/1/app/1001", headers=as_user(ALICE))
    assert answer.status_code == 405
    assert answer.json() == {"error": "Method not allowed"}
    assert "DELETE" in answer.headers["allow"]


def test_reset_brings_the_fixtures_back(client):
    client.delete("/api/1/app/1001", headers=as_user(ALICE))
    client.post("/api/1/logout", headers=as_user(ALICE))
    assert client.post("/__apitwin/reset").status_code == 200
    apps = client.get("/api/1/app", params={"org_id": 101}, headers=as_user(ALICE)).json()["app_list"]
    assert [app["app_id"] for app in apps] == [1001, 1002]
