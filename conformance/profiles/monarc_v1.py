"""MONARC Stats API v1 (`/api/v1`): an `X-API-KEY` per client, Flask-RESTX answers.

Conventions every answer follows (from openapi/monarc-v1.yaml and the research notes):
- JSON answers are written as Flask-RESTX writes them: `application/json`, Python's
  `json.dumps` defaults (", " and ": ", non-ASCII escaped) and a trailing newline;
- errors are `{"Error": "..."}`, `{"message": "..."}` or
  `{"errors": {"<argument>": "..."}, "message": "Input payload validation failed"}`;
  401 and 403 of the key are exact; a 405 has `Allow`; an unknown path is Werkzeug's HTML 404;
- `metadata` values are strings; a batch answers 201 or 207; `PATCH client/me` 201;
  `DELETE stats/{anr}` 204 with no body;
- no answer is a 5xx;
- what the service serves about itself is outside Flask-RESTX: the Swagger UI page (HTML) and
  its assets, and `/about.json` (Flask's `jsonify`: compact, keys sorted); another method
  there is Werkzeug's HTML 405. The Swagger document is Flask-RESTX's JSON.

Safety: `DELETE stats/{anr}` deletes the stats of *every* client for that ANR, so
Schemathesis never calls it, and the clean-up deletes an ANR only when every stat it holds
is one this run created. Registering clients and changing the caller's sharing flag are
left out too (a scenario sets the flag to the value it already has).
"""
from __future__ import annotations

import json
import math
import re
import secrets
import uuid
from urllib.parse import unquote

from ..exchange import Exchange
from ..scenarios import Session, scenario
from . import AuthOption, Created, Documented, Draft, LoginRefused, Profile, short, shown_body, well_formed

BASE = "/api/v1/"
STATS = BASE + "stats/"
PROCESSED = STATS + "processed/"
PROCESSOR_LIST = PROCESSED + "list"
ME = BASE + "client/me"
ABOUT = "/about.json"  # the Swagger UI page (BASE), its assets and /about.json: outside Flask-RESTX
ASSETS = "/swaggerui/"
UNAUTHORIZED = {"Error": "Unauthorized - Authentication required."}
FORBIDDEN = {"Error": "Forbidden - Authentication failed."}
NOT_ADMIN = {"message": "You don't have the permission to access the requested resource. "
                        "It is either read-protected or not readable by the server."}
INVALID = "Input payload validation failed"
METHOD_NOT_ALLOWED = {"message": "The method is not allowed for the requested URL."}
NOT_JSON = {"message": "Did not attempt to load JSON data because the request Content-Type was not 'application/json'."}
BAD_JSON = {"message": "The browser (or proxy) sent a request that this server could not understand."}
MISSING_TYPE = {"errors": {"type": "The type of the stats. Missing required parameter in the JSON body"},
                "message": INVALID}
PROCESSORS = ["risk_averages", "risk_averages_on_date", "threat_average_on_date", "vulnerability_average_on_date"]
TYPES = ("risk", "vulnerability", "threat", "cartography", "compliance")
WIDE = {"date_from": "1900-01-01", "date_to": "9999-12-31"}
UNSTORABLE = re.compile(r"\\u0000|\\u[dD][89a-fA-F][0-9a-fA-F]{2}|NaN|Infinity")


def outside_restx(path: str) -> bool:
    """A path served outside Flask-RESTX (its Swagger UI page and assets, /about.json)."""
    return path in (BASE, ABOUT) or path.startswith(ASSETS)


def restx_text(body) -> bytes:
    return (json.dumps(body) + "\n").encode()


def jsonify_text(body) -> bytes:
    """JSON as Flask's `jsonify` writes it (outside Flask-RESTX)."""
    return (json.dumps(body, separators=(",", ":"), sort_keys=True) + "\n").encode()


