"""MONARC Stats v1: listing (arguments in a JSON body), batch post, one ANR's stats, delete."""
from __future__ import annotations

import pytest

from monarc_v1_helpers import (ACME, ACME_ANR, ADMIN, CASES, CASES_ANR, CASES_ANR2, JSON, STATS, client,  # noqa: F401
                               get_json, invalid, key, restx, stat, twin, v1)

NEW_ANR = "cccccccc-0000-4000-8000-000000000001"


def listed(client, body, token=CASES, **kwargs):
    r = get_json(client, STATS, body, token=token, **kwargs)
    assert r.status_code == 200, r.text
    return r.json()


def dates(body) -> list[str]:
    return [item["date"] for item in body["data"]]


# -- GET stats/: what is listed ------------------------------------------------------------------
def test_the_default_window_is_the_three_months_before_today(client):
    body = listed(client, {"type": "risk"})
    # The fixtures' collection days: 150, 120, 90, 60, 45, 30, 14, 7 and 1 days before 2026-12-01.
    assert sorted(set(dates(body))) == ["2026-09-02", "2026-10-02", "2026-10-17", "2026-11-01", "2026-11-17",
                                        "2026-11-24", "2026-11-30"]
    assert body["metadata"] == {"count": str(len(body["data"])), "offset": "0", "limit": "0"}
    assert {item["anr"] for item in body["data"]} == {CASES_ANR, CASES_ANR2}


def test_each_stat_has_the_models_keys_in_order_and_a_plain_date(client):
    item = listed(client, {"type": "risk"})["data"][0]
    assert list(item) == ["uuid", "anr", "type", "date", "data"]
    assert item["type"] == "risk" and len(item["date"]) == 10


def test_a_client_lists_only_its_own_stats_and_the_admin_everyones(client):
    acme = listed(client, {"type": "threat"}, token=ACME)
    assert {item["anr"] for item in acme["data"]} == {ACME_ANR}
    admin = listed(client, {"type": "threat"}, token=ADMIN)
    assert {item["anr"] for item in admin["data"]} == {CASES_ANR, CASES_ANR2, ACME_ANR}


def test_future_stats_are_left_out_by_the_default_date_to(client):
    client.post(STATS, headers=key(), json=[stat(anr=NEW_ANR, date="2026-12-02")])
    assert NEW_ANR not in {item["anr"] for item in listed(client, {"type": "risk"})["data"]}
    body = listed(client, {"type": "risk", "date_to": "2027-01-01", "anrs": [NEW_ANR]})
    assert dates(body) == ["2026-12-02"]


@pytest.mark.parametrize("date_from,date_to,expected", [
    ("2026-11-24", "2026-11-30", ["2026-11-24", "2026-11-30"]),  # inclusive at both ends
    ("2026-11", "2026-11-20", ["2026-11-01", "2026-11-17"]),  # YYYY-MM is its first day
    ("2026-11-24T23:59:59Z", None, ["2026-11-24", "2026-11-30"]),  # a datetime is cut to its date
    (None, "2026-09-02", ["2026-09-02"]),
    ("2026-11-30", "2026-11-01", []),
])
def test_date_from_and_date_to(client, date_from, date_to, expected):
    body = listed(client, {"type": "risk", "anrs": [CASES_ANR], "date_from": date_from, "date_to": date_to})
    assert dates(body) == expected


def test_date_from_year_only_and_older_stats(client):
    body = listed(client, {"type": "risk", "anrs": [CASES_ANR], "date_from": "2026"})
    assert dates(body)[0] == "2026-07-04"
    assert len(body["data"]) == 9


@pytest.mark.parametrize("anrs", [[], {}, None])
def test_empty_anrs_mean_no_filter(client, anrs):
    assert len(listed(client, {"type": "risk", "anrs": anrs})["data"]) == 14


def test_anrs_filters_and_upper_case_uuids_match(client):
    body = listed(client, {"type": "risk", "anrs": [CASES_ANR2.upper()]})
    assert {item["anr"] for item in body["data"]} == {CASES_ANR2}


