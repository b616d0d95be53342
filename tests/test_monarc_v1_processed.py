"""MONARC Stats v1: the four processors of `GET stats/processed/`, over every client's stats."""
from __future__ import annotations

import pytest

from monarc_v1_helpers import (ACME, CASES, JSON, PROCESSED, STATS, client, get_json, invalid, key,  # noqa: F401
                               restx, stat, twin, v1)

ANR1 = "cccccccc-0000-4000-8000-000000000001"
ANR2 = "cccccccc-0000-4000-8000-000000000002"
OBJECT = "dddddddd-0000-4000-8000-00000000000a"


def levels(low, medium, high) -> list:
    return [{"level": "Low risks", "value": low}, {"level": "Medium risks", "value": medium},
            {"level": "High risks", "value": high}]


def risk(value, residual: bool = True) -> dict:
    risks = {"current": {"informational": levels(value, value, value), "operational": levels(1, 1, 1)}}
    if residual:
        risks["residual"] = {"informational": levels(0, 0, value), "operational": []}
    return {"risks": risks}


def threat(count, max_risk=11, rate="1.5", uuid=OBJECT, label="Fire") -> list:
    return [{"uuid": uuid, "label1": label, "label2": "Feu", "label3": "Feuer", "label4": "Brand",
             "count": count, "maxRisk": max_risk, "averageRate": rate}]


def only_new(twin) -> None:
    """Leave only what a test sends, so the figures are its own."""
    twin.store["stats"].clear()


def processed(client, body, token=CASES):
    r = get_json(client, PROCESSED, body, token=token)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == JSON
    return r.json()


def test_risk_averages_is_the_mean_per_state_kind_and_level_over_every_client(client, twin):
    only_new(twin)
    client.post(STATS, headers=key(CASES), json=[stat(anr=ANR1, data=risk(2))])
    client.post(STATS, headers=key(ACME), json=[stat(anr=ANR2, data=risk(4, residual=False))])
    body = processed(client, {"type": "risk", "processor": "risk_averages"})
    assert body == {"type": "risk", "processor": "risk_averages", "data": {
        "current": {"informational": {"Low risks": 3.0, "Medium risks": 3.0, "High risks": 3.0},
                    "operational": {"Low risks": 1.0, "Medium risks": 1.0, "High risks": 1.0}},
        "residual": {"informational": {"Low risks": 0.0, "Medium risks": 0.0, "High risks": 2.0},
                     "operational": {"Low risks": 0, "Medium risks": 0, "High risks": 0}}}}


def test_risk_averages_on_date_is_the_mean_per_date_sorted(client, twin):
    only_new(twin)
    client.post(STATS, headers=key(), json=[stat(anr=ANR1, date="2026-11-02", data=risk(2)),
                                            stat(anr=ANR2, date="2026-11-02", data=risk(4)),
                                            stat(anr=ANR1, date="2026-10-01", data=risk(6))])
    body = processed(client, {"type": "risk", "processor": "risk_averages_on_date",
                              "processor_params": {"risks_type": "informational", "risks_state": "current"}})
    assert body["data"] == {"current": {"informational": {
        level: [{"date": "2026-10-01", "value": 6.0}, {"date": "2026-11-02", "value": 3.0}]
        for level in ("Low risks", "Medium risks", "High risks")}}}


def test_risk_averages_on_date_defaults_and_its_pruning(client, twin):
    only_new(twin)
    client.post(STATS, headers=key(), json=[stat(anr=ANR1, data=risk(2))])
    everything = processed(client, {"type": "risk", "processor": "risk_averages_on_date"})["data"]
    assert list(everything) == ["current", "residual"]
    assert list(everything["current"]) == ["informational", "operational"]
    foo_type = processed(client, {"type": "risk", "processor": "risk_averages_on_date",
                                  "processor_params": {"risks_type": "foo"}})["data"]
    assert foo_type == {state: {"operational": {lvl: [] for lvl in ("Low risks", "Medium risks", "High risks")}}
                        for state in ("current", "residual")}
    foo_state = processed(client, {"type": "risk", "processor": "risk_averages_on_date",
                                   "processor_params": {"risks_state": "foo", "ignored": 1}})["data"]
    assert foo_state == {}
    as_list = processed(client, {"type": "risk", "processor": "risk_averages_on_date",
                                 "processor_params": {"risks_type": ["operational"]}})["data"]
    assert list(as_list["current"]) == ["operational"]
    assert as_list["current"]["operational"]["Low risks"] == [{"date": "2026-11-30", "value": 1.0}]


def test_threat_values_are_the_last_seen_not_an_average(client, twin):
    only_new(twin)
    client.post(STATS, headers=key(CASES), json=[stat(anr=ANR1, type="threat", date="2026-11-30", data=threat(2)),
                                                 stat(anr=ANR2, type="threat", date="2026-11-30", data=threat(4, label="Other")),
                                                 stat(anr=ANR1, type="threat", date="2026-11-01", data=threat(8, 20, 3))])
    body = processed(client, {"type": "threat", "processor": "threat_average_on_date"})
    assert body["data"] == [{
        "object": OBJECT,
        "labels": {"label1": "Fire", "label2": "Feu", "label3": "Feuer", "label4": "Brand"},
        "values": [{"count": 4.0, "maxRisk": 11.0, "averageRate": 1.5, "date": "2026-11-30"},
                   {"count": 8.0, "maxRisk": 20.0, "averageRate": 3.0, "date": "2026-11-01"}],
        "averages": {"count": 8.0, "maxRisk": 20.0, "averageRate": 3.0}}]