def error_shape(body) -> bool:
    if not isinstance(body, dict):
        return False
    if set(body) == {"Error"} or set(body) == {"message"}:
        return isinstance(next(iter(body.values())), str)
    errors = body.get("errors")
    return set(body) == {"errors", "message"} and body["message"] == INVALID and isinstance(errors, dict) \
        and len(errors) == 1 and all(isinstance(v, str) for v in errors.values())


# -- Flask-RESTX's conversions (to tell a documented acceptance from a wrong one) -------------
def _int_ok(value, choices=None) -> bool:
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):
        return False
    return number >= 0 if choices is None else number in choices


def _bool_ok(value) -> bool:
    return isinstance(value, bool) or not value or str(value).lower() in ("true", "1", "on", "false", "0")


def _uuid_ok(value) -> bool:
    try:
        uuid.UUID(value)
        return True
    except (TypeError, ValueError, AttributeError):
        return False


CONVERSIONS = {
    "type": lambda v: str(v) in TYPES,
    "processor": lambda v: str(v) in PROCESSORS,
    "offset": _int_ok, "limit": _int_ok,
    "group_by_anr": lambda v: _int_ok(v, (0, 1)), "local_stats_only": lambda v: _int_ok(v, (0, 1)),
    "get_last": _bool_ok,
    "anr": _uuid_ok,
    "anrs": lambda v: not v or (isinstance(v, (list, dict)) and all(_uuid_ok(i) for i in v)),
}


def converts(body) -> bool:
    """Whether Flask-RESTX reads every argument of `body` without refusing it."""
    if not isinstance(body, dict):
        return False
    return all(value is None or CONVERSIONS.get(name, lambda v: True)(value) for name, value in body.items())


def _sent(ex: Exchange) -> dict | None:
    """The arguments of a GET sent in its JSON body."""
    body = ex.request_json()
    return body if isinstance(body, dict) else None


def _items(ex: Exchange) -> list:
    body = ex.request_json()
    return body if isinstance(body, list) else []


def _left_out(ex: Exchange) -> int:
    """How many items of a batch its 207 leaves out (the database refused them)."""
    body = ex.json()
    rows = body.get("data") if isinstance(body, dict) else None
    return len(_items(ex)) - len(rows) if isinstance(rows, list) else 0


def _column_missing(item) -> bool:
    """An item naming a uuid, without an ANR, type or date: the database refuses it (NOT NULL)."""
    return isinstance(item, dict) and "uuid" in item and any(item.get(k) is None for k in ("anr", "type", "date"))


def _storable(value):
    """`value` (well formed) as PostgreSQL can store it: text (keys too) without NUL, finite numbers."""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, float) and not math.isfinite(value):
        return 0
    if isinstance(value, list):
        return [_storable(item) for item in value]
    if isinstance(value, dict):
        return {_storable(key): _storable(item) for key, item in value.items()}
    return value


def storable_batch(draft: Draft) -> bool:
    """Each item's `type` and `data` made storable (`postgresql-cannot-store`)."""
    changed = False
    for item in draft.body if isinstance(draft.body, list) else []:
        for key in ("type", "data"):
            if isinstance(item, dict) and key in item:
                stored = _storable(well_formed(item[key]))
                # Compared as JSON text: NaN is not equal to itself.
                if json.dumps(stored) != json.dumps(item[key]):
                    item[key], changed = stored, True
    return changed


