"""Shared set-up of the MONARC Stats v1 tests: the seeded clients, a twin whose clock is
frozen at the research note's date (2026-12-01), and request helpers."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from conftest import make_client

ADMIN = "admin-v1-token-9c1f4e7a2b8d4f06a3e5c7d9b1f2e4a6c8d0b2f4e6a8c0d2"
CASES = "cases-v1-token-5b7d9f1a3c5e7a9b1d3f5a7c9e1b3d5f7a9c1e3b5d7f9a1c"
ACME = "acme-v1-token-2e4a6c8e0a2c4e6a8c0e2a4c6e8a0c2e4a6c8e0a2c4e6a8c"
CASES_ANR = "aaaaaaaa-0000-4000-8000-000000000001"
CASES_ANR2 = "aaaaaaaa-0000-4000-8000-000000000002"
ACME_ANR = "bbbbbbbb-0000-4000-8000-000000000001"
TODAY = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)
STATS = "/api/v1/stats/"
PROCESSED = "/api/v1/stats/processed/"
ME = "/api/v1/client/me"
JSON = "application/json"
INVALID = "Input payload validation failed"


def key(token: str = CASES, **headers) -> dict:
    return {"X-API-KEY": token, **headers}


def restx(data) -> bytes:
    """A body as Flask-RESTX writes it."""
    return (json.dumps(data) + "\n").encode()


def invalid(field: str, message: str) -> dict:
    return {"errors": {field: message}, "message": INVALID}


def make_twin(**settings):
    twin, client = make_client("monarc-v1", **settings)
    twin.clock.freeze(TODAY)
    twin.reset()  # the fixtures are dated before the clock's today
    return twin, client


@pytest.fixture
def v1():
    return make_twin()


@pytest.fixture
def client(v1):
    return v1[1]


@pytest.fixture
def twin(v1):
    return v1[0]


def get_json(client, path: str, body=None, token: str | None = CASES, **kwargs):
    """A GET whose arguments travel in a JSON body, as MONARC sends them."""
    headers = kwargs.pop("headers", {})
    if token is not None:
        headers = {"X-API-KEY": token, **headers}
    if body is not None:
        return client.request("GET", path, content=json.dumps(body), headers={"Content-Type": JSON, **headers}, **kwargs)
    return client.request("GET", path, headers=headers, **kwargs)


def stat(anr: str = CASES_ANR, type: str = "risk", date: str = "2026-11-30", data=None, **extra) -> dict:
    return {"anr": anr, "type": type, "date": date, "data": {} if data is None else data, **extra}


def risk_data(**levels) -> dict:
    """Risk data whose every level of the current informational risks has the value given."""
    value = levels.get("value", 2)
    rows = [{"level": level, "value": value} for level in ("Low risks", "Medium risks", "High risks")]
    return {"risks": {"current": {"informational": rows, "operational": []}}}
