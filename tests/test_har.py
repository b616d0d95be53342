"""`apitwin proxy --record`: the HAR files keep the traffic and none of its secrets."""
from __future__ import annotations

import json

from apitwin.conformance.har import HarRecorder, read_entries
from proxy_helpers import proxied

TOKEN = "tok-9f8e7d6c5b4a39281706f5e4d3c2b1a0"


async def echo_app(scope, receive, send):
    """Answers with a session cookie and a body that repeats the caller's token."""
    while (await receive()).get("more_body"):
        pass
    await send({"type": "http.response.start", "status": 200, "headers": [
        (b"content-type", b"application/json"), (b"set-cookie", b"session_key=s3cr3t-session; HttpOnly")]})
    await send({"type": "http.response.body",
                "body": json.dumps({"you": f"Bearer {TOKEN}", "token": TOKEN, "rows": [{"key": "60601"}]}).encode()})


def test_credentials_are_masked_wherever_they_appear(tmp_path):
    recorder = HarRecorder(tmp_path, "monarc")
    with proxied("monarc", echo_app, recorder=recorder) as (client, _, _lines):
        client.post("/login?api_key=qk-123456&page=2", headers={
            "Authorization": f"Bearer {TOKEN}", "Cookie": "session_key=abc-session-cookie", "X-API-KEY": "k-7777777"},
            json={"email": "a@b.c", "password": "hunter2-pw", "o": {"client_secret": "cs-55555"}})
    recorder.close()
    text = recorder.path.read_text()
    for secret in (TOKEN, "qk-123456", "abc-session-cookie", "k-7777777", "hunter2-pw", "cs-55555", "s3cr3t-session"):
        assert secret not in text, secret
    (entry,) = read_entries(tmp_path)
    request, response = entry["request"], entry["response"]
    assert request["url"].endswith("/login?api_key=%2A%2A%2A&page=2")
    assert {"name": "page", "value": "2"} in request["queryString"]
    sent = json.loads(request["postData"]["text"])
    assert sent == {"email": "a@b.c", "password": "***", "o": {"client_secret": "***"}}
    assert json.loads(response["content"]["text"]) == {"you": "***", "token": "***", "rows": [{"key": "60601"}]}
    headers = {h["name"].lower(): h["value"] for h in request["headers"] + response["headers"]}
    assert headers["authorization"] == headers["cookie"] == headers["x-api-key"] == headers["set-cookie"] == "***"


def test_a_recording_cut_short_is_still_read(tmp_path):
    recorder = HarRecorder(tmp_path, "monarc")
    with proxied("monarc", echo_app, recorder=recorder) as (client, _, _lines):
        client.get("/a")
        client.get("/b")
    # Not closed: the proxy was killed before it could finish the file.
    assert [e["request"]["url"].rsplit("/", 1)[1] for e in read_entries(tmp_path)] == ["a", "b"]
