"""The conformance kit against MONARC: it passes the real twin and names each planted fault.

Each test serves a variant of apitwin's MONARC server with uvicorn on a free loopback port
(the kit talks HTTP, as it would to any deployment) and runs `apitwin conform monarc`.
"""
from __future__ import annotations

import json
from xml.etree import ElementTree as ET

import pytest

from apitwin.conformance.cli import main as conform
from apitwin.server.core.app import create

# failures_section, rewrite_json and serving are also imported from here by other APIs' tests.
from conformance_helpers import (  # noqa: F401
    conform_output, failing_run, failures_section, free_port, rewrite_json, serving)

KEY = "SylsDTZTBk2zAkg016vW_aCuO1XQDXPsxrLuI1TG7z5sYvUfRlVf5R4g6kDnLI_o-c5iqrswrWzPANDKXmtV7Q"
FAST = ["--max-examples", "5", "--stateful-steps", "5"]


def run_kit(capsys, base_url, *extra, key=KEY):
    return conform_output(capsys, ["monarc", "--base-url", base_url, "--api-key", key, *extra])


# -- the real server passes ----------------------------------------------------------------
def test_passes_against_apitwin_monarc_and_writes_reports(capsys, tmp_path):
    _, app = create("monarc")
    with serving(app) as url:
        code, out, err = run_kit(capsys, url, "--max-examples", "10", "--junit", str(tmp_path / "j.xml"),
                                 "--report-dir", str(tmp_path / "report"))
    assert code == 0, out[-4000:]
    assert "PASSED" in out and "FAILURES" not in out
    for label in ("GET /api/v2/stats/", "POST /api/v2/stats/", "GET /api/v2/stats/{id}/", "POST /api/v2/stats/{id}/",
                  "GET /api/v2/organizations/", "GET /api/v2/organizations/{name}/",
                  "POST /api/v2/organizations/{name}/"):
        row = next(line for line in out.splitlines() if line.startswith(label + " "))
        cases, checks, failed, score = row[len(label):].split()
        assert int(cases) > 0 and int(checks) > 0 and failed == "0" and score == "100.0%", row
    # The organization writes are Schemathesis' too, made safe by the kit's guard
    # (test_conformance_safety.py: the deployment's organizations keep their tokens).
    for label in ("POST /api/v2/organizations/", "PUT /api/v2/organizations/{name}/"):
        row = next(line for line in out.splitlines() if line.startswith(label + " "))
        cases, checks, failed, score = row[len(label):].split()
        assert int(checks) > 0 and failed == "0", row
    assert "organization_token_replaced           passed" in out
    assert "filters_return_only_and_all_matching  passed" in out
    assert "paging_adds_up" in out and "refused_key_stays_refused" in out
    # MONARC deletes nothing: the report lists what the run left behind.
    assert "the API cannot delete it" in out
    suites = ET.parse(tmp_path / "j.xml").getroot()
    assert suites.tag == "testsuites" and not suites.findall(".//failure")
    assert len(suites.findall(".//testcase")) >= 6
    page = (tmp_path / "report" / "report.html").read_text()
    assert "<table>" in page and "GET /api/v2/stats/{id}/" in page and "PASSED" in page
    assert (tmp_path / "report" / "leftovers.txt").read_text().count("stat ") > 0
    created = (tmp_path / "report" / "created.txt").read_text().splitlines()
    assert any(line.startswith("organization apitwin-") for line in created)
    assert KEY not in page and KEY not in out  # credentials never reach a report


def test_read_only_runs_safe_methods_only(capsys):
    twin, app = create("monarc")
    before = {name: len(docs) for name, docs in twin.store.dump().items()}
    with serving(app) as url:
        code, out, _ = run_kit(capsys, url, "--read-only", *FAST)
    assert code == 0, out[-4000:]
    assert {name: len(docs) for name, docs in twin.store.dump().items()} == before
    assert "POST /api/v2/stats/" not in out
    line = next(l for l in out.splitlines() if l.startswith("created_is_listed_and_equal"))
    assert "skipped" in line and "not run with --read-only" in line
    assert "(read-only)" in out


