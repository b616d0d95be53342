"""A documented rule's `complete`: the kit's valid cases are made to meet it before they are
sent, the change reaches the request, and the summary counts it per rule."""
from __future__ import annotations

import schemathesis

from apitwin.conformance.engine import complete
from apitwin.conformance.profiles import Documented, Profile
from apitwin.conformance.results import Results

SPEC = {
    "openapi": "3.0.3", "info": {"title": "t", "version": "1"},
    "paths": {"/things/{id}": {"post": {
        "operationId": "make_thing",
        "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}},
                       {"name": "q", "in": "query", "schema": {"type": "string"}}],
        "requestBody": {"content": {"application/json": {"schema": {"type": "object"}}}},
        "responses": {"200": {"description": "ok"}}}}},
}


def _id_is_hex(draft) -> bool:
    if all(c in "0123456789abcdef" for c in draft.path["id"]):
        return False
    draft.path["id"] = "00ff"
    draft.query["q"] = "set"
    draft.body["completed"] = True
    return True


class OneRule(Profile):
    name = "t"
    documented = (
        Documented("id-is-hex", "positive_data_acceptance", ("make_thing",), 400, lambda ex: True,
                   "ids are hex", planted=(400, {}), complete=_id_is_hex),
        Documented("other-operation", "positive_data_acceptance", ("another",), 400, lambda ex: True,
                   "not this one", planted=(400, {}), complete=lambda draft: 1 / 0),
    )


def _case(**kwargs):
    operation = schemathesis.openapi.from_dict(SPEC)["/things/{id}"]["POST"]
    return operation.Case(**kwargs)


def test_a_completed_case_is_sent_as_completed_and_counted():
    results = Results("t", "http://x")
    body = {"a": 1}
    case = _case(path_parameters={"id": "xyz"}, body=body, media_type="application/json")
    complete(OneRule(), results, "make_thing", case)
    assert case.path_parameters == {"id": "00ff"} and case.query == {"q": "set"}
    assert case.body == {"a": 1, "completed": True} and body == {"a": 1}  # the generated body is not shared
    assert case.formatted_path == "/things/00ff"
    assert list(results.completed.values()) == [1] and "id-is-hex (make_thing): ids are hex" in results.render_text()


def test_a_case_that_meets_the_rule_is_left_as_it_is():
    results = Results("t", "http://x")
    case = _case(path_parameters={"id": "abc"}, body={"a": 1}, media_type="application/json")
    complete(OneRule(), results, "make_thing", case)
    assert case.path_parameters == {"id": "abc"} and case.body == {"a": 1} and not results.completed
