"""MONARC Stats v1: the calling client (`client/me`) and client registration (`client/`)."""
from __future__ import annotations

import pytest

from monarc_v1_helpers import (ACME, ADMIN, CASES, JSON, ME, STATS, client, get_json, invalid, key,  # noqa: F401
                               make_twin, restx, twin, v1)

CLIENTS = "/api/v1/client/"
NEW = {"name": "clientC", "is_sharing_enabled": True, "token": "TOKENC"}
FORBIDDEN = ("You don't have the permission to access the requested resource. "
             "It is either read-protected or not readable by the server.")


def me(client, token=CASES) -> dict:
    return client.get(ME, headers=key(token)).json()


def test_me_echoes_the_token_and_gives_the_role_as_a_string(client):
    assert me(client) == {"name": "CASES", "token": CASES, "role": "1", "is_sharing_enabled": True}
    assert me(client, ADMIN)["role"] == "2"
    assert me(client, ACME)["is_sharing_enabled"] is False


@pytest.mark.parametrize("value,stored", [(False, False), (True, True), (0, False), (1, True), (None, None)])
def test_patch_me_answers_201_with_the_client(client, value, stored):
    r = client.patch(ME, headers=key(), json={"is_sharing_enabled": value, "name": "ignored", "role": 2})
    assert r.status_code == 201
    assert r.headers["content-type"] == JSON
    assert r.content == restx({"name": "CASES", "token": CASES, "role": "1", "is_sharing_enabled": stored})
    assert me(client)["is_sharing_enabled"] is stored


@pytest.mark.parametrize("body", [{"is_sharing_enabled": "false"}, {"is_sharing_enabled": "yes"},
                                  {"is_sharing_enabled": []}, {"is_sharing_enabled": 2}])
def test_patch_me_with_a_non_boolean_is_a_400_and_changes_nothing(client, body):
    # The real service answers 500 here.
    r = client.patch(ME, headers=key(), json=body)
    assert r.status_code == 400
    assert list(r.json()["errors"]) == ["is_sharing_enabled"]
    assert r.json()["errors"]["is_sharing_enabled"].startswith("If the statistics sharing is enabled or not. "
                                                              "Not a boolean value")
    assert me(client)["is_sharing_enabled"] is True


@pytest.mark.parametrize("body", [{}, [], {"name": "x"}])
def test_patch_me_without_the_flag_is_a_400(client, body):
    r = client.patch(ME, headers=key(), json=body)
    assert r.status_code == 400
    assert r.content == restx(invalid("is_sharing_enabled", "If the statistics sharing is enabled or not. "
                                                            "Missing required parameter in the JSON body"))


def test_patch_me_needs_json(client):
    assert client.patch(ME, headers=key(), content=b"x").status_code == 415
    assert client.patch(ME, headers=key(**{"Content-Type": JSON}), content=b"{").status_code == 400


def test_sharing_changes_nothing_inside_the_api(client):
    client.patch(ME, headers=key(ACME), json={"is_sharing_enabled": False})
    acme_anr = "bbbbbbbb-0000-4000-8000-000000000001"
    assert len(client.get(f"{STATS}{acme_anr}", headers=key(CASES)).json()) == 45
    admin = get_json(client, STATS, {"type": "risk", "anrs": [acme_anr]}, token=ADMIN).json()
    assert admin["metadata"]["count"] != "0"


# -- POST client/ ------------------------------------------------------------------------------
def test_registration_is_closed_by_default_204_and_nothing_created(client, twin):
    r = client.post(CLIENTS, headers=key(ADMIN), json=NEW)
    assert r.status_code == 204
    assert r.content == b""
    assert r.headers["content-type"] == JSON
    assert len(twin.store["clients"]) == 3


def test_only_an_admin_may_register_even_when_open():
    _, client = make_twin(client_registration_open=True)
    r = client.post(CLIENTS, headers=key(CASES), json=NEW)
    assert r.status_code == 403
    assert r.content == restx({"message": FORBIDDEN})


def test_open_registration_creates_a_client_that_can_call():
    _, client = make_twin(client_registration_open=True)
    r = client.post(CLIENTS, headers=key(ADMIN), json={**NEW, "is_sharing_enabled": "false"})
    assert r.status_code == 201
    assert r.content == restx({"name": "clientC", "token": "TOKENC", "role": "1", "is_sharing_enabled": True})
    assert me(client, "TOKENC")["name"] == "clientC"


@pytest.mark.parametrize("changes", [{"name": "CASES"}, {"token": CASES}])
def test_a_name_or_token_taken_is_a_bodyless_304(changes):
    _, client = make_twin(client_registration_open=True)
    r = client.post(CLIENTS, headers=key(ADMIN), json={**NEW, **changes})
    assert r.status_code == 304
    assert r.content == b""
    assert "content-type" not in r.headers


def test_a_name_longer_than_100_characters_is_a_400():
    # The real service answers 500 here.
    _, client = make_twin(client_registration_open=True)
    r = client.post(CLIENTS, headers=key(ADMIN), json={**NEW, "name": "n" * 101})
    assert r.status_code == 400
    assert list(r.json()["errors"]) == ["name"]


@pytest.mark.parametrize("body,expected", [
    ({**NEW, "role": 2}, {"message": "Unknown arguments: role"}),
    ({"name": "x", "token": "t"}, invalid("is_sharing_enabled", "Specify if the sharing of data is enabled. "
                                                                "Missing required parameter in the JSON body")),
    ({}, invalid("name", "The name of the client to create. Missing required parameter in the JSON body")),
])
def test_registration_arguments_are_checked_before_the_permission(client, body, expected):
    r = client.post(CLIENTS, headers=key(CASES), json=body)
    assert r.status_code == 400
    assert r.content == restx(expected)


@pytest.mark.parametrize("body,shown", [
    ({"name": "", "is_sharing_enabled": 0, "token": "T1"}, {"name": "", "token": "T1", "role": "1", "is_sharing_enabled": False}),
    ({"name": None, "is_sharing_enabled": "no", "token": ""}, {"name": None, "token": "", "role": "1", "is_sharing_enabled": True}),
])
def test_registration_reads_values_as_python_does(body, shown):
    # `is_sharing_enabled` goes through Python's bool(): any non-empty string is true.
    _, client = make_twin(client_registration_open=True)
    r = client.post(CLIENTS, headers=key(ADMIN), json=body)
    assert r.status_code == 201
    assert r.content == restx(shown)
