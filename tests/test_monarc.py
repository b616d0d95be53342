"""MONARC Stats API v2: behaviour through HTTP, as the real service answers."""
from __future__ import annotations

import pytest

from conftest import make_client

CASES = "SylsDTZTBk2zAkg016vW_aCuO1XQDXPsxrLuI1TG7z5sYvUfRlVf5R4g6kDnLI_o-c5iqrswrWzPANDKXmtV7Q"
OTHER = "other-org-key-7Qm2cXv9LpT4wR8sZb1nYk6dHf3jG0aE"
KEY = {"X-API-KEY": CASES}
ANR = "5e6f33d1-99b1-4244-a573-942498a4a201"
STATS = "/api/v2/stats/"


def new_stat(**changes):
    stat = {"anr": ANR, "type": "risk", "day": 1, "week": 1, "month": 1, "quarter": 1,
            "year": 2020, "data": {"what": "you want", "super": "cool"}}
    stat.update(changes)
    return stat


@pytest.fixture
def monarc():
    return make_client("monarc")


@pytest.fixture
def client(monarc):
    return monarc[1]


# -- auth ------------------------------------------------------------------------------
@pytest.mark.parametrize("headers", [{}, {"X-API-KEY": ""}, {"X-API-KEY": "BAD-TOKEN"}])
def test_missing_empty_or_wrong_key_is_401_with_exact_body(client, headers):
    r = client.get(STATS, headers=headers)
    assert r.status_code == 401
    assert r.headers["content-type"] == "application/json"
    assert r.content == b'{"error": "Unauthorized"}'


def test_key_header_name_is_case_insensitive(client):
    assert client.get(STATS, headers={"x-api-key": CASES}).status_code == 200


def test_every_stats_route_needs_a_key(client):
    for method, path in (("GET", STATS), ("POST", STATS), ("GET", STATS + "6592000080777b16b27919b5/"),
                         ("POST", STATS + "6592000080777b16b27919b5/")):
        assert client.request(method, path).status_code == 401, path


def test_auth_can_be_switched_off():
    _, client = make_client("monarc", api_key_authentication=False)
    assert client.get(STATS).status_code == 200
    created = client.post(STATS, json=new_stat()).json()
    assert created["organization"] is None
    # A good key still names the organization.
    assert client.post(STATS, json=new_stat(), headers=KEY).json()["organization"] == "CASES"


# -- stats: create and fetch -------------------------------------------------------------
def test_create_answers_200_with_the_whole_stat_and_it_can_be_fetched(client):
    r = client.post(STATS, json=new_stat(organization="SOMEONE", unknown="dropped"), headers=KEY)
    assert r.status_code == 200
    stat = r.json()
    assert stat["organization"] == "CASES"  # from the key, not the body
    assert "unknown" not in stat
    assert set(stat) == {"uuid", "organization", "anr", "type", "day", "week", "month", "quarter",
                         "year", "data", "created_at", "updated_at", "id"}
    assert stat["created_at"] == stat["updated_at"]
    assert len(stat["created_at"]) == len("2020-05-11T21:56:49.584000")
    fetched = client.get(f"{STATS}{stat['id']}/", headers=KEY)
    assert fetched.status_code == 200
    assert fetched.json() == stat
    listed = client.get(STATS, params={"uuid": stat["uuid"], "anr": ANR, "_limit": 1000}, headers=KEY).json()
    assert stat in listed["data"]


def test_numeric_strings_are_integers_and_empty_data_is_fine(client):
    stat = client.post(STATS, json=new_stat(day="7", week=2.0, data={}), headers=KEY).json()
    assert (stat["day"], stat["week"], stat["data"]) == (7, 2, {})


def test_created_at_reads_the_server_clock(client):
    client.post("/__apitwin/clock", json={"freeze": "2021-03-04T05:06:07.891234Z"})
    stat = client.post(STATS, json=new_stat(), headers=KEY).json()
    assert stat["created_at"] == "2021-03-04T05:06:07.891000"


