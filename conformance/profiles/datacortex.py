"""Data Cortex Report API v1: a verified session key (cookie `session_key`), `{"error"}` errors.

Conventions every answer follows (openapi/datacortex.yaml and the research notes):
- report API errors are JSON `{"error": "..."}`, never problem+json; not logged in (missing,
  unknown, logged-out or unverified key) is 403 `{"error": "Not logged in"}`;
- the ingest endpoints (`/{org}/1/track`, `/{org}/1/app_log`) answer plain text, their errors too;
- no answer is a 5xx.
"""
from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

from ..exchange import Exchange
from ..scenarios import Session, scenario
from . import AuthOption, Created, Documented, Profile, ToolArtefact, probe_by_get, short, shown_body

USER = "/api/1/user"
INGEST = ("track", "app_log")
APPS = "/api/1/app"
NOT_LOGGED_IN = {"error": "Not logged in"}


def _sent_anywhere(ex, name: str) -> bool:
    body = ex.request_json()
    return name in ex.query or (isinstance(body, dict) and name in body) \
        or f"{name}=".encode() in (ex.request_body or b"")


def _not_a_json_object(ex) -> bool:
    return not isinstance(ex.request_json(), dict)


class DataCortex(Profile):
    name = "datacortex"
    ignores_unknown_query_parameters = True  # documented in the info description
    auth_options = (AuthOption("session_key", "a verified session key (from POST /api/1/login and its verification)"),)
    refused_statuses = (401, 403)
    creates = "applications in the user's first organization (deleted at the end) and sessions of the user"
    # A login's email is the account a session is opened for (and a real service emails it).
    named_fields = {"login": {"email": "email"}}
    target_fields = {op: ("session_key",) for op in ("verify", "verify_page", "logout")}
    writing_gets = {"list_or_create_apps": "app_name"}  # the documented create is a GET
    absent_ids = {"app_id": "0"}
    artefacts = (
        ToolArtefact("session-key-beside-cookie", "negative_data_rejection", ("get_user", "list_or_create_apps",
                     "create_app", "delete_app", "logout"),
                     lambda ex, f: isinstance(ex.request_json(), dict) and "session_key" in ex.request_json()
                     and not isinstance(ex.request_json()["session_key"], str),
                     "a non-string session_key in the body beside the kit's valid cookie: the cookie is read "
                     "(the kit's own credentials make the request valid)"),
    )
    documented = (
        Documented(
            "org-id-required", "positive_data_acceptance", ("create_app", "list_or_create_apps"), 400,
            lambda ex: (ex.json() or {}).get("error") == "org_id is required" and not _sent_anywhere(ex, "org_id"),
            "org_id is required in the query or the body (either one): with neither, 400 \"org_id is required\"",
            planted=(400, {"error": "org_id is required"})),
        Documented(
            "ingest-body-not-json", "positive_data_acceptance", INGEST, 400,
            lambda ex: ex.media_type == "text/plain" and b"JSON" in ex.body and _not_a_json_object(ex),
            "the bundle is JSON text whatever the content type: a body that is not a JSON object gets a "
            "plain-text 400 (a string schema cannot say the text must be JSON)",
            planted=(400, "Bad Request: the body is not JSON")),
    )
    excluded_operations = {
        "logout": "it would end the run's own session; the logged_out_key_stays_refused scenario "
                  "logs out a session of its own",
    }

    def login(self, http, creds):
        return {"Cookie": f"session_key={creds['session_key']}"}

    def probe(self, session: Session) -> None:
        probe_by_get(session, USER, "the session key was refused (unknown, logged out or not verified)")

    # -- conventions -------------------------------------------------------------------
    def conventions(self, ex: Exchange) -> list[str]:
        status = ex.status
        if status is None:
            return []
        problems = []
        ctype = ex.media_type
        if status >= 500:
            problems.append(f"answered {status}: bad input gets Data Cortex's own 4xx error, never a server error")
        if status < 400:
            return problems
        if ex.operation in ("verify_page", "verify"):
            if ctype != "text/html":
                problems.append(f"verification page {status} with content type {ctype or '(none)'}: the page "
                                "a user opens from the email is HTML, errors too")
            return problems
        if ex.operation in INGEST:
            if ctype != "text/plain":
                problems.append(f"ingest error {status} with content type {ctype or '(none)'}: the ingest "
                                "endpoints answer plain text, errors too")
            return problems
        body = ex.json()
        if ctype != "application/json":
            problems.append(f"{status} error with content type {ctype or '(none)'}: Data Cortex errors are "
                            'application/json {"error": "..."}, never problem+json')
        if not (isinstance(body, dict) and set(body) == {"error"} and isinstance(body["error"], str)):
            problems.append(f'{status} error body {shown_body(ex)} is not Data Cortex\'s {{"error": "..."}}')
        if status == 401:
            problems.append('answered 401: Data Cortex answers 403 {"error": "Not logged in"} to a missing or bad session')
        return problems

    def own_values(self, session: Session) -> set[str]:
        user = session.request("GET", USER, check=False, count=False).json() or {}
        return {user["email"]} if isinstance(user, dict) and isinstance(user.get("email"), str) else set()

    # -- created objects ---------------------------------------------------------------
    def created(self, ex: Exchange) -> Created | None:
        body = ex.json()
        if ex.operation == "login" and ex.status == 200 and isinstance(body, dict) \
                and isinstance(body.get("session_key"), str):
            return Created("session", body["session_key"], {"session": True})
        if ex.status != 200 or ex.operation not in ("create_app", "list_or_create_apps"):
            return None
        body = ex.json()
        if isinstance(body, dict) and isinstance(body.get("app_id"), int):
            return Created("app", str(body["app_id"]), {"path": f"{APPS}/{body['app_id']}"})
        return None

    def delete(self, session: Session, created: Created) -> bool | None:
        if (created.data or {}).get("session"):
            out = session.request("POST", "/api/1/logout", auth=False,
                                  headers={"Cookie": f"session_key={created.ident}"})
            return out.status in (200, 403)  # 403: already logged out (by a scenario), the key is dead
        answer = session.request("DELETE", created.data["path"])
        # 403 for an app already gone is how Data Cortex answers an unknown app; either way
        # the app must no longer be listed.
        return answer.status in (200, 403) and _app_gone(session, created.ident)

    def scenarios(self):
        return [refused_key_stays_refused, other_organizations_are_private, app_created_listed_and_deleted,
                logged_out_key_stays_refused, update_is_visible]


