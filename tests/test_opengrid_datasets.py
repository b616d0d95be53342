"""OpenGrid datasets: access by group, descriptors, queries with q/n/s/opts, GeoJSON answers."""
from __future__ import annotations

import json
import re

import pytest
from shapely.geometry import Point, shape

from conftest import make_client
from opengrid_helpers import api, client, error_code, login, q  # noqa: F401

DOWNTOWN = {"type": "MultiPolygon", "coordinates": [[[[-87.63304710388184, 41.89278978584501],
                                                       [-87.61206150054932, 41.89278978584501],
                                                       [-87.61206150054932, 41.88140002416609],
                                                       [-87.63304710388184, 41.88140002416609],
                                                       [-87.63304710388184, 41.89278978584501]]]]}
TRIANGLE = {"type": "Polygon", "coordinates": [[[-87.66, 41.87], [-87.60, 41.87], [-87.63, 41.91], [-87.66, 41.87]]]}
DATE = re.compile(r"^\d{2}/\d{2}/\d{4} \d{2}:\d{2}:\d{2} [AP]M$")


def search(client, headers, dataset="twitter", **params):
    query = "&".join(f"{k}={v if k == 'n' else q(v)}" for k, v in params.items())
    return client.get(f"/datasets/{dataset}/query?{query}", headers=headers)


def test_datasets_follow_the_callers_groups(client):
    assert [d["id"] for d in client.get("/datasets", headers=login(client, "admin")).json()] == ["twitter", "weather"]
    assert [d["id"] for d in client.get("/datasets", headers=login(client, "tester1")).json()] == ["twitter", "weather"]
    tester2 = login(client, "tester2")
    assert [d["id"] for d in client.get("/datasets", headers=tester2).json()] == ["weather"]
    assert client.get("/datasets/twitter", headers=tester2).status_code == 403
    assert search(client, tester2, q={}, n=10).status_code == 403
    assert client.post("/datasets/twitter/query", headers=tester2, data={"q": "{}", "n": "10"}).status_code == 403
    assert search(client, tester2, "weather", q={}, n=1).status_code == 200


def test_descriptor_as_in_the_document(client):
    descriptor = client.get("/datasets/twitter", headers=login(client, "tester1")).json()
    assert descriptor["displayName"] == "Twitter"
    assert descriptor["options"]["quickSearch"]["triggerWord"] == "tweet"
    assert descriptor["options"]["chart"] == {"xAxisField": "date", "xAxisLabel": "Post Date"}
    assert [c["id"] for c in descriptor["columns"]] == [
        "_id", "date", "screenName", "text", "city", "bio", "hashtags", "lat", "long"]
    assert error_code(client.get("/datasets/nope", headers=login(client, "admin"))) == "0200"


def test_n_missing_or_zero_gives_no_features_but_the_view(client):
    headers = login(client, "tester1")
    for answer in (search(client, headers, q={}), search(client, headers, q={}, n=0)):
        body = answer.json()
        assert body["type"] == "FeatureCollection" and body["features"] == []
        assert body["meta"]["view"]["id"] == "twitter"
    assert len(search(client, headers, "weather", n=-1).json()["features"]) == 5040


def test_features_hold_the_descriptors_columns_only(client):
    headers = login(client, "tester1")
    features = search(client, headers, "weather", q={"zipcode": "60601"}, n=50).json()["features"]
    assert len(features) == 50
    columns = {c["id"] for c in client.get("/datasets/weather", headers=headers).json()["columns"]}
    for feature in features:
        props = feature["properties"]
        assert set(props) == columns
        assert props["zipcode"] == "60601"
        assert DATE.match(props["date"])
        assert re.match(r"^[0-9a-f]{24}$", props["_id"]["$oid"])
        assert feature["geometry"] == {"type": "Point", "coordinates": [props["long"], props["lat"]]}
        assert feature["autoPopup"] is False


def test_regex_and_geofilter_together(client):
    headers = login(client, "tester1")
    body = search(client, headers, q={"$and": [{"text": {"$regex": "happy"}}]}, n=6000,
                  opts={"geoFilter": DOWNTOWN}).json()
    area = shape(DOWNTOWN)
    assert len(body["features"]) > 20
    for feature in body["features"]:
        assert "happy" in feature["properties"]["text"]
        assert area.intersects(Point(feature["geometry"]["coordinates"]))
    everywhere = search(client, headers, q={"$and": [{"text": {"$regex": "happy"}}]}, n=6000).json()
    assert len(everywhere["features"]) > len(body["features"])


def test_geofilter_applies_without_a_top_level_and(client):
    headers = login(client, "tester1")
    body = search(client, headers, q={"city": "Chicago, IL"}, n=-1, opts={"geoFilter": TRIANGLE}).json()
    area = shape(TRIANGLE)
    assert body["features"]
    assert all(area.intersects(Point(f["geometry"]["coordinates"])) for f in body["features"])
    assert all(f["properties"]["city"] == "Chicago, IL" for f in body["features"])


def test_post_form_answers_like_get(client):
    headers = login(client, "tester1")
    fields = {"q": json.dumps({"text": {"$regex": "coupon", "$options": "i"}}), "n": "6000",
              "opts": json.dumps({"geoFilter": DOWNTOWN})}
    by_get = search(client, headers, q=json.loads(fields["q"]), n=6000, opts={"geoFilter": DOWNTOWN}).json()
    multipart = client.post("/datasets/twitter/query", headers=headers,
                            files={name: (None, value) for name, value in fields.items()})
    urlencoded = client.post("/datasets/twitter/query", headers=headers, data=fields)
    assert multipart.status_code == urlencoded.status_code == 200
    assert multipart.json() == urlencoded.json() == by_get
    assert by_get["features"]


