"""Shared helpers of the OpenGrid tests: one client per module, reset before each test."""
from __future__ import annotations

import json
from urllib.parse import quote

import pytest

from conftest import make_client

PASSWORDS = {"admin": "admin", "tester1": "password1", "tester2": "password2"}


@pytest.fixture(scope="module")
def api():
    return make_client("opengrid")


@pytest.fixture
def client(api):
    _, c = api
    assert c.post("/__apitwin/reset").status_code == 200
    assert c.post("/__apitwin/clock", json={"reset": True}).status_code == 200
    return c


def login(c, user: str, password: str | None = None) -> dict:
    answer = c.post("/users/token", json={"username": user, "password": password or PASSWORDS[user]})
    assert answer.status_code == 200, answer.text
    return {"X-AUTH-TOKEN": answer.headers["x-auth-token"]}


def oid(hex_id: str) -> str:
    """An id as the web client puts it in a path: URL-encoded extended JSON."""
    return quote(json.dumps({"$oid": hex_id}), safe="")


def q(filter_: dict) -> str:
    return quote(json.dumps(filter_), safe="")


def error_code(answer) -> str:
    assert answer.status_code == 200, answer.text
    return answer.json()["error"]["code"]