class MonarcV1(Profile):
    name = "monarc-v1"
    auth_options = (AuthOption("api_key", "a client's token, sent as X-API-KEY"),)
    refused_statuses = (401, 403)
    excluded_operations = {
        "delete_anr_stats": "deletes every client's stats of an ANR; the run deletes only ANRs whose every "
                            "stat it created, in its clean-up and scenarios",
        "create_client": "would register clients, which the API cannot delete",
        "update_me": "would change the calling client's sharing; a scenario sets it to the value it has",
    }

    creates = ("stats in ANRs of the run's own (UUIDs made from the run id), deleted at the end by ANR when "
               "every stat of it is the run's")
    # A batch item's ANR and uuid are always the run's own: stats never join another client's ANR.
    named_fields = {"create_stats": {"anr": "uuid", "uuid": "uuid"}}
    documented = (
        Documented(
            "stored-stats-not-processable", "positive_data_acceptance", ("get_processed",), 400,
            lambda ex: _sent(ex) is not None and isinstance(ex.json(), dict) and str(ex.json().get("Error", ""))
            .startswith(f"The stored stats cannot be processed by '{_sent(ex).get('processor')}' ("),
            "stored data the processor cannot read (the run's own batches may store any data) crashes the real "
            "service (500, research notes §8.2); the stand-in answers 400 naming the processor",
            planted=(400, {"Error": "The stored stats cannot be processed by 'risk_averages' (data is no object)."})),
        Documented(
            "postgresql-cannot-store", "positive_data_acceptance", ("create_stats",), 400,
            lambda ex: error_shape(ex.json()) and bool((ex.json() or {}).get("errors"))
            and all(str(m).startswith("PostgreSQL refuses it") for m in ex.json()["errors"].values())
            and bool(UNSTORABLE.search((ex.request_body or b"").decode("utf-8", "replace"))),
            "text PostgreSQL cannot store (NUL, a lone UTF-16 surrogate) or a non-finite number crashes the real "
            "service (500); the stand-in answers a validation error naming the item's field",
            planted=(400, {"errors": {"0.data": "PostgreSQL refuses it: a NUL character."}, "message": INVALID}),
            complete=storable_batch),
        # Answers to requests the contract calls invalid, which the real service accepts.
        Documented(
            "arguments-converted", "negative_data_rejection", ("list_stats", "get_processed"), 200,
            lambda ex: converts(ex.request_json()),
            "Flask-RESTX converts argument values (int(), its boolean(), str(), list()) rather than type-checking "
            "them: the real service answers 200"),
        Documented(
            "anr-in-another-uuid-form", "negative_data_rejection", ("get_anr_stats",), 200,
            lambda ex: _uuid_ok(unquote(ex.path.rsplit("/", 1)[-1])),
            "an ANR in upper case, without dashes or in braces is read by PostgreSQL as the same UUID: 200"),
        Documented(
            "body-not-declared-json-not-read", "negative_data_rejection", ("list_stats", "get_processed"), 400,
            lambda ex: ex.request_content_type.split(";")[0].strip().lower() != "application/json"
            and ex.json() == MISSING_TYPE,
            "a body not declared application/json is not read: the real service answers its missing-type 400"),
    )

    def __init__(self) -> None:
        # ANR -> the uuids of the stats this process's runs created in it.
        self._ours: dict[str, set[str]] = {}

    # -- credentials -------------------------------------------------------------------
    def login(self, http, creds):
        return {"X-API-KEY": creds["api_key"]}

    def probe(self, session: Session) -> None:
        answer = session.request("GET", ME, check=False, count=False)
        if answer.status in (401, 403):
            raise LoginRefused(f"the API key was refused: GET {ME} answered {answer.summary()}")

    # -- a batch's 207 refuses the items it leaves out --------------------------------------
    def rejected(self, ex: Exchange) -> int | None:
        """A batch's 207 refuses the items its `data` leaves out, one by one: the database refused
        an item naming a uuid but no ANR, type or date (a 400's reason) or a uuid already taken (a 409's)."""
        if ex.operation != "create_stats" or ex.status != 207 or _left_out(ex) <= 0:
            return None
        return 400 if any(_column_missing(item) for item in _items(ex)) else 409

    def rejection_text(self, ex: Exchange) -> str:
        return f"207 leaving out {_left_out(ex)} of {len(_items(ex))} items, which the database refused"

    # -- conventions -------------------------------------------------------------------
    def conventions(self, ex: Exchange) -> list[str]:
        status = ex.status
        if status is None:
            return []
        if status >= 500:
            return [f"answered {status}: bad input gets the API's own 4xx, never a server error"]
        if 300 <= status < 400:
            return self._redirect(ex)
        if status == 404:
            return [] if ex.media_type == "text/html" else [
                f"404 with content type {ex.media_type or '(none)'}: an unknown path is Werkzeug's HTML page"]
        if ex.method in ("OPTIONS", "HEAD") or status == 204:
            return self._bodiless(ex)
        if outside_restx(ex.path):
            return self._outside_restx(ex)
        problems = []
        if ex.media_type != "application/json":
            return [f"answered {status} with content type {ex.media_type or '(none)'}: every answer is application/json"]
        body = ex.json()
        if body is None or ex.body != restx_text(body):
            problems.append("the JSON is not written as Flask-RESTX writes it (json.dumps defaults: \", \" and "
                            "\": \", non-ASCII escaped, a trailing newline)")
        if status >= 400:
            problems += self._error(ex, body)
        else:
            problems += self._success(ex, body)
        return problems

    @staticmethod
    def _outside_restx(ex: Exchange) -> list[str]:
        if ex.status == 405:
            return [] if ex.media_type == "text/html" and ex.headers.get("allow") else [
                "405 outside Flask-RESTX must be Werkzeug's HTML page with an Allow header"]
        if ex.path == BASE and ex.media_type != "text/html":
            return [f"the Swagger UI page answered with content type {ex.media_type or '(none)'}: expected text/html"]
        if ex.path == ABOUT and (ex.media_type != "application/json" or ex.json() is None
                                 or ex.body != jsonify_text(ex.json())):
            return ["/about.json is not written as Flask's jsonify writes it (compact, keys sorted, a trailing newline)"]
        return []

    @staticmethod
    def _redirect(ex: Exchange) -> list[str]:
        if ex.status == 304 and ex.operation == "create_client":
            return [] if not ex.body else ["a 304 carries no body"]
        location = ex.headers.get("location", "")
        if ex.status != 308 or not location.split("?")[0].endswith(ex.path + "/"):
            return [f"redirect {ex.status} to {location!r}: only a path without its trailing slash is redirected, "
                    "with a 308 to the absolute slashed URL"]
        return []

    @staticmethod
    def _bodiless(ex: Exchange) -> list[str]:
        problems = []
        if ex.body and ex.method != "HEAD":
            problems.append(f"{ex.method} answered {ex.status} with a body: expected none")
        if ex.method == "OPTIONS" and not ex.headers.get("allow"):
            problems.append("OPTIONS answered without an Allow header")
        if ex.status == 204 and "content-length" in ex.headers and ex.headers["content-length"] != "0":
            problems.append("a 204 with a Content-Length")
        return problems

    @staticmethod
    def _error(ex: Exchange, body) -> list[str]:
        if not error_shape(body):
            return [f"{ex.status} error body {shown_body(ex)} is not {{\"Error\"}}, {{\"message\"}} or "
                    f"{{\"errors\": {{...}}, \"message\": \"{INVALID}\"}}"]
        problems = []
        if ex.status == 401 and body != UNAUTHORIZED:
            problems.append(f"401 body {short(body)}: expected exactly {short(UNAUTHORIZED)}")
        if ex.status == 403 and body not in (FORBIDDEN, NOT_ADMIN):
            problems.append(f"403 body {short(body)}: expected {short(FORBIDDEN)} (or Werkzeug's 403 for a non-admin)")
        if ex.status == 405 and (body != METHOD_NOT_ALLOWED or not ex.headers.get("allow")):
            problems.append("405 must be Werkzeug's message with an Allow header")
        if ex.status == 415 and body != NOT_JSON:
            problems.append(f"415 body {short(body)}: expected {short(NOT_JSON)}")
        return problems

    @staticmethod
    def _success(ex: Exchange, body) -> list[str]:
        problems = []
        if ex.operation == "create_stats" and ex.status not in (201, 207):
            problems.append(f"a batch answered {ex.status}: expected 201 (or 207 when some items failed)")
        if ex.operation == "update_me" and ex.status != 201:
            problems.append(f"PATCH client/me answered {ex.status}: the real service answers 201")
        if ex.operation in ("list_stats", "create_stats") and isinstance(body, dict) \
                and isinstance(body.get("metadata"), dict):
            wrong = [k for k, v in body["metadata"].items() if v is not None and not isinstance(v, str)]
            if wrong:
                problems.append(f"metadata {', '.join(wrong)} not strings: Flask-RESTX writes them as strings")
        return problems

    # -- what a run creates: stats, deleted by ANR when every stat of it is the run's ----
    def created(self, ex: Exchange) -> Created | None:
        if ex.operation != "create_stats" or ex.status not in (201, 207):
            return None
        body = ex.json()
        rows = body.get("data") if isinstance(body, dict) else None
        if not isinstance(rows, list):
            return None
        anrs = []
        for row in rows:
            if isinstance(row, dict) and isinstance(row.get("anr"), str) and isinstance(row.get("uuid"), str):
                self._ours.setdefault(row["anr"], set()).add(row["uuid"])
                anrs.append(row["anr"])
        return Created("stats of ANR", ",".join(sorted(set(anrs)))) if anrs else None

    def delete(self, session: Session, created: Created) -> bool | None:
        gone = True
        for anr in created.ident.split(","):
            gone = self.delete_anr_if_ours(session, anr) and gone
        return gone

    def delete_anr_if_ours(self, session: Session, anr: str) -> bool:
        """Deletes the ANR's stats when every one is this run's; False when others are there."""
        held = session.request("GET", STATS + anr, check=False, count=False)
        rows = held.json()
        if held.status != 200 or not isinstance(rows, list):
            return False
        if not rows:
            return True
        if not {row.get("uuid") for row in rows if isinstance(row, dict)} <= self._ours.get(anr, set()):
            return False  # another client's stats share the ANR: DELETE would take them too
        return session.request("DELETE", STATS + anr, check=False, count=False).status == 204

    # -- scenarios -----------------------------------------------------------------------
    def scenarios(self):
        return [refused_key_stays_refused, routing_as_werkzeug, arguments_from_the_json_body, paging_adds_up,
                get_last_is_the_latest, me_echoes_the_key, processor_list, created_is_listed_and_equal,
                failed_items_give_207, processors_compute, bad_bodies_rejected, sharing_set_to_itself]


