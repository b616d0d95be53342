"""OpenGrid login, tokens, renew, 401/403 rules and CORS."""
from __future__ import annotations

import time

import jwt

from opengrid_helpers import api, client, login, oid  # noqa: F401


def claims_of(answer) -> dict:
    token = answer.headers["x-auth-token"]
    assert jwt.get_unverified_header(token) == {"alg": "HS512"}
    return jwt.decode(token, options={"verify_signature": False})


def test_login_answers_an_empty_200_with_the_token_in_a_readable_header(client):
    answer = client.post("/users/token", json={"username": "admin", "password": "admin"})
    assert answer.status_code == 200
    assert answer.content == b""
    assert answer.headers["access-control-expose-headers"] == "X-AUTH-TOKEN"
    assert answer.headers["access-control-allow-origin"] == "*"
    claims = claims_of(answer)
    assert claims["sub"] == claims["jti"] == "admin"
    assert claims["roles"] == "opengrid_admins"
    assert claims["resources"].split(",") == ["twitter", "weather", "$admin"]
    assert (claims["fname"], claims["lname"]) == ("OpenGrid", "Admin")
    assert abs(claims["exp"] - (time.time() + 4 * 3600)) < 120


def test_token_claims_of_a_user_limited_to_weather(client):
    claims = claims_of(client.post("/users/token", json={"username": "tester2", "password": "password2"}))
    assert claims["roles"] == "opengrid_users_L2"
    assert claims["resources"] == "weather"


def test_login_reads_json_sent_as_a_form_like_the_web_client(client):
    answer = client.post("/users/token", content='{"username":"tester1","password":"password1"}',
                         headers={"content-type": "application/x-www-form-urlencoded; charset=UTF-8"})
    assert answer.status_code == 200
    assert claims_of(answer)["sub"] == "tester1"


def test_login_accepts_ordinary_form_fields(client):
    answer = client.post("/users/token", data={"username": "tester1", "password": "password1"})
    assert answer.status_code == 200
    assert claims_of(answer)["sub"] == "tester1"


def test_failed_logins_answer_401(client):
    for body in ({"username": "admin", "password": "wrong"}, {"username": "nobody", "password": "x"},
                 {"username": "admin"}, {}):
        answer = client.post("/users/token", json=body)
        assert answer.status_code == 401, body
        assert answer.headers["access-control-allow-origin"] == "*"
    assert client.post("/users/token", content=b"not json", headers={"content-type": "application/json"}).status_code == 401


def test_every_other_auth_failure_is_403_with_cors(client):
    good = login(client, "tester1")["X-AUTH-TOKEN"]
    head, payload, signature = good.split(".")
    tampered = jwt.encode({**jwt.decode(good, options={"verify_signature": False}), "sub": "admin"},
                          "a-guessed-key-" * 6, algorithm="HS512")
    for token in ("garbage", f"{head}.{payload}.{signature[:-4]}AAAA", tampered, ""):
        answer = client.get("/users?n=10", headers={"X-AUTH-TOKEN": token})
        assert answer.status_code == 403, token
        assert answer.json()["error"]["code"] == "0300"
        assert answer.headers["access-control-allow-origin"] == "*"
    assert client.get("/datasets").status_code == 403


def test_tokens_expire_after_four_hours_of_server_clock(client):
    headers = login(client, "tester1")
    client.post("/__apitwin/clock", json={"advance": "3h"})
    assert client.get("/datasets", headers=headers).status_code == 200
    client.post("/__apitwin/clock", json={"advance": "61m"})
    assert client.get("/datasets", headers=headers).status_code == 403
    assert client.post("/users/renew", headers=headers).status_code == 403


def test_renew_gives_a_fresh_four_hours(client):
    headers = login(client, "tester1")
    first = jwt.decode(headers["X-AUTH-TOKEN"], options={"verify_signature": False})
    client.post("/__apitwin/clock", json={"advance": "3h"})
    answer = client.post("/users/renew", headers=headers)
    assert answer.status_code == 204
    assert answer.content == b""
    renewed = {"X-AUTH-TOKEN": answer.headers["x-auth-token"]}
    assert jwt.decode(renewed["X-AUTH-TOKEN"], options={"verify_signature": False})["exp"] >= first["exp"] + 3 * 3600
    client.post("/__apitwin/clock", json={"advance": "2h"})
    assert client.get("/datasets", headers=headers).status_code == 403
    assert client.get("/datasets", headers=renewed).status_code == 200


