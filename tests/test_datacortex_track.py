"""Data Cortex event ingest: bundles checked and kept per app, 400/403/409 as the SDKs expect."""
from __future__ import annotations

import json

import pytest

from datacortex_helpers import MINER, QUEST, client, shared  # noqa: F401


def bundle(**changes):
    base = {
        "api_key": MINER,
        "app_ver": "1.2.0",
        "device_tag": "d41d8cd98f00b204",
        "user_tag": "player-42",
        "os": "android",
        "events": [
            {"type": "install", "event_index": 0, "event_datetime": "2026-01-15T10:29:58.120Z", "kingdom": "organic"},
            {"type": "economy", "event_index": 1, "spend_currency": "USD", "spend_amount": 4.99, "spend_type": "cash"},
        ],
    }
    base.update(changes)
    return base


def summary(client):
    return client.get("/__apitwin/state").json()["summary"]


def test_a_bundle_is_kept_and_counted_per_app(client):
    answer = client.post("/acme/1/track", params={"current_time": "2026-01-15T10:30:00Z"}, json=bundle())
    assert answer.status_code == 200
    assert answer.text == "OK"
    assert answer.headers["content-type"].startswith("text/plain")
    assert summary(client)["events_per_app"] == {"1001": 2}
    events = client.get("/__apitwin/state").json()["collections"]["events"]
    assert {e["type"] for e in events} == {"install", "economy"}
    assert all(e["device_tag"] == "d41d8cd98f00b204" and e["app_id"] == 1001 for e in events)


def test_browsers_send_json_as_text_plain(client):
    answer = client.post("/acme/1/track", content=json.dumps(bundle()), headers={"Content-Type": "text/plain"})
    assert answer.status_code == 200
    no_type = client.post("/acme/1/track", content=json.dumps(bundle(device_tag="other")).encode())
    assert no_type.status_code == 200
    assert summary(client)["events_per_app"] == {"1001": 4}


def test_a_repeated_bundle_is_a_conflict_and_not_kept_twice(client):
    assert client.post("/acme/1/track", json=bundle()).status_code == 200
    # The same JSON, keys in another order, is the same bundle.
    reordered = dict(reversed(list(bundle().items())))
    again = client.post("/acme/1/track", content=json.dumps(reordered), headers={"Content-Type": "text/plain"})
    assert again.status_code == 409
    assert summary(client)["events_per_app"] == {"1001": 2}
    # Another device's bundle is new.
    assert client.post("/acme/1/track", json=bundle(device_tag="another")).status_code == 200


@pytest.mark.parametrize("org, key", [
    ("blueharbor", MINER),  # a key of another organization's app
    ("acme", "no-such-key"),
    ("nowhere", MINER),
    ("acme", None),
    ("acme", 12),
])
def test_a_key_not_of_an_app_of_the_organization_is_forbidden(client, org, key):
    answer = client.post(f"/{org}/1/track", json=bundle(api_key=key))
    assert answer.status_code == 403
    assert answer.text.startswith("Forbidden")
    assert summary(client)["events_per_app"] == {}


@pytest.mark.parametrize("changes, words", [
    ({"events": []}, "events must be a non-empty list"),
    ({"events": "dau"}, "events must be a non-empty list"),
    ({"events": [{"type": "dau"}] * 101}, "at most 100"),
    ({"events": [{"type": "purchase"}]}, "events[0].type must be one of"),
    ({"events": [{}]}, "events[0].type"),
    ({"events": ["dau"]}, "events[0] must be an object"),
    ({"events": [{"type": "economy", "spend_amount": 1}]}, "spend_currency and spend_amount"),
    ({"events": [{"type": "economy", "spend_currency": "USD", "spend_amount": "1"}]}, "spend_amount must be a number"),
    ({"events": [{"type": "message_send", "from_tag": "a"}]}, "needs from_tag and to_tag or to_list"),
    ({"events": [{"type": "event", "kingdom": "k" * 33}]}, "kingdom is longer than 32"),
    ({"events": [{"type": "event", "event_index": -1}]}, "event_index must be a non-negative integer"),
    ({"events": [{"type": "event", "event_index": 2**64 - 1}]}, "event_index must be a non-negative integer"),
    ({"events": [{"type": "event", "event_datetime": "yesterday"}]}, "event_datetime must be an ISO 8601"),
    ({"device_tag": ""}, "device_tag is required"),
    ({"device_tag": 5}, "device_tag must be a string"),
    ({"user_tag": "u" * 63}, "user_tag is longer than 62"),
    ({"events": [{"type": "event", "to_list": None}]}, "to_list must be a list"),
    ({"events": [{"type": "event", "kingdom": None}]}, "kingdom must be a string"),
    ({"device_tag": None}, "device_tag must be a string"),
])
def test_a_bad_bundle_is_a_bad_request(client, changes, words):
    answer = client.post("/acme/1/track", json=bundle(**changes))
    assert answer.status_code == 400
    assert answer.text.startswith("Bad Request")
    assert words in answer.text
    assert summary(client)["events_per_app"] == {}


def test_a_body_that_is_not_a_json_object_is_a_bad_request(client):
    for content in (b"not json", b"[1, 2]", b"", "\u00e9t\u00e9".encode("latin-1")):
        answer = client.post("/acme/1/track", content=content, headers={"Content-Type": "text/plain"})
        assert answer.status_code == 400, content
    form = client.post("/acme/1/track", data={"api_key": MINER})
    assert form.status_code == 400
    # Plain text, as every answer of the ingest endpoint, even when the core refuses it.
    assert form.headers["content-type"].startswith("text/plain")
    assert "Content-type" in form.text


def test_a_body_that_is_not_utf8_is_a_plain_text_400(client):
    answer = client.post("/acme/1/track", content=b"m\xd12\x00p", headers={"Content-Type": "application/json"})
    assert answer.status_code == 400
    assert answer.headers["content-type"].startswith("text/plain")


def test_a_bad_current_time_is_a_bad_request(client):
    answer = client.post("/acme/1/track", params={"current_time": "soon"}, json=bundle())
    assert answer.status_code == 400
    assert "current_time" in answer.text


def test_every_event_type_is_accepted(client):
    events = [
        {"type": "install", "kingdom": "organic"},
        {"type": "dau"},
        {"type": "event", "kingdom": "level", "phylum": "3", "float1": 1.5},
        {"type": "economy", "spend_currency": "gems", "spend_amount": 20},
        {"type": "message_send", "from_tag": "me", "to_list": ["you"], "network": "email"},
        {"type": "message_click", "from_tag": "me", "to_tag": "you"},
        {"type": "experiment", "kingdom": "ab-test", "phylum": "variant-b"},
    ]
    answer = client.post("/blueharbor/1/track", json=bundle(api_key=QUEST, events=events))
    assert answer.status_code == 200
    assert summary(client)["events_per_app"] == {"1003": 7}


def test_numbers_beyond_64_bits_are_kept_as_floats(client):
    events = [{"type": "event", "event_index": 2**63 - 1, "float1": 2**64 - 1}]
    assert client.post("/acme/1/track", json=bundle(events=events)).status_code == 200
    stored = client.get("/__apitwin/state").json()["collections"]["events"]
    assert stored[0]["float1"] == float(2**64 - 1)
    assert stored[0]["event_index"] == 2**63 - 1
