"""OpenGrid users, groups and saved queries: q/n, envelopes, ids, permissions, cascades."""
from __future__ import annotations

from urllib.parse import quote

import jsonschema_rs
import pytest
import yaml

from apitwin import OPENAPI_DIR

from opengrid_helpers import api, client, error_code, login, oid, q  # noqa: F401

TESTER1 = "55ca20b9c4aac050466bc1a3"
TESTER2 = "55ca20b9c4aac050466bc1a4"
GROUP_L2 = "55c525c6c4aae748132f4d06"
BUD_QUERY = "55df5ec39900ec81a481b0f6"
COUPON_QUERY = "55c52cf6c4aa31b24b04d620"
WINDY_QUERY = "55c52cf6c4aa31b24b04d621"


def names(answer) -> set[str]:
    assert answer.status_code == 200, answer.text
    return {doc["name"] for doc in answer.json()}


def test_n_missing_or_zero_returns_no_rows_and_negative_returns_all(client):
    headers = login(client, "tester1")
    assert client.get("/users", headers=headers).json() == []
    assert client.get("/users?q={}&n=0", headers=headers).json() == []
    assert len(client.get("/users?q={}&n=-1", headers=headers).json()) == 3
    assert len(client.get("/users?q=%7B%7D&n=2", headers=headers).json()) == 2
    assert error_code(client.get("/users?n=many", headers=headers)) == "0300"
    assert len(client.get("/users?q={}&n=" + "9" * 40, headers=headers).json()) == 3
    assert client.get("/users?q={}&n=", headers=headers).json() == []


def test_a_parameter_given_twice_is_refused(client):
    headers = login(client, "tester1")
    for url in ("/users?q={}&n=2&n=", "/groups/?q={}&q={}&n=1", "/datasets/weather/query?n=1&s={}&s={}"):
        answer = client.get(url, headers=headers)
        assert error_code(answer) == "0300", url
        assert "given 2 times" in answer.json()["error"]["message"]


def test_users_are_listed_without_passwords(client):
    headers = login(client, "tester1")
    users = client.get("/users?q={}&n=1000", headers=headers).json()
    assert [u["userId"] for u in users] == ["admin", "tester1", "tester2"]
    assert all("password" not in u for u in users)
    assert users[1] == {"_id": {"$oid": TESTER1}, "userId": "tester1", "firstName": "Tester",
                        "lastName": "One", "groups": ["opengrid_users_L1"]}


def test_q_is_a_mongodb_filter(client):
    headers = login(client, "tester1")
    groups = client.get("/groups?q=" + q({"groupId": {"$in": ["opengrid_users_L1", "opengrid_admins"]}}) + "&n=100",
                        headers=headers).json()
    assert sorted(g["groupId"] for g in groups) == ["opengrid_admins", "opengrid_users_L1"]
    admins = client.get("/groups?q=" + q({"isAdmin": True}) + "&n=100", headers=headers).json()
    assert [g["groupId"] for g in admins] == ["opengrid_admins"]
    by_id = client.get("/users?q=" + q({"_id": {"$oid": TESTER2}}) + "&n=5", headers=headers).json()
    assert [u["userId"] for u in by_id] == ["tester2"]
    regex = client.get("/users?q=" + q({"userId": {"$regex": "^TEST", "$options": "i"}}) + "&n=5", headers=headers)
    assert [u["userId"] for u in regex.json()] == ["tester1", "tester2"]


def test_bad_q_answers_handled_errors(client):
    headers = login(client, "tester1")
    assert error_code(client.get("/users?q={bad&n=10", headers=headers)) == "0200"
    assert error_code(client.get("/users?q=" + q({"$where": "sleep(1000)"}) + "&n=10", headers=headers)) == "0300"
    assert error_code(client.get("/users?q=" + q({"userId": {"$regex": "("}}) + "&n=10", headers=headers)) == "0300"
    assert error_code(client.get("/users?q=" + q({"userId": {"$bogus": 1}}) + "&n=10", headers=headers)) == "0200"
    assert error_code(client.get("/users?q=[1]&n=10", headers=headers)) == "0200"


def test_get_by_id_answers_an_array_and_takes_both_id_forms(client):
    headers = login(client, "tester1")
    answer = client.get(f"/users/{oid(TESTER1)}", headers=headers)
    assert [u["userId"] for u in answer.json()] == ["tester1"]
    assert client.get(f"/users/{TESTER1}", headers=headers).json() == answer.json()
    spaced = "%7B%22%24oid%22%3A%20%22" + TESTER1 + "%22%7D"
    assert client.get(f"/users/{spaced}", headers=headers).json() == answer.json()
    assert client.get(f"/users/{oid('0' * 24)}", headers=headers).json() == []
    assert error_code(client.get("/users/not-an-id", headers=headers)) == "0300"


