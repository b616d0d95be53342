"""MONARC Stats v1: what every answer looks like, routing, authentication and the
User-Agent gate, as the real service (Flask-RESTX on Werkzeug) answers them."""
from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from apitwin.server.core.api import available, definition
from conformance_helpers import free_port
from monarc_v1_helpers import (ACME, ADMIN, CASES, JSON, ME, PROCESSED, STATS, client, get_json, key,  # noqa: F401
                               restx, twin, v1)

NOT_FOUND_PAGE = (
    b"<!doctype html>\n<html lang=en>\n<title>404 Not Found</title>\n<h1>Not Found</h1>\n"
    b"<p>The requested URL was not found on the server. If you entered the URL manually please "
    b"check your spelling and try again.</p>\n"
)
METHOD_NOT_ALLOWED = {"message": "The method is not allowed for the requested URL."}


# -- the JSON Flask-RESTX writes -----------------------------------------------------------------
def test_answers_are_written_with_spaced_separators_and_a_trailing_newline(client):
    r = client.get(ME, headers=key())
    assert r.status_code == 200
    assert r.headers["content-type"] == JSON
    assert r.content == (b'{"name": "CASES", "token": "' + CASES.encode()
                         + b'", "role": "1", "is_sharing_enabled": true}\n')


def test_non_ascii_is_escaped_as_python_json_does(client):
    r = client.post(STATS, headers=key(), json=[{"anr": "aaaaaaaa-0000-4000-8000-0000000000ff", "type": "risk",
                                                 "date": "2026-11-30", "data": {"label": "Hameçonnage"}}])
    assert r.status_code == 201
    assert b'"data": {"label": "Hame\\u00e7onnage"}' in r.content


def test_x_fields_narrows_a_list_in_the_mask_order(client):
    r = get_json(client, STATS, {"type": "risk", "get_last": True}, headers={"X-Fields": "data{date,anr}"})
    assert r.status_code == 200
    body = r.json()
    assert list(body) == ["data"]
    assert body["data"] and all(list(item) == ["date", "anr"] for item in body["data"])


def test_x_fields_on_one_object(client):
    r = client.get(ME, headers=key(**{"X-Fields": "role,name"}))
    assert r.content == restx({"role": "1", "name": "CASES"})


def test_x_fields_star_keeps_the_other_fields_after_the_named_ones(client):
    r = client.get(ME, headers=key(**{"X-Fields": "role,*"}))
    assert list(r.json()) == ["role", "name", "token", "is_sharing_enabled"]


def test_x_fields_that_cannot_be_parsed_is_a_400(client):
    r = client.get(ME, headers=key(**{"X-Fields": "{name"}))
    assert r.status_code == 400
    assert r.content == restx({"message": "Mask parse error: Missing closing bracket"})


def test_no_cookie_is_ever_set(client):
    r = client.get(ME, headers=key())
    assert "set-cookie" not in r.headers


# -- routing as Werkzeug does it -------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/api/v1/nothing", "/api/v1/stats/processed/list/", "/api/v1/client/me/",
                                  "/api/v1/stats/aaaaaaaa-0000-4000-8000-000000000001/", "/elsewhere"])
def test_unknown_paths_get_werkzeugs_html_404(client, path):
    r = client.get(path, headers=key())
    assert r.status_code == 404
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    assert r.content == NOT_FOUND_PAGE


def test_get_client_without_slash_is_a_404_as_client_only_takes_post(client):
    r = client.get("/api/v1/client", headers=key(), follow_redirects=False)
    assert r.status_code == 404
    assert r.content == NOT_FOUND_PAGE


@pytest.mark.parametrize("method,path,target", [
    ("GET", "/api/v1/stats", "/api/v1/stats/"),
    ("POST", "/api/v1/stats", "/api/v1/stats/"),
    ("GET", "/api/v1/stats/processed", "/api/v1/stats/processed/"),
    ("POST", "/api/v1/client", "/api/v1/client/"),
])
def test_a_missing_trailing_slash_is_a_308_to_the_absolute_slashed_url(client, method, path, target):
    r = client.request(method, path + "?a=1", headers=key(), follow_redirects=False)
    location = f"http://testserver{target}?a=1"
    assert r.status_code == 308
    assert r.headers["location"] == location
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    assert r.text == ("<!doctype html>\n<html lang=en>\n<title>Redirecting...</title>\n<h1>Redirecting...</h1>\n"
                      "<p>You should be redirected automatically to the target URL: "
                      f'<a href="{location}">{location}</a>. If not, click the link.\n')