def test_vulnerability_average_on_date_is_the_threat_one(client, twin):
    only_new(twin)
    client.post(STATS, headers=key(), json=[stat(anr=ANR1, type="vulnerability", data=threat(3))])
    body = processed(client, {"type": "vulnerability", "processor": "vulnerability_average_on_date",
                              "processor_params": {"anything": 1}})
    assert body["data"][0]["values"] == [{"count": 3.0, "maxRisk": 11.0, "averageRate": 1.5, "date": "2026-11-30"}]


def test_no_matching_stat_gives_an_empty_list_even_for_object_processors(client):
    body = processed(client, {"type": "risk", "processor": "risk_averages", "date_from": "2030-01-01"})
    assert body == {"type": "risk", "processor": "risk_averages", "data": []}


def test_filters_dates_and_anrs_with_no_default_window(client, twin):
    only_new(twin)
    client.post(STATS, headers=key(), json=[stat(anr=ANR1, type="threat", date="2020-01-01", data=threat(1)),
                                            stat(anr=ANR2, type="threat", date="2030-01-01", data=threat(2))])
    dates = lambda body: [v["date"] for v in body["data"][0]["values"]]  # noqa: E731
    assert dates(processed(client, {"type": "threat", "processor": "threat_average_on_date"})) == ["2020-01-01", "2030-01-01"]
    assert dates(processed(client, {"type": "threat", "processor": "threat_average_on_date",
                                    "anrs": [ANR2.upper()]})) == ["2030-01-01"]
    assert dates(processed(client, {"type": "threat", "processor": "threat_average_on_date",
                                    "date_to": "2025-01-01", "local_stats_only": True})) == ["2020-01-01"]


def test_the_seeded_stats_are_processed(client):
    body = processed(client, {"type": "vulnerability", "processor": "vulnerability_average_on_date"})
    assert len(body["data"]) == 3


@pytest.mark.parametrize("body,error", [
    ({"type": "risk", "processor": "threat_average_on_date"},
     {"Error": "Processor 'threat_average_on_date' can not be used with type 'risk'."}),
    ({"type": "cartography", "processor": "risk_averages"},
     {"Error": "Processor 'risk_averages' can not be used with type 'cartography'."}),
    ({"type": "risk", "processor": "risk_process"},
     invalid("processor", "The processor to apply to a list of stats. The value 'risk_process' is not a valid "
                          "choice for 'processor'.")),
    ({"type": "risk"}, invalid("processor", "The processor to apply to a list of stats. Missing required "
                                            "parameter in the JSON body")),
    ({}, invalid("type", "The type of the stats. Missing required parameter in the JSON body")),
    ({"type": "risk", "processor": "risk_averages", "processor_params": "abc"},
     invalid("processor_params", "Arguments passed to the processor. dictionary update sequence element #0 has "
                                 "length 1; 2 is required")),
    ({"type": "risk", "processor": "risk_averages", "local_stats_only": 2},
     invalid("local_stats_only", "Only on local stats The value '2' is not a valid choice for 'local_stats_only'.")),
    ({"type": "risk", "processor": "risk_averages", "get_last": True}, {"message": "Unknown arguments: get_last"}),
])
def test_refusals(client, body, error):
    r = get_json(client, PROCESSED, body)
    assert r.status_code == 400
    assert r.content == restx(error)


@pytest.mark.parametrize("params", [[], [["risks_state", "current"]], None])
def test_processor_params_go_through_dict(client, params):
    assert get_json(client, PROCESSED, {"type": "risk", "processor": "risk_averages_on_date",
                                        "processor_params": params}).status_code == 200


@pytest.mark.parametrize("data,kind", [
    ({"no": "risks"}, "risk"), ({"risks": {"current": {"informational": [{"level": "Huge", "value": 1}]}}}, "risk"),
    ({"uuid": OBJECT}, "threat"), ([{"uuid": OBJECT, "count": 1, "maxRisk": 1}], "threat"),
    (threat(1, rate="abc"), "threat"),
])
def test_stored_data_a_processor_cannot_read_is_a_400_for_everyone_it_reaches(client, twin, data, kind):
    # The real service crashes (500) for every caller whose filter includes such a stat.
    only_new(twin)
    client.post(STATS, headers=key(), json=[stat(anr=ANR1, type=kind, data=data)])
    processor = "risk_averages" if kind == "risk" else "threat_average_on_date"
    r = get_json(client, PROCESSED, {"type": kind, "processor": processor}, token=ACME)
    assert r.status_code == 400
    assert r.json()["Error"].startswith(f"The stored stats cannot be processed by '{processor}'")


def test_a_missing_residual_section_is_tolerated(client, twin):
    only_new(twin)
    client.post(STATS, headers=key(), json=[stat(anr=ANR1, data=risk(5, residual=False))])
    assert processed(client, {"type": "risk", "processor": "risk_averages"})["data"]["residual"]["informational"] == {
        "Low risks": 0, "Medium risks": 0, "High risks": 0}


def test_the_processor_list(client):
    r = client.get("/api/v1/stats/processed/list")
    assert r.status_code == 200
    assert r.headers["content-type"] == JSON
    body = r.json()
    assert [p["name"] for p in body] == ["risk_averages", "risk_averages_on_date", "threat_average_on_date",
                                         "vulnerability_average_on_date"]
    assert list(body[0]) == ["name", "description"]
    assert body[2]["description"] is None
    assert body[0]["description"].startswith("Evaluates the averages for the risks.")
    assert "risks_type" in body[1]["description"] and "risks_state" in body[1]["description"]
    assert body[3]["description"].startswith("Aggregation and average of vulnerabilities per date")
