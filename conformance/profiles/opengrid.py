"""OpenGrid REST Service 1.4.0: a JWT from `POST /users/token` in `X-AUTH-TOKEN`; 200 + error objects.

Conventions every answer follows (openapi/opengrid.yaml and the research notes):
- handled errors answer **200** with `{"error": {"code": "<4 digits>", "message": "..."}}`: a
  200 with an error object is a rejection (the kit reads it so in every check);
- only login answers 401; a missing, bad or expired token, or no permission, is 403;
- every answer carries `Access-Control-Allow-Origin: *`; a DELETE that worked is 204, empty;
- no answer is a 5xx.
"""
from __future__ import annotations

import json
import re
import secrets

from ..exchange import Exchange
from ..scenarios import Session, scenario
from . import (AuthOption, Created, Documented, Draft, LoginRefused, Profile, ToolArtefact, beyond_int64,
               nearest_int64, probe_by_get)

TOKEN = "X-AUTH-TOKEN"
# How a 0200 error begins when the dataset or list of values named in the path does not exist
# (the stand-in's words; the real service's own for a list of values).
NOT_FOUND = ("Unknown dataset:", "Unknown list of values:", "Cannot find list of values")
OBJECT_ID = re.compile(r"^[0-9a-fA-F]{24}$")
CODE = re.compile(r"^0[1-3]0[0-9]$")


def _short(value, limit: int = 200) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[:limit] + "..."


def error_of(body) -> dict | None:
    """The error object of an OpenGrid answer, or None."""
    if isinstance(body, dict) and "error" in body:
        return body["error"] if isinstance(body["error"], dict) else {"malformed": body["error"]}
    return None


def _params(ex: Exchange) -> dict:
    """The query parameters, and the form fields of a query sent by POST."""
    from urllib.parse import parse_qsl

    params = dict(ex.query)
    if ex.request_body and "form" in ex.request_content_type:
        params.update(parse_qsl(ex.request_body.decode("utf-8", "replace"), keep_blank_values=True))
    return params


def _code(ex: Exchange) -> str:
    return str((error_of(ex.json()) or {}).get("code", ""))


def _message(ex: Exchange) -> str:
    return str((error_of(ex.json()) or {}).get("message", ""))


NOT_UTF8_BEFORE_TOKEN = ToolArtefact(
    "not-utf8-before-token", "ignored_auth", (), lambda ex, f: True,
    "a body that is not UTF-8 is refused before the token is read (nothing is done, nothing shown); the "
    "check takes any 200 without a good token as auth ignored")


_SURROGATE = re.compile("[\ud800-\udfff]")


def _bad_text(text: str) -> bool:
    """Text that is not Unicode (a lone surrogate): MongoDB cannot store it."""
    return bool(_SURROGATE.search(text))


def _bad_name(key) -> bool:
    """A field name MongoDB cannot store: starting with $, or holding a dot, a NUL or a lone surrogate."""
    return not isinstance(key, str) or key.startswith("$") or "." in key or "\x00" in key or _bad_text(key)


def _unstorable(value, bad_name=_bad_name) -> bool:
    """Whether `value` holds what MongoDB cannot take (field names as `bad_name` says)."""
    if isinstance(value, dict):
        return any(bad_name(k) or _unstorable(v, bad_name) for k, v in value.items())
    if isinstance(value, list):
        return any(_unstorable(v, bad_name) for v in value)
    if isinstance(value, str):
        return _bad_text(value)
    return beyond_int64(value)


def _storable(value):
    """`value` as MongoDB can store it: fields it cannot name left out, lone surrogates replaced
    (U+FFFD, so that no required text becomes empty), integers beyond 64 bits the nearest 64-bit one."""
    if isinstance(value, dict):
        return {k: _storable(v) for k, v in value.items() if not _bad_name(k)}
    if isinstance(value, list):
        return [_storable(v) for v in value]
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    return nearest_int64(value) if beyond_int64(value) else value


def complete_storable(draft: Draft) -> bool:
    """A valid create or update whose free-form `o` holds what MongoDB cannot store, made storable."""
    body = draft.body
    if not isinstance(body, dict) or not _unstorable(body.get("o")):
        return False
    draft.body = {**body, "o": _storable(body["o"])}
    return True