def _contract_allows(path_id: str) -> bool:
    """The contract's PathObjectId, as a JSON Schema validator (ECMA regex) reads it."""
    contract = yaml.safe_load((OPENAPI_DIR / "opengrid.yaml").read_text(encoding="utf-8"))
    return jsonschema_rs.validator_for(contract["components"]["schemas"]["PathObjectId"]).is_valid(path_id)


@pytest.mark.parametrize("path_id, accepted", [
    (TESTER1, True), (TESTER1.upper(), True), ('{"$oid":"%s"}' % TESTER1, True),
    ('{ "$oid" : "%s" }' % TESTER1, True),  # as MongoDB's own JSON writes it
    ('{"$oid":"%s","x":1}' % TESTER1, False), (" " + TESTER1, False), (TESTER1 + "\n", False),
    ('"%s"' % TESTER1, False), ('{"$oid":"%s"}' % TESTER1[:-1], False), ("tester1", False),
])
def test_a_path_id_is_taken_exactly_when_the_contract_pattern_allows_it(client, path_id, accepted):
    assert _contract_allows(path_id) == accepted
    answer = client.get("/users/" + quote(path_id, safe=""), headers=login(client, "tester1"))
    if accepted:
        assert [u["userId"] for u in answer.json()] == ["tester1"]
    else:
        assert answer.json()["error"]["code"] == "0300"
        assert answer.json()["error"]["message"].startswith("Invalid object id")


def test_admin_creates_updates_and_deletes_a_user(client):
    admin = login(client, "admin")
    created = client.post("/users", headers=admin, json={"id": None, "o": {
        "userId": "test3", "password": "testxxx", "firstName": "Test", "lastName": "Three", "groups": []}})
    body = created.json()
    assert created.status_code == 200
    assert "password" not in body
    assert body["userId"] == "test3" and len(body["_id"]["$oid"]) == 24
    new_id = body["_id"]["$oid"]
    login(client, "test3", "testxxx")

    updated = client.put(f"/users/{oid(new_id)}", headers=admin, json={"id": {"$oid": new_id}, "o": {
        "_id": {"$oid": new_id}, "userId": "test3", "firstName": "Test", "lastName": "3",
        "groups": ["opengrid_users_L2"]}})
    assert updated.json()["lastName"] == "3"
    claims_user = login(client, "test3", "testxxx")  # no password sent: the old one stays
    assert client.get("/datasets", headers=claims_user).json()[0]["id"] == "weather"
    client.put(f"/users/{oid(new_id)}", headers=admin,
               json={"id": None, "o": {"userId": "test3", "password": "newpass", "groups": []}})
    assert client.post("/users/token", json={"username": "test3", "password": "testxxx"}).status_code == 401
    login(client, "test3", "newpass")

    deleted = client.delete(f"/users/{oid(new_id)}", headers=admin)
    assert deleted.status_code == 204 and deleted.content == b""
    assert client.get(f"/users/{oid(new_id)}", headers=admin).json() == []
    again = client.delete(f"/users/{oid(new_id)}", headers=admin)
    assert again.json()["error"] == {"code": "0200", "message": f'No object exists with id {{"$oid":"{new_id}"}}.'}


def test_user_rules(client):
    admin = login(client, "admin")
    assert error_code(client.post("/users", headers=admin, json={"o": {"userId": "tester1", "password": "x"}})) == "0200"
    assert error_code(client.post("/users", headers=admin, json={"o": {"userId": "nopass"}})) == "0300"
    assert error_code(client.post("/users", headers=admin, json={"o": {"password": "x"}})) == "0300"
    assert error_code(client.post("/users", headers=admin, json={"userId": "flat"})) == "0300"
    not_json = client.post("/users", headers={**admin, "content-type": "text/plain"}, content=b"{oops")
    assert error_code(not_json) == "0300"
    assert error_code(client.put(f"/users/{oid('0' * 24)}", headers=admin, json={"o": {"userId": "ghost"}})) == "0200"