PROFILE = MonarcV1()


# -- scenarios ------------------------------------------------------------------------------
def _get_json(run, path: str, body, **kwargs):
    return run.request("GET", path, content=json.dumps(body), headers={"Content-Type": "application/json"}, **kwargs)


def _anr(run) -> str:
    """An ANR of the run's own (no other client's stats are in it)."""
    return run.unique("anr", kind="uuid")


@scenario("refused_key_stays_refused", "no key or an empty one is a 401, a wrong one a 403, on every route")
def refused_key_stays_refused(run) -> None:
    wrong = "conform-wrong-" + secrets.token_urlsafe(16)
    for path in (ME, STATS + _anr(run), PROCESSED, STATS):
        for label, headers, status, body in (("no key", {}, 401, UNAUTHORIZED),
                                             ("an empty key", {"X-API-KEY": ""}, 401, UNAUTHORIZED),
                                             ("a wrong key", {"X-API-KEY": wrong}, 403, FORBIDDEN)):
            answer = run.get(path, auth=False, headers=headers)
            run.expect(answer.status == status and answer.json() == body,
                       f"GET {path} with {label}: expected {status} {short(body)}", answer)
    listing = run.get(PROCESSOR_LIST, auth=False)
    run.expect_status(listing, 200, what="the processor list needs no key")


