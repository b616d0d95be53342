"""The MONARC front office's own stats client against the stand-in: each of the six calls
of `StatsApiProvider` (monarc-project/zm-client, PHP, Guzzle) sent byte for byte as it
sends them, and its answer read as it reads it.

Guzzle is given `base_uri = <statsApi.baseUrl>/api/v1/`, the headers `X-API-KEY` and
`User-Agent: MONARC/<appVersion>`, and `json` (PHP's json_encode: compact, `/` escaped,
non-ASCII as \\uXXXX), which also sets `Content-Type: application/json` — on GETs too.
"""
from __future__ import annotations

import json

from monarc_v1_helpers import CASES, CASES_ANR, CASES_ANR2, client, twin, v1  # noqa: F401

BASE = "/api/v1/"
APP_VERSION = "2.13.3"


def php_json(value) -> bytes:
    return json.dumps(value, separators=(",", ":")).replace("/", "\\/").encode()


def guzzle(client, method: str, path: str, payload=None, api_key: str = CASES):
    headers = {"X-API-KEY": api_key, "User-Agent": f"MONARC/{APP_VERSION}"}
    content = None
    if payload is not None:
        content = php_json(payload)
        headers["Content-Type"] = "application/json"
    return client.request(method, BASE + path, content=content, headers=headers, follow_redirects=False)


def formatted(response) -> list:
    """StatsApiProvider::buildFormattedResponse."""
    body = json.loads(response.content)
    assert body.get("data") is not None, '"data" missing: WrongResponseFormatException'
    if body["data"] and "processor" in body:
        return body["data"]
    for item in body["data"]:
        assert item.get("type") is not None and item.get("data") is not None
    return body["data"]


def test_get_stats_data_for_the_dashboard(client):
    # StatsAnrService::getStats: type, the period, get_last false, the user's ANRs, offset, limit.
    params = {"type": "risk", "date_from": "2026-09-01", "date_to": "2026-12-01", "get_last": False,
              "anrs": [CASES_ANR, CASES_ANR2], "offset": 0, "limit": 0}
    r = guzzle(client, "GET", "stats/", params)
    assert r.status_code == 200
    stats = formatted(r)
    assert stats and {s["anr"] for s in stats} == {CASES_ANR, CASES_ANR2}
    assert all(s["type"] == "risk" and "risks" in s["data"] and "total" in s["data"] for s in stats)


def test_get_stats_data_latest_per_analysis(client):
    r = guzzle(client, "GET", "stats/", {"type": "compliance", "get_last": True, "anrs": [CASES_ANR]})
    assert r.status_code == 200
    assert [s["date"] for s in formatted(r)] == ["2026-11-30"]


def test_collect_stats_precheck_then_batch_then_no_longer_empty(client):
    # StatsAnrService::collectStats: is today collected? If not, send the five stats of each ANR.
    today = {"type": "risk", "date_from": "2026-12-01", "date_to": "2026-12-01"}
    assert formatted(guzzle(client, "GET", "stats/", today)) == []
    batch = [{"anr": CASES_ANR, "type": kind, "date": "2026-12-01", "data": data} for kind, data in (
        ("risk", {"total": {"current": {"informational": 3, "operational": 0}},
                  "risks": {"current": {"informational": [{"level": "Low risks", "value": 3}], "operational": []}}}),
        ("threat", [{"uuid": "b402d523-5a2e-11e9-b8f6-0800277f0571", "label1": "Fire", "label2": "Feu",
                     "label3": "Feuer", "label4": "Brand", "maxRisk": 12, "count": 1, "averageRate": "2.5"}]),
        ("vulnerability", []), ("cartography", {"scales": {"impact": [0, 1, 2]}, "risks": {}}),
        ("compliance", [{"referential": "98ca84fb-db87-11ea-ad9e-0800277f0571", "label1": "ISO 27002/2013"}]),
    )]
    r = guzzle(client, "POST", "stats/", batch)
    assert r.status_code in (200, 201, 204)
    assert len(formatted(guzzle(client, "GET", "stats/", today))) == 1


def test_get_processed_stats_data(client):
    # StatsAnrService::getProcessedStats sends processor_params as given (an empty PHP array is []).
    params = {"processor": "risk_averages_on_date", "processor_params": [], "date_from": "2026-09-01",
              "date_to": "2026-12-01", "type": "risk", "anrs": [CASES_ANR]}
    r = guzzle(client, "GET", "stats/processed/", params)
    assert r.status_code == 200
    data = formatted(r)
    assert list(data) == ["current", "residual"]
    assert data["current"]["informational"]["High risks"][0].keys() == {"date", "value"}
    threats = formatted(guzzle(client, "GET", "stats/processed/", {
        "processor": "threat_average_on_date", "processor_params": {}, "date_from": "2026-09-01",
        "date_to": "2026-12-01", "type": "threat", "anrs": [CASES_ANR]}))
    assert threats and set(threats[0]) == {"object", "labels", "values", "averages"}


def test_delete_stats_for_anr_is_exactly_204(client):
    r = guzzle(client, "DELETE", f"stats/{CASES_ANR}")
    assert r.status_code == 204
    assert formatted(guzzle(client, "GET", "stats/", {"type": "risk", "anrs": [CASES_ANR], "get_last": True})) == []


def test_get_client_echoes_the_configured_key(client):
    # StatsAnrService::isStatsAvailable compares the echoed token with statsApi.apiKey.
    r = guzzle(client, "GET", "client/me")
    assert r.status_code == 200
    assert json.loads(r.content)["token"] == CASES
    assert json.loads(r.content).get("is_sharing_enabled", False) is True


def test_update_client_sharing(client):
    # StatsSettingsService::updateGeneralSettings sends (bool) is_sharing_enabled.
    r = guzzle(client, "PATCH", "client/me", {"is_sharing_enabled": False})
    assert r.status_code in (200, 201, 204)
    assert json.loads(r.content)["is_sharing_enabled"] is False
    assert json.loads(guzzle(client, "GET", "client/me").content)["is_sharing_enabled"] is False
