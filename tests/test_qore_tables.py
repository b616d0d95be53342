"""Qore: table index (tabs, search_columns, sorting, paging), detail, options, forms, search."""
from __future__ import annotations

import pytest

from conftest import make_client

ALICE = {"Authorization": "Bearer 1|qoreAliceDemoToken0000000000000000000000"}
BOB = {"Authorization": "Bearer 2|qoreBobDemoToken000000000000000000000000"}
PROJECTS = "/api/resources/projects/table/projects"


@pytest.fixture(scope="module")
def client():
    # Read-only tests share one client.
    return make_client("qore")[1]


def table(client, path=PROJECTS, headers=ALICE, **body):
    return client.request("GET", path, headers=headers, json=body or None)


def test_default_page_is_laravels_paginator_with_column_metadata(client):
    response = table(client)
    assert response.status_code == 200
    page = response.json()
    assert page["meta"]["per_page"] == 15
    assert page["meta"]["current_page"] == 1
    assert page["meta"]["total"] == 12
    assert page["meta"]["from"] == 1 and page["meta"]["to"] == 12
    assert page["links"]["prev"] is None and page["links"]["next"] is None
    assert page["links"]["first"].endswith(PROJECTS + "?page=1")
    assert [c["name"] for c in page["columns"]] == ["name", "code", "organization", "status", "budget"]
    assert page["tabs"][0] == {"name": "Alle", "label": "Alle", "active": True}
    names = [row["name"] for row in page["data"]]
    assert names == sorted(names, key=str.casefold)  # the table's default sort


def test_tenants_see_only_their_own_rows(client):
    alice = {row["id"] for row in table(client, per_page=100).json()["data"]}
    bob = {row["id"] for row in table(client, headers=BOB, per_page=100).json()["data"]}
    assert len(alice) == 12 and len(bob) == 12
    assert not alice & bob
    other = sorted(bob)[0]
    response = client.get(f"/api/resources/projects/{other}", headers=ALICE)
    assert response.status_code == 404
    assert response.json() == {"message": f"No query results for model [App\\Models\\Project] {other}"}


def test_the_seeds_json_body_filters_sorts_and_pages(client):
    body = {"tab": "Alle", "search_columns": {"name": "e"}, "sort_column": "name",
            "sort_direction": "ascending", "per_page": 100, "page": 1}
    rows = table(client, **body).json()["data"]
    assert rows and all("e" in row["name"].lower() for row in rows)
    everyone = table(client, per_page=100).json()["data"]
    assert len(rows) == sum("e" in row["name"].lower() for row in everyone)
    organizations = {rows[0]["organization"]["value"]}
    only = table(client, search_columns={"organization": sorted(organizations)}, per_page=100).json()["data"]
    assert only and {row["organization"]["value"] for row in only} == organizations


def test_query_parameters_work_like_the_body(client):
    by_body = table(client, search_columns={"name": "e", "status": ["open", "closed"]}, sort_column="code",
                    sort_direction="descending", per_page=5, page=2).json()
    query = ("?search_columns[name]=e&search_columns[status][]=open&search_columns[status][]=closed"
             "&sort_column=code&sort_direction=desc&per_page=5&page=2")
    by_query = client.get(PROJECTS + query, headers=ALICE).json()
    assert by_query["data"] == by_body["data"]
    assert by_query["meta"]["total"] == by_body["meta"]["total"]
    as_json = client.get(PROJECTS + '?search_columns={"name":"e","status":["open","closed"]}&sort_column=code'
                         "&sort_direction=descending&per_page=5&page=2", headers=ALICE).json()
    assert as_json["data"] == by_body["data"]


def test_sorting_both_ways_and_relations_by_label(client):
    up = [r["code"] for r in table(client, sort_column="code", sort_direction="ascending").json()["data"]]
    down = [r["code"] for r in table(client, sort_column="code", sort_direction="descending").json()["data"]]
    assert up == sorted(up) and down == up[::-1]
    rows = table(client, sort_column="organization", per_page=100).json()["data"]
    labels = [r["organization"]["label"].casefold() for r in rows if r["organization"]]
    assert labels == sorted(labels)


def test_paging_adds_up(client):
    path = "/api/resources/issues/table/issues"
    seen, page = [], 1
    while True:
        body = table(client, path, per_page=7, page=page).json()
        seen += [row["id"] for row in body["data"]]
        if body["links"]["next"] is None:
            break
        page += 1
    assert body["meta"]["last_page"] == page
    assert len(seen) == len(set(seen)) == body["meta"]["total"] == 80
    past = table(client, path, per_page=7, page=99).json()
    assert past["data"] == [] and past["meta"]["from"] is None and past["meta"]["to"] is None
    links = table(client, path, per_page=2, page=20).json()["meta"]["links"]
    labels = [link["label"] for link in links]
    assert labels[0] == "&laquo; Previous" and labels[-1] == "Next &raquo;"
    assert labels[1:3] == ["1", "2"] and "..." in labels and labels[-3:-1] == ["39", "40"]
    assert [l["label"] for l in links if l["active"]] == ["20"]


