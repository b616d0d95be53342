"""Every kind of fault rule on every API, through HTTP: latency, slow bodies, the error kinds
in each API's own shape, literal bodies, next-N, seeded rates, expiry by the server clock,
header and query matches, the rate limit per credential, and no change to stored state."""
from __future__ import annotations

import time

import pytest
import yaml

from apitwin import OPENAPI_DIR
from apitwin.server.core.api import available
from apitwin.server.core.faults.rules import KIND_STATUS
from conftest import make_client
from faults_helpers import PROFILES, add_rule, api, last_entry, served  # noqa: F401  (fixtures)

KINDS = ["unauthorized", "forbidden", "not_found", "rate_limited", "server_error", "unavailable"]


def _timed(call) -> tuple[float, object]:
    start = time.perf_counter()
    answer = call()
    return time.perf_counter() - start, answer


def test_a_fixed_latency_makes_each_call_at_least_that_much_slower(api):
    profile, _, client = api
    credential, _ = profile.credentials(client)
    rule = add_rule(client, latency="150ms", headers={"X-Slow": "yes"})
    # Calls with and without the rule, interleaved; the fastest of each compared.
    plain, slowed = [], []
    for _ in range(4):
        took, answer = _timed(lambda: profile.read(client, credential))
        plain.append(took)
        took, answer = _timed(lambda: profile.read(client, credential, headers={"X-Slow": "yes"}))
        assert answer.status_code == 200  # the request went through to the API
        slowed.append(took)
    assert min(slowed) - min(plain) >= 0.15 * 0.95
    assert last_entry(client)["fault"]["actions"] == [f"{rule['id']}: latency 150 ms"]


@pytest.mark.parametrize("latency, low, high", [
    ({"min": "20ms", "max": "60ms"}, 20, 60),
    ({"median": "10ms", "p99": "50ms"}, 1, 200),
])
def test_a_random_latency_stays_in_its_range_and_its_seed_replays_it(api, latency, low, high):
    profile, _, client = api
    credential, _ = profile.credentials(client)

    def delays():
        add_rule(client, latency=latency, seed=11)
        for _ in range(4):
            assert profile.read(client, credential).status_code == 200
        entries = client.get("/__apitwin/requests", params={"limit": 4}).json()["requests"]
        client.delete("/__apitwin/faults")
        return [entry["fault"]["actions"][0].split()[-2] for entry in entries]

    first = delays()
    assert all(low <= int(ms) <= high for ms in first)
    assert delays() == first


def test_a_slow_body_trickles_the_same_answer_over_its_duration(api):
    profile, _, client = api
    credential, _ = profile.credentials(client)
    expected = profile.read(client, credential)
    add_rule(client, operation=profile.read_operation, slow_body={"duration": "300ms", "chunks": 3})
    took, answer = _timed(lambda: profile.read(client, credential))
    assert took >= 0.3 * 0.95
    assert (answer.status_code, answer.content) == (expected.status_code, expected.content)


@pytest.mark.parametrize("kind", KINDS)
def test_each_error_kind_answers_in_the_apis_own_shape_on_the_next_call_only(api, kind):
    profile, _, client = api
    credential, _ = profile.credentials(client)
    add_rule(client, operation=profile.read_operation, kind=kind, times=1)
    answer = profile.read(client, credential)
    assert (answer.status_code, answer.json()) == profile.kinds[kind]
    assert answer.headers["content-type"].startswith("application/json")
    assert ("retry-after" in answer.headers) == (kind == "rate_limited")
    assert profile.read(client, credential).status_code == 200  # times=1: spent
    assert client.get("/__apitwin/faults").json()["faults"] == []


def test_an_injected_unauthorized_is_the_apis_own_refusal_of_a_missing_credential(api):
    profile, _, client = api
    real = client.get(profile.read_path)  # no credential: the API refuses it itself
    credential, _ = profile.credentials(client)
    add_rule(client, path=profile.read_template, kind="unauthorized")
    injected = profile.read(client, credential)
    assert (injected.status_code, injected.json()) == (real.status_code, real.json())


def test_a_status_alone_names_its_kind_and_a_status_with_a_kind_overrides_the_apis(api):
    profile, twin, client = api
    credential, _ = profile.credentials(client)
    add_rule(client, status=503, times=1)
    answer = profile.read(client, credential)
    assert (answer.status_code, answer.json()) == profile.kinds["unavailable"]
    add_rule(client, kind="not_found", status=410, message="gone for good", times=1)
    answer = profile.read(client, credential)
    assert answer.status_code == 410
    assert answer.json() == twin.definition.errors.shape(404, "gone for good", "not_found")[1]


