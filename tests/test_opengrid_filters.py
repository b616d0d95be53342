"""The compiled dataset filter answers exactly what mongomock answers."""
from __future__ import annotations

import json
from datetime import datetime

import pytest
from bson import ObjectId
from mongomock.filtering import filter_applies

from apitwin import FIXTURES_DIR
from apitwin.server.opengrid.datasets import row_from_fixture
from apitwin.server.opengrid.fastfilter import compile_filter
from apitwin.server.opengrid.mongoq import prepare_filter

ROWS = [row_from_fixture(row, {"date"})
        for row in json.loads((FIXTURES_DIR / "opengrid" / "weather.json").read_text())[:600]]
ROWS += [
    {"_id": ObjectId("65a000000000000000000001"), "zipcode": None, "temp": "warm", "condition": ["Rain", "Fog"]},
    {"_id": ObjectId("65a000000000000000000002"), "temp": True, "date": "not a date"},
    {"_id": ObjectId("65a000000000000000000003"), "condition": {"nested": 1}, "windspeed": 3},
]

FILTERS = [
    {},
    {"zipcode": "60601"},
    {"zipcode": {"$ne": "60601"}},
    {"zipcode": {"$in": ["60601", "60602"]}},
    {"zipcode": {"$nin": ["60601", "60602"]}},
    {"temp": {"$gt": 25}},
    {"temp": {"$gte": 20, "$lt": 30}},
    {"temp": {"$lte": 20.5}},
    {"temp": 1},
    {"temp": "warm"},
    {"temp": True},
    {"zipcode": None},
    {"zipcode": {"$ne": None}},
    {"zipcode": {"$exists": False}},
    {"condition": "Rain"},
    {"condition": {"$regex": "^rain", "$options": "i"}},
    {"condition": {"$regex": "(Fog|Snow)"}},
    {"condition": {"$not": {"$regex": "Cloudy"}}},
    {"temp": {"$not": {"$gt": 20}}},
    {"date": {"$gte": "2025-06-02T00:00:00"}},
    {"date": {"$lt": {"$date": "2025-06-01T12:00:00Z"}}},
    {"$and": [{"condition": {"$regex": "Rain"}}, {"windspeed": {"$gt": 10}}]},
    {"$or": [{"zipcode": "60601"}, {"humidity": {"$lt": 0.3}}]},
    {"$nor": [{"zipcode": "60601"}, {"condition": "Clear"}]},
    {"$and": [{"$or": [{"zipcode": "60605"}, {"zipcode": "60611"}]}, {"temp": {"$gte": 22}}]},
    {"condition": {"$in": ["Rain", "Snow"]}},
    {"windspeed": {"$type": "double"}},
    {"_id": {"$oid": "5582f831000000000000000a"}},
]


@pytest.mark.parametrize("raw", FILTERS, ids=lambda f: json.dumps(f)[:60])
def test_compiled_filter_matches_mongomock(raw):
    flt = prepare_filter(raw, date_fields=["date"])
    predicate = compile_filter(flt)
    # MongoDB never finds a boolean equal to a number; mongomock (Python's ==) does.
    expected = [row["_id"] for row in ROWS
                if filter_applies(flt, row) and not (json.dumps(raw) == '{"temp": 1}' and row.get("temp") is True)]
    assert [row["_id"] for row in ROWS if predicate(row)] == expected


def test_the_sample_holds_rows_for_the_filters():
    assert sum(row.get("zipcode") == "60601" for row in ROWS) > 10
    assert any(isinstance(row.get("date"), datetime) and row["date"] >= datetime(2025, 6, 2) for row in ROWS)
