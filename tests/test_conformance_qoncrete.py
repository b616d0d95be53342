"""The conformance kit against Qoncrete: its scenarios pass the twin and name planted faults.

The full run (Schemathesis phases too) runs once with few examples; the planted faults are
caught by the conventions and scenarios, which run alone for them.
"""
from __future__ import annotations

import json
from datetime import timedelta

import pytest

from apitwin.conformance.cli import main as conform
from apitwin.conformance.engine import _Run
from apitwin.conformance.profiles import Draft
from apitwin.conformance.profiles.qoncrete import PROFILE
from apitwin.conformance.results import Results
from apitwin.conformance.scenarios import Session
from apitwin.conformance.spec import routes_for
from apitwin.server.core.app import create
from apitwin.server.core.api import available

from conformance_helpers import conform_output, failing_run, rewrite_json, serving

pytestmark = pytest.mark.skipif("qoncrete" not in available(), reason="the Qoncrete twin is not there")

LOGIN = ["--email", "demo@qoncrete.test", "--password", "demo1234"]


def run_kit(capsys, url, *extra):
    return conform_output(capsys, ["qoncrete", "--base-url", url, *LOGIN, "--scenarios-only", *extra])


def test_scenarios_pass_against_apitwin_qoncrete(capsys):
    _, app = create("qoncrete")
    with serving(app) as url:
        code, out, _ = run_kit(capsys, url)
    assert code == 0, out[-4000:]
    for name in ("refused_token_stays_refused", "source_created_listed_updated_deleted",
                 "store_item_round_trip", "private_objects"):
        line = next(l for l in out.splitlines() if l.startswith(name))
        assert "passed" in line, line
    # What the run created was deleted; users cannot be.
    assert "not deleted: user apitwin-" in out and "(the API cannot delete it)" in out
    assert all("user apitwin-" in line for line in out.splitlines() if line.startswith("  not deleted:"))
    line = next(l for l in out.splitlines() if l.startswith("report_created_listed_and_deleted"))
    assert "passed" in line, line


def test_full_run_passes_against_apitwin_qoncrete(capsys):
    _, app = create("qoncrete")
    with serving(app) as url:
        code, out, _ = conform_output(capsys, ["qoncrete", "--base-url", url, *LOGIN, "--max-examples", "2"])
    assert code == 0, out[-4000:]
    assert "conformance 100.0%" in out


def test_wrong_password_exits_2(capsys):
    _, app = create("qoncrete")
    with serving(app) as url:
        code = conform(["qoncrete", "--base-url", url, "--email", "demo@qoncrete.test", "--password", "wrong"])
    err = capsys.readouterr().err
    assert code == 2 and "login refused (POST /v2/user/login as demo@qoncrete.test answered 401" in err


def test_update_not_visible_is_named(capsys):
    twin, app = create("qoncrete")
    # The update answers as if applied, but nothing is stored.
    twin.backend.update_source = lambda *args, **kwargs: twin.backend.get_source(*args[:2])
    _, failures = failing_run(run_kit, capsys, app)
    assert "the update is not visible when the source is fetched again" in failures


def test_private_source_readable_by_another_user_is_named(capsys):
    _, app = create("qoncrete")

    def reveal(status, body):  # 403/404 to the other user becomes the source itself
        return (200, {"_id": "leaked"}, None) if status in (403, 404) else (status, body, None)

    _, failures = failing_run(run_kit, capsys, rewrite_json(app, "/v2/source/", "GET", reveal))
    assert "another user read a private source (200)" in failures


def test_problem_json_errors_are_named(capsys):
    _, app = create("qoncrete")

    def as_problem(status, body):
        if status == 401:
            return 401, {"type": "about:blank", "title": "Unauthorized", "status": 401}, "application/problem+json"
        return status, body, None

    _, failures = failing_run(run_kit, capsys, rewrite_json(app, "/v2/source", "GET", as_problem))
    assert "[qoncrete.conventions] GET /v2/source: 401 error with content type application/problem+json" in failures
    assert "is not Qoncrete's {\"code\": <status>, \"text\": \"...\"}" in failures


def test_logs_in_again_when_the_token_expires_mid_run(capsys):
    twin, app = create("qoncrete")
    seen = {"requests": 0}

    async def expire_once(scope, receive, send):
        if scope["type"] == "http":
            seen["requests"] += 1
            if seen["requests"] == 12:  # the JWT the kit holds is now past its 48 hours
                twin.clock.advance(timedelta(hours=49))
        await app(scope, receive, send)

    with serving(expire_once) as url:
        code, out, _ = run_kit(capsys, url)
    assert code == 0, out[-3000:]
    assert "Logged in 2 times" in out


# -- completions: the kit's valid cases made to meet the documented rules ------------------
SOURCE = "8b5229f1-ee8f-4b23-9b4c-6149288cfb51"
BY_COUNTRY = "433e40f7-5d44-4363-96ad-517670fead31"  # 1d; groupBy country, then page; 2 values
BROWSERS = "395b9554-a9b0-47a9-88a4-8b74e3c5e533"  # timeless; groupBy browser family; 1 value


def _rule(name):
    return next(rule for rule in PROFILE.documented if rule.name == name)


@pytest.fixture(scope="module")
def session():
    """The kit's session (logged in as the demo user) against a served stand-in."""
    _, app = create("qoncrete")
    with serving(app) as url:
        run = Session(url, PROFILE, {"email": "demo@qoncrete.test", "password": "demo1234"},
                      Results("qoncrete", url), routes_for("qoncrete"))
        yield run
        run.close()


@pytest.fixture(scope="module")
def get(session):
    """The run's `Draft.get` over that session, as the kit gives it to a completion."""
    return _Run(PROFILE, session, session.results, session.ledger, strict=True).get


