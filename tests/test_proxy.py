"""`apitwin proxy`: clean traffic through it finds nothing; every planted fault is found and
blamed on the right side (the app for its requests, the deployment for its answers)."""
from __future__ import annotations

import asyncio
import http.client
import json
import threading
from urllib.parse import quote, urlsplit

import httpx
import pytest
from starlette.middleware.gzip import GZipMiddleware

from apitwin.conformance.proxy import Proxy
from apitwin.server.core.app import create
from conformance_helpers import free_port, rewrite_json, serving
from proxy_helpers import proxied, serving_proxy, sides

MONARC_KEY = "SylsDTZTBk2zAkg016vW_aCuO1XQDXPsxrLuI1TG7z5sYvUfRlVf5R4g6kDnLI_o-c5iqrswrWzPANDKXmtV7Q"
STAT = {"type": "risk", "anr": "5e6f33d1-99b1-4244-a573-942498a4a201", "data": {"what": "you want"},
        "day": 1, "week": 1, "month": 1, "quarter": 1, "year": 2020}
QONCRETE_SOURCE = "8b5229f1-ee8f-4b23-9b4c-6149288cfb51"
QONCRETE_REPORT = "433e40f7-5d44-4363-96ad-517670fead31"
QONCRETE_MASTER = "97b8a203-f4ca-4832-8469-d2188e4c4871"
QONCRETE_WRITE = "5d0f3a6b-2c41-4e8a-9b7d-6e1f0a2b3c4d"
QORE_TOKEN = "1|qoreAliceDemoToken0000000000000000000000"
MONARC_V1_KEY = "cases-v1-token-5b7d9f1a3c5e7a9b1d3f5a7c9e1b3d5f7a9c1e3b5d7f9a1c"
DATACORTEX_SESSION = "dcsession-carol-0000000000000000000000003"
DATACORTEX_APP_KEY = "acme-spaceminer-3f9c2a7e51d04b8e"


# -- what an app does with each API, every request by the contract -------------------------
def monarc_traffic(c) -> int:
    h = {"X-API-KEY": MONARC_KEY}
    listed = c.get("/api/v2/stats/", params={"organization": "CASES", "type": "risk", "_limit": "5"}, headers=h)
    assert listed.status_code == 200, listed.text
    stat_id = listed.json()["data"][0]["id"]
    assert c.get(f"/api/v2/stats/{stat_id}/", headers=h).status_code == 200
    assert c.post("/api/v2/stats/", json=STAT, headers=h).status_code == 200
    # A client that sends a Content-Type on every request: harmless where the service ignores it.
    assert c.get("/api/v2/organizations/", headers={**h, "Content-Type": "application/json"}).status_code == 200
    assert c.get("/api/v2/organizations/CASES/", headers=h).status_code == 200
    assert c.get("/api/v2/stats/000000000000000000000000/", headers=h).status_code == 404
    return 6


def monarc_v1_traffic(c) -> int:
    """MONARC's own calls (zm-client's StatsApiProvider): GET arguments in a JSON body."""
    h = {"X-API-KEY": MONARC_V1_KEY, "User-Agent": "MONARC/2.13.3"}
    anr = "aaaaaaaa-0000-4000-8000-000000000001"
    listed = c.request("GET", "/api/v1/stats/", json={"type": "risk", "get_last": True, "anrs": [anr]}, headers=h)
    assert listed.status_code == 200, listed.text
    processed = c.request("GET", "/api/v1/stats/processed/", headers=h,
                          json={"type": "threat", "processor": "threat_average_on_date", "processor_params": {}})
    assert processed.status_code == 200, processed.text
    sent = c.post("/api/v1/stats/", json=[{"anr": "cccccccc-0000-4000-8000-000000000001", "type": "risk",
                                          "date": "2026-11-30", "data": {}}], headers=h)
    assert sent.status_code == 201, sent.text
    assert c.delete("/api/v1/stats/cccccccc-0000-4000-8000-000000000001", headers=h).status_code == 204
    assert c.get("/api/v1/client/me", headers=h).status_code == 200
    assert c.patch("/api/v1/client/me", json={"is_sharing_enabled": True}, headers=h).status_code == 201
    return 6