def test_delete_of_stats_processed_is_the_anr_rule_not_a_redirect(client):
    r = client.delete("/api/v1/stats/processed", headers=key(), follow_redirects=False)
    assert r.status_code == 400  # "processed" is no UUID (the real service: 500)


@pytest.mark.parametrize("method,path,allow", [
    ("PUT", STATS, "POST, HEAD, OPTIONS, GET"),
    ("POST", ME, "PATCH, HEAD, OPTIONS, GET"),
    ("PATCH", "/api/v1/stats/aaaaaaaa-0000-4000-8000-000000000001", "DELETE, HEAD, OPTIONS, GET"),
    ("POST", PROCESSED, "HEAD, OPTIONS, GET"),
])
def test_a_known_path_with_another_method_is_a_json_405_with_allow(client, method, path, allow):
    r = client.request(method, path, headers=key())
    assert r.status_code == 405
    assert r.headers["content-type"] == JSON
    assert r.headers["allow"] == allow
    assert r.content == restx(METHOD_NOT_ALLOWED)


@pytest.mark.parametrize("path,allow", [
    (STATS, "POST, HEAD, OPTIONS, GET"),
    (ME, "PATCH, HEAD, OPTIONS, GET"),
    ("/api/v1/stats/aaaaaaaa-0000-4000-8000-000000000001", "DELETE, HEAD, OPTIONS, GET"),
    (PROCESSED, "HEAD, OPTIONS, GET"),
])
def test_options_is_an_empty_html_200_with_allow(client, path, allow):
    r = client.options(path)
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    assert r.headers["allow"] == allow
    assert r.content == b""


def test_head_is_the_get_without_its_body(client):
    get = client.get(ME, headers=key())
    head = client.head(ME, headers=key())
    assert head.status_code == 200
    assert head.headers["content-type"] == JSON
    assert head.content == b""
    assert head.headers["content-length"] == str(len(get.content))


# -- authentication --------------------------------------------------------------------------------
UNAUTHORIZED = {"Error": "Unauthorized - Authentication required."}
FORBIDDEN = {"Error": "Forbidden - Authentication failed."}


@pytest.mark.parametrize("headers", [{}, {"X-API-KEY": ""}, {"Authorization": f"Bearer {CASES}"}])
def test_no_key_or_an_empty_one_is_a_401(client, headers):
    r = client.get(ME, headers=headers)
    assert r.status_code == 401
    assert r.headers["content-type"] == JSON
    assert r.content == restx(UNAUTHORIZED)


def test_a_key_in_the_query_string_is_ignored(client):
    r = client.get(ME + "?X-API-KEY=" + CASES)
    assert r.status_code == 401


@pytest.mark.parametrize("token", ["nope", "x" * 5000, CASES.upper()])
def test_an_unknown_key_is_a_403(client, token):
    r = client.get(ME, headers={"X-API-KEY": token})
    assert r.status_code == 403
    assert r.content == restx(FORBIDDEN)


def test_the_key_header_name_is_case_insensitive_and_its_value_trimmed(client):
    r = client.get(ME, headers={"x-api-key": CASES + " "})
    assert r.status_code == 200
    assert r.json()["name"] == "CASES"


def test_auth_comes_before_the_body(client):
    assert get_json(client, STATS, {"type": "nope"}, token=None).status_code == 401
    assert get_json(client, STATS, {"type": "nope"}, token="wrong").status_code == 403
    assert client.post(STATS, content=b"not json").status_code == 401


def test_processor_list_needs_no_key(client):
    assert client.get("/api/v1/stats/processed/list").status_code == 200


# -- the MONARC User-Agent gate ----------------------------------------------------------------------
TOO_OLD = {"Error": "This service requires use of MONARC version >= 2.10.2."}