def test_a_literal_body_is_sent_as_given(api):
    profile, _, client = api
    credential, _ = profile.credentials(client)
    add_rule(client, status=502, body="<html>Bad gateway</html>", content_type="text/html", retry_after=5)
    answer = profile.read(client, credential)
    assert (answer.status_code, answer.text) == (502, "<html>Bad gateway</html>")
    assert answer.headers["content-type"].startswith("text/html")
    assert answer.headers["retry-after"] == "5"


def test_a_rate_with_a_seed_fails_a_share_of_calls_and_replays_the_same_sequence(api):
    profile, _, client = api
    credential, _ = profile.credentials(client)

    def statuses():
        add_rule(client, path=profile.read_template, status=503, rate=0.3, seed=2024)
        seen = [profile.read(client, credential).status_code for _ in range(20)]
        client.delete("/__apitwin/faults")
        return seen

    first = statuses()
    assert set(first) == {200, 503}
    assert 2 <= first.count(503) <= 12
    assert statuses() == first


def test_a_rule_expires_after_its_ttl_by_the_server_clock(api):
    profile, _, client = api
    credential, _ = profile.credentials(client)
    add_rule(client, kind="server_error", ttl="5m")
    assert profile.read(client, credential).status_code == profile.kinds["server_error"][0]
    client.post("/__apitwin/clock", json={"advance": "6m"})
    assert profile.read(client, credential).status_code == 200
    assert client.get("/__apitwin/faults").json()["faults"] == []


def test_a_rule_can_match_one_header_value_or_query_value(api):
    profile, _, client = api
    credential, _ = profile.credentials(client)
    add_rule(client, headers={"X-Test-Case": "broken"}, kind="unavailable")
    add_rule(client, query={"case": "forbidden"}, kind="forbidden")
    assert profile.read(client, credential).status_code == 200
    broken = profile.read(client, credential, headers={"X-Test-Case": "broken"})
    assert (broken.status_code, broken.json()) == profile.kinds["unavailable"]
    forbidden = profile.read(client, credential, params={"case": "forbidden"})
    assert (forbidden.status_code, forbidden.json()) == profile.kinds["forbidden"]


def test_the_next_login_fails_in_the_apis_own_words(api):
    profile, _, client = api
    method, path, body = profile.login
    add_rule(client, operation=profile.login_operation, kind="unauthorized", times=1)
    credential, _ = profile.credentials(client) if profile.api.startswith("monarc") else ({}, None)
    refused = client.request(method, path, json=body, **credential)
    assert (refused.status_code, refused.json()) == (profile.login_refused or profile.kinds["unauthorized"])
    assert client.request(method, path, json=body, **credential).status_code in (200, 201)


def test_the_rate_limit_counts_each_credential_and_answers_the_apis_own_429(api):
    profile, _, client = api
    first, second = profile.credentials(client)
    add_rule(client, rate_limit={"requests": 2, "window": "1m"})
    assert [profile.read(client, first).status_code for _ in range(2)] == [200, 200]
    refused = profile.read(client, first)
    assert (refused.status_code, refused.json()) == profile.kinds["rate_limited"]
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert profile.read(client, second).status_code == 200  # another credential, its own count
    client.post("/__apitwin/clock", json={"advance": "61s"})
    assert profile.read(client, first).status_code == 200  # a new window
    assert last_entry(client).get("fault") is None


def test_an_injected_answer_never_changes_stored_state(api):
    profile, _, client = api
    method, path, body, kwargs = profile.write
    if kwargs is None:  # OpenGrid: groups are created by an admin
        kwargs = profile.credentials(client)[1]
    before = client.get("/__apitwin/state").json()["collections"]
    for kind in KINDS:
        add_rule(client, method=method, path=path, kind=kind, times=1)
        assert client.request(method, path, json=body, **kwargs).json() == profile.kinds[kind][1]
    assert client.get("/__apitwin/state").json()["collections"] == before
    went_through = client.request(method, path, json=body, **kwargs)
    assert went_through.status_code in (200, 201), went_through.text
    assert client.get("/__apitwin/state").json()["collections"] != before  # the call does write