def test_limit_and_offset_page_in_insertion_order(client):
    everything = listed(client, {"type": "risk"})["data"]
    page = listed(client, {"type": "risk", "offset": 2, "limit": 3})
    assert page["data"] == everything[2:5]
    assert page["metadata"] == {"count": "3", "offset": "2", "limit": "3"}


@pytest.mark.parametrize("offset", [1, "1", True])
def test_an_offset_without_a_limit_is_always_an_empty_page(client, offset):
    body = listed(client, {"type": "risk", "offset": offset})
    assert body == {"metadata": {"count": "0", "offset": "1", "limit": "0"}, "data": []}


def test_limit_and_offset_are_converted_with_int_and_echoed_as_sent(client):
    body = listed(client, {"type": "risk", "limit": "2", "offset": 1.9})
    assert body["metadata"] == {"count": "2", "offset": "1", "limit": "2"}
    nulls = listed(client, {"type": "risk", "limit": None, "offset": None})
    assert nulls["metadata"] == {"count": "14", "offset": None, "limit": None}
    assert len(listed(client, {"type": "risk", "limit": 1000000})["data"]) == 14


def test_get_last_gives_each_anrs_latest_stat_ignoring_dates_and_paging(client):
    client.post(STATS, headers=key(), json=[stat(anr=CASES_ANR, date="2027-03-01", data={"late": 1})])
    body = listed(client, {"type": "risk", "get_last": True, "date_from": "2020-01-01", "date_to": "2020-01-02",
                           "offset": 5, "limit": 1})
    assert body["metadata"] == {"count": "2", "offset": "0", "limit": "0"}
    assert {item["anr"]: item["date"] for item in body["data"]} == {CASES_ANR: "2027-03-01", CASES_ANR2: "2026-11-30"}


@pytest.mark.parametrize("value", [True, "true", 1, "TRUE"])
def test_get_last_reads_booleans_as_flask_restx_does(client, value):
    assert listed(client, {"type": "risk", "get_last": value})["metadata"]["count"] == "2"


def test_anr_and_group_by_anr_are_validated_but_ignored(client):
    body = listed(client, {"type": "risk", "anr": CASES_ANR2, "group_by_anr": 0})
    assert len(body["data"]) == 14


def test_stored_data_keys_come_back_in_jsonb_order(client):
    data = {"total": 1, "risks": 2, "uuid": "u", "averageRate": "1.5", "maxRisk": 3, "label1": "a", "count": 4,
            "zz": {"bb": 1, "a": 2}, "list": [{"b": 1, "a": 2}]}
    client.post(STATS, headers=key(), json=[stat(anr=NEW_ANR, data=data)])
    item = listed(client, {"type": "risk", "anrs": [NEW_ANR]})["data"][0]
    assert list(item["data"]) == ["zz", "list", "uuid", "count", "risks", "total", "label1", "maxRisk", "averageRate"]
    assert list(item["data"]["zz"]) == ["a", "bb"]
    assert list(item["data"]["list"][0]) == ["a", "b"]


def test_monarcs_collect_stats_precheck(client):
    body = listed(client, {"type": "risk", "date_from": "2026-12-01", "date_to": "2026-12-01"})
    assert body == {"metadata": {"count": "0", "offset": "0", "limit": "0"}, "data": []}


# -- GET stats/: how arguments are read --------------------------------------------------------------
@pytest.mark.parametrize("ctype", ["application/vnd.api+json", "application/json; charset=utf-8"])
def test_any_json_content_type_carries_the_arguments(client, ctype):
    r = client.request("GET", STATS, content=b'{"type": "risk"}', headers=key(**{"Content-Type": ctype}))
    assert r.status_code == 200


MISSING_TYPE = invalid("type", "The type of the stats. Missing required parameter in the JSON body")