def test_a_required_name_is_any_text_that_is_not_empty(client):
    admin = login(client, "admin")
    assert client.post("/queries", headers=admin, json={"o": {"name": " "}}).json()["name"] == " "
    assert client.post("/groups", headers=admin, json={"o": {"groupId": "\t"}}).json()["groupId"] == "\t"
    assert error_code(client.post("/queries", headers=admin, json={"o": {"name": ""}})) == "0300"


def test_only_admins_write_users_and_groups(client):
    tester = login(client, "tester1")
    assert client.post("/users", headers=tester, json={"o": {"userId": "x", "password": "y"}}).status_code == 403
    assert client.put(f"/users/{oid(TESTER1)}", headers=tester, json={"o": {"userId": "tester1"}}).status_code == 403
    assert client.delete(f"/users/{oid(TESTER2)}", headers=tester).status_code == 403
    assert client.post("/groups", headers=tester, json={"o": {"groupId": "g"}}).status_code == 403
    assert client.delete(f"/groups/{oid(GROUP_L2)}", headers=tester).status_code == 403
    assert len(client.get("/groups?q={}&n=200", headers=tester).json()) == 4


def test_a_group_in_use_cannot_be_deleted(client):
    admin = login(client, "admin")
    refused = client.delete(f"/groups/{oid(GROUP_L2)}", headers=admin)
    assert refused.json()["error"] == {
        "code": "0200", "message": "There are currently users under this group. Group cannot be deleted."}
    client.put(f"/users/{oid(TESTER2)}", headers=admin, json={"o": {"userId": "tester2", "groups": []}})
    assert client.delete(f"/groups/{oid(GROUP_L2)}", headers=admin).status_code == 204
    assert client.get(f"/groups/{oid(GROUP_L2)}", headers=admin).json() == []


def test_group_create_and_rename_follows_its_users(client):
    admin = login(client, "admin")
    created = client.post("/groups/", headers=admin, json={"id": None, "o": {
        "groupId": "OPENGRID_NEWGROUP", "name": "ABC GROUP", "enabled": True, "functions": [], "datasets": ["twitter"]}})
    group_id = created.json()["_id"]["$oid"]
    client.put(f"/users/{oid(TESTER2)}", headers=admin,
               json={"o": {"userId": "tester2", "groups": ["opengrid_users_L2", "OPENGRID_NEWGROUP"]}})
    tester2 = login(client, "tester2")
    assert [d["id"] for d in client.get("/datasets", headers=tester2).json()] == ["twitter", "weather"]
    client.put(f"/groups/{oid(group_id)}", headers=admin, json={"o": {"groupId": "RENAMED", "datasets": ["twitter"]}})
    user = client.get(f"/users/{oid(TESTER2)}", headers=admin).json()[0]
    assert user["groups"] == ["opengrid_users_L2", "RENAMED"]
    assert error_code(client.post("/groups", headers=admin, json={"o": {"groupId": "RENAMED"}})) == "0200"
    assert error_code(client.post("/groups", headers=admin, json={"o": {"groupId": "x", "enabled": "yes"}})) == "0300"


def test_queries_visible_to_each_user(client):
    everything = {"Weather Records for 60601", "Happy Tweets", "Tweets By Bud", "Tweets on coupon", "Windy days"}
    assert names(client.get("/queries?q={}&n=500", headers=login(client, "admin"))) == everything
    tester1 = login(client, "tester1")
    assert names(client.get("/queries?q={}&n=500", headers=tester1)) == everything
    tester2 = login(client, "tester2")
    assert names(client.get("/queries?q={}&n=500", headers=tester2)) == {
        "Weather Records for 60601", "Happy Tweets", "Windy days"}
    assert client.get(f"/queries/{oid(BUD_QUERY)}", headers=tester2).status_code == 403
    assert [d["name"] for d in client.get(f"/queries/{oid(WINDY_QUERY)}", headers=tester1).json()] == ["Windy days"]


def test_the_web_clients_query_calls(client):
    headers = login(client, "tester1")
    common = client.get("/queries/?q=" + q({"isCommon": True}) + "&n=6000", headers=headers)
    assert names(common) == {"Weather Records for 60601", "Happy Tweets"}
    mine = client.get("/queries/?q=" + q({"isCommon": False, "owner": "tester1"}) + "&n=10", headers=headers)
    assert names(mine) == {"Tweets By Bud"}
    shared = client.get("/queries?q=" + q({"$or": [
        {"owner": "tester1"}, {"sharedWith.users": {"$in": ["tester1"]}},
        {"sharedWith.groups": {"$in": ["opengrid_users_L1"]}}]}) + "&n=500", headers=headers)
    assert names(shared) == {"Tweets By Bud", "Tweets on coupon", "Windy days"}


