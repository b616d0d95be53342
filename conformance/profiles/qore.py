"""Qore API: a Sanctum bearer token (`<id>|<40 chars>`), Laravel's error shapes.

Conventions every answer follows (openapi/qore.yaml and the research notes):
- errors are JSON `{"message": "..."}` (401 exactly "Unauthenticated."), never problem+json;
- 422 is `{"message": "...", "errors": {"<field>": ["...", ...]}}`, each field naming what
  the request sent or a required field;
- no answer is a 5xx.
"""
from __future__ import annotations

import json
import re
import secrets
from urllib.parse import parse_qsl, quote

from ..exchange import Exchange
from ..scenarios import Session, scenario
from . import AuthOption, Created, Documented, Profile, probe_by_get
from ._qore_completion import (DEMO_LOGIN, complete_expiration, complete_form_field, complete_login,
                               complete_resource_fields, complete_search_map, complete_table_names)

ME = "/api/me"
PROJECTS = "/api/resources/projects"
TABLE = "/api/resources/projects/table/projects"
UNAUTHENTICATED = {"message": "Unauthenticated."}
DELETE_ACTION = "delete_resource"
# The operations on one row, and where its resource and id are in their paths.
ROW_OPERATIONS = frozenset({"get_resource", "update_resource", "update_resource_form", "get_edit_form",
                            "update_inline", "download_file", "run_action", "get_logs"})
_ROW = re.compile(r"^/api/resources/(?P<resource>[^/]+)/(?:actions/(?P<action>[^/]+)/|logs/)?(?P<id>[^/]+)(?:/|$)")


def _short(value, limit: int = 200) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[:limit] + "..."