# The contract's PathObjectId: `{"$oid":"<24 hex>"}` (spaces around its parts) or the 24 hex digits.
PATH_ID = re.compile(r'([0-9a-fA-F]{24})|\{ *"\$oid" *: *"([0-9a-fA-F]{24})" *\}')
ID_PARAMETERS = ("userId", "groupId", "queryId")
NO_OBJECT = "0" * 24  # an ObjectId no deployment's object has


def complete_object_id(draft: Draft) -> bool:
    """A path id that is no ObjectId made one. Generated ids follow the contract's pattern, but
    Schemathesis' inferred links put a user's `userId`, a group's `groupId` or a query's `_id`
    object there unchecked: an `_id` becomes its 24 hex digits, a name an ObjectId no object has."""
    changed = False
    for name in ID_PARAMETERS:
        value = draft.path.get(name)
        if name in draft.path and not (isinstance(value, str) and PATH_ID.fullmatch(value)):
            oid = value.get("$oid") if isinstance(value, dict) else None
            draft.path[name] = oid if isinstance(oid, str) and OBJECT_ID.fullmatch(oid) else NO_OBJECT
            changed = True
    return changed


QUERY_PARAMETERS = ("q", "n", "s", "opts")
MAX_NESTING = 100  # the contract: JSON nests at most 100 levels


def _no_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def _depth(value) -> int:
    children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    return 1 + max((_depth(child) for child in children), default=0)


def _json_object(text: str) -> dict | None:
    """`text` as a JSON object the service can read (no NaN, lone surrogate, integer beyond 64
    bits or nesting past MongoDB's limit), or None."""
    try:
        value = json.loads(text, parse_constant=_no_constant)
    except (ValueError, RecursionError):
        return None
    # A filter or sort names fields with dots and operators with $: only its text must be Unicode.
    usable = isinstance(value, dict) and _depth(value) <= MAX_NESTING and not _unstorable(value, _bad_text)
    return value if usable else None


def _has_operator(value) -> bool:
    if isinstance(value, dict):
        return any(k.startswith("$") or _has_operator(v) for k, v in value.items())
    return isinstance(value, list) and any(_has_operator(v) for v in value)


def _usable(name: str, value) -> bool:
    """Whether the service can use a value of q, n, s or opts. Kept: an empty value (the
    default), an integer n, a q without operators (equality on fields), an s of 1s and -1s on
    plain fields, opts without a geoFilter. Operators and geometries are left to the kit's
    scenarios: a generated one is almost never a usable one."""
    if name == "n":
        try:
            int(str(value).strip() or "0")
        except ValueError:
            return False
        return True
    if not isinstance(value, str):
        return False
    if value == "":
        return True
    document = _json_object(value)
    if document is None:
        return False
    if name == "q":
        return not _has_operator(document)
    if name == "s":
        return not _has_operator(document) and all(
            not isinstance(v, bool) and v in (1, -1) for v in document.values())
    return document.get("geoFilter") in (None, "", {})


def complete_query(draft: Draft) -> bool:
    """A valid list or dataset query without the parameters (or form fields) the service cannot
    use: each is left out, which means its default (no filter, no rows, the default sort)."""
    fields = draft.body if draft.operation == "query_dataset_form" else draft.query
    if not isinstance(fields, dict):
        return False
    unusable = [name for name in QUERY_PARAMETERS if name in fields and not _usable(name, fields[name])]
    for name in unusable:
        del fields[name]
    return bool(unusable)


def _oid(doc) -> str | None:
    value = doc.get("_id") if isinstance(doc, dict) else None
    if isinstance(value, dict):
        value = value.get("$oid")
    return value if isinstance(value, str) else None