@scenario("routing_as_werkzeug", "unknown paths, missing slashes and OPTIONS answer as Werkzeug does (read-only)")
def routing_as_werkzeug(run) -> None:
    unknown = run.get(BASE + "conform-no-such-path")
    run.expect(unknown.status == 404 and unknown.media_type == "text/html", "an unknown path: expected Werkzeug's HTML 404",
               unknown)
    no_slash = run.get(STATS.rstrip("/"))
    run.expect(no_slash.status == 308 and no_slash.headers.get("location", "").endswith(STATS)
               and no_slash.headers.get("location", "").startswith("http"),
               f"GET {STATS.rstrip('/')}: expected a 308 to the absolute URL of {STATS}", no_slash)
    client_get = run.get(BASE + "client")
    run.expect(client_get.status == 404, "GET /api/v1/client: expected 404 (client/ only takes POST)", client_get)
    options = run.request("OPTIONS", STATS)
    allowed = {m.strip() for m in options.headers.get("allow", "").split(",")}
    run.expect(options.status == 200 and {"GET", "POST", "HEAD", "OPTIONS"} <= allowed,
               "OPTIONS stats/: expected 200 with Allow naming GET, POST, HEAD and OPTIONS", options)


@scenario("arguments_from_the_json_body", "GET arguments are read from a JSON body; the query string is refused")
def arguments_from_the_json_body(run) -> None:
    query = run.request("GET", STATS, params={"limit": "1"}, content=json.dumps({"type": "risk"}),
                        headers={"Content-Type": "application/json"})
    expected = {"message": "Unknown arguments: limit"}
    run.expect(query.status == 400 and query.json() == expected, f"?limit=1: expected 400 {short(expected)}", query)
    bare = run.get(STATS)
    run.expect(bare.status == 400 and bare.json() == MISSING_TYPE, "no body: expected the missing-type 400", bare)
    text = run.request("GET", STATS, content=json.dumps({"type": "risk"}), headers={"Content-Type": "text/plain"})
    run.expect(text.status == 400 and text.json() == MISSING_TYPE,
               "a text/plain body is not read: expected the missing-type 400", text)
    bad = _get_json(run, STATS, {"type": "foo"})
    message = "The type of the stats. The value 'foo' is not a valid choice for 'type'."
    run.expect(bad.status == 400 and bad.json() == {"errors": {"type": message}, "message": INVALID},
               "type foo: expected the choice error", bad)


