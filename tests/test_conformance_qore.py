"""The conformance kit against Qore: its scenarios pass the twin and name planted faults."""
from __future__ import annotations

import pytest

from apitwin.conformance.cli import main as conform
from apitwin.server.core.api import available
from apitwin.server.core.app import create

from conformance_helpers import failures_section, rewrite_json, serving

pytestmark = pytest.mark.skipif("qore" not in available(), reason="the Qore twin is not there")

ALICE = "1|qoreAliceDemoToken0000000000000000000000"
TABLE = "/api/resources/projects/table/projects"
BOB = "2|qoreBobDemoToken000000000000000000000000"


def run_kit(capsys, url, *extra, token=ALICE, phases=("--scenarios-only",)):
    code = conform(["qore", "--base-url", url, "--token", token, "--other-token", BOB, *phases, *extra])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_scenarios_pass_against_apitwin_qore(capsys):
    _, app = create("qore")
    with serving(app) as url:
        code, out, _ = run_kit(capsys, url)
    assert code == 0, out[-4000:]
    for name in ("refused_token_stays_refused", "table_pages_add_up", "filter_returns_only_and_all_matching",
                 "project_created_listed_updated_deleted", "validation_errors_in_laravel_shape", "private_objects"):
        line = next(l for l in out.splitlines() if l.startswith(name))
        assert "passed" in line, line


def test_full_run_passes_against_apitwin_qore(capsys):
    _, app = create("qore")
    with serving(app) as url:
        code, out, _ = run_kit(capsys, url, "--max-examples", "3", phases=())
    assert code == 0, out[-4000:]
    assert "conformance 100.0%" in out


def test_refused_token_exits_2(capsys):
    _, app = create("qore")
    with serving(app) as url:
        code, _, err = run_kit(capsys, url, token="9|nope")
    assert code == 2 and "login refused (the token was refused" in err


def test_ignored_token_is_named(capsys):
    _, app = create("qore")

    async def any_token(scope, receive, send):  # every request is let in as Alice
        if scope["type"] == "http":
            headers = [(k, v) for k, v in scope["headers"] if k != b"authorization"]
            scope = {**scope, "headers": headers + [(b"authorization", f"Bearer {ALICE}".encode())]}
        await app(scope, receive, send)

    with serving(any_token) as url:
        code, out, _ = run_kit(capsys, url)
    assert code == 1
    failures = failures_section(out)
    assert "GET /api/me with a wrong token (attempt 1): expected 401" in failures
    assert "a refused token was accepted after a good request" in failures


def test_paging_total_off_by_one_is_named(capsys):
    _, app = create("qore")

    def more(status, body):
        if status == 200 and isinstance(body, dict) and isinstance(body.get("meta"), dict):
            body["meta"]["total"] += 1
        return status, body, None

    with serving(rewrite_json(app, "/api/resources/projects/table/", "GET", more)) as url:
        code, out, _ = run_kit(capsys, url)
    assert code == 1
    assert "table_pages_add_up" in failures_section(out) and "meta.total says" in failures_section(out)


def test_filter_ignoring_its_value_is_named(capsys):
    _, app = create("qore")

    async def no_search(scope, receive, send):  # search_columns is dropped on the way in
        if scope["type"] == "http" and b"search_columns" in scope.get("query_string", b""):
            query = b"&".join(p for p in scope["query_string"].split(b"&") if not p.startswith(b"search_columns="))
            scope = {**scope, "query_string": query}
        await app(scope, receive, send)

    with serving(no_search) as url:
        code, out, _ = run_kit(capsys, url)
    assert code == 1
    failures = failures_section(out)
    assert "returned rows of another status" in failures


# -- the documented rules' completions: a generated valid case before -> after, then sent ------
@pytest.fixture(scope="module")
def stand_in():
    """A Qore stand-in and a `Draft.get` through it with Alice's token (as a run's session)."""
    from conftest import make_client

    _, client = make_client("qore")
    auth = {"Authorization": f"Bearer {ALICE}"}

    def get(path, params=None, once=True):
        answer = client.get(path, params=params, headers=auth)
        return answer.json() if answer.status_code == 200 else None

    return client, auth, get


