"""The conformance kit against OpenGrid: the full run passes the twin; scenarios name planted faults.

OpenGrid answers handled errors with 200 and an error object; the kit reads such an answer
as a rejection, and an HTTP 4xx for a handled error as a fault.
"""
from __future__ import annotations

import json

import pytest

from apitwin.conformance.cli import main as conform
from apitwin.conformance.exchange import Exchange
from apitwin.conformance.profiles import Draft
from apitwin.conformance.profiles.opengrid import PROFILE, complete_object_id, complete_query, complete_storable
from apitwin.server.core.api import available
from apitwin.server.core.app import create

from conftest import make_client
from test_conformance_monarc import failures_section, rewrite_json, serving

pytestmark = pytest.mark.skipif("opengrid" not in available(), reason="the OpenGrid twin is not there")


FAST = ["--max-examples", "2", "--stateful-steps", "3"]


def run_kit(capsys, url, *extra, password="admin"):
    code = conform(["opengrid", "--base-url", url, "--username", "admin", "--password", password, *extra])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_full_run_passes_against_apitwin_opengrid(capsys):
    """Schemathesis phases and scenarios: no failure, and nothing waived."""
    _, app = create("opengrid")
    with serving(app) as url:
        code, out, _ = run_kit(capsys, url, *FAST)
    assert code == 0, out[-4000:]
    assert "PASSED" in out and "FAILURES" not in out
    for label in ("POST /users", "POST /groups/", "POST /queries/", "GET /datasets/{datasetId}/query",
                  "OPTIONS /users/{userId}"):
        row = next(line for line in out.splitlines() if line.startswith(label + " "))
        cases, checks, failed, score = row[len(label):].split()
        assert int(cases) > 0 and failed == "0" and score == "100.0%", row
    assert "Known deviations waived" not in out
    for name in ("refused_token_stays_refused", "group_created_listed_updated_deleted",
                 "filter_returns_only_and_all", "private_datasets"):
        line = next(l for l in out.splitlines() if l.startswith(name))
        assert "passed" in line, line
    assert "0 left" in out


def test_wrong_password_exits_2(capsys):
    _, app = create("opengrid")
    with serving(app) as url:
        code, _, err = run_kit(capsys, url, "--scenarios-only", password="wrong")
    assert code == 2 and "login refused (POST /users/token as admin answered 401" in err


def test_http_4xx_for_a_handled_error_is_named(capsys):
    _, app = create("opengrid")

    def as_http_error(status, body):  # the "usual" REST way, which OpenGrid clients do not expect
        if status == 200 and isinstance(body, dict) and "error" in body:
            return 400, body, None
        return status, body, None

    with serving(rewrite_json(app, "/groups", None, as_http_error)) as url:
        code, out, _ = run_kit(capsys, url, "--scenarios-only")
    assert code == 1
    failures = failures_section(out)
    assert "answered 400: OpenGrid answers handled errors with 200 and an error object" in failures


def test_ignored_filter_is_named(capsys):
    twin, app = create("opengrid")
    real = twin.backend.list_documents
    twin.backend.list_documents = lambda kind, caller, q, n: real(kind, caller, None, n)
    with serving(app) as url:
        code, out, _ = run_kit(capsys, url, "--scenarios-only")
    assert code == 1
    failures = failures_section(out)
    assert "does not return exactly the matching groups" in failures
    assert "listing groups by the new name does not give exactly the created group" in failures


def test_deleted_group_still_found_is_named(capsys):
    _, app = create("opengrid")

    async def no_delete(scope, receive, send):
        if scope["type"] == "http" and scope["method"] == "DELETE" and scope["path"].startswith("/groups/"):
            await send({"type": "http.response.start", "status": 204,
                        "headers": [(b"access-control-allow-origin", b"*")]})
            await send({"type": "http.response.body", "body": b""})
            return
        await app(scope, receive, send)

    with serving(no_delete) as url:
        code, out, _ = run_kit(capsys, url, "--scenarios-only")
    assert code == 1
    assert "a deleted group is still found" in failures_section(out)


HEX_ID = "55ca20b9c4aac050466bc1a3"


