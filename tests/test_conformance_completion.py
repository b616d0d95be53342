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


# -- a case the kit's guard makes valid is completed too -----------------------------------
RENAME_SPEC = {
    "openapi": "3.0.3", "info": {"title": "t", "version": "1"},
    "paths": {"/things/{id}": {"put": {
        "operationId": "rename_thing",
        "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
        "requestBody": {"content": {"application/json": {"schema": {
            "type": "object", "properties": {"name": {"type": "string"}, "size": {"type": "integer"}}}}}},
        "responses": {"200": {"description": "ok"}}}}},
}


def _noted(draft) -> bool:
    if "note" in draft.body:
        return False
    draft.body["note"] = "completed"
    return True


class Guarded(Profile):
    name = "g"
    target_fields = {"rename_thing": ("name",)}  # the guard writes the run's own name there
    documented = (Documented("needs-a-note", "positive_data_acceptance", ("rename_thing",), 400, lambda ex: True,
                             "a thing is renamed with a note", planted=(400, {}), complete=_noted),)


def _negative_case(body):
    from schemathesis.generation import GenerationMode
    from schemathesis.generation.meta import (CaseMetadata, ComponentInfo, ExamplesPhaseData, GenerationInfo,
                                              PhaseInfo, TestPhase)
    from schemathesis.core.parameters import ParameterLocation

    operation = schemathesis.openapi.from_dict(RENAME_SPEC)["/things/{id}"]["PUT"]
    meta = CaseMetadata(generation=GenerationInfo(time=0.0, mode=GenerationMode.NEGATIVE),
                        components={ParameterLocation.BODY: ComponentInfo(mode=GenerationMode.NEGATIVE)},
                        phase=PhaseInfo(name=TestPhase.EXAMPLES, data=ExamplesPhaseData(None, None, None, None)))
    return operation.Case(path_parameters={"id": "x"}, body=body, media_type="application/json", _meta=meta)


def test_a_case_the_guard_makes_valid_is_completed_and_made_safe():
    from types import SimpleNamespace

    from apitwin.conformance import engine
    from apitwin.conformance.safety import Ledger
    from apitwin.conformance.spec import Routes

    results, ledger = Results("g", "http://x"), Ledger()
    session = SimpleNamespace(routes=Routes(RENAME_SPEC))
    made_valid = _negative_case({"name": 5})  # invalid only by the name the guard replaces
    still_invalid = _negative_case({"name": 5, "size": "big"})
    engine._ACTIVE["run"] = engine._Run(Guarded(), session, results, ledger, strict=True)
    try:
        for case in (made_valid, still_invalid):
            engine.before_call(None, case, {})
    finally:
        engine._ACTIVE.pop("run", None)
    assert made_valid.body == {"name": f"{ledger.prefix}-absent", "note": "completed"}
    assert made_valid.meta.generation.mode.is_positive
    assert still_invalid.body == {"name": f"{ledger.prefix}-absent", "size": "big"}  # negative: left to fail
    assert list(results.completed.values()) == [1]


class QueryRule(Profile):
    name = "t"
    documented = (
        Documented("q-is-set", "positive_data_acceptance", ("make_thing",), 400, lambda ex: True,
                   "q is set", planted=(400, {}), complete=lambda draft: draft.query.update(q="set") is None),
    )


def test_a_case_without_a_body_keeps_having_none():
    # A copy of "no body" would count as a changed body, and Schemathesis would call the
    # completed case invalid (negative) for it.
    case = _case(path_parameters={"id": "abc"})
    before = case.body
    complete(QueryRule(), Results("t", "http://x"), "make_thing", case)
    assert case.query == {"q": "set"} and case.body is before


def test_completions_look_ups_are_kept_once_per_run_and_bounded():
    from types import SimpleNamespace

    from apitwin.conformance import engine
    from apitwin.conformance.safety import Ledger

    asked = []

    def request(method, path, params=None, check=True, count=True):
        asked.append(path)
        return SimpleNamespace(status=200, json=lambda: {"path": path})

    run = engine._Run(OneRule(), SimpleNamespace(request=request), Results("t", "http://x"), Ledger(), strict=False)
    assert run.get("/a") == {"path": "/a"} and run.get("/a") == {"path": "/a"} and asked == ["/a"]
    run.get("/a", once=False)
    assert asked == ["/a", "/a"]
    for n in range(engine.KNOWN_LIMIT + 5):
        run.get(f"/many/{n}")
    assert len(run.known) == engine.KNOWN_LIMIT
    run.get(f"/many/{engine.KNOWN_LIMIT + 1}")  # past the bound: asked again, not kept
    assert asked.count(f"/many/{engine.KNOWN_LIMIT + 1}") == 2