class Qore(Profile):
    name = "qore"
    auth_options = (
        AuthOption("token", "a personal access token <id>|<40 characters>, sent as a Bearer token"),
        AuthOption("other_token", "optional: a token of a user of another tenant, for the private_objects scenario"),
    )
    refused_statuses = (401,)
    creates = ("rows of the resources it posts to (projects, ...) and API tokens (stand-in only), "
               "deleted at the end")
    # A resource's, action's or field's name is a kind of object, not an object.
    namespace_params = frozenset({"resource_name", "action_name", "field_name", "table_name"})
    absent_ids = {"id": "0"}  # Laravel's ids start at 1
    documented = (
        Documented(
            "form-field", "positive_data_acceptance", ("get_create_form", "get_edit_form"), 422,
            lambda ex: _errors(ex) == ["field"] and (
                (_reloads_without_field(ex) and _says(ex, "field", "required"))
                or (not _empty(_sent(ex), "field") and _says(ex, "field", "The selected field is invalid"))),
            "field names one of the resource's own fields (they differ per resource), and action "
            "reloadRelatedOptions needs one: 422 \"The selected field is invalid.\" or \"The field field is "
            "required.\" (the contract's description)",
            planted=(422, {"message": "The field field is required.",
                           "errors": {"field": ["The field field is required."]}}),
            complete=complete_form_field),
        Documented(
            "resource-field-rules", "positive_data_acceptance",
            ("create_resource", "update_resource", "update_resource_form", "update_inline"), 422,
            lambda ex: bool(_errors(ex)) and all(
                (_empty(_sent(ex), f) and _says(ex, f, "required"))
                or (f.split(".")[0] in _sent(ex) and _rule_message(ex, f)) for f in _errors(ex)),
            "each resource has its own required fields and rules (in a list, an existing row, unique), which "
            "one schema for every resource cannot say; Laravel reads \"\" as null: a required field left out "
            "or empty gets \"The ... field is required.\", a value sent that breaks a rule \"The selected ... "
            "is invalid.\", \"The ... has already been taken.\" or, for a list sent as one value, \"The ... field must be an array.\"",
            planted=(422, {"message": "The name field is required.",
                           "errors": {"name": ["The name field is required."]}}),
            complete=complete_resource_fields),
        Documented(
            "wrong-credentials", "positive_data_acceptance", ("create_api_token",), 422,
            lambda ex: _errors(ex) == ["email"] and _says(ex, "email", "The provided credentials are incorrect")
            and (_sent(ex).get("email"), _sent(ex).get("password")) != DEMO_LOGIN,
            "a token is made for an account's email and password only: any other pair gets 422 \"The "
            "provided credentials are incorrect.\" on email (the stand-in's seeded pair is the contract's example)",
            planted=(422, {"message": "The provided credentials are incorrect.",
                           "errors": {"email": ["The provided credentials are incorrect."]}}),
            complete=complete_login),
        Documented(
            "table-names-unknown", "positive_data_acceptance", ("get_table",), 422,
            lambda ex: bool(_errors(ex)) and all(_names_a_sent_table_name(ex, f) for f in _errors(ex)),
            "a table's tabs, sort columns and search columns differ per resource (one schema cannot list "
            "them): another name sent gets 422 \"The selected tab/sort column/search columns.<name> is invalid.\"",
            planted=(422, {"message": "The selected search columns.name is invalid.",
                           "errors": {"search_columns.name": ["The selected search columns.name is invalid."]}}),
            complete=complete_table_names),
        Documented(
            "search-columns-not-a-map", "positive_data_acceptance", ("get_table",), 422,
            lambda ex: _errors(ex) == ["search_columns"] and _says(ex, "search_columns", "must be an array")
            and "search_columns" in _sent(ex) and _search_columns(ex) is None
            and not isinstance(_json_list(_sent(ex)["search_columns"]), list),
            "search_columns is a map of column to value (JSON text in the query string): anything else the "
            "query string can carry gets 422 \"The search columns field must be an array.\" (PHP's word for a map)",
            planted=(422, {"message": "The search columns field must be an array.",
                           "errors": {"search_columns": ["The search columns field must be an array."]}}),
            complete=complete_search_map),
        Documented(
            "expiration-date-not-a-future-date", "positive_data_acceptance", ("create_api_token",), 422,
            lambda ex: _errors(ex) == ["expiration_date"] and not _future_date(_sent(ex).get("expiration_date")),
            "expiration_date must be a date (or date and time) in the future: anything else gets 422 on it",
            planted=(422, {"message": "The expiration date field must be a valid date.",
                           "errors": {"expiration_date": ["The expiration date field must be a valid date."]}}),
            complete=complete_expiration),
    )
    def missing_credentials(self, creds):
        return None if creds.get("token") else "missing --token"

    def login(self, http, creds):
        return {"Authorization": f"Bearer {creds['token']}"}

    def probe(self, session: Session) -> None:
        probe_by_get(session, ME, "the token was refused")

    def secrets(self, creds, headers):
        return super().secrets(creds, headers) + tuple(v for v in [creds.get("other_token")] if v)

    def credentials_work(self, session: Session) -> list[str]:
        broken = super().credentials_work(session)
        other = session.creds.get("other_token")
        if other:
            answer = session.request("GET", ME, auth=False, headers={"Authorization": f"Bearer {other}"},
                                     check=False, count=False)
            if answer.status != 200:
                broken.append(f"--other-token no longer works: GET {ME} answered {answer.status}")
        return broken

    # -- conventions -------------------------------------------------------------------
    def conventions(self, ex: Exchange) -> list[str]:
        status = ex.status
        if status is None:
            return []
        problems = []
        if status >= 500:
            problems.append(f"answered {status}: bad input gets Laravel's own 4xx error, never a server error")
        if status < 400:
            return problems
        ctype = ex.content_type.split(";")[0].strip().lower()
        body = ex.json()
        if ctype != "application/json":
            problems.append(f"{status} error with content type {ctype or '(none)'}: Qore errors are "
                            'application/json {"message": ...}, never problem+json')
        if not (isinstance(body, dict) and isinstance(body.get("message"), str)):
            problems.append(f"{status} error body {_short(body if body is not None else ex.body[:200].decode('utf-8', 'replace'))} "
                            'has no Laravel "message"')
            return problems
        if status == 401 and body != UNAUTHENTICATED:
            problems.append(f"401 body {_short(body)}: Laravel answers exactly {_short(UNAUTHENTICATED)}")
        if status == 422:
            errors = body.get("errors")
            if set(body) != {"message", "errors"} or not isinstance(errors, dict) or not errors or not all(
                    isinstance(v, list) and v and all(isinstance(m, str) for m in v) for v in errors.values()):
                problems.append(f'422 body {_short(body)} is not Laravel\'s {{"message": "...", '
                                '"errors": {"<field>": ["..."]}}')
        elif status != 422 and set(body) - {"message", "exception", "errors"}:
            problems.append(f"{status} body {_short(body)} has fields Laravel's error does not")
        return problems

    # -- created objects ---------------------------------------------------------------
    def created(self, ex: Exchange) -> Created | None:
        if ex.status != 201:
            return None
        body = ex.json()
        if not isinstance(body, dict):
            return None
        if ex.operation == "create_resource" and isinstance(body.get("data"), dict) and "id" in body["data"]:
            resource = ex.path.rstrip("/").rsplit("/", 1)[-1]
            return Created(f"{resource} row", str(body["data"]["id"]), {"resource": resource})
        if ex.operation == "create_api_token" and isinstance(body.get("accessToken"), dict):
            return Created("api token", str(body["accessToken"].get("id")), {"token": True})
        return None

    def delete(self, session: Session, created: Created) -> bool | None:
        if created.data.get("token"):
            answer = session.request("DELETE", f"/api/api_tokens/{created.ident}")
            return answer.status in (204, 404)
        resource = quote(created.data["resource"], safe="")
        answer = session.request("POST", f"/api/resources/{resource}/actions/{DELETE_ACTION}/{created.ident}")
        return answer.status in (200, 404)

    def subject(self, ex: Exchange) -> str | None:
        match = _ROW.match(ex.path) if ex.operation in ROW_OPERATIONS else None
        return f"{match['resource']} {match['id']}" if match else None

    def removes(self, ex: Exchange) -> bool:
        """Qore deletes a row by its `delete_resource` action (a POST), never by a DELETE."""
        return ex.operation == "run_action" and _ROW.match(ex.path)["action"] == DELETE_ACTION

    def scenarios(self):
        return [refused_token_stays_refused, table_pages_add_up, filter_returns_only_and_all_matching,
                project_created_listed_updated_deleted, validation_errors_in_laravel_shape, private_objects]


