"""Data Cortex login: session key, the verification step the twin serves, logout."""
from __future__ import annotations

import re
from html import escape
from urllib.parse import urlsplit

import pytest

from conftest import make_client
from datacortex_helpers import ALICE, client, shared  # noqa: F401


def login(client, email="alice@acme.example"):
    answer = client.post("/api/1/login", json={"email": email})
    assert answer.status_code == 200, answer.text
    return answer.json()


def emailed_link(client, session_key):
    outbox = client.get("/__apitwin/state?secrets=true").json()["collections"]["outbox"]
    links = [mail["verify_url"] for mail in outbox if mail["session_key"] == session_key]
    assert len(links) == 1
    url = urlsplit(links[0])
    return f"{url.path}?{url.query}"


def test_login_answers_a_new_session_and_sets_the_cookie(client):
    answer = client.post("/api/1/login", json={"email": "Alice@Acme.example"})
    assert answer.status_code == 200
    body = answer.json()
    assert body["result"] == "new_browser"
    assert re.fullmatch(r"[0-9]{6}", body["manual_code"])
    assert client.cookies.get("session_key") == body["session_key"]
    assert "HttpOnly" in answer.headers["set-cookie"]


def test_a_session_is_refused_until_verified_with_the_manual_code(client):
    session = login(client)
    refused = client.get("/api/1/user")
    assert refused.status_code == 403
    assert "not verified" in refused.json()["error"]

    link = emailed_link(client, session["session_key"])
    assert link.startswith(f"/api/1/verify?session_key={session['session_key']}&token=")
    page = client.get(link)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert f'action="{escape(link)}"' in page.text
    assert 'name="manual_code"' in page.text

    wrong = client.post(link, data={"manual_code": "not-it"})
    assert wrong.status_code == 403
    assert 'name="manual_code"' in wrong.text
    assert client.get("/api/1/user").status_code == 403

    right = client.post(link, data={"manual_code": session["manual_code"]})
    assert right.status_code == 200
    assert 'id="verified"' in right.text
    user = client.get("/api/1/user")
    assert user.status_code == 200
    assert user.json()["email"] == "alice@acme.example"
    # Verified stays verified; the page says so.
    again = client.get(link)
    assert again.status_code == 200 and "already verified" in again.text


def test_the_manual_code_may_be_posted_as_json_and_with_spaces(client):
    session = login(client)
    code = session["manual_code"]
    answer = client.post(emailed_link(client, session["session_key"]),
                         json={"manual_code": f" {code[:3]} {code[3:]} "})
    assert answer.status_code == 200
    assert client.get("/api/1/user").status_code == 200


def test_verification_without_a_code_asks_for_it(client):
    session = login(client)
    answer = client.post(emailed_link(client, session["session_key"]), data={})
    assert answer.status_code == 400
    assert "manual code" in answer.text


def test_the_login_answer_alone_cannot_verify(client):
    # Key and manual code are in the login answer; the link's token is only in the "email".
    session = login(client)
    for token in ("", "guess", None):
        query = {"session_key": session["session_key"], **({"token": token} if token is not None else {})}
        assert client.get("/api/1/verify", params=query).status_code == 404
        answer = client.post("/api/1/verify", params=query, data={"manual_code": session["manual_code"]})
        assert answer.status_code == 404
    assert client.get("/api/1/user").status_code == 403


def test_the_verification_link_of_an_unknown_key_is_not_found(client):
    assert client.get("/api/1/verify?session_key=nope").status_code == 404
    assert client.post("/api/1/verify?session_key=nope", data={"manual_code": "123456"}).status_code == 404
    assert client.get("/api/1/verify").status_code == 404


def test_auto_verify_activates_the_session_at_once_and_mails_nothing():
    _, client = make_client("datacortex", auto_verify=True)
    session = login(client, "bob@blueharbor.example")
    user = client.get("/api/1/user", params={"session_key": session["session_key"]})
    assert user.status_code == 200
    assert user.json()["user_id"] == 2
    assert client.get("/__apitwin/state").json()["collections"]["outbox"] == []


def test_a_login_not_verified_within_a_day_is_dead(client):
    session = login(client)
    link = emailed_link(client, session["session_key"])
    assert client.post("/__apitwin/clock", json={"advance": "25h"}).status_code == 200
    assert client.get(link).status_code == 404
    late = client.post(link, data={"manual_code": session["manual_code"]})
    assert late.status_code == 404
    assert client.get("/api/1/user").json() == {"error": "Not logged in"}