def test_injected_answers_are_marked_in_the_journal(api):
    profile, _, client = api
    credential, _ = profile.credentials(client)
    assert profile.read(client, credential).status_code == 200
    rule = add_rule(client, kind="unavailable", latency="10ms", times=1)
    profile.read(client, credential)
    real, injected = client.get("/__apitwin/requests", params={"limit": 2}).json()["requests"]
    assert "fault" not in real
    assert injected["status"] == profile.kinds["unavailable"][0]
    assert injected["fault"] == {"rules": [rule["id"]],
                                 "actions": [f"{rule['id']}: latency 10 ms", f"{rule['id']}: unavailable"]}


@pytest.mark.parametrize("name", available())
def test_every_api_renders_every_injected_kind_itself(name):
    """Each API's errors.shape knows each kind (none falls through to its catch-all), and a
    rate limit or an outage keeps its status, whatever the API's convention for the rest."""
    twin, client = make_client(name)
    shape = twin.definition.errors.shape
    path = next(iter(twin.definition.load_spec()["paths"]))
    for kind, status in KIND_STATUS.items():
        add_rule(client, kind=kind, times=1)
        answer = client.get(path)
        assert answer.content, kind
        # A 500 is a catch-all's answer by nature (Flask-RESTX writes every 500 alike).
        if kind != "server_error":
            assert shape(status, "", kind) != shape(status, "", "not_a_kind"), kind
        if kind in ("rate_limited", "unavailable"):
            assert answer.status_code == status, kind
    assert set(PROFILES) <= set(available())


QORE_ALICE = {"Authorization": "Bearer 1|qoreAliceDemoToken0000000000000000000000"}


def test_qores_rate_limit_answers_with_laravels_throttle_headers():
    _, client = make_client("qore")
    client.post("/__apitwin/clock", json={"freeze": "2026-01-01T00:00:00Z"})  # 1767225600
    add_rule(client, rate_limit="2/60s")
    first, second = (client.get("/api/me", headers=QORE_ALICE) for _ in range(2))
    assert [first.status_code, second.status_code] == [200, 200]
    assert [(a.headers["x-ratelimit-limit"], a.headers["x-ratelimit-remaining"]) for a in (first, second)] \
        == [("2", "1"), ("2", "0")]
    assert "retry-after" not in second.headers and "x-ratelimit-reset" not in second.headers
    client.post("/__apitwin/clock", json={"advance": "20s"})
    refused = client.get("/api/me", headers=QORE_ALICE)
    assert (refused.status_code, refused.json()) == (429, {"message": "Too Many Attempts."})
    assert {name: refused.headers.get(name) for name in
            ("x-ratelimit-limit", "x-ratelimit-remaining", "retry-after", "x-ratelimit-reset")} \
        == {"x-ratelimit-limit": "2", "x-ratelimit-remaining": "0", "retry-after": "40",
            "x-ratelimit-reset": "1767225660"}  # the window's end: 60 s after its first request
    assert len(refused.headers.get_list("retry-after")) == 1
    client.post("/__apitwin/clock", json={"advance": "40s"})
    again = client.get("/api/me", headers=QORE_ALICE)  # a new window
    assert (again.status_code, again.headers["x-ratelimit-remaining"]) == (200, "1")


def test_qores_throttle_headers_are_in_its_contract():
    spec = yaml.safe_load((OPENAPI_DIR / "qore.yaml").read_text())
    declared = spec["components"]["responses"]["TooManyAttempts"]["headers"]
    assert set(declared) == {"X-RateLimit-Limit", "X-RateLimit-Remaining", "Retry-After", "X-RateLimit-Reset"}
    for item in spec["paths"].values():
        for operation in item.values():
            assert operation["responses"]["429"] == {"$ref": "#/components/responses/TooManyAttempts"}


# The rate-limit headers each API's own limit sends (errors.rate_limit_headers): let through, refused.
THROTTLE_HEADERS = {"qore": ({"x-ratelimit-limit", "x-ratelimit-remaining"},
                             {"x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"})}


def test_each_api_sends_its_own_rate_limit_headers_and_no_other(api):
    profile, _, client = api
    credential, _ = profile.credentials(client)
    add_rule(client, rate_limit={"requests": 1, "window": "1m"})
    let_through, refused = profile.read(client, credential), profile.read(client, credential)
    assert (let_through.status_code, refused.status_code) == (200, 429)
    expected = THROTTLE_HEADERS.get(profile.api, (set(), set()))
    for answer, names in zip((let_through, refused), expected):
        assert {name for name in answer.headers if name.startswith("x-ratelimit")} == names
    assert "retry-after" in refused.headers and "retry-after" not in let_through.headers