@pytest.mark.parametrize("content,ctype", [
    (b'{"type": "risk"}', "text/plain"), (b'{"type": "risk"}', None), (b"type=risk", "application/x-www-form-urlencoded"),
    (b'{"type": ', JSON), (b"null", JSON), (b"{}", JSON), (b"", JSON),
])
def test_without_a_readable_json_object_the_arguments_are_absent(client, content, ctype):
    headers = key(**({"Content-Type": ctype} if ctype else {}))
    r = client.request("GET", STATS, content=content, headers=headers)
    assert r.status_code == 400
    assert r.headers["content-type"] == JSON
    assert r.content == restx(MISSING_TYPE)


def test_query_parameters_are_unknown_arguments(client):
    r = get_json(client, STATS + "?limit=1&zeta=2", {"type": "risk", "foo": 1, "bar": 2})
    assert r.status_code == 400
    assert r.content == restx({"message": "Unknown arguments: foo, bar, limit, zeta"})


def test_a_query_parameter_named_like_a_body_key_is_tolerated(client):
    r = get_json(client, STATS + "?type=threat", {"type": "risk"})
    assert r.status_code == 200
    assert r.json()["data"][0]["type"] == "risk"


@pytest.mark.parametrize("body,field,message", [
    ({"type": "foo"}, "type", "The type of the stats. The value 'foo' is not a valid choice for 'type'."),
    ({"type": 1}, "type", "The type of the stats. The value '1' is not a valid choice for 'type'."),
    ({"type": None}, "type", "The type of the stats. The value 'None' is not a valid choice for 'type'."),
    ({"type": ["risk"]}, "type", "The type of the stats. The value '['risk']' is not a valid choice for 'type'."),
    ({"type": ""}, "type", "The type of the stats. The value '' is not a valid choice for 'type'."),
    ({"type": "Risk"}, "type", "The type of the stats. The value 'Risk' is not a valid choice for 'type'."),
    ({"type": "risk", "date_from": "2026-13-01"}, "date_from",
     'The date of the stats must be bigger or equal than this value. Invalid date literal "2026-13-01"'),
    ({"type": "risk", "date_to": "x"}, "date_to",
     'The date of the stats must be smaller or equal than this value. Invalid date literal "x"'),
    ({"type": "risk", "date_from": 20261115}, "date_from",
     'The date of the stats must be bigger or equal than this value. Invalid date literal "20261115"'),
    ({"type": "risk", "date_from": ""}, "date_from",
     'The date of the stats must be bigger or equal than this value. Invalid date literal ""'),
    ({"type": "risk", "date_from": "01/11/2026"}, "date_from",
     'The date of the stats must be bigger or equal than this value. Invalid date literal "01/11/2026"'),
    ({"type": "risk", "anr": "zzz"}, "anr", "The ANR UUID related to this stats. This is not a valid UUID."),
    ({"type": "risk", "group_by_anr": 2}, "group_by_anr",
     "If the result should be grouped by anr or not. The value '2' is not a valid choice for 'group_by_anr'."),
    ({"type": "risk", "get_last": "yes"}, "get_last",
     "Specify that result should compose only the last records in the results set for each anr. "
     "Dates filters are ignored in this case. Invalid literal for boolean(): yes"),
    ({"type": "risk", "get_last": 2}, "get_last",
     "Specify that result should compose only the last records in the results set for each anr. "
     "Dates filters are ignored in this case. Invalid literal for boolean(): 2"),
    ({"type": "risk", "limit": "abc"}, "limit", "Limit of records invalid literal for int() with base 10: 'abc'"),
    ({"type": "risk", "offset": "x"}, "offset", "Start position invalid literal for int() with base 10: 'x'"),
    ({"type": "risk", "anrs": 5}, "anrs", "List of the anrs' uuids to filter by. 'int' object is not iterable"),
])
def test_validation_messages(client, body, field, message):
    r = get_json(client, STATS, body)
    assert r.status_code == 400
    assert r.content == restx(invalid(field, message))


def test_only_the_first_failing_argument_is_reported_and_value_errors_beat_unknown_ones(client):
    r = get_json(client, STATS + "?x=1", {"limit": "abc", "type": "foo", "anr": "zzz", "other": 1})
    assert r.json() == invalid("anr", "The ANR UUID related to this stats. This is not a valid UUID.")