def test_tabs_filter_rows(client):
    path = "/api/resources/issues/table/issues"
    done = table(client, path, tab="Klaar", per_page=100).json()
    assert done["data"] and {r["status"] for r in done["data"]} == {"done"}
    assert [t["name"] for t in done["tabs"] if t["active"]] == ["Klaar"]
    mine = table(client, "/api/resources/registrations/table/registrations", tab="Mijn registraties",
                 per_page=100).json()["data"]
    assert mine and {r["user"]["value"] for r in mine} == {1}


def test_prefer_minimal_drops_the_metadata(client):
    for prefer in ("return=minimal", "return:minimal", "return : minimal"):
        response = client.get(PROJECTS, headers={**ALICE, "Prefer": prefer})
        assert response.headers["Preference-Applied"] == "return=minimal"
        assert set(response.json()) == {"data", "links", "meta"}
    detail = client.get("/api/resources/projects/1", headers={**ALICE, "Prefer": "return=minimal"})
    assert set(detail.json()) == {"data"}
    full = client.get("/api/resources/projects/1", headers=ALICE)
    assert "Preference-Applied" not in full.headers
    assert {"data", "fields", "actions"} <= set(full.json())


@pytest.mark.parametrize("body, key, message", [
    ({"tab": "Nope"}, "tab", "The selected tab is invalid."),
    ({"search_columns": {"description": "x"}}, "search_columns.description",
     "The selected search columns.description is invalid."),
    ({"sort_column": "description"}, "sort_column", "The selected sort column is invalid."),
    ({"sort_direction": "up"}, "sort_direction", "The selected sort direction is invalid."),
    ({"per_page": 0}, "per_page", "The per page field must be at least 1."),
    ({"per_page": "many"}, "per_page", "The per page field must be an integer."),
    ({"page": -1}, "page", "The page field must be at least 1."),
    ({"page": 2**90}, "page", "The page field must be an integer."),  # beyond PHP's integers: a float there
    ({"search_columns": "name"}, "search_columns", "The search columns field must be an array."),
])
def test_bad_table_parameters_answer_422(client, body, key, message):
    response = table(client, **body)
    assert response.status_code == 422
    assert response.json() == {"message": message, "errors": {key: [message]}}


@pytest.mark.parametrize("path", [
    "/api/resources/nope/table/nope", "/api/resources/projects/table/nope",
    "/api/resources/projects/field/nope/options", "/api/resources/nope/1",
])
def test_unknown_names_answer_404(client, path):
    response = client.get(path, headers=ALICE)
    assert response.status_code == 404
    assert response.json() == {"message": "Not Found"}


def test_a_second_table_of_a_resource(client):
    rows = table(client, "/api/resources/projects/table/open_projects", per_page=100).json()["data"]
    assert rows and {r["status"] for r in rows} == {"open"}


def test_field_options_are_the_callers_rows(client):
    projects = client.get("/api/resources/issues/field/project/options", headers=ALICE).json()["data"]
    mine = {row["id"] for row in table(client, per_page=100).json()["data"]}
    assert {o["value"] for o in projects} == mine
    status = client.get("/api/resources/projects/field/status/options", headers=ALICE).json()["data"]
    assert {"label": "Open", "value": "open"} in status
    found = client.get("/api/resources/projects/field/organization/options?query=bouw", headers=ALICE).json()["data"]
    assert found and all("bouw" in o["label"].lower() for o in found)
    assert client.get("/api/resources/projects/field/name/options", headers=ALICE).status_code == 404


def test_reload_related_options_as_the_seed_shows(client):
    body = {"initial_request": False, "field": "issue", "state": {"project": 1},
            "action": {"name": "reloadRelatedOptions"}}
    response = client.request("GET", "/api/resources/registrations/create",
                              headers={**ALICE, "Prefer": "return:minimal"}, json=body)
    assert response.status_code == 200
    options = response.json()["fields"]["issue"]["relatedOptions"]
    assert options[0] == {"group": "Geen Milestone", "disable": True}
    values = [o["value"] for o in options if "value" in o]
    for issue in values:
        assert client.get(f"/api/resources/issues/{issue}", headers=ALICE).json()["data"]["project"]["value"] == 1
    everyone = client.get("/api/resources/issues/table/issues?per_page=1000&search_columns[project][]=1",
                          headers=ALICE).json()["data"]
    assert sorted(values) == sorted(r["id"] for r in everyone)
    assert all(o["description"].startswith("QL.") for o in options if "value" in o)
    by_query = client.get("/api/resources/registrations/create?field=issue&state[project]=1"
                          "&action[name]=reloadRelatedOptions", headers=ALICE).json()
    assert by_query["fields"]["issue"]["relatedOptions"] == options
    bad = client.request("GET", "/api/resources/registrations/create", headers=ALICE,
                         json={**body, "field": "hours"})
    assert bad.status_code == 422 and bad.json()["errors"] == {"field": ["The selected field is invalid."]}


