"""Shared set-up of the Data Cortex tests: one client per module, back to the fixtures for each test."""
from __future__ import annotations

import pytest

from conftest import make_client

# Verified session keys of the fixtures.
ALICE = "dcsession-alice-0000000000000000000000001"  # Acme Games (101)
BOB = "dcsession-bob-00000000000000000000000002"  # Blue Harbor Studio (102)
CAROL = "dcsession-carol-0000000000000000000000003"  # both
# API keys the SDKs send to the track endpoint.
MINER = "acme-spaceminer-3f9c2a7e51d04b8e"  # app 1001 of acme
QUEST = "blueharbor-quest-5e7a9c1b3d2f6a80"  # app 1003 of blueharbor


@pytest.fixture(scope="module")
def shared():
    return make_client("datacortex")[1]


@pytest.fixture
def client(shared):
    """One app per module (building one takes a while), back to the fixtures for each test."""
    shared.post("/__apitwin/reset")
    shared.post("/__apitwin/clock", json={"reset": True})
    shared.cookies.clear()
    return shared


def as_user(key):
    return {"Cookie": f"session_key={key}"}