@pytest.mark.parametrize("body,field", [
    ({"type": "risk", "anrs": ["not-a-uuid"]}, "anrs"),
    ({"type": "risk", "anrs": [5]}, "anrs"),
    ({"type": "risk", "anrs": CASES_ANR}, "anrs"),  # a string is read as its characters
    ({"type": "risk", "limit": -1}, "limit"),
    ({"type": "risk", "offset": -3}, "offset"),
])
def test_what_crashes_the_real_service_is_a_400_naming_the_argument(client, body, field):
    r = get_json(client, STATS, body)
    assert r.status_code == 400
    assert list(r.json()["errors"]) == [field]
    assert r.json()["message"] == "Input payload validation failed"


@pytest.mark.parametrize("content", [b'["type"]', b'"risk"'])
def test_an_array_or_string_body_is_a_400(client, content):
    r = client.request("GET", STATS, content=content, headers=key(**{"Content-Type": JSON}))
    assert r.status_code == 400
    assert r.content == restx({"message": "The arguments must be sent as a JSON object in the request body."})


# -- POST stats/ -------------------------------------------------------------------------------------
def test_a_batch_is_stored_and_owned_by_the_caller(client):
    r = client.post(STATS, headers=key(), json=[stat(anr=NEW_ANR, data={"b": 1, "a": [3, 1]}),
                                                stat(anr=NEW_ANR, type="threat", data=[])])
    assert r.status_code == 201
    assert r.headers["content-type"] == JSON
    body = r.json()
    assert body["metadata"] == {"count": "2", "offset": "0", "limit": "0"}
    assert [(i["anr"], i["type"], i["date"], i["data"]) for i in body["data"]] == [
        (NEW_ANR, "risk", "2026-11-30", {"a": [3, 1], "b": 1}), (NEW_ANR, "threat", "2026-11-30", [])]
    assert listed(client, {"type": "risk", "anrs": [NEW_ANR]})["data"] == body["data"][:1]
    assert listed(client, {"type": "risk", "anrs": [NEW_ANR]}, token=ACME)["data"] == []
    assert listed(client, {"type": "risk", "anrs": [NEW_ANR]}, token=ADMIN)["data"] == body["data"][:1]


def test_an_empty_batch_is_a_201(client):
    r = client.post(STATS, headers=key(), json=[])
    assert r.status_code == 201
    assert r.content == restx({"metadata": {"count": "0", "offset": "0", "limit": "0"}, "data": []})


def test_the_same_batch_twice_is_stored_twice(client):
    for _ in range(2):
        assert client.post(STATS, headers=key(), json=[stat(anr=NEW_ANR)]).status_code == 201
    assert listed(client, {"type": "risk", "anrs": [NEW_ANR]})["metadata"]["count"] == "2"


def test_a_uuid_already_taken_is_a_207_listing_only_the_stored_items(client):
    taken = "dddddddd-0000-4000-8000-000000000001"
    assert client.post(STATS, headers=key(), json=[stat(anr=NEW_ANR, uuid=taken)]).status_code == 201
    r = client.post(STATS, headers=key(), json=[stat(anr=NEW_ANR, uuid=taken), stat(anr=NEW_ANR, type="threat")])
    assert r.status_code == 207
    assert r.json()["metadata"]["count"] == "1"
    assert [item["type"] for item in r.json()["data"]] == ["threat"]


def test_a_missing_column_in_an_item_with_a_uuid_is_a_207(client):
    r = client.post(STATS, headers=key(), json=[{"uuid": "dddddddd-0000-4000-8000-000000000002", "anr": NEW_ANR,
                                                 "type": "risk"}])
    assert r.status_code == 207
    assert r.content == restx({"metadata": {"count": "0", "offset": "0", "limit": "0"}, "data": []})


def test_a_missing_column_without_a_uuid_is_a_400_and_nothing_is_stored(client, twin):
    before = len(twin.store["stats"])
    r = client.post(STATS, headers=key(), json=[stat(anr=NEW_ANR), {"anr": NEW_ANR, "type": "risk"}])
    assert r.status_code == 400
    assert r.json()["errors"] == {"1.date": "Missing required field (the real service answers 500)."}
    assert len(twin.store["stats"]) == before