def test_all_field_errors_at_once(client):
    r = client.post(STATS, json={"day": "abc", "type": "x" * 121, "anr": "not-a-uuid", "data": None},
                    headers=KEY)
    assert r.status_code == 400
    assert r.json() == {"field-errors": {
        "anr": "Could not convert to UUID: badly formed hexadecimal UUID string",
        "type": "String value is too long",
        "day": "abc could not be converted to int",
        "week": "Field is required",
        "month": "Field is required",
        "quarter": "Field is required",
        "year": "Field is required",
        "data": "Field is required",
    }}


def test_duplicate_uuid_is_a_field_error_not_a_crash(client):
    first = client.post(STATS, json=new_stat(), headers=KEY).json()
    r = client.post(STATS, json=new_stat(uuid=first["uuid"]), headers=KEY)
    assert r.status_code == 400
    assert r.json() == {"field-errors": {"uuid": "Tried to save duplicate unique keys"}}


@pytest.mark.parametrize("body, content_type, message", [
    (b"{bad", "application/json", "The request contains invalid JSON."),
    (b"\xff\xfe{}", "application/json", "The request contains invalid JSON."),
    (b"[1, 2]", "application/json", "JSON data must be a dict."),
    (b"{}", "text/plain", "Please send valid JSON with a 'Content-Type: application/json' header."),
])
def test_body_errors(client, body, content_type, message):
    r = client.post(STATS, content=body, headers={**KEY, "content-type": content_type})
    assert r.status_code == 400
    assert r.json() == {"error": message}


@pytest.mark.parametrize("stat_id", ["5eb9ca210381f6f321022ae6", "not-an-id", "zz" * 12])
def test_unknown_or_malformed_id_is_404(client, stat_id):
    r = client.get(f"{STATS}{stat_id}/", headers=KEY)
    assert r.status_code == 404
    assert r.json() == {"error": "Empty query: Stats matching query does not exist."}


# -- listing, filters, pagination -------------------------------------------------------
def all_stats(client, **params):
    return client.get(STATS, params={"_limit": 1000, **params}, headers=KEY).json()["data"]


def test_list_is_in_insertion_order_with_default_page_of_100(client):
    page = client.get(STATS, headers=KEY).json()
    assert len(page["data"]) == 100 and page["has_more"] is True
    assert [s["id"] for s in page["data"]] == sorted(s["id"] for s in page["data"])


def test_shortcut_equals_exact_and_filters_combine(client):
    rows = all_stats(client, organization="CASES", type="risk", month=2)
    assert rows and all((s["organization"], s["type"], s["month"]) == ("CASES", "risk", 2) for s in rows)
    assert rows == all_stats(client, organization__exact="CASES", type__exact="risk", month__exact=2)
    everything = all_stats(client)
    assert len(rows) == sum(1 for s in everything
                            if (s["organization"], s["type"], s["month"]) == ("CASES", "risk", 2))


@pytest.mark.parametrize("param, value, keep", [
    ("month__gt", "2", lambda s: s["month"] > 2),
    ("month__gte", "11", lambda s: s["month"] >= 11),
    ("month__lt", "3", lambda s: s["month"] < 3),
    ("month__lte", "1", lambda s: s["month"] <= 1),
    ("month__ne", "5", lambda s: s["month"] != 5),
    ("month__in", "23", lambda s: s["month"] in (2, 3)),  # one value, digit by digit
    ("month__nin", "23", lambda s: s["month"] not in (2, 3)),
    ("type__iexact", "RISK", lambda s: s["type"] == "risk"),
    ("type__contains", "rea", lambda s: "rea" in s["type"]),
    ("type__icontains", "REA", lambda s: "rea" in s["type"]),
    ("type__startswith", "vul", lambda s: s["type"].startswith("vul")),
    ("type__istartswith", "VUL", lambda s: s["type"].startswith("vul")),
    ("type__endswith", "ance", lambda s: s["type"].endswith("ance")),
    ("type__iendswith", "ANCE", lambda s: s["type"].endswith("ance")),
    ("created_at__gt", "2025-12-01", lambda s: s["created_at"] > "2025-12-01"),
    ("created_at__lt", "2025-01-10T12:00:00", lambda s: s["created_at"] < "2025-01-10T12:00:00"),
    ("created_at__gte", "2025-06-01T00:00:00.000000", lambda s: s["created_at"] >= "2025-06-01"),
])
def test_each_operator_returns_only_and_all_matching_rows(client, param, value, keep):
    everything = all_stats(client)
    expected = [s for s in everything if keep(s)]
    assert 0 < len(expected) < len(everything)
    assert all_stats(client, **{param: value}) == expected


