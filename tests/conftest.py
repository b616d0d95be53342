"""Shared fixtures: an in-process client per API, with response validation on.

Every answer in the tests is checked against the API's OpenAPI document, so a handler
that drifts from its contract fails the test that exercised it.
"""
from __future__ import annotations

import warnings

import pytest

warnings.filterwarnings("ignore", message=".*httpx.*", category=DeprecationWarning)

from starlette.testclient import TestClient  # noqa: E402

from apitwin.server.core.app import create  # noqa: E402


def make_client(api: str, **settings):
    """(twin, client) for API `api`, fixtures loaded, responses validated."""
    twin, app = create(api, settings=settings or None, validate_responses=True)
    return twin, TestClient(app, raise_server_exceptions=False)


@pytest.fixture
def twin_client():
    return make_client