def _listing(run, body) -> list | None:
    answer = _get_json(run, STATS, body)
    if not run.expect_status(answer, 200, what=f"list {short(body)}"):
        return None
    page = answer.json()
    rows = page.get("data") if isinstance(page, dict) else None
    if not run.expect(isinstance(rows, list) and isinstance(page.get("metadata"), dict),
                      'a listing is {"metadata": {...}, "data": [...]}', answer):
        return None
    run.expect(page["metadata"].get("count") == str(len(rows)),
               f"metadata.count is {page['metadata'].get('count')!r}, the page holds {len(rows)} stats", answer)
    return rows


@scenario("paging_adds_up", "pages of the caller's stats add up to one listing; an offset alone is empty (read-only)")
def paging_adds_up(run) -> None:
    whole = _listing(run, {"type": "risk", **WIDE})
    if whole is None:
        return
    whole = whole[:12]
    for size in (1, 5):
        got = []
        for offset in range(0, len(whole), size):
            page = _listing(run, {"type": "risk", **WIDE, "offset": offset, "limit": size})
            if page is None:
                return
            got += [row.get("uuid") for row in page]
        run.expect(got[:len(whole)] == [row.get("uuid") for row in whole],
                   f"pages of {size} do not add up to the listing (order or rows differ)")
    alone = _listing(run, {"type": "risk", **WIDE, "offset": 1})
    run.expect(alone == [], "an offset without a limit must be an empty page (PostgreSQL's LIMIT 0)")