def _app_gone(session: Session, app_id: str) -> bool:
    user = session.request("GET", USER, check=False).json() or {}
    for org in user.get("org_list", []):
        apps = session.request("GET", APPS, params={"org_id": str(org.get("org_id"))}, check=False).json() or {}
        if any(str(app.get("app_id")) == app_id for app in apps.get("app_list", [])):
            return False
    return True


def _user(run) -> dict:
    answer = run.get(USER)
    run.require_status(answer, 200, what="GET the session's user")
    user = answer.json()
    run.require(isinstance(user, dict) and isinstance(user.get("org_list"), list),
                "GET /api/1/user answered no org_list", answer)
    return user


@scenario("refused_key_stays_refused", "a missing or wrong session key is refused with 403, every time")
def refused_key_stays_refused(run) -> None:
    for label, headers in (("no session key", {}), ("a wrong session key", {"Cookie": "session_key=conform-wrong"})):
        for attempt in range(2):
            answer = run.get(USER, auth=False, headers=headers)
            run.expect(answer.status == 403 and answer.json() == NOT_LOGGED_IN,
                       f"GET {USER} with {label} (attempt {attempt + 1}): expected 403 {short(NOT_LOGGED_IN)}, "
                       f"got {answer.status}", answer)
    query = run.get(USER, auth=False, params={"session_key": "conform-wrong"})
    run.expect(query.status == 403, f"a wrong session key in the query was accepted ({query.status})", query)
    good = run.get(USER)
    run.expect_status(good, 200, what="GET the user with the good session key")
    again = run.get(USER, auth=False, headers={"Cookie": "session_key=conform-wrong"})
    run.expect(again.status == 403, f"a refused key was accepted after a good request ({again.status})", again)


@scenario("other_organizations_are_private", "the apps of an organization the user is not in are refused")
def other_organizations_are_private(run) -> None:
    user = _user(run)
    mine = {org.get("org_id") for org in user["org_list"]}
    other = next(n for n in (999999937, 999999929, 999999893) if n not in mine)
    answer = run.get(APPS, params={"org_id": str(other)})
    run.expect(answer.status == 403, f"listing the apps of organization {other}, which the user is not in, "
                                     f"answered {answer.status} (expected 403)", answer)
    for org in user["org_list"][:2]:
        own = run.get(APPS, params={"org_id": str(org.get("org_id"))})
        run.expect(own.status == 200 and isinstance((own.json() or {}).get("app_list"), list),
                   f"listing the apps of the user's own organization {org.get('org_id')} failed", own)