def test_register_completion_repeats_the_password():
    draft = Draft("register", "POST", {}, {}, {"email": "a@b.c", "password": "secret1", "passwordConfirm": "x"})
    assert _rule("password-confirm-differs").complete(draft)
    assert draft.body == {"email": "a@b.c", "password": "secret1", "passwordConfirm": "secret1"}
    assert not _rule("password-confirm-differs").complete(draft)


def test_ndjson_completion_makes_each_line_an_event():
    complete = _rule("ndjson-line-not-json").complete
    draft = Draft("ingest_batch", "POST", {}, {}, '{"a": 1}\n  [\r\n\n{"b"\r7\n', "application/x-ndjson")
    assert complete(draft) and draft.body == '{"a": 1}\n{}\r\n\n{}\r{}\n'
    document = Draft("ingest_event", "POST", {}, {}, '[{"a": 1},\n {"b": 2}]', "text/plain")
    assert not complete(document) and document.body == '[{"a": 1},\n {"b": 2}]'  # one JSON text, not NDJSON
    assert not complete(Draft("ingest_event", "POST", {}, {}, {"a": 1}, "application/json"))


def test_definition_completion_fits_fields_to_each_other(session):
    body = {"name": "completed", "period": "1d",
            "preprocess": [{"key": "", "func": "replace", "param1": ""}, {"key": "ua", "func": "ua_parse"}],
            "filter": [{"key": "a", "condition": "contains", "type": "number", "comparator": {"value": 3}},
                       {"key": "n", "condition": ">", "type": "number", "comparator": {"value": "x"}},
                       {"key": "t", "condition": "gte", "type": "time", "comparator": {"value": "2016-13-01"}},
                       {"key": "e", "condition": "exists", "comparator": {"value": "yes"}},
                       {"key": "s", "condition": "eq", "comparator": {"value": {"o": 1}}},
                       {"key": "k", "condition": "eq", "comparator": {"value": "kept"}},
                       {"key": "w", "condition": "exists"}]}
    draft = Draft("create_report", "POST", {"sourceId": SOURCE}, {}, body)
    assert _rule("report-definition-rule").complete(draft)
    assert draft.body["preprocess"] == [{"key": "", "func": "replace", "param1": "x", "injectKey": "injected"},
                                        {"key": "ua", "func": "ua_parse"}]
    assert [f.get("type") for f in draft.body["filter"]] == ["string", "number", "time", None, None, None, None]
    assert [f.get("comparator") for f in draft.body["filter"]] == [
        {"value": "x"}, {"value": 0}, {"value": "now"}, {"value": True}, {"value": "x"}, {"value": "kept"}, None]
    assert not _rule("report-definition-rule").complete(draft)
    source = session.request("POST", "/v2/source", json={"name": session.ledger.unique("completed")})
    made = session.request("POST", f"/v2/source/{source.json()['_id']}/report", json=draft.body)
    assert made.status == 200, made.text


def test_query_completion_keeps_within_the_report_it_names(session, get):
    complete = _rule("beyond-the-report").complete
    path = {"sourceId": SOURCE, "reportId": BY_COUNTRY}
    draft = Draft("scan_keys", "POST", dict(path), {}, {"klen": 8, "sortPos": 51, "filters": [
        {"value": 50, "comp": ">=", "to": 0}, {"value": 1, "comp": ">=", "to": 0}]}, get=get)
    assert complete(draft)
    assert draft.body == {"klen": 2, "sortPos": 3, "filters": [{"value": 3, "comp": ">=", "to": 0},
                                                               {"value": 1, "comp": ">=", "to": 0}]}
    assert session.request("POST", f"/v2/source/{SOURCE}/report/{BY_COUNTRY}/scankeys", json=draft.body).status == 200
    query = {"from": "now-2d", "to": "now", "keys": [["FR", "x"], "/", ["z"]]}
    export = Draft("export_scan_dates", "GET", dict(path), {"query": json.dumps(query)}, get=get)
    assert complete(export) and json.loads(export.query["query"])["keys"] == [["FR"], "/"]
    merge = Draft("merge_reports", "POST", {}, {}, {
        "mainReport": {"sid": SOURCE, "rid": BY_COUNTRY, "klen": 2, "sort": 51},
        "subReports": [{"sid": SOURCE, "rid": BROWSERS}]}, get=get)
    assert complete(merge) and merge.body["mainReport"] == {"sid": SOURCE, "rid": BY_COUNTRY, "klen": 1, "sort": 3}
    assert session.request("POST", "/v2/query/mergereports", json=merge.body).status == 200
    unknown = Draft("scan_keys", "POST", {"sourceId": SOURCE, "reportId": SOURCE}, {}, {"klen": 8}, get=get)
    assert not complete(unknown) and unknown.body == {"klen": 8}  # no such report: nothing to fit


def test_time_range_completion_only_for_a_report_with_time_buckets(session, get):
    complete = _rule("time-range-required").complete

    def draft(report, query):
        return Draft("scan_dates", "POST", {"sourceId": SOURCE, "reportId": report}, {}, dict(query), get=get)

    timeless = draft(BROWSERS, {})
    assert not complete(timeless) and timeless.body == {}
    for sent, completed in (({}, {"from": "now-30d", "to": "now"}),
                            ({"from": "2016-11-01"}, {"from": "2016-11-01", "to": "2016-11-01"}),
                            ({"to": "now-1d"}, {"from": "now-1d", "to": "now-1d"})):
        one = draft(BY_COUNTRY, sent)
        assert complete(one) and one.body == completed
        answer = session.request("POST", f"/v2/source/{SOURCE}/report/{BY_COUNTRY}/scandates", json=one.body)
        assert answer.status == 200, answer.text