def _draft(get, operation, method, path, query=None, body=None, media="application/json"):
    from apitwin.conformance.profiles import Draft

    return Draft(operation, method, path, query or {}, body, media, get)


def _rule(name):
    from apitwin.conformance.profiles.qore import PROFILE

    return next(rule for rule in PROFILE.documented if rule.name == name)


def test_a_reload_of_no_relation_asks_for_the_resources_first_one(stand_in):
    client, auth, get = stand_in
    draft = _draft(get, "get_create_form", "GET", {"resource_name": "issues"}, {"field": "issue"},
                   {"field": None, "action": {"name": "reloadRelatedOptions"}})
    assert _rule("form-field").complete(draft)
    assert draft.body == {"field": "project", "action": {"name": "reloadRelatedOptions"}}
    answer = client.request("GET", "/api/resources/issues/create", params=draft.query, json=draft.body, headers=auth)
    assert answer.status_code == 200 and list(answer.json()["fields"]) == ["project"]
    kept = _draft(get, "get_edit_form", "GET", {"resource_name": "issues", "id": 1}, {"field": "milestone"},
                  {"action": {"name": "reloadRelatedOptions"}})
    assert not _rule("form-field").complete(kept) and kept.query == {"field": "milestone"}


def test_a_reload_on_a_resource_without_relations_asks_for_the_whole_form(stand_in):
    _, _, get = stand_in
    draft = _draft(get, "get_create_form", "GET", {"resource_name": "organizations"}, {},
                   {"field": "name", "action": {"name": "reloadRelatedOptions"}, "state": {}})
    assert _rule("form-field").complete(draft) and draft.body == {"field": "name", "state": {}}


def test_a_tables_own_tabs_and_columns_replace_others(stand_in):
    client, auth, get = stand_in
    draft = _draft(get, "get_table", "GET", {"resource_name": "projects", "table_name": "open_projects"},
                   {"tab": "Open", "sort_column": "budget", "search_columns": '{"name": "e", "budget": 1}', "page": "1"},
                   {"search_columns": {"x-other": None, "code": "PQL"}, "tab": None})
    assert _rule("table-names-unknown").complete(draft)
    assert draft.query == {"tab": "Alle", "sort_column": "name", "search_columns": '{"name": "e"}', "page": "1"}
    assert draft.body == {"search_columns": {"code": "PQL"}, "tab": None}
    answer = client.request("GET", "/api/resources/projects/table/open_projects", params=draft.query,
                            json=draft.body, headers=auth)
    assert answer.status_code == 200
    assert not _rule("table-names-unknown").complete(draft)


def test_search_columns_that_is_no_map_is_left_out(stand_in):
    _, _, get = stand_in
    draft = _draft(get, "get_table", "GET", {"resource_name": "projects", "table_name": "projects"},
                   {"search_columns": "[1]", "per_page": "5"}, {"search_columns": "name"},
                   "application/x-www-form-urlencoded")
    assert _rule("search-columns-not-a-map").complete(draft)
    assert draft.query == {"per_page": "5"} and draft.body == {}
    fine = _draft(get, "get_table", "GET", {"resource_name": "projects", "table_name": "projects"},
                  {"search_columns": '{"name": "e"}'}, {"search_columns": {"name": "e"}})
    assert not _rule("search-columns-not-a-map").complete(fine)


def test_a_create_gets_the_resources_own_required_fields_and_rules(stand_in):
    client, auth, get = stand_in
    body = {"title": " ", "code": "QL.25.0001", "milestone": 999999, "estimate": "many", "priority": "high",
            "not-a-field": 1}
    draft = _draft(get, "create_resource", "POST", {"resource_name": "issues"}, body=body)
    assert _rule("resource-field-rules").complete(draft)
    made = draft.body
    assert made["title"] == "apitwin" and made["code"] != "QL.25.0001"  # blank, and taken (unique)
    assert isinstance(made["project"], int) and made["estimate"] == 0
    # a milestone of that project, or none when it has none
    assert made.get("milestone") is None or isinstance(made["milestone"], int)
    assert made["priority"] == "high" and made["not-a-field"] == 1  # what meets the rules stays
    answer = client.post("/api/resources/issues", json=made, headers=auth)
    assert answer.status_code == 201, answer.text