def test_the_session_key_is_read_from_cookie_query_or_body(client):
    by_cookie = client.get("/api/1/user", headers={"Cookie": f"session_key={ALICE}"})
    by_query = client.get("/api/1/user", params={"session_key": ALICE})
    by_json = client.post("/api/1/app", json={"session_key": ALICE, "org_id": 101, "app_name": "Json"})
    by_form = client.post("/api/1/app", data={"session_key": ALICE, "org_id": "101", "app_name": "Form"})
    assert by_cookie.status_code == by_query.status_code == 200
    assert by_cookie.json() == by_query.json()
    assert by_cookie.json()["user_id"] == 1
    assert [a.status_code for a in (by_json, by_form)] == [200, 200]


def test_the_body_wins_over_the_query_and_the_cookie(client):
    answer = client.post("/api/1/logout", params={"session_key": "dead"}, json={"session_key": ALICE},
                         headers={"Cookie": "session_key=also-dead"})
    assert answer.status_code == 200
    assert client.get("/api/1/user", params={"session_key": ALICE}).status_code == 403


def test_logout_kills_the_key(client):
    answer = client.post("/api/1/logout", headers={"Cookie": f"session_key={ALICE}"})
    assert answer.status_code == 200
    assert answer.text == "OK"
    assert "Max-Age=0" in answer.headers["set-cookie"]
    dead = client.get("/api/1/user", params={"session_key": ALICE})
    assert dead.status_code == 403
    assert dead.json() == {"error": "Not logged in"}
    assert client.post("/api/1/logout", params={"session_key": ALICE}).status_code == 403
    # Another user's session is untouched.
    assert client.get("/api/1/user", params={"session_key": "dcsession-bob-00000000000000000000000002"}).status_code == 200


def test_logout_of_a_pending_login_kills_its_link(client):
    session = login(client)
    link = emailed_link(client, session["session_key"])
    assert client.post("/api/1/logout").status_code == 200
    assert client.get(link).status_code == 404


def test_each_login_is_a_new_session_and_the_older_ones_stay():
    _, client = make_client("datacortex", auto_verify=True)
    first = login(client)["session_key"]
    second = login(client)["session_key"]
    assert first != second
    assert client.get("/api/1/user", params={"session_key": first}).status_code == 200
    assert client.get("/api/1/user", params={"session_key": second}).status_code == 200


def test_login_refuses_bad_and_unknown_emails(client):
    assert client.post("/api/1/login", json={}).json() == {"error": "email is required"}
    assert client.post("/api/1/login", json={"email": "nobody"}).status_code == 400
    assert client.post("/api/1/login", json={"email": 12}).status_code == 400
    assert client.post("/api/1/login", json=["alice@acme.example"]).status_code == 400
    assert client.post("/api/1/login", json={"email": "alice@"}).status_code == 400
    other_type = client.post("/api/1/login", content=b"email=a@b", headers={"Content-Type": "text/plain"})
    assert other_type.status_code == 400
    assert "Content-type" in other_type.json()["error"]
    unknown = client.post("/api/1/login", json={"email": "mallory@evil.example"})
    assert unknown.status_code == 403
    assert "error" in unknown.json()


def test_login_accepts_a_form_and_the_query(client):
    assert client.post("/api/1/login", data={"email": "carol@consulting.example"}).status_code == 200
    assert client.post("/api/1/login", params={"email": "carol@consulting.example"}).status_code == 200


def test_no_session_at_all_is_not_logged_in(client):
    answer = client.get("/api/1/user")
    assert answer.status_code == 403
    assert answer.json() == {"error": "Not logged in"}


@pytest.mark.parametrize("content", [b"{nope", b"\x00", b"null"])
def test_a_malformed_json_body_is_a_bad_request_and_logs_nobody_out(client, content):
    answer = client.post("/api/1/logout", params={"session_key": ALICE}, content=content,
                         headers={"Content-Type": "application/json"})
    assert answer.status_code == 400
    assert answer.json() == {"error": "The request body is not valid JSON (a JSON object is expected)."}
    assert client.get("/api/1/user", params={"session_key": ALICE}).status_code == 200


def test_an_empty_json_body_is_no_fields(client):
    answer = client.post("/api/1/logout", params={"session_key": ALICE}, headers={"Content-Type": "application/json"})
    assert answer.status_code == 200


def test_the_verification_link_is_printed_in_the_server_log(capsys):
    from starlette.testclient import TestClient

    from apitwin.server.core.app import create

    _, app = create("datacortex", quiet=False)
    client = TestClient(app, base_url="http://127.0.0.1:8003")
    session = client.post("/api/1/login", json={"email": "bob@blueharbor.example"}).json()
    log = capsys.readouterr().err
    assert f"http://127.0.0.1:8003/api/1/verify?session_key={session['session_key']}&token=" in log
    assert "bob@blueharbor.example" in log
    assert session["manual_code"] not in log.split("verification email")[1].splitlines()[0]