@scenario("app_created_listed_and_deleted",
          "a created app is listed with its API key, and gone once deleted", writes=True)
def app_created_listed_and_deleted(run) -> None:
    user = _user(run)
    run.require(bool(user["org_list"]), "the session's user is in no organization: cannot create an app")
    org_id = user["org_list"][0]["org_id"]
    name = run.unique("app")
    made = run.post(APPS, json={"org_id": org_id, "app_name": name})
    run.require_status(made, 200, what="create an app")
    app_id = (made.json() or {}).get("app_id")
    run.require(isinstance(app_id, int), f"create app answered {short(made.json())}, expected {{\"app_id\": <int>}}", made)
    listed = run.get(APPS, params={"org_id": str(org_id)})
    rows = [a for a in (listed.json() or {}).get("app_list", []) if a.get("app_id") == app_id]
    run.expect(len(rows) == 1, f"the created app is listed {len(rows)} times", listed)
    if rows:
        run.expect(rows[0].get("name") == name, f"the listed app is named {rows[0].get('name')!r}, not {name!r}", listed)
        keys = rows[0].get("api_key_list")
        run.expect(isinstance(keys, list) and len(keys) == 1 and all(isinstance(k, str) and k for k in keys),
                   "a new app must come with one API key", listed)
    also = run.get(APPS, params={"org_id": str(org_id), "app_name": name + "-by-get"})
    run.expect(also.status == 200 and isinstance((also.json() or {}).get("app_id"), int),
               "creating an app the documented way (GET with app_name) failed", also)
    for gone_id in [app_id] + ([also.json()["app_id"]] if also.status == 200 and isinstance(also.json(), dict)
                               and isinstance(also.json().get("app_id"), int) else []):
        deleted = run.request("DELETE", f"{APPS}/{gone_id}")
        run.expect(deleted.status == 200, f"deleting app {gone_id} answered {deleted.status}, expected 200", deleted)
    after = run.get(APPS, params={"org_id": str(org_id)})
    left = [a for a in (after.json() or {}).get("app_list", []) if a.get("app_id") == app_id]
    run.expect(after.status == 200 and not left, "a deleted app is still listed", after)


def _emailed_link(run, key: str) -> dict | None:
    """The query of the verification link "emailed" for session `key`: the login answer
    alone cannot verify. An apitwin stand-in keeps its emails in the admin API's state."""
    try:
        state = run.session.http.get("/__apitwin/state", params={"secrets": "true"}).json()
        outbox = state["collections"]["outbox"]
    except Exception:  # not apitwin (a real service's email is not readable here)
        return None
    for mail in outbox:
        if mail.get("session_key") == key:
            return dict(parse_qsl(urlsplit(mail["verify_url"]).query))
    return None


@scenario("logged_out_key_stays_refused",
          "a new session works once verified, and its key stays refused after logout", writes=True)
def logged_out_key_stays_refused(run) -> None:
    email = _user(run).get("email")
    login = run.post("/api/1/login", auth=False, json={"email": email})
    run.require_status(login, 200, what="log in")
    body = login.json() or {}
    key, code = body.get("session_key"), body.get("manual_code")
    run.require(isinstance(key, str) and isinstance(code, str), "login answered no session_key/manual_code", login)
    cookie = {"Cookie": f"session_key={key}"}
    link = _emailed_link(run, key)
    if link is None:
        run.result.status, run.result.reason = "skipped", "the verification link goes by email (not readable here)"
        return
    verify = run.post("/api/1/verify", auth=False, params=link, data={"manual_code": code})
    run.require(verify.status == 200, f"verifying the new session answered {verify.status}", verify)
    fresh = run.get(USER, auth=False, headers=cookie)
    run.expect(fresh.status == 200 and (fresh.json() or {}).get("email") == email,
               "the verified new session does not give its user", fresh)
    out = run.post("/api/1/logout", auth=False, headers=cookie)
    run.expect(out.status == 200, f"logout answered {out.status}", out)
    for attempt in range(2):
        after = run.get(USER, auth=False, headers=cookie)
        run.expect(after.status == 403 and after.json() == NOT_LOGGED_IN,
                   f"a logged-out session key still works or answers otherwise (attempt {attempt + 1}: {after.status})",
                   after)
    mine = run.get(USER)
    run.expect(mine.status == 200, "logging out another session ended the run's own session", mine)


@scenario("update_is_visible", "an update is visible when fetched")
def update_is_visible(run) -> None:
    run.result.status, run.result.reason = "skipped", "not applicable: Data Cortex has no update operation"


PROFILE = DataCortex()
