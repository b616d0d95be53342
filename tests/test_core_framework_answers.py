"""The core's hooks for answers a real service's framework gives before its own code runs:
a route's `Allow` (ApiDefinition.allow), automatic OPTIONS (options_content_type), the page
of the slash redirect (redirect_page), and error shapes that set their own headers.

They are generic: here they are switched on for Qore, which uses none of them itself."""
from __future__ import annotations

import dataclasses
import types

import pytest
from starlette.testclient import TestClient

from apitwin.server.core.api import Twin, definition
from apitwin.server.core.app import build_app

QORE = definition("qore")
TOKEN = {"Authorization": "Bearer 1|qoreAliceDemoToken0000000000000000000000"}


def qore_with(**changes) -> TestClient:
    twin = Twin(dataclasses.replace(QORE, **changes))
    return TestClient(build_app(twin, validate_responses=True), raise_server_exceptions=False)


def test_without_the_hooks_an_api_answers_as_before():
    client = qore_with()
    r = client.delete("/api/me", headers=TOKEN)
    assert r.status_code == 405 and r.headers["allow"] == "GET"
    assert client.options("/api/me").status_code == 405


def test_allow_names_the_methods_the_definition_says():
    client = qore_with(allow=lambda methods: ["OPTIONS", *methods, "HEAD"])
    r = client.delete("/api/me", headers=TOKEN)
    assert r.status_code == 405
    assert r.headers["allow"] == "OPTIONS, GET, HEAD"


def test_options_is_answered_for_every_served_path_before_auth():
    client = qore_with(options_content_type="text/plain", allow=lambda methods: [*methods, "OPTIONS"])
    r = client.options("/api/me")  # no token: answered before the API's auth
    assert (r.status_code, r.content) == (200, b"")
    assert r.headers["allow"] == "GET, OPTIONS"
    assert r.headers["content-type"] == "text/plain; charset=utf-8"
    assert client.options("/api/nothing-here").status_code == 404  # unknown paths are not,
    assert client.options("/__apitwin/state").status_code == 405  # nor the admin API's


@pytest.mark.parametrize("page, body, content_type", [
    (None, b"", None),
    (lambda location: (f"go to {location}", "text/plain"), b"go to http://testserver/api/v2/stats/?x=1",
     "text/plain; charset=utf-8"),
])
def test_the_slash_redirect_carries_the_page_the_definition_writes(page, body, content_type):
    twin = Twin(dataclasses.replace(definition("monarc"), redirect_page=page))
    client = TestClient(build_app(twin), raise_server_exceptions=False)
    r = client.get("/api/v2/stats?x=1", follow_redirects=False)
    assert r.status_code == 308
    assert r.headers["location"] == "http://testserver/api/v2/stats/?x=1"
    assert r.content == body
    assert r.headers.get("content-type") == content_type


def test_an_error_shape_may_set_the_answers_headers_and_content_type():
    def shape(status, message, kind, details=None):
        if kind == "method_not_allowed":
            return 405, "<p>no</p>", {"Content-Type": "text/html", "X-Why": kind}
        return QORE.errors.shape(status, message, kind, details)

    client = qore_with(errors=types.SimpleNamespace(shape=shape))
    r = client.delete("/api/me", headers=TOKEN)
    assert r.status_code == 405
    assert r.content == b"<p>no</p>"
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    assert r.headers["x-why"] == "method_not_allowed"
    assert r.headers["allow"] == "GET"  # the core's headers stay unless the shape sets them


def test_an_errors_module_may_write_its_json_itself():
    errors = types.SimpleNamespace(shape=QORE.errors.shape, render=lambda body: b"written: " + repr(body).encode())
    client = qore_with(errors=errors)
    r = client.get("/api/me")  # no token
    assert r.status_code == 401
    assert r.content.startswith(b"written: {")
    assert r.headers["content-type"] == "application/json"