def test_range_on_one_field(client):
    rows = all_stats(client, type="risk", month__gt=2, month__lt=8)
    assert rows and all(s["type"] == "risk" and 2 < s["month"] < 8 for s in rows)


def test_unknown_query_parameters_are_ignored(client):
    assert all_stats(client, color="blue", month__whatever="x") == all_stats(client)


@pytest.mark.parametrize("param, value, message", [
    ("month__gt", "abc", "abc could not be converted to int"),
    ("day", "1.5", "1.5 could not be converted to int"),
    ("month__in", "2,x", "2,x could not be converted to int"),
    ("created_at__gt", "yesterday", "yesterday could not be converted to datetime"),
    ("day__contains", "1", "contains is only available on text fields"),
])
def test_unconvertible_filter_values_are_field_errors(client, param, value, message):
    r = client.get(STATS, params={param: value}, headers=KEY)
    assert r.status_code == 400
    assert r.json() == {"field-errors": {param: message}}


@pytest.mark.parametrize("params, message", [
    ({"_limit": "1001"}, "The limit you set is larger than the maximum limit for this resource (max_limit = 1000)."),
    ({"_limit": "abc"}, '_limit must be an integer (got "abc" instead).'),
    ({"_skip": "-1"}, '_skip must be a non-negative integer (got "-1" instead).'),
    ({"_skip": "x"}, '_skip must be an integer (got "x" instead).'),
    ({"_limit": "1.5"}, '_limit must be an integer (got "1.5" instead).'),
    ({"_limit": "abc", "_skip": "x"}, '_limit must be an integer (got "abc" instead).'),
])
def test_pagination_errors(client, params, message):
    r = client.get(STATS, params=params, headers=KEY)
    assert r.status_code == 400
    assert r.json() == {"error": message}


def test_pages_add_up_to_the_whole(client):
    everything = all_stats(client)
    pages, skip = [], 0
    while True:
        page = client.get(STATS, params={"_skip": skip, "_limit": 70}, headers=KEY).json()
        pages.extend(page["data"])
        skip += 70
        if not page["has_more"]:
            break
    assert pages == everything
    assert client.get(STATS, params={"_skip": len(everything) - 1, "_limit": 1}, headers=KEY).json()["has_more"] is False
    assert client.get(STATS, params={"_skip": len(everything) - 2, "_limit": 1}, headers=KEY).json()["has_more"] is True


def test_stats_of_every_organization_are_visible_to_any_key(client):
    mine = all_stats(client)
    theirs = client.get(STATS, params={"_limit": 1000}, headers={"X-API-KEY": OTHER}).json()["data"]
    assert mine == theirs
    assert {s["organization"] for s in mine} == {"CASES", "OTHER"}


# -- organizations ----------------------------------------------------------------------
def test_organizations_show_names_only(client):
    assert client.get("/api/v2/organizations/", headers=KEY).json() == {
        "data": [{"name": "CASES"}, {"name": "OTHER"}], "has_more": False}


def test_create_organization_with_own_token_then_use_it(client):
    r = client.post("/api/v2/organizations/", json={"name": "NEWORG", "token": "new-org-token"}, headers=KEY)
    assert r.status_code == 200 and r.json() == {"name": "NEWORG"}
    stat = client.post(STATS, json=new_stat(), headers={"X-API-KEY": "new-org-token"}).json()
    assert stat["organization"] == "NEWORG"
    assert client.get("/api/v2/organizations/NEWORG/", headers=KEY).json() == {"name": "NEWORG"}


def test_organization_without_token_gets_a_generated_one(monarc):
    twin, client = monarc
    client.post("/api/v2/organizations/", json={"name": "GEN"}, headers=KEY)
    org = twin.store["organizations"].get_by("name", "GEN")
    assert len(org["token"]) >= 64


