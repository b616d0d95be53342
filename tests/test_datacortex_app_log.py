"""Data Cortex log ingest (`POST /{org}/1/app_log`): what the SDKs' log(), logEvent() and
request logger send, kept per app, with the answers they expect (200 OK, 400, 403, 409)."""
from __future__ import annotations

import json

import pytest

from datacortex_helpers import MINER, QUEST, client, shared  # noqa: F401


def node_bundle(**changes):
    """As the Node SDK sends it: the machine's hostname, empty device fields, no device_tag."""
    base = {
        "app_ver": "1.2.0",
        "device_type": "",
        "os": "",
        "os_ver": "",
        "language": "zz",
        "hostname": "web-3",
        "api_key": MINER,
        "events": [
            {"event_datetime": "2026-01-15T10:29:58.120Z", "response_ms": 12, "response_bytes": 5120,
             "log_level": "200", "log_line": "GET /shop/items?page=2 HTTP/1.1", "remote_address": "203.0.113.7",
             "os": "mac", "os_ver": "14.5", "browser": "chrome", "browser_ver": "126.0.0.0",
             "device_type": "desktop", "device_family": "desktop"},
            {"event_datetime": "2026-01-15T10:29:59.500Z", "log_line": "Error: payment provider timed out"},
        ],
    }
    base.update(changes)
    return base


def summary(client):
    return client.get("/__apitwin/state").json()["summary"]


def log_lines(client):
    return client.get("/__apitwin/state").json()["collections"]["log_lines"]


def test_log_lines_are_kept_per_app_and_visible_in_the_state(client):
    answer = client.post("/acme/1/app_log", json=node_bundle())
    assert answer.status_code == 200
    assert answer.text == "OK"
    assert answer.headers["content-type"].startswith("text/plain")
    state = summary(client)
    assert state["log_lines_per_app"] == {"1001": 2}
    assert state["log_bundles"] == 1
    assert state["events_per_app"] == {}  # log lines are not events
    lines = sorted(log_lines(client), key=lambda line: line["event_datetime"])
    assert [line["log_line"] for line in lines] == ["GET /shop/items?page=2 HTTP/1.1",
                                                     "Error: payment provider timed out"]
    assert all(line["app_id"] == 1001 and line["hostname"] == "web-3" for line in lines)
    # A line's own properties win over the bundle's.
    assert lines[0]["os"] == "mac" and lines[1]["os"] == ""
    assert lines[0]["response_ms"] == 12 and lines[0]["remote_address"] == "203.0.113.7"


def test_the_browser_sdk_bundle_sent_as_text_plain_is_kept(client):
    bundle = {"os": "linux", "os_ver": "unknown", "browser": "chrome", "browser_ver": "126.0.0.0",
              "device_type": "desktop", "device_family": "desktop", "api_key": QUEST, "app_ver": "0",
              "device_tag": "k3j5h2g8f7d6s5a4", "user_tag": "player-7",
              # The browser SDK misspells response_bytes: unknown properties are ignored.
              "events": [{"log_line": "Javascript Error: message: x is not defined", "repsonse_bytes": 3,
                          "event_datetime": "2026-01-15T10:29:58.120Z"}]}
    answer = client.post("/blueharbor/1/app_log", content=json.dumps(bundle), headers={"Content-Type": "text/plain"})
    assert answer.status_code == 200
    assert summary(client)["log_lines_per_app"] == {"1003": 1}
    line = log_lines(client)[0]
    assert line["device_tag"] == "k3j5h2g8f7d6s5a4" and line["browser"] == "chrome"
    assert "repsonse_bytes" not in line


def test_a_log_line_may_be_as_long_as_the_sdks_cut_it(client):
    longest = "x" * 65535
    assert client.post("/acme/1/app_log", json=node_bundle(events=[{"log_line": longest}])).status_code == 200
    assert log_lines(client)[0]["log_line"] == longest
    too_long = client.post("/acme/1/app_log", json=node_bundle(events=[{"log_line": longest + "x"}]))
    assert too_long.status_code == 400
    assert "log_line is longer than 65535" in too_long.text