@scenario("get_last_is_the_latest", "get_last gives each ANR's stat of the greatest date (read-only)")
def get_last_is_the_latest(run) -> None:
    every = _listing(run, {"type": "risk", **WIDE})
    last = _listing(run, {"type": "risk", "get_last": True})
    if every is None or last is None:
        return
    latest: dict[str, str] = {}
    for row in every:
        latest[row["anr"]] = max(latest.get(row["anr"], ""), row["date"])
    got = {row["anr"]: row["date"] for row in last}
    run.expect(got == latest, "get_last does not give each ANR's greatest date",
               detail=f"get_last: {short(got)}\nexpected: {short(latest)}")


@scenario("me_echoes_the_key", "client/me echoes the caller's token, its role as a string (read-only)")
def me_echoes_the_key(run) -> None:
    answer = run.get(ME)
    body = answer.json()
    run.require(answer.status == 200 and isinstance(body, dict), "GET client/me: expected 200 with the client", answer)
    run.expect(list(body) == ["name", "token", "role", "is_sharing_enabled"],
               f"client keys {list(body)}: expected name, token, role, is_sharing_enabled in this order", answer)
    run.expect(body.get("token") == run.session.headers.get("X-API-KEY"), "client/me does not echo the key", answer)
    run.expect(body.get("role") in ("1", "2"), f"role {body.get('role')!r}: expected \"1\" or \"2\"", answer)
    masked = run.get(ME, headers={"X-Fields": "role,name"})
    run.expect(masked.status == 200 and list(masked.json() or {}) == ["role", "name"],
               "X-Fields: role,name must give exactly those keys, in that order", masked)


@scenario("processor_list", "the four processors, in order (read-only)")
def processor_list(run) -> None:
    answer = run.get(PROCESSOR_LIST, auth=False)
    names = [p.get("name") for p in answer.json() or [] if isinstance(p, dict)]
    run.expect(answer.status == 200 and names == PROCESSORS, f"processors {names}: expected {PROCESSORS}", answer)


def _post(run, items, status=(201,)):
    answer = run.post(STATS, json=items)
    run.require_status(answer, *status, what="send a batch of stats")
    return answer


@scenario("created_is_listed_and_equal", "a batch is stored as sent and read back, then its ANR deleted", writes=True)
def created_is_listed_and_equal(run) -> None:
    anr = _anr(run)
    data = {"total": 1, "risks": {"b": 1, "a": 2}, "uuid": "u", "averageRate": "1.5"}
    items = [{"anr": anr, "type": "risk", "date": "2001-02-03", "data": data},
             {"anr": anr.upper(), "type": "threat", "date": "2001-02-04", "data": []}]
    answer = _post(run, items)
    body = answer.json()
    rows = body.get("data", [])
    run.expect(body.get("metadata") == {"count": "2", "offset": "0", "limit": "0"},
               f"batch metadata {short(body.get('metadata'))}: expected count \"2\", offset and limit \"0\"", answer)
    run.expect([(r.get("anr"), r.get("type"), r.get("date")) for r in rows]
               == [(anr, "risk", "2001-02-03"), (anr, "threat", "2001-02-04")],
               "the batch answer does not list the stats as sent (anr normalised, plain dates)", answer)
    if rows:
        run.expect(list(rows[0].get("data", {})) == ["uuid", "risks", "total", "averageRate"],
                   "stored data keys must come back in JSONB order (shorter first, then bytewise)", answer)
    held = run.get(STATS + anr)
    run.expect(held.status == 200 and sorted(r.get("uuid") for r in held.json() or []) == sorted(r["uuid"] for r in rows),
               "GET stats/{anr} must list exactly the stats of the batch", held)
    listed = _listing(run, {"type": "risk", "anrs": [anr], **WIDE})
    run.expect(listed is not None and [r.get("uuid") for r in listed] == [rows[0]["uuid"]],
               "the listing filtered by the new ANR must hold its risk stat only")
    if PROFILE.delete_anr_if_ours(run.session, anr):
        after = run.get(STATS + anr)
        run.expect(after.status == 200 and after.json() == [], "after DELETE stats/{anr}, the ANR has no stats", after)