def test_a_form_create_sends_a_list_field_as_a_list(stand_in):
    client, auth, get = stand_in
    draft = _draft(get, "create_resource", "POST", {"resource_name": "users"}, body={"tenants": "1", "name": "N"},
                   media="application/x-www-form-urlencoded")
    assert _rule("resource-field-rules").complete(draft)
    assert draft.body["tenants[0]"] == "1" and "tenants" not in draft.body and draft.body["name"] == "N"
    answer = client.post("/api/resources/users", data=draft.body, headers=auth)
    assert answer.status_code == 201, answer.text


def test_an_inline_edit_gets_its_field_and_an_update_is_left_with_what_it_sends(stand_in):
    client, auth, get = stand_in
    mine = get(TABLE)["data"][0]["id"]  # one of Alice's tenant's projects
    inline = _draft(get, "update_inline", "PUT", {"resource_name": "projects", "id": mine, "field_name": "name"},
                    body={"other": 1})
    assert _rule("resource-field-rules").complete(inline) and inline.body == {"other": 1, "name": "apitwin"}
    assert client.put(f"/api/resources/projects/{mine}/inline/name", json=inline.body, headers=auth).status_code == 200
    update = _draft(get, "update_resource", "PUT", {"resource_name": "projects", "id": mine}, body=[1, 2])
    assert not _rule("resource-field-rules").complete(update) and update.body == [1, 2]  # read as no change


def test_a_token_is_asked_for_the_contracts_example_account_and_a_future_date(stand_in):
    client, _, get = stand_in
    body = {"email": "bob@acme.test", "password": "nope", "device_name": "d", "expiration_date": "2001-01-01"}
    draft = _draft(get, "create_api_token", "POST", {}, body=body)
    assert _rule("wrong-credentials").complete(draft) and _rule("expiration-date-not-a-future-date").complete(draft)
    assert (draft.body["email"], draft.body["password"]) == ("alice@qlic.nl", "password")
    assert draft.body["expiration_date"] > "2026"
    assert client.post("/api/api_tokens", json=draft.body).status_code == 201
    for kept in (None, "", "2999-12-31T10:00:00Z"):
        same = _draft(get, "create_api_token", "POST", {}, body={"expiration_date": kept})
        assert not _rule("expiration-date-not-a-future-date").complete(same)


def test_a_row_deleted_by_its_action_is_not_found_afterwards_by_right():
    from apitwin.conformance.engine import deleted_before
    from apitwin.conformance.exchange import Exchange
    from apitwin.conformance.profiles.qore import PROFILE

    def exchange(method, path, status, operation):
        return Exchange(method, f"http://x{path}", {}, None, status, operation=operation)

    delete = exchange("POST", "/api/resources/organizations/actions/delete_resource/36", 200, "run_action")
    other_action = exchange("POST", "/api/resources/organizations/actions/deactivate/36", 200, "run_action")
    assert PROFILE.removes(delete) and not PROFILE.removes(other_action)
    removed = {PROFILE.subject(delete)}
    assert deleted_before(PROFILE, exchange("POST", "/api/resources/organizations/36", 404, "update_resource_form"),
                          removed)
    assert deleted_before(PROFILE, exchange("GET", "/api/resources/organizations/36/edit", 404, "get_edit_form"),
                          removed)
    assert not deleted_before(PROFILE, exchange("GET", "/api/resources/organizations/37", 404, "get_resource"),
                              removed)
    assert not deleted_before(PROFILE, exchange("GET", "/api/resources/projects/36", 404, "get_resource"), removed)