def qoncrete_traffic(c) -> int:
    login = c.post("/v2/user/login", json={"email": "demo@qoncrete.test", "password": "demo1234"})
    assert login.status_code == 200, login.text
    q = {"token": QONCRETE_MASTER}
    assert c.get("/v2/source", params=q).status_code == 200
    assert c.get(f"/v2/source/{QONCRETE_SOURCE}", params=q).status_code == 200
    assert c.get(f"/v2/source/{QONCRETE_SOURCE}/report", params=q).status_code == 200
    scanned = c.post(f"/v2/source/{QONCRETE_SOURCE}/report/{QONCRETE_REPORT}/scankeys", params=q,
                     json={"at": "now", "klen": 1, "keySearch": "FR"})
    assert scanned.status_code == 200, scanned.text
    sent = c.post(f"/{QONCRETE_SOURCE}", params={"token": QONCRETE_WRITE},
                  json={"type": "pageview", "country": "FR", "visitor": "v9"})
    assert sent.status_code < 300, sent.text
    return 6


def qore_traffic(c) -> int:
    h = {"Authorization": f"Bearer {QORE_TOKEN}"}
    assert c.get("/api/me", headers=h).status_code == 200
    assert c.get("/api/resources", headers=h).status_code == 200
    assert c.get("/api/endpoints", headers=h).status_code == 200
    table = c.get("/api/resources/organizations/table/organizations", headers=h)
    assert table.status_code == 200, table.text
    assert c.get("/api/global-search", params={"query": "a"}, headers=h).status_code == 200
    return 5


def datacortex_traffic(c) -> int:
    cookie = {"Cookie": f"session_key={DATACORTEX_SESSION}"}
    assert c.get("/api/1/user", headers=cookie).status_code == 200
    assert c.get("/api/1/app", params={"org_id": "101"}, headers=cookie).status_code == 200
    bundle = {"api_key": DATACORTEX_APP_KEY, "app_ver": "1.2.0", "device_tag": "d41d8cd98f00b204",
              "events": [{"type": "dau", "event_index": 0}]}
    tracked = c.post("/acme/1/track", content=json.dumps(bundle), headers={"Content-Type": "text/plain"})
    assert tracked.status_code == 200, tracked.text
    return 3


def opengrid_traffic(c) -> int:
    login = c.post("/users/token", json={"username": "admin", "password": "admin"})
    assert login.status_code == 200, login.text
    h = {"X-AUTH-TOKEN": login.headers["x-auth-token"]}
    assert c.get("/groups", headers=h).status_code == 200
    assert c.get("/datasets", headers=h).status_code == 200
    assert c.get("/capabilities", headers=h).status_code == 200
    rows = c.get("/datasets/weather/query", params={"n": "5"}, headers=h)
    assert rows.status_code == 200 and "error" not in rows.text, rows.text
    assert c.options("/groups", headers={"Origin": "http://localhost:3000",
                                         "Access-Control-Request-Method": "GET"}).status_code < 300
    return 6


TRAFFIC = {"monarc": monarc_traffic, "monarc-v1": monarc_v1_traffic, "qoncrete": qoncrete_traffic, "qore": qore_traffic,
           "datacortex": datacortex_traffic, "opengrid": opengrid_traffic}


@pytest.mark.parametrize("api", sorted(TRAFFIC))
def test_clean_traffic_to_each_stand_in_reports_nothing(api):
    _, app = create(api)
    with proxied(api, app) as (client, proxy, lines):
        sent = TRAFFIC[api](client)
        summary = client.get("/__apitwin/violations").json()
    assert lines == [], "\n".join(lines)
    assert proxy.tally.exchanges == sent and summary["exchanges"] == sent
    assert summary["undocumented"] == summary["request_violations"] == summary["answer_violations"] == []
    results = proxy.tally.results
    assert results.total_checks >= 7 * sent and results.total_failed == 0
    assert all(op["score"] == 100.0 for op in summary["operations"]), summary["table"]


# -- planted faults in the deployment's answers ---------------------------------------------
def _monarc_fault(change, path="/api/v2/stats/", method="GET"):
    _, app = create("monarc")
    return rewrite_json(app, path, method, change)


def _monarc_calls(c) -> None:
    """What monarc_traffic sends, whatever the answers."""
    h = {"X-API-KEY": MONARC_KEY}
    c.get("/api/v2/stats/", params={"organization": "CASES", "type": "risk", "_limit": "5"}, headers=h)
    c.get("/api/v2/stats/659200013a4932cf9297bc90/", headers=h)
    c.post("/api/v2/stats/", json=STAT, headers=h)
    c.get("/api/v2/organizations/", headers=h)
    c.get("/api/v2/stats/000000000000000000000000/", headers=h)