@pytest.mark.parametrize("agent", ["MONARC/2.10.1", "MONARC/abc", "MONARC/", "Mozilla/5.0 MONARC/2.13.0",
                                   "GuzzleHttp/7 MONARC/2.9.0"])
@pytest.mark.parametrize("method,path", [("GET", STATS), ("POST", STATS), ("GET", ME), ("PATCH", ME),
                                         ("POST", "/api/v1/client/")])
def test_an_old_or_unreadable_monarc_version_is_refused_even_without_a_key(client, agent, method, path):
    # The real service crashes here (500): Werkzeug has no 426 to raise.
    r = client.request(method, path, headers={"User-Agent": agent})
    assert r.status_code == 426
    assert r.headers["content-type"] == JSON
    assert r.content == restx(TOO_OLD)


@pytest.mark.parametrize("agent", ["MONARC/2.10.2", "MONARC/2.13.0", "MONARC/v2.12.1", "curl/8.5.0", ""])
def test_recent_monarc_versions_and_other_agents_pass(client, agent):
    r = client.get(ME, headers=key(**{"User-Agent": agent}))
    assert r.status_code == 200


@pytest.mark.parametrize("path", ["/api/v1/stats/aaaaaaaa-0000-4000-8000-000000000001", PROCESSED])
def test_stats_of_an_anr_and_processed_have_no_user_agent_gate(client, path):
    r = get_json(client, path, {"type": "threat", "processor": "threat_average_on_date"},
                 headers={"User-Agent": "MONARC/1.0.0"})
    assert r.status_code == 200


# -- admin API and start-up ------------------------------------------------------------------------
def test_the_startup_table_lists_the_three_seeded_clients(twin):
    assert twin.accounts() == [f"X-API-KEY {ADMIN} (admin: admin role)", f"X-API-KEY {CASES} (CASES)",
                               f"X-API-KEY {ACME} (ACME)"]


def test_reset_brings_the_fixtures_back(client, twin):
    client.delete("/api/v1/stats/aaaaaaaa-0000-4000-8000-000000000001", headers=key())
    assert client.post("/__apitwin/reset").status_code in (200, 204)
    r = client.get("/api/v1/stats/aaaaaaaa-0000-4000-8000-000000000001", headers=key())
    assert len(r.json()) == 45


@pytest.mark.parametrize("method,path", [("GET", ME), ("GET", "/api/v1/nothing"), ("OPTIONS", STATS), ("PUT", STATS)])
def test_every_answer_varies_on_cookie(client, method, path):
    # Flask's session interface marks every answer, though no cookie is ever set.
    assert client.request(method, path, headers=key()).headers["vary"] == "Cookie"


# -- served by `apitwin serve` -------------------------------------------------------------------
def test_apitwin_serve_lists_it_after_monarc_on_port_5001():
    names = available()
    assert names[names.index("monarc") + 1] == "monarc-v1"
    assert definition("monarc-v1").default_port == 5001


def test_apitwin_serve_monarc_v1_with_registration_opened_by_a_setting():
    port = free_port()
    apitwin = Path(sys.executable).with_name("apitwin")
    proc = subprocess.Popen([str(apitwin), "serve", "monarc-v1", "--port", str(port),
                             "--set", "monarc-v1.client_registration_open=true"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                r = httpx.post(f"http://127.0.0.1:{port}/api/v1/client/", headers={"X-API-KEY": ADMIN},
                               json={"name": "clientC", "is_sharing_enabled": True, "token": "TOKENC"})
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.1)
        assert r.status_code == 201
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=15)
    assert proc.returncode == 0
    assert out.splitlines()[2].startswith(f"monarc-v1   http://127.0.0.1:{port}")
    assert f"X-API-KEY {CASES} (CASES)" in out


def test_the_declared_credentials_are_the_seeded_clients(client):
    credentials = definition("monarc-v1").credentials()
    names = {name: client.get(ME, headers=key(token)).json()["name"] for name, token in credentials.items()}
    assert names == {"api_key": "CASES", "other_api_key": "ACME", "admin_api_key": "admin"}