class OpenGrid(Profile):
    name = "opengrid"
    auth_options = (
        AuthOption("username", "an OpenGrid user id, to log in at /users/token", secret=False),
        AuthOption("password", "that user's password"),
    )
    renew_after = 3 * 3600.0  # tokens last 4 hours: log in again before they expire
    refused_statuses = (401, 403)
    creates = "users, groups and queries, deleted at the end"
    # A user's or group's id is chosen by the caller (an upsert where a deployment replaces one);
    # an update may rename it, to a name no other user or group may have (taken: error 0200).
    named_fields = {op: {"o.userId": "name"} for op in ("create_user", "create_user_slash", "update_user")}
    named_fields |= {op: {"o.groupId": "name"} for op in ("create_group", "create_group_slash", "update_group")}
    reads_by_post = frozenset({"login", "renew", "query_dataset_form"})
    absent_ids = {name: "0000{run}000000000000" for name in ("userId", "groupId", "queryId")}
    documented = (
        Documented(
            "id-not-an-objectid", "positive_data_acceptance",
            ("get_user", "get_group", "get_query", "update_user", "update_group", "update_query", "delete_user",
             "delete_group", "delete_query"), 200,
            lambda ex: _code(ex) == "0300" and _message(ex).startswith("Invalid object id")
            and not OBJECT_ID.match(ex.path.rstrip("/").rsplit("/", 1)[-1]),
            "ids are MongoDB ObjectIds: any other path id gets 200 with error 0300 \"Invalid object id\" "
            "(no object can have it)",
            planted=(200, {"error": {"code": "0300", "message": "Invalid object id"}}),
            complete=complete_object_id),
        Documented(
            "unstorable-document", "positive_data_acceptance",
            ("create_user", "create_user_slash", "create_group", "create_group_slash", "create_query",
             "create_query_slash", "update_user", "update_group", "update_query"), 200,
            lambda ex: _code(ex) == "0300" and _unstorable((ex.request_json() or {}).get("o")
                                                           if isinstance(ex.request_json(), dict) else None),
            "MongoDB cannot store a field name starting with $ or holding a dot or a NUL, text that is not "
            "Unicode (a lone surrogate) or an integer beyond 64 bits: 200 with error 0300 naming it",
            planted=(200, {"error": {"code": "0300", "message": "Invalid field name o.'a.b': names cannot start "
                                                                  "with $ or contain a dot or a null character."}}),
            complete=complete_storable),
        Documented(
            "unusable-query-parameter", "positive_data_acceptance",
            ("list_users", "list_users_slash", "list_groups", "list_groups_slash", "list_queries",
             "list_queries_slash", "query_dataset", "query_dataset_form"), 200,
            lambda ex: _code(ex) in ("0200", "0300") and any(
                p in _params(ex) and p in _message(ex) for p in ("q", "n", "s", "opts", "filter")),
            "a q, n, s or opts the service cannot use (not a MongoDB filter it runs, a bad sort or option) "
            "gets 200 with an error naming the parameter (0200 for q's data errors, 0300 otherwise)",
            planted=(200, {"error": {"code": "0300", "message": "Invalid value for parameter"}}),
            complete=complete_query),
    )
    skipped_checks = {
        "use_after_free": "OpenGrid answers a get of an unknown id with 200 and an empty array (documented); "
                          "the created_listed_updated_deleted scenario checks deleted objects are gone",
        "ensure_resource_availability": "a get answers an array of zero or one document; the "
                                        "created_listed_updated_deleted scenario checks created objects are found",
    }

    def login(self, http, creds):
        answer = http.post("/users/token", json={"username": creds["username"], "password": creds["password"]})
        token = answer.headers.get(TOKEN)
        if answer.status_code != 200 or not token:
            raise LoginRefused(f"POST /users/token as {creds['username']} answered {answer.status_code} "
                               f"{answer.text[:200]}" + ("" if token else f" without an {TOKEN} header"))
        return {TOKEN: token}

    def probe(self, session: Session) -> None:
        probe_by_get(session, "/groups", "the token was refused", params={"n": "1"})

    # -- conventions -------------------------------------------------------------------
    def rejected(self, ex: Exchange) -> int | None:
        """OpenGrid's 200 with an error object: a not-found (0200 "No object exists", an unknown
        dataset or list of values), a refusal (0100), or a bad request."""
        error = error_of(ex.json())
        if ex.status != 200 or error is None:
            return None
        message = str(error.get("message", ""))
        if str(error.get("code")) == "0200" and ("No object exists" in message or message.startswith(NOT_FOUND)):
            return 404
        return 403 if str(error.get("code")) == "0100" else 400

    def rejection_text(self, ex: Exchange) -> str:
        return f"200 with error {_short(error_of(ex.json()))}"

    def conventions(self, ex: Exchange) -> list[str]:
        status = ex.status
        if status is None:
            return []
        problems = []
        if status >= 500:
            problems.append(f"answered {status}: OpenGrid answers handled errors with 200 and an error object")
        if ex.headers.get("access-control-allow-origin") != "*":
            problems.append("no Access-Control-Allow-Origin: * (the browser client needs it on every answer)")
        if status == 401 and ex.operation != "login":
            problems.append("answered 401: only login answers 401; a missing or bad token is 403")
        if status == 204 and ex.body:
            problems.append(f"204 with a body ({len(ex.body)} bytes)")
        if 400 <= status < 500 and status not in (401, 403, 405):
            problems.append(f"answered {status}: OpenGrid answers handled errors with 200 and an error object")
        error = error_of(ex.json())
        if error is not None:
            if set(error) != {"code", "message"} or not isinstance(error.get("message"), str) \
                    or not CODE.match(str(error.get("code", ""))):
                problems.append(f"error object {_short(error)} is not OpenGrid's "
                                '{"code": "0100".."0300", "message": "..."}')
        return problems

    def artefact(self, check: str, ex: Exchange, failure=None):
        found = super().artefact(check, ex, failure)
        if found is None and check == "ignored_auth" and ex.status == 200 \
                and "not valid UTF-8" in str((error_of(ex.json()) or {}).get("message", "")):
            return NOT_UTF8_BEFORE_TOKEN
        return found

    # -- created objects ---------------------------------------------------------------
    def created(self, ex: Exchange) -> Created | None:
        if ex.method != "POST" or ex.status != 200 or not ex.operation or not ex.operation.startswith("create_"):
            return None
        body = ex.json()
        oid = _oid(body)
        if oid is None or error_of(body) is not None:
            return None
        collection = ex.path.strip("/").split("/")[0]
        return Created(collection[:-1] if collection.endswith("s") else collection, oid, {"path": f"/{collection}/{oid}"})

    def delete(self, session: Session, created: Created) -> bool | None:
        answer = session.request("DELETE", created.data["path"])
        if answer.status == 204:
            return True
        error = error_of(answer.json())
        return bool(error and "No object exists" in str(error.get("message", "")))

    def scenarios(self):
        return [refused_token_stays_refused, group_created_listed_updated_deleted, filter_returns_only_and_all,
                private_datasets]