# -- planted faults: each run exits 1 and names the fault ----------------------------------
def test_wrong_status_code_is_named(capsys, tmp_path):
    _, app = create("monarc")

    def created_201(status, body):
        return (201 if status == 200 else status), body, None

    _, failures = failing_run(run_kit, capsys, rewrite_json(app, "/api/v2/stats/", "POST", created_201), *FAST,
                              "--junit", str(tmp_path / "j.xml"))
    assert "[status_code_conformance] POST /api/v2/stats/: Undocumented status code" in failures
    assert "create answered 201: the real service answers 200" in failures
    assert "curl " in failures
    # The JUnit report fails the operation, with the curl line to reproduce it.
    suites = ET.parse(tmp_path / "j.xml").getroot()
    failed = {case.get("name"): case.find("failure") for case in suites.iter("testcase")
              if case.find("failure") is not None}
    assert "POST /api/v2/stats/" in failed
    assert "status_code_conformance" in failed["POST /api/v2/stats/"].text
    assert "curl " in failed["POST /api/v2/stats/"].text


def test_missing_field_is_named(capsys):
    _, app = create("monarc")

    def drop_uuid(status, body):
        if status == 200 and isinstance(body, dict):
            for row in body["data"] if "has_more" in body else [body]:
                row.pop("uuid", None)
        return status, body, None

    _, failures = failing_run(run_kit, capsys, rewrite_json(app, "/api/v2/stats/", None, drop_uuid), *FAST)
    assert "[response_schema_conformance] GET /api/v2/stats/{id}/: Response violates schema" in failures
    assert "[response_schema_conformance] POST /api/v2/stats/: Response violates schema" in failures
    assert '"uuid" is a required property' in failures
    assert "created stat has no valid uuid" in failures


def test_filter_ignoring_its_value_is_named(capsys):
    twin, app = create("monarc")
    real = twin.backend.list_stats
    # `month` and its operators are dropped: the filter "works" but ignores its value.
    twin.backend.list_stats = lambda filters, skip, limit: real(
        {k: v for k, v in filters.items() if not k.startswith("month")}, skip, limit)
    out, failures = failing_run(run_kit, capsys, app, "--scenarios-only")
    assert "filter {'month': '2'} returned rows that do not match it" in failures
    assert "filter {'month__in': '23'} returned rows that do not match it" in failures
    assert "filter {'type': 'risk'}" not in failures  # the filters that work are not blamed
    assert "filters_return_only_and_all_matching  failed" in out


def test_ignored_auth_header_is_named(capsys):
    twin, app = create("monarc")
    twin.backend.organization_for = lambda key: "CASES"  # any key, or none, is let in
    _, failures = failing_run(run_kit, capsys, app, *FAST)
    assert "GET /api/v2/stats/ with a wrong key: expected 401" in failures
    assert "a refused key was accepted" in failures
    assert "[ignored_auth]" in failures


def test_paging_bug_is_named(capsys):
    twin, app = create("monarc")
    real = twin.backend.list_stats

    def no_has_more(filters, skip, limit):
        rows, _ = real(filters, skip, limit)
        return rows, False

    twin.backend.list_stats = no_has_more
    _, failures = failing_run(run_kit, capsys, app, "--scenarios-only")
    assert "has_more is False, expected True" in failures
    assert "paging_adds_up" in failures


def test_skip_off_by_one_is_named(capsys):
    twin, app = create("monarc")
    real = twin.backend.list_stats
    twin.backend.list_stats = lambda filters, skip, limit: real(filters, skip + 1 if skip else 0, limit)
    _, failures = failing_run(run_kit, capsys, app, "--scenarios-only")
    assert "do not add up to the whole listing" in failures


