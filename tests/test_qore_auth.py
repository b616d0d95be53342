"""Qore: Sanctum tokens, /api/me, /api/endpoints, and Laravel's 401."""
from __future__ import annotations

import re

import pytest

from conftest import make_client

ALICE = {"Authorization": "Bearer 1|qoreAliceDemoToken0000000000000000000000"}
BOB = {"Authorization": "Bearer 2|qoreBobDemoToken000000000000000000000000"}


@pytest.fixture
def qore():
    return make_client("qore")


def new_token(client, **extra):
    body = {"email": "bob@acme.test", "password": "password", "device_name": "cli", **extra}
    return client.post("/api/api_tokens", json=body)


def test_seeded_tokens_identify_their_users(qore):
    _, client = qore
    alice = client.get("/api/me", headers=ALICE)
    bob = client.get("/api/me", headers=BOB)
    assert alice.status_code == 200
    assert alice.json()["email"] == "alice@qlic.nl"
    assert alice.json()["tenants"] == [{"value": 1, "label": "Qlic"}]
    assert bob.json()["email"] == "bob@acme.test"
    assert bob.json()["role"] == "member"


@pytest.mark.parametrize("headers", [
    {}, {"Authorization": "Bearer nope"}, {"Authorization": "Bearer 1|wrongwrongwrongwrongwrongwrongwrongwrong"},
    {"Authorization": "Bearer 2|qoreAliceDemoToken0000000000000000000000"},  # right secret, wrong id
])
def test_bad_tokens_answer_laravels_401(qore, headers):
    _, client = qore
    response = client.get("/api/me", headers=headers)
    assert response.status_code == 401
    assert response.json() == {"message": "Unauthenticated."}


def test_a_token_made_with_email_and_password_works_and_is_stored_hashed(qore):
    twin, client = qore
    response = new_token(client)
    assert response.status_code == 201
    plain = response.json()["plainTextToken"]
    assert re.fullmatch(r"\d+\|[A-Za-z0-9]{40}", plain)
    assert response.json()["accessToken"]["name"] == "cli"
    me = client.get("/api/me", headers={"Authorization": f"Bearer {plain}"})
    assert me.json()["email"] == "bob@acme.test"
    secret = plain.split("|")[1]
    dump = str(twin.store.dump())
    assert secret not in dump
    listed = client.get("/api/api_tokens", headers={"Authorization": f"Bearer {plain}"}).json()["data"]
    mine = next(t for t in listed if t["name"] == "cli")
    assert mine["last_used_at"] is not None
    assert "token" not in mine


def test_wrong_credentials_and_missing_fields_answer_422(qore):
    _, client = qore
    wrong = new_token(client, password="nope")
    assert wrong.status_code == 422
    assert wrong.json() == {"message": "The provided credentials are incorrect.",
                            "errors": {"email": ["The provided credentials are incorrect."]}}
    missing = client.post("/api/api_tokens", json={"email": "bob@acme.test"})
    assert missing.status_code == 422
    assert missing.json()["message"] == "The password field is required. (and 1 more error)"
    assert missing.json()["errors"]["device_name"] == ["The device name field is required."]
    blank = client.post("/api/api_tokens", json={"email": " ", "password": "\t", "device_name": "\u00a0"})
    assert blank.status_code == 422  # input is trimmed: blank is missing (the contract's pattern \S)
    assert blank.json()["errors"] == {name: [f"The {name.replace('_', ' ')} field is required."]
                                      for name in ("email", "password", "device_name")}


def test_a_token_dies_at_its_expiration_date_by_the_server_clock(qore):
    _, client = qore
    client.post("/__apitwin/clock", json={"freeze": "2030-01-01T12:00:00Z"})
    plain = new_token(client, expiration_date="2030-01-03").json()["plainTextToken"]
    headers = {"Authorization": f"Bearer {plain}"}
    assert client.get("/api/me", headers=headers).status_code == 200
    client.post("/__apitwin/clock", json={"advance": "1d"})
    assert client.get("/api/me", headers=headers).status_code == 200
    client.post("/__apitwin/clock", json={"advance": "12h"})
    assert client.get("/api/me", headers=headers).status_code == 401


def test_an_expiration_date_in_the_past_is_refused(qore):
    _, client = qore
    client.post("/__apitwin/clock", json={"freeze": "2030-01-01T12:00:00Z"})
    response = new_token(client, expiration_date="2029-12-31")
    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["expiration_date"]
    assert new_token(client, expiration_date="tomorrow").json()["errors"]["expiration_date"] == [
        "The expiration date field must be a valid date."]


def test_a_revoked_token_stops_working(qore):
    _, client = qore
    created = new_token(client).json()
    headers = {"Authorization": f"Bearer {created['plainTextToken']}"}
    assert client.delete(f"/api/api_tokens/{created['accessToken']['id']}", headers=headers).status_code == 204
    assert client.get("/api/me", headers=headers).status_code == 401
    # Alice cannot revoke Bob's token
    assert client.delete("/api/api_tokens/2", headers=ALICE).status_code == 404
    assert client.get("/api/me", headers=BOB).status_code == 200


def test_endpoints_lists_every_route_with_method_and_uri(qore):
    _, client = qore
    routes = client.get("/api/endpoints", headers=ALICE).json()["data"]
    pairs = {(r["method"], r["uri"]) for r in routes}
    assert ("GET|HEAD", "api/me") in pairs
    assert ("GET|HEAD", "api/resources/{resource_name}/table/{table_name}") in pairs
    assert ("POST", "api/resources/{resource_name}/actions/{action_name}/{id}") in pairs
    assert client.get("/api/endpoints").status_code == 401


def test_start_up_lines_show_the_seeded_tokens(qore):
    twin, _ = qore
    lines = "\n".join(twin.accounts())
    assert "Bearer 1|qoreAliceDemoToken0000000000000000000000" in lines
    assert "bob@acme.test" in lines