@scenario("refused_token_stays_refused", "no, a wrong or a tampered token is refused with 403, every time")
def refused_token_stays_refused(run) -> None:
    good = run.session.headers.get(TOKEN, "")
    tampered = good[:-3] + ("abc" if not good.endswith("abc") else "xyz")
    for label, headers in (("no token", {}), ("a wrong token", {TOKEN: "not-a-token"}),
                           ("a tampered token", {TOKEN: tampered})):
        for attempt in range(2):
            answer = run.get("/groups", auth=False, headers=headers, params={"n": "-1"})
            run.expect(answer.status == 403, f"GET /groups with {label} (attempt {attempt + 1}): expected 403, "
                                             f"got {answer.status}", answer)
    ok = run.get("/groups", params={"n": "-1"})
    run.expect(ok.status == 200 and isinstance(ok.json(), list), "GET /groups with the good token failed", ok)
    again = run.get("/groups", auth=False, headers={TOKEN: tampered}, params={"n": "-1"})
    run.expect(again.status == 403, f"a refused token was accepted after a good request ({again.status})", again)
    wrong = run.post("/users/token", auth=False, json={"username": run.session.creds["username"],
                                                       "password": "wrong-" + secrets.token_hex(4)})
    run.expect(wrong.status == 401 and not wrong.headers.get("x-auth-token"),
               f"a login with a wrong password answered {wrong.status} (expected 401, no token)", wrong)


@scenario("group_created_listed_updated_deleted",
          "a created group is fetched and listed equal, an update is visible, a delete makes it gone", writes=True)