def test_a_path_id_that_is_no_objectid_is_completed_to_one():
    """Schemathesis' inferred links put a group's groupId, or a query's `_id` object, in the path."""
    named = Draft("update_group", "PUT", {"groupId": "apitwin-1234abcd-groupid-4"}, {}, {"o": {"groupId": "g"}})
    assert complete_object_id(named) and named.path == {"groupId": "0" * 24} and named.body == {"o": {"groupId": "g"}}
    linked = Draft("get_query", "GET", {"queryId": {"$oid": HEX_ID}}, {})
    assert complete_object_id(linked) and linked.path == {"queryId": HEX_ID}
    for kept in (HEX_ID, '{"$oid":"%s"}' % HEX_ID, '{ "$oid" : "%s" }' % HEX_ID):
        draft = Draft("delete_user", "DELETE", {"userId": kept}, {})
        assert not complete_object_id(draft) and draft.path == {"userId": kept}


def _admin_client():
    _, client = make_client("opengrid")
    token = client.post("/users/token", json={"username": "admin", "password": "admin"}).headers["x-auth-token"]
    return client, {"X-AUTH-TOKEN": token}


def test_an_unstorable_document_is_completed_to_one_the_stand_in_stores():
    o = {"name": "q\ud800", "$set": 1, "a.b": 2, "\ud800k": 3,
         "kept": {"n\x00": 4, "deep": [2**70, -(2**70), "\udc00x"]}}
    draft = Draft("create_query", "POST", {}, {}, {"id": None, "o": o})
    assert complete_storable(draft)
    stored = {"name": "q\ufffd", "kept": {"deep": [2**63 - 1, -(2**63), "\ufffdx"]}}
    assert draft.body == {"id": None, "o": stored} and "$set" in o  # the generated body is not changed
    assert not complete_storable(draft)
    client, admin = _admin_client()
    answer = client.post("/queries", headers={**admin, "Content-Type": "application/json"},
                         content=json.dumps(draft.body).encode())
    assert {k: answer.json()[k] for k in stored} == stored


def test_unusable_query_parameters_are_left_out_and_usable_ones_kept():
    query = {"q": "{bad", "n": 5, "s": '{"date": 2}', "opts": '{"geoFilter": [1]}'}
    draft = Draft("query_dataset", "GET", {"datasetId": "twitter"}, query)
    assert complete_query(draft) and draft.query == {"n": 5}
    for q in ('{"city": {"$bogus": 1}}', "[]", '{"n": NaN}', '{"n": %d}' % 2**64):
        draft = Draft("list_users", "GET", {}, {"q": q, "n": -1})
        assert complete_query(draft) and draft.query == {"n": -1}, q
    usable = {"q": '{"city": "Skokie, IL"}', "n": 5, "s": '{"date": -1}', "opts": ""}
    draft = Draft("query_dataset", "GET", {"datasetId": "twitter"}, dict(usable))
    assert not complete_query(draft) and draft.query == usable
    client, admin = _admin_client()
    answer = client.get("/datasets/twitter/query", params=usable, headers=admin).json()
    assert len(answer["features"]) == 5 and {f["properties"]["city"] for f in answer["features"]} == {"Skokie, IL"}
    form = Draft("query_dataset_form", "POST", {"datasetId": "weather"}, {}, {"q": "not json", "n": 3})
    assert complete_query(form) and form.body == {"n": 3}


def test_an_unknown_dataset_or_list_of_values_is_a_not_found():
    """A valid request naming what the deployment does not hold is no rejection of a valid request."""
    client, admin = _admin_client()
    for path in ("/datasets/no-such-dataset", "/datasets/no-such-dataset/query", "/autocomplete/no-such-list"):
        answer = client.get(path, headers=admin)
        exchange = Exchange("GET", "http://h" + path, {}, None, answer.status_code, {}, answer.content)
        assert answer.json()["error"]["code"] == "0200" and PROFILE.rejected(exchange) == 404, answer.text
    assert isinstance(client.get("/autocomplete/zipcodes", headers=admin).json(), list)  # one that is there
