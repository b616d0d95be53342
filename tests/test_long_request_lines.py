"""Long request lines through a real HTTP server (the in-process client has no line limit):
a browser SDK's batch of 1,000 Qoncrete events as a GET is served, and what the HTTP layer
refuses (a target over 1 MiB, a malformed request) gets the API's own error, never
uvicorn's plain-text 400, with CORS headers on ingest paths."""
from __future__ import annotations

import http.client
import json
import socket
import urllib.parse
from dataclasses import dataclass

import httpx
import pytest

from apitwin.server.core.api import available, definition
from apitwin.server.core.app import create
from apitwin.server.core.http_protocol import MAX_TARGET, TOO_LONG
from qoncrete_helpers import SOURCE, WRITE
from conformance_helpers import serving

PAGE = {"Origin": "http://shop.example:8080"}


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self):
        return json.loads(self.body)


def get(base: str, target: str, headers: dict | None = None, method: str = "GET") -> Answer:
    """A request of any length (httpx refuses URLs over 64 KiB, as browsers do not)."""
    host, port = base.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        connection.request(method, target, headers=headers or {})
        response = connection.getresponse()
        return Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
    finally:
        connection.close()


def ingest_target(events: list[dict]) -> str:
    # As the browser SDK builds it: the JSON, URL-encoded, in `body`.
    return f"/{SOURCE}?token={WRITE}&body={urllib.parse.quote(json.dumps(events))}"


def source_events(base: str) -> int:
    return httpx.get(f"{base}/__apitwin/state").json()["summary"]["sources"][SOURCE]["events"]


def own_error(api: str, status: int, message: str, kind: str) -> tuple[int, object]:
    """What the API's errors module answers for a failure on a path of no ingest endpoint."""
    return definition(api).errors.shape(status, message, kind)


def keys(body: dict) -> set[str]:
    inner = body.get("error")
    return set(body) | ({f"error.{key}" for key in inner} if isinstance(inner, dict) else set())


@pytest.fixture(scope="module")
def qoncrete():
    _, app = create("qoncrete")
    with serving(app) as base:
        yield base


def test_a_browser_batch_of_1000_events_is_served(qoncrete):
    before = source_events(qoncrete)
    target = ingest_target([{"type": "pageview", "country": "FR", "page": f"/p/{n}"} for n in range(1000)])
    assert len(target) > 64 * 1024  # past what the HTTP parser reads by itself
    answer = get(qoncrete, target, PAGE)
    assert answer.status == 204
    assert answer.headers["access-control-allow-origin"] == PAGE["Origin"]
    assert source_events(qoncrete) == before + 1000


def test_a_connection_stays_usable_after_a_long_url(qoncrete):
    host, port = qoncrete.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        for page in range(3):  # one kept-alive connection, as a browser's
            target = ingest_target([{"type": "pageview", "page": f"/{page}/{n}"} for n in range(1000)])
            connection.request("GET", target)
            answer = connection.getresponse()
            answer.read()
            assert answer.status == 204
    finally:
        connection.close()


def test_a_url_of_256_kb_is_served(qoncrete):
    before = source_events(qoncrete)
    events = [{"type": "pageview", "note": "n" * 200, "n": n} for n in range(1000)]
    target = ingest_target(events)
    assert len(target) > 256 * 1024
    answer = get(qoncrete, target)
    assert answer.status == 204
    assert source_events(qoncrete) == before + 1000


def test_a_longer_url_gets_qoncretes_own_error_with_cors_headers(qoncrete):
    before = source_events(qoncrete)
    answer = get(qoncrete, f"/{SOURCE}?token={WRITE}&body=" + "%20" * (MAX_TARGET // 3), PAGE)
    assert answer.status == 414
    assert answer.headers["content-type"] == "application/json"
    body = answer.json()
    assert body["code"] == 414 and "longer than" in body["text"]
    # Refused before its headers were read, so before its Origin: any origin may read it.
    assert answer.headers["access-control-allow-origin"] == "*"
    assert source_events(qoncrete) == before
    # The journal has it, as every answer.
    last = httpx.get(f"{qoncrete}/__apitwin/requests", params={"limit": 1}).json()["requests"][-1]
    assert (last["method"], last["path"], last["status"]) == ("GET", f"/{SOURCE}", 414)


def test_a_long_path_gets_the_apis_own_error_with_its_cors_headers(qoncrete):
    answer = get(qoncrete, f"/{'s' * 70_000}", PAGE)
    assert answer.status == 414
    assert answer.json()["code"] == 414
    # A path of the ingest route, whose headers were read: the page's origin is allowed.
    assert answer.headers["access-control-allow-origin"] == PAGE["Origin"]


def test_data_cortex_ingest_refuses_a_long_url_in_plain_text_with_cors_headers():
    _, app = create("datacortex")
    with serving(app) as base:
        answer = get(base, "/acme/1/track?current_time=" + "1" * MAX_TARGET, {"Origin": "http://game.example"},
                     method="POST")
    assert answer.status == 414
    assert answer.headers["content-type"].startswith("text/plain")
    assert b"longer than" in answer.body
    assert answer.headers["access-control-allow-origin"] == "*"


def raw_exchange(base: str, request: bytes) -> bytes:
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


@pytest.mark.parametrize("api", available())
def test_every_api_answers_what_the_http_layer_refuses_in_its_own_shape(api):
    _, app = create(api)
    with serving(app) as base:
        too_long = get(base, "/x?q=" + "a" * MAX_TARGET)
        malformed = raw_exchange(base, b"GET /x HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n")
    # E.g. Qoncrete {"code": 414, "text"}, MONARC {"error"}, OpenGrid 200 {"error": {"code": "0300", ...}}.
    assert (too_long.status, too_long.json()) == own_error(api, 414, TOO_LONG, "uri_too_long")
    assert too_long.headers["content-type"].startswith("application/json")
    status, sample = own_error(api, 400, "Invalid HTTP request", "bad_request")
    head, _, body = malformed.partition(b"\r\n\r\n")
    assert head.startswith(f"HTTP/1.1 {status} ".encode())
    assert b"content-type: application/json" in head.lower()
    assert keys(json.loads(body)) == keys(sample)
    assert b"Invalid HTTP request" in body