def _errors(ex: Exchange) -> list[str]:
    body = ex.json()
    errors = body.get("errors") if isinstance(body, dict) else None
    return sorted(errors) if isinstance(errors, dict) else []


def _says(ex: Exchange, field: str, words: str) -> bool:
    messages = ex.json()["errors"][field]
    return isinstance(messages, list) and bool(messages) and all(isinstance(m, str) and words in m for m in messages)


def _rule_message(ex: Exchange, field: str) -> bool:
    messages = ex.json()["errors"][field]
    # "must be an array": a field the resource keeps as a list (users' tenants) sent as one value.
    return isinstance(messages, list) and bool(messages) and all(
        isinstance(m, str) and m.startswith("The ") and ("is invalid" in m or "already been taken" in m
                                                         or (m.endswith("must be an array.")
                                                             and not isinstance(_sent(ex).get(field), list)))
        for m in messages)


def _sent(ex: Exchange) -> dict:
    """The fields a request sent: its JSON or form body over its query."""
    fields: dict = dict(ex.query)
    body = ex.request_json()
    if isinstance(body, dict):
        fields.update(body)
    elif ex.request_body and "multipart/form-data" in ex.request_content_type:
        text = ex.request_body.decode("utf-8", "replace")
        fields.update(re.findall(r'name="([^"]+)"\r\n\r\n(.*?)\r\n--', text, re.DOTALL))
    elif ex.request_body and "form" in ex.request_content_type:
        fields.update(parse_qsl(ex.request_body.decode("utf-8", "replace"), keep_blank_values=True))
    return fields