def test_save_change_and_delete_own_query(client):
    headers = login(client, "tester1")
    saved = client.post("/queries", headers=headers, json={"o": {
        "name": "Rainy 60601", "spec": [{"dataSetId": "weather"}], "sharedWith": {"users": [], "groups": []},
        "isCommon": False, "autoRefresh": False, "refreshInterval": "30",
        "geoFilter": {"boundaryType": "within", "boundary": ""}}})
    query = saved.json()
    assert query["owner"] == "tester1" and query["refreshInterval"] == "30"
    query_id = query["_id"]["$oid"]
    changed = client.put(f"/queries/{oid(query_id)}", headers=headers,
                         json={"id": {"$oid": query_id}, "o": {**query, "name": "Rainy downtown", "owner": "admin"}})
    assert changed.json()["name"] == "Rainy downtown"
    assert changed.json()["owner"] == "tester1"
    assert client.delete(f"/queries/{oid(query_id)}", headers=headers).status_code == 204
    assert client.get(f"/queries/{oid(query_id)}", headers=headers).json() == []


def test_owner_or_admin_writes_queries(client):
    tester1 = login(client, "tester1")
    assert client.delete(f"/queries/{oid(COUPON_QUERY)}", headers=tester1).status_code == 403
    assert client.put(f"/queries/{oid(WINDY_QUERY)}", headers=tester1, json={"o": {"name": "mine"}}).status_code == 403
    assert client.post("/queries", headers=tester1, json={"o": {"name": "x", "owner": "admin"}}).status_code == 403
    admin = login(client, "admin")
    assert client.delete(f"/queries/{oid(WINDY_QUERY)}", headers=admin).status_code == 204
    assert client.post("/queries", headers=admin, json={"o": {"name": "for tester2", "owner": "tester2"}}).json()["owner"] == "tester2"


def test_deleting_a_user_deletes_its_queries_and_its_shares(client):
    admin = login(client, "admin")
    assert client.delete(f"/users/{oid(TESTER1)}", headers=admin).status_code == 204
    remaining = client.get("/queries?q={}&n=-1", headers=admin).json()
    assert "Tweets By Bud" not in {doc["name"] for doc in remaining}
    windy = [doc for doc in remaining if doc["name"] == "Windy days"][0]
    assert windy["sharedWith"]["users"] == []


def test_what_mongodb_cannot_store_is_refused_and_nothing_is_saved(client):
    admin = login(client, "admin")
    before = len(client.get("/groups?q={}&n=-1", headers=admin).json())
    lone_surrogate = b'{"o": {"groupId": "bad\\ud933", "name": "x"}}'
    answer = client.post("/groups", headers={**admin, "content-type": "application/json"}, content=lone_surrogate)
    assert error_code(answer) == "0300"
    assert error_code(client.post("/groups", headers=admin, json={"o": {"groupId": "big", "n": 2**64}})) == "0300"
    assert error_code(client.post("/groups", headers=admin, json={"o": {"groupId": "dollar", "$set": 1}})) == "0300"
    assert error_code(client.post("/queries", headers=admin, json={"o": {"name": "dots", "a.b": 1}})) == "0300"
    assert error_code(client.post("/queries", headers=admin, json={"o": {"name": "nul", "spec": [{"a\x00b": 1}]}})) == "0300"
    assert len(client.get("/groups?q={}&n=-1", headers=admin).json()) == before
    answer = client.get("/capabilities", headers=admin)
    assert answer.headers["content-type"] == "application/json"


def test_typed_fields_refuse_null_and_wrong_types(client):
    admin = login(client, "admin")
    for o in ({"groupId": "g1", "description": None}, {"groupId": "g2", "datasets": None},
              {"groupId": "g3", "functions": ["a", 1]}, {"groupId": None}):
        assert error_code(client.post("/groups", headers=admin, json={"o": o})) == "0300", o
    for o in ({"name": "q1", "spec": [1]}, {"name": "q2", "autoRefresh": "yes"}, {"name": "q3", "geoFilter": ""},
              {"name": "q4", "sharedWith": {"users": None}}, {"name": "q5", "owner": None}):
        assert error_code(client.post("/queries", headers=admin, json={"o": o})) == "0300", o
    assert error_code(client.post("/users", headers=admin, json={"o": {"userId": "u", "password": "p", "lastName": None}})) == "0300"
    assert len(client.get("/queries?q={}&n=-1", headers=admin).json()) == 5