def test_sort_and_default_sort(client):
    headers = login(client, "tester1")
    temps = [f["properties"]["temp"] for f in search(client, headers, "weather", q={}, n=200, s={"temp": 1}).json()["features"]]
    assert temps == sorted(temps)
    first = search(client, headers, "weather", q={}, n=1).json()["features"][0]["properties"]
    latest = search(client, headers, "weather", q={}, n=-1, s={"date": 1}).json()["features"][-1]["properties"]
    assert first["date"] == latest["date"]  # default: newest first
    assert error_code(search(client, headers, "weather", q={}, n=5, s={"temp": "up"})) == "0300"


def test_dates_can_be_compared_with_dates_in_text(client):
    headers = login(client, "tester1")
    body = search(client, headers, "weather", q={"date": {"$gte": "2025-06-10T00:00:00"}}, n=-1, s={"date": 1}).json()
    assert body["features"]
    assert body["features"][0]["properties"]["date"] == "06/10/2025 12:00:00 AM"
    for bound in ({"$date": "2025-06-10T00:00:00Z"}, "06/10/2025 12:00:00 AM", 1749513600000):
        same = search(client, headers, "weather", q={"date": {"$gte": bound}}, n=-1, s={"date": 1})
        assert len(same.json()["features"]) == len(body["features"]), bound


def test_bad_input_answers_handled_errors(client):
    headers = login(client, "tester1")
    assert error_code(client.get("/datasets/twitter/query?q={oops&n=5", headers=headers)) == "0200"
    assert error_code(client.get("/datasets/nope/query?q={}&n=5", headers=headers)) == "0200"
    assert error_code(search(client, headers, q={"$where": "this.text.length > 3"}, n=5)) == "0300"
    assert error_code(search(client, headers, q={"$expr": {"$function": {"body": "x", "args": [], "lang": "js"}}}, n=5)) == "0300"
    assert error_code(search(client, headers, q={}, n=5, opts={"geoFilter": {"type": "Point", "coordinates": [1, 2]}})) == "0300"
    assert error_code(search(client, headers, q={}, n=5, opts={"geoFilter": {"type": "Polygon", "coordinates": "x"}})) == "0300"
    assert error_code(client.get("/datasets/twitter/query?q={}&n=5&opts=[", headers=headers)) == "0300"


@pytest.mark.parametrize("coordinates", [
    [[[True, 41.87], [-87.60, 41.87], [-87.63, 41.91], [True, 41.87]]],
    [[[-87.66, 41.87, 0, 0], [-87.60, 41.87], [-87.63, 41.91], [-87.66, 41.87]]],
    [[["-87.66", 41.87], [-87.60, 41.87], [-87.63, 41.91], ["-87.66", 41.87]]], "x", [[1, 2]]])
def test_a_geo_filter_needs_positions_of_numbers(client, coordinates):
    # `true` was read as 1 and a 4-number position leaked numpy's message (found probing opts).
    answer = search(client, login(client, "tester1"), "weather", q={}, n=5,
                    opts={"geoFilter": {"type": "Polygon", "coordinates": coordinates}})
    assert answer.json()["error"] == {"code": "0300", "message": "opts.geoFilter is not a valid GeoJSON Polygon: "
                                      "its coordinates must be rings of [long, lat] numbers."}


@pytest.mark.parametrize("raw, said", [
    ({"$and": 5}, "$and must be a nonempty array"), ({"$or": []}, "$or must be a nonempty array"),
    ({"$nor": [5]}, "$nor entries need to be full objects"), ({"text": {"$all": 5}}, "$all needs an array"),
    ({"text": {"$nin": "x"}}, "$nin needs an array"), ({"text": {"$in": {"a": 1}}}, "$in needs an array")])
def test_operands_of_the_wrong_kind_are_refused_in_mongodbs_words(client, raw, said):
    # Was Python's "'int' object is not iterable" (found probing q next to apitwin conform opengrid).
    answer = search(client, login(client, "tester1"), q=raw, n=5)
    assert answer.status_code == 200
    assert answer.json()["error"] == {"code": "0200", "message": f"Invalid query filter: {said}"}


def test_a_catastrophic_regex_is_bounded():
    _, client = make_client("opengrid", regex_budget_seconds=0.3)
    headers = login(client, "tester1")
    answer = search(client, headers, q={"text": {"$regex": "^(.|..)*\\d"}}, n=10)
    assert answer.json()["error"]["code"] == "0300"
    assert "too long" in answer.json()["error"]["message"]
    users = client.get("/users?q=" + q({"userId": {"$regex": "^(\\w+\\s?)*$"}}) + "&n=5", headers=headers)
    assert users.status_code == 200  # short values: bounded and answered either way


@pytest.mark.parametrize("list_id", ["zipcodes", "conditions", "cities"])
def test_autocomplete_lists(client, list_id):
    values = client.get(f"/autocomplete/{list_id}", headers=login(client, "tester1")).json()
    assert values and all(set(v) == {"key", "value"} for v in values)


def test_capabilities_and_unknown_list(client):
    headers = login(client, "tester2")
    assert client.get("/capabilities", headers=headers).json() == {"geoSpatialFiltering": True}
    assert error_code(client.get("/autocomplete/nope", headers=headers)) == "0200"
    assert client.get("/capabilities").status_code == 403
