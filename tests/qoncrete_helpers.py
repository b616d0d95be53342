"""Shared set-up of the Qoncrete tests: the fixtures' ids and tokens, one twin per module."""
from __future__ import annotations

import pytest

from conftest import make_client

# API tokens of demo@qoncrete.test (master, write, read) and alice@qoncrete.test (master).
MASTER = "97b8a203-f4ca-4832-8469-d2188e4c4871"
WRITE = "5d0f3a6b-2c41-4e8a-9b7d-6e1f0a2b3c4d"
READ = "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d"
ALICE = "c0ffee00-1234-4abc-8def-0123456789ab"
# The demo source and its two reports.
SOURCE = "8b5229f1-ee8f-4b23-9b4c-6149288cfb51"
BY_COUNTRY = "433e40f7-5d44-4363-96ad-517670fead31"
BROWSERS = "395b9554-a9b0-47a9-88a4-8b74e3c5e533"


@pytest.fixture(scope="module")
def qon():
    return make_client("qoncrete")


@pytest.fixture
def client(qon):
    yield qon[1]
    qon[0].clock.reset()


@pytest.fixture
def twin(qon):
    return qon[0]