def test_what_is_accepted_as_is(client):
    items = [stat(anr=NEW_ANR.upper().replace("-", ""), type="foo"), stat(anr=NEW_ANR, type=5),
             {"anr": NEW_ANR, "type": "risk", "date": "11/20/2026"},
             {"anr": NEW_ANR, "type": "risk", "date": "2026-11-21T10:11:12Z", "data": None}]
    r = client.post(STATS, headers=key(), json=items)
    assert r.status_code == 201
    assert [(i["anr"], i["type"], i["date"], i["data"]) for i in r.json()["data"]] == [
        (NEW_ANR, "foo", "2026-11-30", {}), (NEW_ANR, "5", "2026-11-30", {}),
        (NEW_ANR, "risk", "2026-11-20", {}), (NEW_ANR, "risk", "2026-11-21", None)]


def test_an_item_given_its_uuid_keeps_it(client):
    given = "EEEEEEEE-0000-4000-8000-000000000001"
    r = client.post(STATS, headers=key(), json=[stat(anr=NEW_ANR, uuid=given)])
    assert r.json()["data"][0]["uuid"] == given.lower()


@pytest.mark.parametrize("items,field", [
    ([stat(date="2026-13-45")], "0.date"),
    ([stat(date="")], "0.date"),
    ([stat(anr="not-a-uuid")], "0.anr"),
    ([stat(uuid="nope")], "0.uuid"),
    ([stat(foo=1)], "0.foo"),
    ([stat(client_id=3)], "0.client_id"),
    ([stat(), "risk"], "1"),
])
def test_items_the_real_service_crashes_on_are_a_400_and_nothing_is_stored(client, twin, items, field):
    before = len(twin.store["stats"])
    r = client.post(STATS, headers=key(), json=items)
    assert r.status_code == 400
    assert r.headers["content-type"] == JSON
    assert list(r.json()["errors"]) == [field]
    assert len(twin.store["stats"]) == before


@pytest.mark.parametrize("content", [b'{"anr": "x"}', b"null"])
def test_a_body_that_is_not_an_array_is_a_400(client, content):
    r = client.post(STATS, headers=key(**{"Content-Type": JSON}), content=content)
    assert r.status_code == 400
    assert r.content == restx({"message": "The body must be a JSON array of stats objects."})


def test_a_body_not_declared_json_is_a_415(client):
    r = client.post(STATS, headers=key(), content=b"[]")
    assert r.status_code == 415
    assert r.content == restx({"message": "Did not attempt to load JSON data because the request "
                                          "Content-Type was not 'application/json'."})


@pytest.mark.parametrize("content", [b"[", b""])
def test_unreadable_json_is_werkzeugs_400(client, content):
    r = client.post(STATS, headers=key(**{"Content-Type": JSON}), content=content)
    assert r.status_code == 400
    assert r.content == restx({"message": "The browser (or proxy) sent a request that this server could not understand."})


# -- GET and DELETE stats/<anr> ------------------------------------------------------------------------
def test_the_stats_of_an_anr_are_everyones_whatever_the_type_and_date(client):
    r = client.get(f"{STATS}{ACME_ANR}", headers=key(CASES))
    assert r.status_code == 200
    assert r.headers["content-type"] == JSON
    body = r.json()
    assert len(body) == 45 and {item["anr"] for item in body} == {ACME_ANR}
    assert {item["type"] for item in body} == {"risk", "threat", "vulnerability", "cartography", "compliance"}


@pytest.mark.parametrize("anr", [ACME_ANR.upper(), ACME_ANR.replace("-", "")])
def test_the_anr_in_the_path_may_be_upper_case_or_without_dashes(client, anr):
    assert len(client.get(f"{STATS}{anr}", headers=key()).json()) == 45


def test_an_anr_with_no_stats_is_an_empty_array_not_a_404(client):
    r = client.get(f"{STATS}{NEW_ANR}", headers=key())
    assert r.status_code == 200
    assert r.content == b"[]\n"