def group_created_listed_updated_deleted(run) -> None:
    name = run.unique("group")
    doc = {"groupId": name, "name": name, "description": "made by apitwin conform", "enabled": True,
           "isAdmin": False, "functions": [], "datasets": []}
    made = run.post("/groups", json={"id": None, "o": doc})
    run.require(made.status == 200 and error_of(made.json()) is None and _oid(made.json()) is not None,
                "creating a group failed (needs an admin user)", made)
    group = made.json()
    oid = _oid(group)
    run.expect(all(group.get(k) == v for k, v in doc.items()), f"the created group differs from what was sent "
                                                                f"({_short(group)})", made)
    one = run.get(f"/groups/{oid}")
    body = one.json()
    run.expect(one.status == 200 and isinstance(body, list) and len(body) == 1 and _oid(body[0]) == oid
               and all(body[0].get(k) == v for k, v in doc.items()),
               "the group fetched by id is not an array holding the created group", one)
    listed = run.get("/groups", params={"q": json.dumps({"name": name}), "n": "-1"})
    rows = listed.json() if isinstance(listed.json(), list) else []
    run.expect(listed.status == 200 and [_oid(r) for r in rows] == [oid],
               "listing groups by the new name does not give exactly the created group", listed)
    changed = {**doc, "description": "changed by apitwin conform"}
    put = run.request("PUT", f"/groups/{oid}", json={"id": {"$oid": oid}, "o": changed})
    run.expect(put.status == 200 and error_of(put.json()) is None, "updating the group failed", put)
    after = run.get(f"/groups/{oid}")
    body = after.json()
    run.expect(isinstance(body, list) and len(body) == 1 and body[0].get("description") == changed["description"],
               "the update is not visible when the group is fetched again", after)
    gone = run.request("DELETE", f"/groups/{oid}")
    run.expect(gone.status == 204, f"deleting the group answered {gone.status}, expected 204", gone)
    missing = run.get(f"/groups/{oid}")
    run.expect(missing.status == 200 and missing.json() == [], "a deleted group is still found", missing)
    again = run.request("DELETE", f"/groups/{oid}")
    error = error_of(again.json())
    run.expect(again.status == 200 and error is not None and error.get("code") == "0200",
               "deleting the group again: expected 200 with error 0200 (no object with that id)", again)


@scenario("filter_returns_only_and_all", "q filters and n limits return only and all matching groups (read-only)")
def filter_returns_only_and_all(run) -> None:
    everything = run.get("/groups", params={"n": "-1"})
    run.require(everything.status == 200 and isinstance(everything.json(), list), "GET /groups?n=-1 failed", everything)
    groups = everything.json()
    none = run.get("/groups")
    run.expect(none.status == 200 and none.json() == [], "without n, a list must be empty (n missing means 0 rows)", none)
    if groups:
        one = run.get("/groups", params={"n": "1"})
        run.expect(one.status == 200 and isinstance(one.json(), list) and len(one.json()) == 1,
                   "n=1 must return one row", one)
    for flag in (True, False):
        want = sorted(_oid(g) for g in groups if g.get("isAdmin") is flag)
        got = run.get("/groups", params={"q": json.dumps({"isAdmin": flag}), "n": "-1"})
        rows = got.json() if isinstance(got.json(), list) else []
        run.expect(sorted(_oid(g) for g in rows) == want,
                   f"q={{\"isAdmin\": {str(flag).lower()}}} does not return exactly the matching groups", got,
                   detail=f"got {len(rows)}, {len(want)} match")
    bad = run.get("/groups", params={"q": "{not json", "n": "-1"})
    error = error_of(bad.json())
    run.expect(bad.status == 200 and error is not None and error.get("code") == "0200",
               "a q that is not JSON: expected 200 with error 0200", bad)


@scenario("private_datasets", "a user sees and queries only the datasets of its groups")
def private_datasets(run) -> None:
    listed = run.get("/datasets")
    run.require(listed.status == 200 and isinstance(listed.json(), list), "GET /datasets failed", listed)
    visible = {d.get("id") for d in listed.json() if isinstance(d, dict)}
    hidden = "conform-no-such-dataset-" + secrets.token_hex(3)
    answer = run.get(f"/datasets/{hidden}")
    run.expect(answer.status in (200, 403) and (answer.status == 403 or error_of(answer.json()) is not None
                                                or answer.json() in ([], None)),
               "an unknown dataset's descriptor was answered as if it existed", answer)
    for dataset in sorted(visible)[:2]:
        query = run.get(f"/datasets/{dataset}/query", params={"q": "{}", "n": "1"})
        run.expect(query.status == 200 and error_of(query.json()) is None,
                   f"querying visible dataset {dataset} failed", query)


PROFILE = OpenGrid()
