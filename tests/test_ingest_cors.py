"""The ingest paths answer browsers of any origin, whatever `--cors` says; the rest of each
API keeps its CORS setting, and the admin API never answers other origins."""
from __future__ import annotations

import json

import pytest

from conftest import make_client
from datacortex_helpers import ALICE, MINER
from qoncrete_helpers import MASTER, SOURCE, WRITE

PAGE = "http://shop.example:8080"
ORIGIN = {"Origin": PAGE}


@pytest.fixture(scope="module")
def qoncrete():
    return make_client("qoncrete")[1]


@pytest.fixture(scope="module")
def datacortex():
    return make_client("datacortex")[1]


def allows_the_page(answer) -> bool:
    return answer.headers.get("access-control-allow-origin") == PAGE


def preflight(client, path, method, headers="content-type"):
    return client.options(path, headers={**ORIGIN, "Access-Control-Request-Method": method,
                                         "Access-Control-Request-Headers": headers})


def test_qoncrete_ingest_answers_every_origin_without_the_cors_setting(qoncrete):
    event = {"type": "pageview", "country": "FR"}
    sent = [
        qoncrete.get(f"/{SOURCE}", params={"token": WRITE, "body": json.dumps(event)}, headers=ORIGIN),
        qoncrete.post(f"/{SOURCE}", params={"token": WRITE}, json=event, headers=ORIGIN),
        qoncrete.post(f"/{SOURCE}/batch", params={"token": WRITE}, json=[event, event], headers=ORIGIN),
    ]
    assert [answer.status_code for answer in sent] == [204, 204, 204]
    assert all(allows_the_page(answer) for answer in sent)
    # Refusals too: the browser SDK reads the status and shows the body.
    refused = qoncrete.get(f"/{SOURCE}", params={"token": "wrong", "body": "{}"}, headers=ORIGIN)
    rejected = qoncrete.get(f"/{SOURCE}", params={"token": WRITE, "body": "not json"}, headers=ORIGIN)
    assert refused.status_code == 401 and allows_the_page(refused)
    assert rejected.status_code == 402 and allows_the_page(rejected)
    assert rejected.json()["code"] == 402


def test_qoncrete_ingest_answers_preflights(qoncrete):
    for path in (f"/{SOURCE}", f"/{SOURCE}/batch"):
        answer = preflight(qoncrete, f"{path}?token={WRITE}", "POST", "content-type")
        assert answer.status_code == 204
        assert allows_the_page(answer)
        assert "POST" in answer.headers["access-control-allow-methods"]
        assert answer.headers["access-control-allow-headers"] == "content-type"


def test_an_ingest_answer_without_an_origin_allows_any(qoncrete):
    answer = qoncrete.get(f"/{SOURCE}", params={"token": WRITE, "body": '{"type": "x"}'})
    assert answer.status_code == 204
    assert answer.headers["access-control-allow-origin"] == "*"


def test_the_rest_of_qoncrete_keeps_cors_off_by_default(qoncrete):
    login = qoncrete.post("/v2/user/login", json={"email": "demo@qoncrete.test", "password": "demo1234"},
                          headers=ORIGIN)
    sources = qoncrete.get("/v2/source", params={"token": MASTER}, headers=ORIGIN)
    assert login.status_code == 200 and sources.status_code == 200
    for answer in (login, sources, preflight(qoncrete, "/v2/source", "POST")):
        assert "access-control-allow-origin" not in answer.headers


def test_the_admin_api_never_answers_other_origins(qoncrete):
    for answer in (qoncrete.get("/__apitwin/state", headers=ORIGIN),
                   preflight(qoncrete, "/__apitwin/reset", "POST")):
        assert "access-control-allow-origin" not in answer.headers


def test_data_cortex_ingest_answers_every_origin_and_its_report_api_does_not(datacortex):
    datacortex.post("/__apitwin/reset")
    bundle = {"api_key": MINER, "device_tag": "tab-1", "events": [{"type": "dau"}]}
    logs = {"api_key": MINER, "device_tag": "tab-1", "events": [{"log_line": "hello"}]}
    # What the browser SDK sends: JSON as text/plain, so no preflight.
    track = datacortex.post("/acme/1/track", content=json.dumps(bundle),
                            headers={**ORIGIN, "Content-Type": "text/plain"})
    app_log = datacortex.post("/acme/1/app_log", content=json.dumps(logs),
                              headers={**ORIGIN, "Content-Type": "text/plain"})
    again = datacortex.post("/acme/1/track", content=json.dumps(bundle),
                            headers={**ORIGIN, "Content-Type": "text/plain"})
    assert (track.status_code, app_log.status_code, again.status_code) == (200, 200, 409)
    assert all(allows_the_page(answer) for answer in (track, app_log, again))
    # Older clients post application/json, with a preflight.
    for path in ("/acme/1/track", "/acme/1/app_log"):
        answer = preflight(datacortex, path, "POST", "content-type")
        assert answer.status_code == 204 and allows_the_page(answer)
    user = datacortex.get("/api/1/user", headers={**ORIGIN, "Cookie": f"session_key={ALICE}"})
    assert user.status_code == 200
    assert "access-control-allow-origin" not in user.headers
    assert "access-control-allow-origin" not in preflight(datacortex, "/api/1/app", "POST").headers


def test_with_the_cors_setting_the_report_api_allows_the_page_too():
    client = make_client("datacortex", cors=True)[1]
    user = client.get("/api/1/user", headers={**ORIGIN, "Cookie": f"session_key={ALICE}"})
    track = client.post("/acme/1/track", json={"api_key": MINER, "device_tag": "t", "events": [{"type": "dau"}]},
                        headers=ORIGIN)
    assert user.status_code == 200 and track.status_code == 200
    assert allows_the_page(user) and allows_the_page(track)
    assert user.headers["access-control-allow-credentials"] == "true"