def _empty(fields: dict, name: str) -> bool:
    return fields.get(name) in (None, "")


def _reloads_without_field(ex: Exchange) -> bool:
    fields = _sent(ex)
    action = fields.get("action")
    name = action.get("name") if isinstance(action, dict) else fields.get("action[name]")
    return name == "reloadRelatedOptions" and _empty(fields, "field")


def _names_a_sent_table_name(ex: Exchange, field: str) -> bool:
    if not _says(ex, field, "is invalid"):
        return False
    if field.startswith("search_columns."):
        return field.split(".", 1)[1] in (_search_columns(ex) or {})
    return field in ("tab", "sort_column") and not _empty(_sent(ex), field)


def _json_list(value):
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return None
    return value


def _future_date(value) -> bool:
    from datetime import datetime, timezone

    if not isinstance(value, str):
        return value is None  # none: a token that never expires
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    moment = moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    return moment > datetime.now(timezone.utc)


def _search_columns(ex: Exchange) -> dict | None:
    fields = _sent(ex)
    value = fields.get("search_columns")
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return None
    return value if isinstance(value, dict) else None


def _table(run, params: dict) -> dict | None:
    answer = run.get(TABLE, params=params)
    if not run.expect_status(answer, 200, what=f"GET the projects table with {params}"):
        return None
    page = answer.json()
    if not run.expect(isinstance(page, dict) and isinstance(page.get("data"), list) and isinstance(page.get("meta"), dict),
                      "a table page must be {data: [...], meta: {...}, links: {...}}", answer):
        return None
    page["_exchange"] = answer
    return page


@scenario("refused_token_stays_refused", "no, a wrong or a forged token is refused with 401, every time")
def refused_token_stays_refused(run) -> None:
    good = run.session.headers.get("Authorization", "")
    token = good.split(" ", 1)[-1]
    forged = token.split("|", 1)[0] + "|" + secrets.token_hex(20)
    for label, headers in (("no token", {}), ("a wrong token", {"Authorization": "Bearer nonsense"}),
                           ("a forged token (right id, wrong secret)", {"Authorization": f"Bearer {forged}"})):
        for attempt in range(2):
            answer = run.get(ME, auth=False, headers=headers)
            run.expect(answer.status == 401 and answer.json() == UNAUTHENTICATED,
                       f"GET {ME} with {label} (attempt {attempt + 1}): expected 401 {_short(UNAUTHENTICATED)}, "
                       f"got {answer.status}", answer)
    ok = run.get(ME)
    run.expect_status(ok, 200, what=f"GET {ME} with the good token")
    again = run.get(ME, auth=False, headers={"Authorization": f"Bearer {forged}"})
    run.expect(again.status == 401, f"a refused token was accepted after a good request ({again.status})", again)