def _answer_faults(app):
    with proxied("monarc", app) as (client, proxy, lines):
        _monarc_calls(client)
    found = sides(proxy)
    assert found["request"] == [] and found["undocumented"] == [], found
    assert all(line.startswith("[answer] ") for line in lines), lines
    return found["answer"], lines


def test_a_wrong_status_is_the_deployments_fault():
    app = _monarc_fault(lambda status, body: (202 if status == 200 else status, body, None),
                        path="/api/v2/organizations/")
    answer, lines = _answer_faults(app)
    assert "[status_code_conformance] GET /api/v2/organizations/: Undocumented status code: Received: 202; " \
           "Documented: 200, 400" in answer
    assert any(line.startswith("[answer] GET /api/v2/organizations/ -> 202: Undocumented status code")
               for line in lines), lines


def test_a_missing_field_is_found_where_it_is_missing():
    def drop_type(status, body):
        if status == 200 and isinstance(body, dict) and isinstance(body.get("data"), list) and body["data"]:
            body["data"][0].pop("type", None)
        return status, body, None

    answer, lines = _answer_faults(_monarc_fault(drop_type))
    assert any("response_schema_conformance" in a and '"type" is a required property' in a for a in answer), answer
    line = next(line for line in lines if '"type" is a required property' in line)
    assert line.startswith("[answer] GET /api/v2/stats/?organization=CASES&type=risk&_limit=5 -> 200")
    assert "(at body /data/0)" in line


def test_a_problem_json_error_breaks_the_content_type_and_monarcs_error_shape():
    def problem(status, body):
        if status == 404:
            return 404, {"type": "about:blank", "title": "Not Found", "status": 404}, "application/problem+json"
        return status, body, None

    answer, _ = _answer_faults(_monarc_fault(problem))
    assert any(a.startswith("[content_type_conformance] GET /api/v2/stats/{id}/: Undocumented Content-Type: "
                            "Received: application/problem+json") for a in answer), answer
    assert any(a.startswith("[monarc.conventions] GET /api/v2/stats/{id}/: answered 404 with content type "
                            "application/problem+json") for a in answer), answer


def test_missing_cors_on_opengrid_is_the_deployments_fault():
    _, app = create("opengrid")

    async def without_cors(scope, receive, send):
        async def strip(message):
            if message["type"] == "http.response.start" and scope["method"] == "GET" and scope["path"] == "/groups":
                message["headers"] = [(k, v) for k, v in message["headers"]
                                      if k.lower() != b"access-control-allow-origin"]
            await send(message)

        await app(scope, receive, strip)

    with proxied("opengrid", without_cors) as (client, proxy, lines):
        opengrid_traffic(client)
    found = sides(proxy)
    assert found["request"] == found["undocumented"] == []
    assert found["answer"] == ["[opengrid.conventions] GET /groups: no Access-Control-Allow-Origin: * "
                               "(the browser client needs it on every answer)"]
    assert len(lines) == 1 and lines[0].startswith("[answer] GET /groups -> 200: no Access-Control-Allow-Origin")


def test_an_undocumented_route_is_reported_as_such():
    _, app = create("monarc")

    async def with_extra_route(scope, receive, send):
        if scope["type"] == "http" and scope["path"] == "/api/v2/health":
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-type", b"application/json")]})
            await send({"type": "http.response.body", "body": b'{"ok": true}'})
            return
        await app(scope, receive, send)

    with proxied("monarc", with_extra_route) as (client, proxy, lines):
        monarc_traffic(client)
        assert client.get("/api/v2/health").json() == {"ok": True}  # forwarded all the same
    found = sides(proxy)
    assert found["undocumented"] == ["[undocumented] GET /api/v2/health (not in the contract): "
                                     "GET /api/v2/health is not an operation of the contract"]
    assert found["request"] == found["answer"] == []
    assert lines == ["[undocumented] GET /api/v2/health -> 200: GET /api/v2/health is not an operation of the "
                     "contract [undocumented]"]