def test_the_create_form_lists_fields_with_defaults(client):
    form = client.get("/api/resources/issues/create", headers=ALICE).json()
    assert form["fields"]["priority"]["value"] == "normal"
    assert form["fields"]["title"]["required"] is True
    assert {"label": "Hoog", "value": "high"} in form["fields"]["priority"]["options"]
    edit = client.get("/api/resources/issues/1/edit", headers=ALICE).json()
    assert edit["fields"]["code"]["value"] == "QL.25.0001"


def test_global_search_finds_only_visible_rows(client):
    alice = client.get("/api/global-search?query=PAC", headers=ALICE).json()["data"]
    bob = client.get("/api/global-search?query=PAC", headers=BOB).json()["data"]
    assert alice == []
    projects = next(g for g in bob if g["resource"] == "projects")
    assert projects["total"] == 12 and len(projects["results"]) == 5
    for missing in (client.get("/api/global-search", headers=ALICE),
                    client.get("/api/global-search?query=+", headers=ALICE)):  # trimmed: blank is missing
        assert missing.status_code == 422
        assert missing.json()["errors"] == {"query": ["The query field is required."]}


def test_the_last_page_php_can_count_is_a_page(client):
    last = 2**63 - 1  # PHP_INT_MAX; one more is a float there (422, see above)
    page = client.get(f"{PROJECTS}?page={last}", headers=ALICE).json()
    assert page["data"] == [] and page["meta"]["current_page"] == last


def test_json_sent_as_curls_default_form_body_is_read_as_json(client):
    body = '{"tab": "Open", "per_page": 3, "sort_column": "code"}'
    response = client.request("GET", PROJECTS, headers={**ALICE, "Content-Type": "application/x-www-form-urlencoded"},
                              content=body)
    assert response.status_code == 200
    page = response.json()
    assert page["meta"]["per_page"] == 3
    assert {r["status"] for r in page["data"]} == {"open"}
    form = client.request("GET", PROJECTS, headers={**ALICE, "Content-Type": "application/x-www-form-urlencoded"},
                          content="search_columns[name]=e&per_page=2")
    assert form.json()["meta"]["per_page"] == 2
    assert all("e" in r["name"].lower() for r in form.json()["data"])


def test_resources_list_their_tables(client):
    resources = {r["name"]: r for r in client.get("/api/resources", headers=ALICE).json()["data"]}
    assert {"projects", "issues", "organizations", "tenants", "users"} <= set(resources)
    assert resources["projects"]["tables"] == ["projects", "open_projects"]


def test_admin_state_summarises_rows_per_resource(client):
    summary = client.get("/__apitwin/state").json()["summary"]
    assert summary["rows"]["issues"] >= 160 and summary["rows"]["tenants"] >= 2
    assert summary["tokens"] >= 2


def test_query_values_must_be_valid_even_when_the_body_replaces_them(client):
    response = client.request("GET", PROJECTS + "?sort_direction=sideways", headers=ALICE,
                              json={"sort_direction": "ascending"})
    assert response.status_code == 422
    assert response.json()["errors"] == {"sort_direction": ["The selected sort direction is invalid."]}
    form = client.request("GET", "/api/resources/registrations/create?initial_request=maybe", headers=ALICE,
                          json={"initial_request": False})
    assert form.json()["errors"] == {"initial_request": ["The initial request field must be true or false."]}


def test_a_form_action_needs_a_name(client):
    response = client.request("GET", "/api/resources/registrations/create", headers=ALICE,
                              json={"field": "issue", "state": {"project": 1}, "action": {}})
    assert response.status_code == 422
    assert response.json()["errors"] == {"action.name": ["The action.name field is required."]}


def test_a_get_body_that_is_not_a_json_object_answers_400(client):
    for path in (PROJECTS, "/api/resources/registrations/create", "/api/resources/projects/1/edit"):
        response = client.request("GET", path, headers={**ALICE, "Content-Type": "application/json"},
                                  content=b"[null, null]")
        assert response.status_code == 400
        assert response.json() == {"message": "The request body must be a JSON object."}


def test_a_get_body_that_is_not_json_answers_400_and_null_is_no_body(client):
    headers = {**ALICE, "Content-Type": "application/json"}
    broken = client.request("GET", PROJECTS, headers=headers, content=b"\x00{")
    assert broken.status_code == 400
    assert broken.json() == {"message": "The request body is not valid JSON."}
    assert client.request("GET", PROJECTS, headers=headers, content=b"null").status_code == 200