@scenario("failed_items_give_207", "a uuid already taken fails its item only: 207 with the stored ones", writes=True)
def failed_items_give_207(run) -> None:
    anr, taken = _anr(run), run.unique("uuid", kind="uuid")
    _post(run, [{"anr": anr, "type": "risk", "date": "2001-02-03", "uuid": taken}])
    answer = _post(run, [{"anr": anr, "type": "risk", "date": "2001-02-03", "uuid": taken},
                         {"anr": anr, "type": "threat", "date": "2001-02-03"}], status=(207,))
    body = answer.json()
    run.expect(body.get("metadata", {}).get("count") == "1" and [r.get("type") for r in body.get("data", [])] == ["threat"],
               "a 207 lists only the stored item", answer)


def _processed(run, body):
    answer = _get_json(run, PROCESSED, body)
    run.require_status(answer, 200, what=f"processed {short(body)}")
    return answer.json().get("data")


@scenario("processors_compute", "the processors compute what the real ones compute, on the run's own ANRs", writes=True)
def processors_compute(run) -> None:
    one, two, thing = _anr(run), _anr(run), str(uuid.uuid4())

    def threat(count):
        return [{"uuid": thing, "label1": "Fire", "count": count, "maxRisk": 10, "averageRate": "1.5"}]

    def risk(value):
        levels = [{"level": name, "value": value} for name in ("Low risks", "Medium risks", "High risks")]
        return {"risks": {"current": {"informational": levels, "operational": []}}}

    _post(run, [{"anr": one, "type": "threat", "date": "2001-02-03", "data": threat(2)},
                {"anr": two, "type": "threat", "date": "2001-02-03", "data": threat(4)},
                {"anr": one, "type": "risk", "date": "2001-02-03", "data": risk(2)},
                {"anr": two, "type": "risk", "date": "2001-02-03", "data": risk(4)}])
    threats = _processed(run, {"type": "threat", "processor": "threat_average_on_date", "anrs": [one, two]})
    values = threats[0].get("values") if isinstance(threats, list) and threats else None
    run.expect(values == [{"count": 4.0, "maxRisk": 10.0, "averageRate": 1.5, "date": "2001-02-03"}],
               "threat_average_on_date gives the last value seen for an object and a date (2 then 4: 4.0)",
               detail=f"values: {short(values)}")
    risks = _processed(run, {"type": "risk", "processor": "risk_averages", "anrs": [one, two]})
    low = risks.get("current", {}).get("informational", {}).get("Low risks") if isinstance(risks, dict) else None
    run.expect(low == 3.0, f"risk_averages of 2 and 4 must be 3.0, got {low!r}")
    for anr in (one, two):
        PROFILE.delete_anr_if_ours(run.session, anr)


@scenario("bad_bodies_rejected", "a batch not declared JSON is a 415, unreadable JSON a 400", writes=True)
def bad_bodies_rejected(run) -> None:
    plain = run.post(STATS, content=b"[]", headers={"Content-Type": "text/plain"})
    run.expect(plain.status == 415 and plain.json() == NOT_JSON, f"text/plain batch: expected 415 {short(NOT_JSON)}", plain)
    broken = run.post(STATS, content=b"[", headers={"Content-Type": "application/json"})
    run.expect(broken.status == 400 and broken.json() == BAD_JSON, f"unreadable JSON: expected 400 {short(BAD_JSON)}",
               broken)


@scenario("sharing_set_to_itself", "PATCH client/me with the current sharing value answers 201 and changes nothing",
          writes=True)
def sharing_set_to_itself(run) -> None:
    before = run.get(ME)
    run.require_status(before, 200, what="GET client/me")
    current = before.json().get("is_sharing_enabled")
    answer = run.request("PATCH", ME, json={"is_sharing_enabled": current})
    run.expect(answer.status == 201 and answer.json() == before.json(),
               "PATCH client/me with the current value: expected 201 with the unchanged client", answer)