# -- the app's faults --------------------------------------------------------------------
def test_a_bad_request_from_the_app_is_blamed_on_the_app():
    _, app = create("monarc")
    h = {"X-API-KEY": MONARC_KEY}
    with proxied("monarc", app) as (client, proxy, lines):
        refused = client.post("/api/v2/stats/", json={**STAT, "day": "monday"}, headers=h)
        assert refused.status_code == 400  # the stand-in refuses it, in MONARC's words
        assert client.get("/api/v2/stats/", params={"_limit": "5000"}, headers=h).status_code == 400
        assert client.get("/api/v2/stats/").status_code == 401  # the organization routes take no key
        # Where the service refuses it, a Content-Type on a request without a body is the app's fault.
        assert client.get("/api/v2/stats/", headers={**h, "Content-Type": "multipart/form-data"}).status_code == 400
    found = sides(proxy)
    assert found["answer"] == found["undocumented"] == []
    assert len(found["request"]) == 4, found["request"]
    assert "[request.body] GET /api/v2/stats/: Content-Type multipart/form-data sent to an operation that takes " \
           "no body" in found["request"]
    body = next(line for line in lines if line.startswith("[request] POST /api/v2/stats/ -> 400"))
    assert "(at body /day)" in body and body.endswith("[request.body]")
    assert any("query _limit=5000 does not match its schema" in line and "(at query _limit)" in line for line in lines)
    assert any("no credentials: the operation needs header X-API-KEY" in line for line in lines)


def test_a_wrong_answer_to_a_bad_request_is_blamed_on_both():
    """The app sent a bad body, and the deployment answered it with a problem+json 422."""
    app = _monarc_fault(lambda status, body: (422, {"title": "bad"}, "application/problem+json") if status == 400
                        else (status, body, None), method="POST")
    with proxied("monarc", app) as (client, proxy, _):
        client.post("/api/v2/stats/", json={**STAT, "week": "x"}, headers={"X-API-KEY": MONARC_KEY})
    found = sides(proxy)
    assert any("where: body /week" in f.message for f in proxy.tally.by_side["request"].values()), found
    assert found["answer"] == [
        "[monarc.conventions] POST /api/v2/stats/: answered 422 with content type application/problem+json: "
        "MONARC always answers application/json (errors too, never problem+json)",
        "[monarc.conventions] POST /api/v2/stats/: 422 error body {\"title\": \"bad\"} is not "
        "MONARC's {\"error\": \"...\"} or {\"field-errors\": {\"<field>\": \"<message>\"}}"]
    # The 422 itself is a refusal of a bad request: not counted against the deployment.
    assert any("refusal" in reason for (_, reason) in proxy.tally.results.accepted)


# -- forwarding: what goes through is what came in ---------------------------------------
def test_requests_and_answers_pass_unchanged_but_for_hop_by_hop_headers_and_host():
    seen = {}

    async def echo(scope, receive, send):
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        seen.update(method=scope["method"], path=scope["raw_path"], query=scope["query_string"], body=body,
                    headers=[(k.decode(), v.decode()) for k, v in scope["headers"]])
        await send({"type": "http.response.start", "status": 418, "headers": [
            (b"content-type", b"text/plain"), (b"set-cookie", b"a=1"), (b"set-cookie", b"b=2"),
            (b"x-custom", b"kept"), (b"connection", b"x-hop"), (b"x-hop", b"dropped")]})
        await send({"type": "http.response.body", "body": b"short ", "more_body": True})
        await send({"type": "http.response.body", "body": b"and stout"})

    with proxied("monarc", echo) as (client, proxy, _):
        target = proxy.target
        answer = client.post("/any/%7Bpath%7D?b=2&a=1&a=", content=b"\x00raw body\xff",
                             headers={"X-App": "1", "Connection": "keep-alive, X-Private", "X-Private": "no",
                                      "Keep-Alive": "timeout=5", "Content-Type": "application/octet-stream",
                                      "User-Agent": "the-app/1.0"})
    assert answer.status_code == 418 and answer.content == b"short and stout"
    assert answer.headers.get_list("set-cookie") == ["a=1", "b=2"] and answer.headers["x-custom"] == "kept"
    assert "x-hop" not in answer.headers
    assert seen["method"] == "POST" and seen["path"] == b"/any/%7Bpath%7D" and seen["query"] == b"b=2&a=1&a="
    assert seen["body"] == b"\x00raw body\xff"
    headers = dict(seen["headers"])
    assert headers["x-app"] == "1" and headers["user-agent"] == "the-app/1.0"
    assert headers["host"] == target.split("://", 1)[1]
    assert not {"connection", "keep-alive", "x-private"} & set(headers)