def test_a_non_uuid_anr_is_a_400(client):
    # The real service answers 500 here.
    r = client.get(f"{STATS}zzz", headers=key())
    assert r.status_code == 400
    assert r.content == restx({"Error": "The ANR must be a UUID."})


def test_delete_removes_every_clients_stats_of_the_anr(client):
    client.post(STATS, headers=key(ACME), json=[stat(anr=CASES_ANR)])
    r = client.delete(f"{STATS}{CASES_ANR}", headers=key(ACME))
    assert r.status_code == 204
    assert r.content == b""
    assert r.headers["content-type"] == JSON
    assert "content-length" not in r.headers
    assert client.get(f"{STATS}{CASES_ANR}", headers=key()).json() == []
    assert len(client.get(f"{STATS}{CASES_ANR2}", headers=key()).json()) == 45


def test_delete_is_idempotent(client):
    assert client.delete(f"{STATS}{NEW_ANR}", headers=key()).status_code == 204


def test_delete_of_a_non_uuid_anr_is_a_400(client):
    # The real service answers 500 {"Error": "Impossible to delete the stats."} here.
    r = client.delete(f"{STATS}zzz", headers=key())
    assert r.status_code == 400
    assert r.content == restx({"Error": "Impossible to delete the stats: the ANR must be a UUID."})


@pytest.mark.parametrize("sent,stored", [
    ("2026/11/20", "2026-11-20"), ("2026.11.20", "2026-11-20"), ("11-20-2026", "2026-11-20"),
    ("20261120", "2026-11-20"), ("Nov 20 2026", "2026-11-20"), ("20 November 2026", "2026-11-20"),
    ("2026-Nov-20", "2026-11-20"), ("Sept 3 2026", "2026-09-03"), ("J2461000", "2025-11-20"),
    ("epoch", "1970-01-01"), ("today", "2026-12-01"), ("yesterday", "2026-11-30"), (" 2026-11-20 ", "2026-11-20"),
])
def test_dates_are_read_as_postgresql_casts_text(client, sent, stored):
    r = client.post(STATS, headers=key(), json=[stat(anr=NEW_ANR, date=sent)])
    assert r.status_code == 201
    assert r.json()["data"][0]["date"] == stored


@pytest.mark.parametrize("sent,stored", [
    (True, "true"), (False, "false"), (1.5, "1.5"), ([1], "{1}"), (["a", "b c"], '{a,"b c"}'),
    ([True, False], "{t,f}"), ([], "{}"), (["NULL", 'x"y'], '{"NULL","x\\"y"}'),
])
def test_a_type_that_is_not_text_is_stored_as_postgresql_writes_it(client, sent, stored):
    r = client.post(STATS, headers=key(), json=[stat(anr=NEW_ANR, type=sent)])
    assert r.status_code == 201
    assert r.json()["data"][0]["type"] == stored


@pytest.mark.parametrize("item,field", [
    (stat(type={"a": 1}), "0.type"), (stat(type=[1, "a"]), "0.type"), (stat(type=[[1]]), "0.type"),
    (stat(date="Novemb 3 2026"), "0.date"), (stat(data={"a": "\u0000"}), "0.data"),
])
def test_what_postgresql_refuses_is_a_400(client, item, field):
    # The real service answers 500 here.
    r = client.post(STATS, headers=key(), json=[item])
    assert r.status_code == 400
    assert list(r.json()["errors"]) == [field]


def test_numbers_of_any_size_are_kept_and_exponents_read_as_jsonb_does(client):
    content = b'[{"anr": "%s", "type": "risk", "date": "2026-11-30", "data": {"big": 123456789012345678901234567890, "e": 1e2, "f": 1.50}}]' % NEW_ANR.encode()
    r = client.post(STATS, headers=key(**{"Content-Type": JSON}), content=content)
    assert r.status_code == 201
    assert b'"data": {"e": 100, "f": 1.5, "big": 123456789012345678901234567890}' in r.content