def test_token_of_a_deleted_user_is_refused(client):
    admin = login(client, "admin")
    tester = login(client, "tester2")
    assert client.delete(f"/users/{oid('55ca20b9c4aac050466bc1a4')}", headers=admin).status_code == 204
    assert client.get("/datasets", headers=tester).status_code == 403
    assert client.post("/users/token", json={"username": "tester2", "password": "password2"}).status_code == 401


def test_preflight_on_every_path_needs_no_token(client):
    for path in ("/users/token", "/users", "/users/", f"/users/{oid('55ca20b9c4aac050466bc1a3')}", "/groups",
                 "/queries/", "/datasets", "/datasets/twitter", "/datasets/twitter/query", "/capabilities",
                 "/autocomplete/zipcodes", "/users/renew"):
        answer = client.options(path, headers={"Origin": "http://localhost:8080",
                                               "Access-Control-Request-Method": "GET"})
        assert answer.status_code == 200, path
        assert answer.headers["access-control-allow-origin"] == "*"
        assert answer.headers["access-control-allow-headers"] == \
            "origin, content-type, accept, authorization, X-AUTH-TOKEN"
        assert answer.headers["access-control-allow-methods"] == "GET, POST, PUT, DELETE, OPTIONS, HEAD"


def test_unknown_routes_and_methods_are_handled_errors(client):
    headers = login(client, "admin")
    answer = client.get("/nowhere", headers=headers)
    assert answer.json()["error"]["code"] == "0300"
    assert answer.status_code == 200
    answer = client.patch("/users", headers=headers)
    assert answer.status_code == 200
    assert answer.json()["error"]["code"] == "0300"


def test_without_a_valid_token_everything_but_login_and_preflight_is_403_with_cors(client):
    tester = login(client, "tester2")
    client.post("/__apitwin/clock", json={"advance": "5h"})
    for headers in ({}, {"X-AUTH-TOKEN": "garbage"}, tester):
        for method, path, extra in (("GET", "/nowhere", {}), ("TRACE", "/users", {}), ("PATCH", "/groups", {}),
                                    ("POST", "/users/token/", {}), ("GET", "/users/token", {}),
                                    ("POST", "/queries", {"content-type": "multipart/form-data"})):
            answer = client.request(method, path, headers={**headers, **extra}, content=b"x" if extra else None)
            assert answer.status_code == 403, (method, path, headers)
            assert answer.json()["error"]["code"] == "0300"
            assert answer.headers["access-control-allow-origin"] == "*"
            assert answer.headers["access-control-expose-headers"] == "X-AUTH-TOKEN"
    assert client.options("/nowhere").headers["access-control-allow-origin"] == "*"


def test_errors_answered_before_the_handlers_carry_cors_headers(client):
    admin = login(client, "admin")
    for method, path in (("GET", "/nowhere"), ("TRACE", "/users"), ("PATCH", "/groups")):
        answer = client.request(method, path, headers=admin)
        assert answer.status_code == 200, (method, path)
        assert answer.json()["error"]["code"] == "0300"
        assert answer.headers["access-control-allow-origin"] == "*"
    answer = client.post("/queries", headers={**admin, "content-type": "multipart/form-data"}, content=b"x")
    assert answer.json()["error"]["code"] == "0300"
    assert answer.headers["access-control-allow-origin"] == "*"


def test_a_password_with_a_percent_survives_the_web_clients_form_encoding(client):
    admin = login(client, "admin")
    for number, password in enumerate(("100%25", "50% off", "%zz+%41")):
        user = f"percent{number}"
        made = client.post("/users", headers=admin, json={"o": {"userId": user, "password": password}})
        assert made.json()["userId"] == user
        body = '{"username":"%s","password":"%s"}' % (user, password)
        answer = client.post("/users/token", content=body,
                             headers={"content-type": "application/x-www-form-urlencoded; charset=UTF-8"})
        assert answer.status_code == 200, password
        assert claims_of(answer)["sub"] == user


def test_a_password_with_a_plus_survives_the_web_clients_form_encoding(client):
    admin = login(client, "admin")
    client.post("/users", headers=admin, json={"o": {"userId": "plus", "password": "a+b&c=d"}})
    answer = client.post("/users/token", content='{"username":"plus","password":"a+b&c=d"}',
                         headers={"content-type": "application/x-www-form-urlencoded; charset=UTF-8"})
    assert answer.status_code == 200
    assert claims_of(answer)["sub"] == "plus"