def test_answers_are_streamed_chunk_by_chunk():
    first_read = threading.Event()

    async def slow(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"first", "more_body": True})
        # The second chunk only once the caller has the first through the proxy.
        await asyncio.to_thread(first_read.wait, 20)
        await send({"type": "http.response.body", "body": b"second"})

    with proxied("monarc", slow) as (client, _, _lines):
        with client.stream("GET", "/stream") as answer:
            chunks = answer.iter_raw()
            assert next(chunks) == b"first"
            first_read.set()
            assert b"".join(chunks) == b"second"


def test_compressed_answers_pass_as_sent_and_are_judged_decoded():
    _, app = create("monarc")
    with proxied("monarc", GZipMiddleware(app, minimum_size=0)) as (client, proxy, lines):
        answer = client.get("/api/v2/organizations/", headers={"X-API-KEY": MONARC_KEY, "Accept-Encoding": "gzip"})
        assert answer.headers["content-encoding"] == "gzip" and answer.json()["data"]
        monarc_traffic(client)
    assert lines == [] and proxy.tally.results.total_failed == 0


def test_no_answer_from_the_target_is_a_502_not_a_violation():
    lines = []
    proxy = Proxy("monarc", f"http://127.0.0.1:{free_port()}", log=lines.append)
    with serving_proxy(proxy) as url:
        answer = httpx.get(url + "/api/v2/stats/")
    assert answer.status_code == 502 and "no answer from" in answer.text
    assert proxy.tally.upstream_errors == 1 and proxy.tally.violations == 0
    assert len(lines) == 1 and lines[0].startswith("[proxy] GET /api/v2/stats/: no answer from")


def test_a_target_under_a_base_path_is_judged_by_the_contracts_paths():
    _, app = create("monarc")

    async def under_prefix(scope, receive, send):  # the deployment serves the API under /staging
        if scope["type"] == "http":
            assert scope["path"].startswith("/staging/"), scope["path"]
            scope = {**scope, "path": scope["path"][len("/staging"):],
                     "raw_path": scope["raw_path"][len(b"/staging"):]}
        await app(scope, receive, send)

    lines = []
    with serving(under_prefix) as url:
        proxy = Proxy("monarc", url + "/staging", log=lines.append)
        with serving_proxy(proxy) as proxy_url, httpx.Client(base_url=proxy_url, timeout=30) as client:
            monarc_traffic(client)
    assert lines == [] and proxy.tally.exchanges == 6
    assert "GET /api/v2/stats/{id}/" in proxy.tally.results.operations


def test_request_targets_as_long_as_browser_sdks_send_pass_through():
    """A Qoncrete browser SDK sends a batch of events as a GET of about 100 KB."""
    _, app = create("qoncrete")
    events = json.dumps([{"type": "pageview", "country": "FR", "visitor": f"v{i}"} for i in range(1000)])
    target = f"/{QONCRETE_SOURCE}?token={QONCRETE_WRITE}&body={quote(events)}"
    assert len(target) > 70_000  # past what uvicorn's own HTTP layer reads
    with proxied("qoncrete", app) as (client, proxy, lines):
        host, port = urlsplit(str(client.base_url)).netloc.split(":")
        connection = http.client.HTTPConnection(host, int(port), timeout=30)  # httpx refuses such URLs
        connection.request("GET", target)
        answer = connection.getresponse()
        body = answer.read()
        connection.close()
    assert answer.status < 300, body
    assert lines == [] and proxy.tally.exchanges == 1


def test_credentials_in_the_query_are_masked_in_logs_and_reports():
    _, app = create("qoncrete")
    with proxied("qoncrete", app) as (client, proxy, lines):
        client.get("/v2/nowhere", params={"token": QONCRETE_MASTER})
        summary = client.get("/__apitwin/violations").text
    assert lines == ["[undocumented] GET /v2/nowhere?token=*** -> 404: GET /v2/nowhere is not an operation of the "
                     "contract [undocumented]"]
    assert QONCRETE_MASTER not in summary and QONCRETE_MASTER not in proxy.tally.render_text()
    assert "token=***" in proxy.tally.render_text()
