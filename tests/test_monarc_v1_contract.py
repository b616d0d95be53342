"""MONARC Stats v1: the contract says what the stand-in accepts. Flask-RESTX converts argument
values (Python's `int()`, its `boolean()`, `list()`, `dict()`) rather than type-checking them,
and a batch's `type` is whatever PostgreSQL casts to text: a value the contract allows gets
the stand-in's 2xx, a value it calls invalid a 400 (conformance runs send both kinds)."""
from __future__ import annotations

import pytest
import yaml
from openapi_schema_validator import OAS30Validator, oas30_format_checker

from apitwin import OPENAPI_DIR
from monarc_v1_helpers import CASES_ANR, PROCESSED, STATS, client, get_json, key, twin, v1  # noqa: F401

SCHEMAS = yaml.safe_load((OPENAPI_DIR / "monarc-v1.yaml").read_text())["components"]["schemas"]
PREFIX = "#/components/schemas/"


def inlined(schema):
    """`schema` with every `$ref` to a component replaced by the component itself."""
    if isinstance(schema, dict):
        if "$ref" in schema:
            return inlined(SCHEMAS[schema["$ref"][len(PREFIX):]])
        return {k: inlined(v) for k, v in schema.items()}
    if isinstance(schema, list):
        return [inlined(item) for item in schema]
    return schema


def allowed(schema_name: str, body) -> bool:
    return OAS30Validator(inlined(SCHEMAS[schema_name]), format_checker=oas30_format_checker).is_valid(body)


INT_OF_0_OR_1 = [0, 1, True, False, 0.5, -0.5, 1.99, "1", " +01 ", "0_0", "-0", "\t0\n",
                 2, -1, 2.0, "2", "-1", "1_", "x", None, [], {}, [0]]
LIST_ARGUMENTS = [
    *[("group_by_anr", value) for value in INT_OF_0_OR_1],
    *[("offset", value) for value in (0, 3, True, False, 2.7, -0.5, "2", " 0_0 ", "+7", "-0", None, 2**63 - 1,
                                      -1, -1.5, "-1", "x", "1.5", [], {}, 2**63, 1e19)],
    *[("get_last", value) for value in (True, False, 0, 1, 0.0, "", "ON", "False", "1", "0", None, [], {},
                                        "yes", 2, "true ", [0], {"a": 1}, -1)],
    *[("anrs", value) for value in (None, [], {}, "", [CASES_ANR], [CASES_ANR.upper()],
                                    "abc", ["abc"], [1], 5, True)],
    *[("anr", value) for value in (None, CASES_ANR, "zzz", 5, [])],
]


@pytest.mark.parametrize("name, value", LIST_ARGUMENTS, ids=[f"{n}={v!r}" for n, v in LIST_ARGUMENTS])
def test_a_listing_argument_is_accepted_exactly_when_the_contract_allows_it(client, name, value):
    body = {"type": "risk", name: value}
    answer = get_json(client, STATS, body)
    assert answer.status_code == (200 if allowed("ListArguments", body) else 400), answer.text[:300]


ON_DATE = "risk_averages_on_date"
PROCESSED_ARGUMENTS = [
    *[(ON_DATE, "local_stats_only", value) for value in INT_OF_0_OR_1],
    *[(ON_DATE, "processor_params", value) for value in (
        None, {}, [], "", {"risks_type": "operational"}, {"risks_type": ["current", {}]}, {"risks_state": {}},
        {"risks_type": 0}, {"risks_type": False}, {"risks_state": None}, {"other": 5},
        {"risks_type": 5}, {"risks_type": True}, {"risks_state": 2.5}, "ab", 5, True)],
    # The other processors read no parameter.
    *[("risk_averages", "processor_params", value) for value in ({"risks_type": 5}, {"risks_state": True}, "ab")],
]


@pytest.mark.parametrize("processor, name, value", PROCESSED_ARGUMENTS,
                         ids=[f"{p}-{n}={v!r}" for p, n, v in PROCESSED_ARGUMENTS])
def test_a_processor_argument_is_accepted_exactly_when_the_contract_allows_it(client, processor, name, value):
    # Over the seeded risk stats: a parameter the processor cannot read is refused.
    body = {"type": "risk", "processor": processor, name: value}
    answer = get_json(client, PROCESSED, body)
    assert answer.status_code == (200 if allowed("ProcessedArguments", body) else 400), answer.text[:300]


PAIRS = [(kind, processor) for kind in ("risk", "vulnerability", "threat", "cartography", "compliance")
         for processor in ("risk_averages", "risk_averages_on_date", "threat_average_on_date",
                           "vulnerability_average_on_date")]


@pytest.mark.parametrize("kind, processor", PAIRS)
def test_a_processor_is_accepted_exactly_with_the_type_the_contract_pairs_it_with(client, kind, processor):
    body = {"type": kind, "processor": processor}
    answer = get_json(client, PROCESSED, body)
    assert answer.status_code == (200 if allowed("ProcessedArguments", body) else 400), answer.text[:300]
    assert (answer.status_code == 200) == processor.startswith(kind + "_")


STAT_TYPES = ["risk", "", 5, -2.5, 1e300, True, False, [], ["a", "b c"], [1, 2.5], [True, False],
              [1, "a"], [True, 1], [[1]], [None], [{}], {}, {"a": 1}]


@pytest.mark.parametrize("value", STAT_TYPES, ids=repr)
def test_a_stats_type_is_stored_exactly_when_the_contract_allows_it(client, value):
    item = {"anr": CASES_ANR, "type": value, "date": "2026-11-30"}
    answer = client.post(STATS, headers=key(), json=[item])
    assert answer.status_code == (201 if allowed("NewStat", item) else 400), answer.text[:300]