@scenario("table_pages_add_up", "table pages add up to the whole and meta.total/last_page agree (read-only)")
def table_pages_add_up(run) -> None:
    whole = _table(run, {"per_page": "100", "page": "1", "tab": "Alle"})
    if whole is None:
        return
    meta = whole["meta"]
    total = meta.get("total")
    run.require(isinstance(total, int), "meta.total is missing", whole["_exchange"])
    if total > 100:
        run.result.reason = "more than 100 projects: paging checked on the first 100"
    ids = [row.get("id") for row in whole["data"]]
    run.expect(len(ids) == min(total, 100), f"one page of 100 holds {len(ids)} rows, meta.total says {total}",
               whole["_exchange"])
    for size in (3, 7):
        got, page_no = [], 1
        last_page = None
        while page_no <= 50:
            page = _table(run, {"per_page": str(size), "page": str(page_no), "tab": "Alle"})
            if page is None:
                return
            meta = page["meta"]
            last_page = meta.get("last_page")
            expected_last = max(1, -(-total // size))
            run.expect(meta.get("total") == total and last_page == expected_last,
                       f"per_page={size} page={page_no}: meta says total {meta.get('total')}, last_page {last_page}; "
                       f"expected {total} and {expected_last}", page["_exchange"])
            run.expect(len(page["data"]) == max(0, min(size, total - (page_no - 1) * size)),
                       f"per_page={size} page={page_no} of {total} rows returned {len(page['data'])} rows",
                       page["_exchange"])
            has_next = bool((page.get("links") or {}).get("next"))
            run.expect(has_next == (page_no < expected_last),
                       f"per_page={size} page={page_no}: links.next is {'set' if has_next else 'empty'} "
                       f"but there are {expected_last} pages", page["_exchange"])
            got += [row.get("id") for row in page["data"]]
            if page_no >= expected_last or len(got) >= 100:
                break
            page_no += 1
        run.expect(got[:len(ids)] == ids[:len(got)] and (len(got) >= len(ids) or len(got) == total),
                   f"pages of {size} do not add up to the one-page listing (rows missing, repeated or reordered)",
                   detail=f"paged: {got[:20]}\nwhole: {ids[:20]}")


@scenario("filter_returns_only_and_all_matching",
          "search_columns returns only and all the rows that match (checked against the whole table)")
def filter_returns_only_and_all_matching(run) -> None:
    whole = _table(run, {"per_page": "100", "page": "1", "tab": "Alle"})
    if whole is None:
        return
    rows = whole["data"]
    if whole["meta"].get("total", 0) > 100:
        run.result.reason = "more than 100 projects: filters checked on the first 100 only"
    statuses = sorted({row.get("status") for row in rows if isinstance(row.get("status"), str)})
    for status in statuses[:3]:
        want = [row["id"] for row in rows if row.get("status") == status]
        page = _table(run, {"per_page": "100", "page": "1", "tab": "Alle",
                            "search_columns": json.dumps({"status": [status]})})
        if page is None:
            continue
        got = [row.get("id") for row in page["data"]]
        extra = [i for i in got if i not in want]
        missing = [i for i in want if i not in got]
        run.expect(not extra, f"search_columns status in [{status}] returned rows of another status", page["_exchange"],
                   detail=f"ids: {extra[:10]}")
        run.expect(not missing, f"search_columns status in [{status}] left out matching rows", page["_exchange"],
                   detail=f"ids: {missing[:10]}")
    names = [row.get("name") for row in rows if isinstance(row.get("name"), str) and len(row.get("name")) >= 3]
    if names:
        needle = names[0][1:3].lower()
        want = [row["id"] for row in rows if needle in str(row.get("name", "")).lower()]
        page = _table(run, {"per_page": "100", "page": "1", "tab": "Alle",
                            "search_columns": json.dumps({"name": needle})})
        if page is not None:
            got = [row.get("id") for row in page["data"]]
            run.expect(sorted(got) == sorted(want),
                       f"search_columns name contains {needle!r} does not return exactly the matching rows",
                       page["_exchange"], detail=f"got {len(got)} rows, {len(want)} match")


@scenario("project_created_listed_updated_deleted",
          "a created project is fetched and listed equal, an update is visible, deleting makes it gone", writes=True)
def project_created_listed_updated_deleted(run) -> None:
    code = "C" + secrets.token_hex(4).upper()
    name = run.unique("project")
    made = run.post(PROJECTS, json={"name": name, "code": code, "status": "open", "budget": 7})
    run.require_status(made, 201, what="create a project")
    row = (made.json() or {}).get("data")
    run.require(isinstance(row, dict) and row.get("name") == name and row.get("code") == code
                and row.get("status") == "open" and row.get("budget") == 7,
                f"the created project does not hold what was sent ({_short(row)})", made)
    pid = row["id"]
    one = run.get(f"{PROJECTS}/{pid}")
    run.expect(one.status == 200 and (one.json() or {}).get("data") == row,
               "the project fetched by id differs from the created one", one)
    page = _table(run, {"per_page": "100", "page": "1", "tab": "Alle", "search_columns": json.dumps({"code": code})})
    if page is not None:
        listed = [r for r in page["data"] if r.get("id") == pid]
        run.expect(len(listed) == 1, f"the created project is listed {len(listed)} times when searched by code",
                   page["_exchange"])
        if listed:
            columns = set(listed[0]) & set(row)
            run.expect({k: listed[0][k] for k in columns} == {k: row[k] for k in columns},
                       "the listed project differs from the created one", page["_exchange"])
    changed = run.request("PUT", f"{PROJECTS}/{pid}", json={"name": name + "-renamed", "code": code,
                                                           "status": "on_hold", "budget": 8})
    run.expect(changed.status == 200 and ((changed.json() or {}).get("data") or {}).get("status") == "on_hold",
               "the update answer does not show the new status", changed)
    after = run.get(f"{PROJECTS}/{pid}")
    data = (after.json() or {}).get("data") or {}
    run.expect(after.status == 200 and data.get("name") == name + "-renamed" and data.get("status") == "on_hold"
               and data.get("budget") == 8, "the update is not visible when the project is fetched again", after)
    gone = run.post(f"{PROJECTS}/actions/delete_resource/{pid}")
    run.expect(gone.status == 200, f"deleting the project answered {gone.status}, expected 200", gone)
    missing = run.get(f"{PROJECTS}/{pid}")
    run.expect(missing.status == 404, f"a deleted project is still found ({missing.status})", missing)


@scenario("validation_errors_in_laravel_shape", "invalid input gets 422 naming every invalid field", writes=True)
def validation_errors_in_laravel_shape(run) -> None:
    empty = run.post(PROJECTS, json={})
    errors = (empty.json() or {}).get("errors") if isinstance(empty.json(), dict) else None
    run.expect(empty.status == 422 and isinstance(errors, dict) and {"name", "code"} <= set(errors),
               "creating a project with nothing: expected 422 with errors on name and code", empty)
    bad = run.post(PROJECTS, json={"name": "x", "code": "toolongcode123", "status": "nope", "budget": -1})
    errors = (bad.json() or {}).get("errors") if isinstance(bad.json(), dict) else None
    run.expect(bad.status == 422 and isinstance(errors, dict) and {"code", "status", "budget"} <= set(errors),
               "a too long code, an unknown status and a negative budget: expected 422 naming all three", bad)


@scenario("private_objects", "a user of another tenant can neither read nor change this tenant's projects",
          writes=True)
def private_objects(run) -> None:
    other = run.session.creds.get("other_token")
    if not other:
        run.result.status, run.result.reason = "skipped", "give --other-token (a user of another tenant) to run it"
        return
    code = "P" + secrets.token_hex(4).upper()
    made = run.post(PROJECTS, json={"name": run.unique("private"), "code": code, "status": "open"})
    run.require_status(made, 201, what="create a project")
    pid = made.json()["data"]["id"]
    headers = {"Authorization": f"Bearer {other}"}
    read = run.get(f"{PROJECTS}/{pid}", auth=False, headers=headers)
    run.expect(read.status in (403, 404), f"a user of another tenant read the project ({read.status})", read)
    change = run.request("PUT", f"{PROJECTS}/{pid}", auth=False, headers=headers,
                         json={"name": "stolen", "code": code, "status": "open"})
    run.expect(change.status in (403, 404), f"a user of another tenant changed the project ({change.status})", change)
    listed = run.get(TABLE, auth=False, headers=headers,
                     params={"per_page": "100", "search_columns": json.dumps({"code": code})})
    run.expect(listed.status in (200, 403) and all(r.get("id") != pid for r in (listed.json() or {}).get("data", [])),
               "a user of another tenant sees the project in the table", listed)
    run.post(f"{PROJECTS}/actions/delete_resource/{pid}")


PROFILE = Qore()