@pytest.mark.parametrize("body, errors", [
    ({}, {"name": "Field is required"}),
    ({"name": "X", "token": CASES}, {"token": "Tried to save duplicate unique keys"}),
    ({"name": 5}, {"name": "StringField only accepts string values"}),
])
def test_organization_field_errors(client, body, errors):
    r = client.post("/api/v2/organizations/", json=body, headers=KEY)
    assert r.status_code == 400
    assert r.json() == {"field-errors": errors}


def test_unknown_organization_is_404(client):
    r = client.get("/api/v2/organizations/NOPE/", headers=KEY)
    assert r.status_code == 404
    assert r.json() == {"error": "Empty query: Organization matching query does not exist."}


# -- HTTP conventions --------------------------------------------------------------------
def test_path_without_trailing_slash_redirects_308(client):
    r = client.get("/api/v2/stats?month=2", headers=KEY, follow_redirects=False)
    assert r.status_code == 308
    assert r.headers["location"].endswith("/api/v2/stats/?month=2")
    r = client.get("/api/v2/stats/6592000080777b16b27919b5", headers=KEY, follow_redirects=False)
    assert r.status_code == 308


@pytest.mark.parametrize("method, path, allow", [
    ("put", STATS, "POST, HEAD, GET, OPTIONS"),
    ("delete", STATS + "6592000080777b16b27919b5/", "POST, HEAD, GET, OPTIONS"),
    ("patch", "/api/v2/organizations/", "POST, HEAD, GET, OPTIONS"),
    ("delete", "/api/v2/organizations/CASES/", "POST, PUT, HEAD, GET, OPTIONS"),
])
def test_methods_not_served_are_405_with_the_routes_methods(client, method, path, allow):
    r = client.request(method.upper(), path, headers=KEY)
    assert r.status_code == 405
    assert r.headers["allow"] == allow
    assert r.headers["content-type"] == "text/html; charset=utf-8"



@pytest.mark.parametrize("body", [b'{"day": NaN}', b"{\"day\": 1e999999}x"])
def test_non_json_constants_are_invalid_json(client, body):
    r = client.post(STATS, content=body, headers={**KEY, "content-type": "application/json"})
    assert r.json() == {"error": "The request contains invalid JSON."}


def test_integers_beyond_64_bits_are_refused_not_rounded(client):
    r = client.post(STATS, json=new_stat(year=-9223372036854775809), headers=KEY)
    assert r.status_code == 400
    assert r.json() == {"field-errors": {"year": "-9223372036854775809 could not be converted to int"}}


def test_empty_in_list_is_a_field_error(client):
    r = client.get(STATS, params={"month__in": ""}, headers=KEY)
    assert r.status_code == 400 and "month__in" in r.json()["field-errors"]


def test_null_uuid_means_a_generated_one(client):
    stat = client.post(STATS, json=new_stat(uuid=None), headers=KEY).json()
    assert len(stat["uuid"]) == 36


def test_organization_body_must_be_an_object(client):
    r = client.post("/api/v2/organizations/", json=["CASES"], headers=KEY)
    assert r.status_code == 400 and r.json() == {"error": "JSON data must be a dict."}


def test_a_lone_surrogate_is_invalid_json_not_a_crash(client):
    body = b'{"anr": "5e6f33d1-99b1-4244-a573-942498a4a201", "type": "\\ud9a1", "day": 1, "week": 1, ' \
           b'"month": 1, "quarter": 1, "year": 2020, "data": {}}'
    r = client.post(STATS, content=body, headers={**KEY, "content-type": "application/json"})
    assert r.status_code == 400 and r.json() == {"error": "The request contains invalid JSON."}


@pytest.mark.parametrize("data", [{"t\u0000x": 1}, {"n": 2**70}, [[-(2**64)]]])
def test_data_the_store_cannot_keep_is_a_field_error(client, data):
    r = client.post(STATS, json=new_stat(data=data), headers=KEY)
    assert r.status_code == 400
    assert list(r.json()["field-errors"]) == ["data"]