def test_a_repeated_bundle_is_a_conflict_and_not_kept_twice(client):
    assert client.post("/acme/1/app_log", json=node_bundle()).status_code == 200
    reordered = dict(reversed(list(node_bundle().items())))
    again = client.post("/acme/1/app_log", content=json.dumps(reordered), headers={"Content-Type": "text/plain"})
    assert again.status_code == 409
    assert again.text.startswith("Conflict")
    assert summary(client)["log_lines_per_app"] == {"1001": 2}
    # The next bundle of the same host is new.
    assert client.post("/acme/1/app_log", json=node_bundle(hostname="web-4")).status_code == 200
    assert summary(client)["log_lines_per_app"] == {"1001": 4}


def test_an_event_bundle_and_a_log_bundle_are_never_repeats_of_each_other(client):
    body = {"api_key": MINER, "device_tag": "d1", "events": [{"type": "dau"}]}
    assert client.post("/acme/1/track", json=body).status_code == 200
    assert client.post("/acme/1/app_log", json=body).status_code == 200
    state = summary(client)
    assert state["events_per_app"] == {"1001": 1} and state["log_lines_per_app"] == {"1001": 1}


@pytest.mark.parametrize("org, key", [
    ("blueharbor", MINER),  # a key of another organization's app
    ("acme", "no-such-key"),
    ("nowhere", MINER),
    ("acme", None),
])
def test_a_key_not_of_an_app_of_the_organization_is_forbidden(client, org, key):
    answer = client.post(f"/{org}/1/app_log", json=node_bundle(api_key=key))
    assert answer.status_code == 403
    assert answer.text.startswith("Forbidden")
    assert summary(client)["log_lines_per_app"] == {}


@pytest.mark.parametrize("changes, words", [
    ({"events": []}, "events must be a non-empty list"),
    ({"events": {"log_line": "x"}}, "events must be a non-empty list"),
    ({"events": [{"log_line": "x"}] * 101}, "at most 100"),
    ({"events": ["a line"]}, "events[0] must be an object"),
    ({"events": [{"log_line": 5}]}, "events[0].log_line must be a string"),
    ({"events": [{"log_level": "l" * 65}]}, "events[0].log_level is longer than 64"),
    ({"events": [{"filename": "f" * 257}]}, "events[0].filename is longer than 256"),
    ({"events": [{"device_tag": "d" * 63}]}, "events[0].device_tag is longer than 62"),
    ({"events": [{"response_ms": "fast"}]}, "events[0].response_ms must be a number"),
    ({"events": [{"response_bytes": True}]}, "events[0].response_bytes must be a number"),
    ({"events": [{"event_datetime": "yesterday"}]}, "events[0].event_datetime must be an ISO 8601"),
    ({"events": [{"os": None}]}, "events[0].os must be a string"),
    ({"hostname": "h" * 65}, "hostname is longer than 64"),
    ({"device_tag": 7}, "device_tag must be a string"),
    ({"app_ver": 1.2}, "app_ver must be a string"),
])
def test_a_bad_log_bundle_is_a_bad_request_and_keeps_nothing(client, changes, words):
    answer = client.post("/acme/1/app_log", json=node_bundle(**changes))
    assert answer.status_code == 400
    assert answer.headers["content-type"].startswith("text/plain")
    assert answer.text.startswith("Bad Request")
    assert words in answer.text
    assert summary(client)["log_lines_per_app"] == {}


def test_a_body_that_is_not_a_json_object_is_a_plain_text_bad_request(client):
    for content in (b"not json", b"[1, 2]", b""):
        answer = client.post("/acme/1/app_log", content=content, headers={"Content-Type": "text/plain"})
        assert answer.status_code == 400, content
        assert answer.headers["content-type"].startswith("text/plain")
    form = client.post("/acme/1/app_log", data={"api_key": MINER})
    assert form.status_code == 400
    assert form.headers["content-type"].startswith("text/plain")
    not_utf8 = client.post("/acme/1/app_log", content=b"\xff\xfe{}", headers={"Content-Type": "application/json"})
    assert not_utf8.status_code == 400
    assert not_utf8.headers["content-type"].startswith("text/plain")
    assert summary(client)["log_lines_per_app"] == {}


def test_a_reset_forgets_the_log_lines(client):
    assert client.post("/acme/1/app_log", json=node_bundle()).status_code == 200
    client.post("/__apitwin/reset")
    assert summary(client)["log_lines_per_app"] == {}
    assert client.post("/acme/1/app_log", json=node_bundle()).status_code == 200