def test_problem_json_errors_are_named(capsys):
    _, app = create("monarc")

    def as_problem(status, body):
        if status == 404:
            return 404, {"type": "about:blank", "title": "Not Found", "status": 404}, "application/problem+json"
        return status, body, None

    _, failures = failing_run(run_kit, capsys, rewrite_json(app, "/api/v2/", "GET", as_problem), *FAST)
    assert "[monarc.conventions] GET /api/v2/stats/{id}/" in failures
    assert "content type application/problem+json" in failures
    assert "is not MONARC's {\"error\": \"...\"}" in failures


def test_all_requests_refused_is_a_failure(capsys):
    _, app = create("monarc")

    probes = []

    async def refuse_after_probe(scope, receive, send):
        # The kit's probe (GET stats with the key, _limit=1, its first request) is let through.
        probe = not probes and scope.get("path") == "/api/v2/stats/" and scope.get("query_string") == b"_limit=1"
        if probe:
            probes.append(scope)
        if scope["type"] != "http" or probe:
            await app(scope, receive, send)
            return
        body = b'{"error": "Unauthorized"}'
        await send({"type": "http.response.start", "status": 401,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", b"25")]})
        await send({"type": "http.response.body", "body": body})

    out, failures = failing_run(run_kit, capsys, refuse_after_probe, *FAST)
    assert "[authentication] (run): all" in failures
    assert "authenticated requests were refused (401/403)" in out


# -- runs that cannot happen exit 2 with one clear line -------------------------------------
def test_unreachable_url_exits_2(capsys):
    code, out, err = run_kit(capsys, f"http://127.0.0.1:{free_port()}")
    assert code == 2
    assert "could not run: the deployment is unreachable" in err
    assert len(err.strip().splitlines()) == 1


def test_refused_key_exits_2(capsys):
    _, app = create("monarc")
    with serving(app) as url:
        code, out, err = run_kit(capsys, url, key="not-a-key")
    assert code == 2
    assert "login refused (the API key was refused" in err


@pytest.mark.parametrize("argv, message", [
    (["monarc", "--api-key", KEY], "--base-url is required"),
    (["monarc", "--base-url", "http://127.0.0.1:1"], "missing --api-key"),
    (["nosuchapi", "--base-url", "http://127.0.0.1:1"], "unknown API 'nosuchapi'"),
    (["monarc", "--base-url", "ftp://x", "--api-key", "k"], "must be an http:// or https:// URL"),
    (["monarc", "--base-url", "http://x", "--api-key", "k", "--max-examples", "many"], "--max-examples"),
    (["monarc", "--base-url", "http://x", "--api-key", "k", "--bogus"], "unrecognized arguments: --bogus"),
])
def test_bad_arguments_exit_2(capsys, argv, message):
    assert conform(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.startswith("apitwin conform: bad arguments:")


def test_options_from_environment_and_config_file(capsys, tmp_path, monkeypatch):
    config = tmp_path / "conform.toml"
    config.write_text('[monarc]\nbase_url = "http://127.0.0.1:1"\napi_key = "from-file"\n')
    monkeypatch.setenv("APITWIN_MONARC_API_KEY", "from-env")
    from apitwin.conformance.cli import parse

    options = parse(["monarc", "--config", str(config)])
    assert options.base_url == "http://127.0.0.1:1" and options.creds == {"api_key": "from-env"}
    options = parse(["monarc", "--config", str(config), "--api-key", "from-flag", "--read-only"])
    assert options.creds == {"api_key": "from-flag"} and options.read_only


def test_known_deviations_are_waived_and_listed_unless_strict(capsys, monkeypatch):
    from apitwin.conformance.profiles import Deviation, get

    twin, app = create("monarc")
    real = twin.backend.list_stats
    # A server that accepts an empty month__in, which the document forbids...
    twin.backend.list_stats = lambda filters, skip, limit: real(
        {k: v for k, v in filters.items() if not (k == "month__in" and v == "")}, skip, limit)
    with serving(app) as url:
        code, out, _ = run_kit(capsys, url, *FAST)
        assert code == 1
        assert "[negative_data_rejection] GET /api/v2/stats/" in failures_section(out)
        assert "month__in" in failures_section(out)
        # ... is waived once the profile lists it as a known deviation, and fails with --strict.
        deviation = Deviation("negative_data_rejection", "list_stats", "empty month__in accepted (planted)",
                              lambda check, ex: ex.query.get("month__in") == "")
        monkeypatch.setattr(get("monarc"), "deviations", (deviation,))
        code, out, _ = run_kit(capsys, url, *FAST)
        assert code == 0, out[-3000:]
        assert "Known deviations of this deployment" in out and "empty month__in accepted (planted)" in out
        code, out, _ = run_kit(capsys, url, "--strict", *FAST)
        assert code == 1 and "month__in" in failures_section(out)


# -- the profile's rules, on answers made up for the purpose ------------------------------
def _exchange(method, url, status, body, ctype="application/json", request=None, operation=None, headers=None):
    from apitwin.conformance.exchange import Exchange

    return Exchange(method=method, url=url, request_headers={},
                    request_body=None if request is None else json.dumps(request).encode(),
                    status=status, headers={"content-type": ctype, **(headers or {})},
                    body=json.dumps(body).encode() if not isinstance(body, bytes) else body,
                    operation=operation, label=f"{method} {url}")


def test_accept_only_explains_justified_rejections():
    from apitwin.conformance.profiles import get

    monarc = get("monarc")
    url = "http://h/api/v2/stats/?month__gt="
    bad_value = _exchange("GET", url + "abc", 400, {"field-errors": {"month__gt": "abc could not be converted to int"}},
                          operation="list_stats")
    assert monarc.accept("positive_data_acceptance", bad_value).name == "filter-value-not-convertible"
    good_value = _exchange("GET", url + "5", 400, {"field-errors": {"month__gt": "5 could not be converted to int"}},
                           operation="list_stats")
    assert monarc.accept("positive_data_acceptance", good_value) is None
    # A name taken is no excuse: the real service upserts organizations (and the kit's names are its own);
    # a token or uuid taken neither: the kit's are always fresh.
    for field in ("name", "token"):
        taken = _exchange("POST", "http://h/api/v2/organizations/", 400,
                          {"field-errors": {field: "Tried to save duplicate unique keys"}},
                          request={"name": "CASES", "token": "t"}, operation="create_organization")
        assert monarc.accept("positive_data_acceptance", taken) is None
    for day, accepted in (("9" * 5000, True), (2**70, True), ("12", False), ("abc", False)):
        big = _exchange("POST", "http://h/api/v2/stats/", 400, {"field-errors": {"day": f"{day} could not be converted to int"}},
                        request={"day": day}, operation="create_stat")
        rule = monarc.accept("positive_data_acceptance", big)
        assert (rule is not None and rule.name == "integer-beyond-64-bits") == accepted, day
    assert monarc.accept("status_code_conformance", bad_value) is None


def test_conventions_name_each_broken_rule():
    from apitwin.conformance.profiles import get

    monarc = get("monarc")
    ok = _exchange("GET", "http://h/api/v2/stats/abc/", 404, {"error": "Empty query: Stats matching query does not exist."},
                   operation="get_stat")
    assert monarc.conventions(ok) == []
    wrong_401 = _exchange("GET", "http://h/api/v2/stats/", 401, {"error": "Invalid key"}, operation="list_stats")
    assert monarc.conventions(wrong_401) == ['401 body {"error": "Invalid key"}: the real service answers exactly {"error": "Unauthorized"}']
    stray = _exchange("POST", "http://h/api/v2/stats/", 400, {"field-errors": {"colour": "bad"}}, request={"day": 1},
                      operation="create_stat")
    assert "field errors on colour" in monarc.conventions(stray)[0]
    from apitwin.conformance.profiles.monarc import WERKZEUG_405

    no_allow = _exchange("DELETE", "http://h/api/v2/stats/", 405, WERKZEUG_405.encode(), ctype="text/html; charset=utf-8")
    assert monarc.conventions(no_allow) == ["405 without an Allow header naming the methods the path serves"]
    as_json = _exchange("DELETE", "http://h/api/v2/stats/", 405, {"error": "The method is not allowed for the requested URL."},
                        headers={"allow": "GET, POST"})
    assert "the real service answers Werkzeug's HTML page" in monarc.conventions(as_json)[0]
    post_on_stat = _exchange("POST", "http://h/api/v2/stats/6592000080777b16b27919b5/", 404, {"error": "Not Found"},
                             operation="post_on_stat")
    assert "expected {\"error\": \"404 Not Found: Did you mean to use PUT?\"}" in monarc.conventions(post_on_stat)[0]
    crash = _exchange("GET", "http://h/api/v2/stats/", 500, b"boom", ctype="text/plain", operation="list_stats")
    assert len(monarc.conventions(crash)) == 3


def test_conventions_take_werkzeugs_404_page_only_where_no_route_serves_the_path():
    # Observed on the real code run locally (stats-service c3139ce, Werkzeug 1.0.1).
    from apitwin.conformance.profiles import get
    from apitwin.conformance.profiles.monarc import WERKZEUG_404

    monarc = get("monarc")
    page = WERKZEUG_404.encode()
    html = "text/html; charset=utf-8"
    slash_in_name = _exchange("GET", "http://h/api/v2/organizations/a%2Fb/", 404, page, ctype=html,
                              operation="get_organization")
    assert monarc.conventions(slash_in_name) == []
    a_served_path = _exchange("GET", "http://h/api/v2/organizations/nobody/", 404, page, ctype=html,
                              operation="get_organization")
    assert "only for a path no route serves" in monarc.conventions(a_served_path)[0]
    other_page = _exchange("GET", "http://h/api/v2/organizations/a%2Fb/", 404, b"<p>gone</p>", ctype=html,
                           operation="get_organization")
    assert "only for a path no route serves" in monarc.conventions(other_page)[0]


@pytest.mark.parametrize("path, location, fine", [
    ("/api/v2/organizations//", "http://h/api/v2/organizations/", True),
    ("/api/v2//stats", "http://h/api/v2/stats/?x=1", True),
    ("/api/v2/stats", "http://h/api/v2/stats/", True),
    ("/api/v2/organizations//", "http://h/api/v2/organizations///", False),
    ("/api/v2/stats/", "http://h/api/v2/stats/", False),
])
def test_conventions_take_a_308_only_to_the_slashed_merged_path(path, location, fine):
    from apitwin.conformance.profiles import get

    redirect = _exchange("GET", "http://h" + path, 308, b"", ctype="text/html; charset=utf-8",
                         headers={"location": location})
    assert (get("monarc").conventions(redirect) == []) == fine


# -- completions: the kit's valid cases made to meet the rules no schema can say -----------
def _completed(rule_name, draft):
    """(whether the rule changed `draft`, the draft after it)."""
    from apitwin.conformance.profiles import get

    rule = next(r for r in get("monarc").documented if r.name == rule_name)
    return rule.complete(draft), draft


def _draft(operation, method="POST", path=None, query=None, body=None):
    from apitwin.conformance.profiles import Draft

    return Draft(operation, method, path or {}, query or {}, body, "application/json")


def test_filter_values_are_completed_to_ones_monarc_converts():
    big = " +" + "9" * 30 + "\n"
    changed, draft = _completed("filter-value-not-convertible", _draft("list_stats", "GET", query={
        "week": big, "day": "-" + "1_0" * 12, "created_at__gt": "ÔZ", "month": "", "month__in": "12",
        "type": "", "created_at__in": "2020-05-12", "_limit": 5}))
    assert changed and draft.query == {
        "week": "9223372036854775807", "day": "-9223372036854775808", "created_at__gt": "2020-05-12",
        "month": "", "month__in": "12", "type": "", "_limit": 5}  # `in` on a date: no value would do
    changed, draft = _completed("filter-value-not-convertible", _draft("list_stats", "GET", query={"week": "7"}))
    assert not changed and draft.query == {"week": "7"}


def test_integers_beyond_64_bits_are_completed_to_the_nearest_bound():
    body = {"day": "\v 47572_13491430_10_189_6_5_1234567890\n", "week": "-" + "9" * 5000, "month": 2**64,
            "quarter": "4", "year": True, "type": "9" * 30}
    changed, draft = _completed("integer-beyond-64-bits", _draft("create_stat", body=body))
    assert changed and draft.body == {"day": "9223372036854775807", "week": "-9223372036854775808",
                                      "month": 9223372036854775807, "quarter": "4", "year": True, "type": "9" * 30}
    assert not _completed("integer-beyond-64-bits", _draft("create_stat", body={"day": " 7"}))[0]


def test_data_is_completed_to_what_mongodb_stores():
    deep = inner = {}
    for _ in range(120):
        inner["x"] = {}
        inner = inner["x"]
    data = {"a\x00b": [2**63, -(2**63) - 1, 1.5e300], "ok": {"\x00": True}, "deep": deep}
    changed, draft = _completed("data-mongodb-cannot-store", _draft("create_stat", body={"day": 1, "data": data}))
    stored = draft.body["data"]
    assert changed and stored["ab"] == [2**63 - 1, -(2**63), 1.5e300] and stored["ok"] == {"": True}
    depth, node = 1, stored["deep"]  # the stat is level 0 of its document, `data` level 1
    while isinstance(node, dict):
        depth, node = depth + 1, node["x"]
    assert depth == 99 and node is None  # the last container MongoDB takes is at level 99
    assert not _completed("data-mongodb-cannot-store", _draft("create_stat", body={"data": {"a": [1, {}]}}))[0]


def test_lone_surrogates_are_completed_away_and_pairs_kept():
    body = {"name": "a\ud800b", "\udfffkey": ["\ud83d\ude00", {"x": "\udc00"}], "token": "😀"}
    changed, draft = _completed("lone-surrogate-is-invalid-json", _draft("create_organization", body=body))
    assert changed and draft.body == {"name": "ab", "key": ["😀", {"x": ""}], "token": "😀"}
    paired = {"type": "\ud83d\ude00"}  # sent as the same JSON text as "😀": nothing to change
    assert not _completed("lone-surrogate-is-invalid-json", _draft("create_stat", body=paired))[0]


def test_an_organization_without_a_token_is_completed_with_one():
    for body in ({"name": "n"}, {"name": "n", "token": None}, {"name": "n", "token": ""}):
        changed, draft = _completed("default-token-taken", _draft("create_organization", body=dict(body)))
        assert changed and isinstance(draft.body["token"], str) and len(draft.body["token"]) >= 32
    assert not _completed("default-token-taken", _draft("create_organization", body={"name": "n", "token": "t"}))[0]


def test_a_put_body_name_is_completed_to_the_path_name():
    changed, draft = _completed("name-cannot-change", _draft("set_organization_token", "PUT", path={"name": "mine"},
                                                             body={"name": "other", "token": "t"}))
    assert changed and draft.body == {"name": "mine", "token": "t"}
    for body in ({"token": "t"}, {"name": "mine"}):
        assert not _completed("name-cannot-change", _draft("set_organization_token", "PUT", path={"name": "mine"},
                                                           body=body))[0]
