"""MONARC Stats API v2: an `X-API-KEY` per organization, `{"error"}`/`{"field-errors"}` errors.

Conventions every answer follows (from openapi/monarc.yaml and the research notes):
- errors are JSON, never problem+json: `{"error": "..."}` or `{"field-errors": {field: msg}}`,
  and a field error names a field that was sent (or a required one that was missing);
- 401 is exactly `{"error": "Unauthorized"}`; a 404 of one stat or organization has the
  real service's "Empty query: ..." message; a 405 is Werkzeug's HTML page with `Allow`;
- no answer is a 5xx; every answer is JSON, except Werkzeug's own (the 308 to the slashed
  and slash-merged path, the 405, OPTIONS, and the HTML 404 of a path no route serves, e.g.
  an organization name holding a slash: observed on the real code run locally).

The organization routes take no key, and a POST or PUT of an existing name replaces that
organization's token: the kit's guard (safety.py) gives every such write a run-unique name
and token, so no organization the run did not create (e.g. the document's CASES) is touched.
"""
from __future__ import annotations

import json
import re
import secrets
import uuid
from datetime import datetime
from urllib.parse import unquote

from ..exchange import Exchange
from ..scenarios import Session, scenario
from . import (INT64, AuthOption, Created, Documented, Draft, Profile, ToolArtefact, beyond_int64, nearest_int64,
               probe_by_get, short, shown_body, well_formed)

STATS = "/api/v2/stats/"
ORGS = "/api/v2/organizations/"
UNAUTHORIZED = {"error": "Unauthorized"}
STAT_NOT_FOUND = {"error": "Empty query: Stats matching query does not exist."}
ORG_NOT_FOUND = {"error": "Empty query: Organization matching query does not exist."}
LIMIT_TOO_LARGE = "The limit you set is larger than the maximum limit for this resource (max_limit = 1000)."
ORGANIZATIONS_MAX_LIMIT = 100
DUPLICATE = "Tried to save duplicate unique keys"
NAME_CANNOT_CHANGE = "The name of an organization cannot be changed"
POST_ON_OBJECT = {"error": "404 Not Found: Did you mean to use PUT?"}
WERKZEUG_405 = ('<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 3.2 Final//EN">\n<title>405 Method Not Allowed</title>\n'
                "<h1>Method Not Allowed</h1>\n<p>The method is not allowed for the requested URL.</p>\n")
WERKZEUG_404 = ('<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 3.2 Final//EN">\n<title>404 Not Found</title>\n'
                "<h1>Not Found</h1>\n<p>The requested URL was not found on the server. If you entered the URL "
                "manually please check your spelling and try again.</p>\n")
# The paths the real service's routes serve (ids and names are any text without a slash).
_ROUTES = re.compile(r"/api/v2/(stats|organizations)/([^/]+/)?", re.DOTALL)
INVALID_JSON = "The request contains invalid JSON."
NOT_A_DICT = "JSON data must be a dict."
NOT_JSON = "Please send valid JSON with a 'Content-Type: application/json' header."

STAT_FIELDS = ("anr", "type", "day", "week", "month", "quarter", "year", "data")
# The filters that work; `quarter`, `anr` and `updated_at` are accepted and ignored.
FILTER_INT_FIELDS = ("day", "week", "month", "year")
DATE_FIELDS = ("created_at",)
TEXT_FIELDS = ("type", "organization")
FILTERABLE = TEXT_FIELDS + FILTER_INT_FIELDS + DATE_FIELDS
OPERATORS = ("exact", "iexact", "contains", "icontains", "startswith", "istartswith", "endswith",
             "iendswith", "gt", "gte", "lt", "lte", "ne", "in", "nin")
STAT_INT_FIELDS = ("day", "week", "month", "quarter", "year")
# MongoDB nests a document 100 levels at most: the stat is the first, its `data` the second.
DOCUMENT_DEPTH = 100
OBJECT_ID = re.compile(r"^[0-9a-f]{24}$")
STAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}$")
LONE_SURROGATE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


# -- MONARC's value rules (to tell a justified rejection from a wrong one) --------------------
def _int_ok(text: str) -> bool:
    """As MONARC reads an integer: Python's int(), within 64 bits."""
    try:
        return INT64[0] <= int(text) <= INT64[1]
    except ValueError:
        return False


def _date_ok(text: str) -> bool:
    for fmt in ("%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"):
        try:
            datetime.strptime(text, fmt)
            return True
        except ValueError:
            continue
    return False


def filter_value_ok(name: str, value: str) -> bool:
    """Whether MONARC can use query parameter `name=value` (unknown parameters are fine)."""
    field, _, operator = name.partition("__")
    operator = operator or "exact"
    if field not in FILTERABLE or operator not in OPERATORS:
        return True
    if value == "":  # an empty value is null: fine, but not for `in` or a text operator
        return operator in ("exact", "gt", "gte", "lt", "lte", "ne")
    # `in` and `nin` take one value, character by character.
    values = list(value) if operator in ("in", "nin") else [value]
    if operator not in ("exact", "gt", "gte", "lt", "lte", "ne", "in", "nin") and field not in TEXT_FIELDS:
        return False  # text operators on numbers or dates
    if field in FILTER_INT_FIELDS:
        return all(_int_ok(v) for v in values)
    if field in DATE_FIELDS:
        return all(_date_ok(v) for v in values)
    return True


class Monarc(Profile):
    name = "monarc"
    ignores_unknown_query_parameters = True  # documented in the listing's description
    auth_options = (AuthOption("api_key", "an organization's token, sent as X-API-KEY"),)
    refused_statuses = (401, 403)
    # Deviations found by this kit in apitwin's MONARC (empty in-lists, integers beyond 64
    # bits, a null uuid) were fixed in the server and the document; none is waived now.
    deviations = ()
    creates = ("organizations (MONARC cannot delete them: listed at the end) and stats in them, named "
               "and keyed by the run")
    # Organization writes are upserts on the real service: a POST with a taken name replaces
    # that organization's token. Names, tokens and stat uuids are always the run's own.
    artefacts = (
        ToolArtefact("post-on-an-object-is-no-create", "ensure_resource_availability",
                     ("post_on_stat", "post_on_organization"),
                     lambda ex, f: ex.status == 404 and ex.json() == POST_ON_OBJECT,
                     "Schemathesis takes a POST to an object's path for a create and looks for what it made; "
                     "MONARC has no such operation (flask-mongorest's 404 \"Did you mean to use PUT?\")"),
    )
    # The PUT of an organization's token names it in its path: one of the run's own, or none.
    named_fields = {"create_organization": {"name": "name", "token": "name"}, "create_stat": {"uuid": "uuid"},
                    "set_organization_token": {"token": "name"}}
    # A PUT's body `name` other than the path's writes a second organization on the real
    # service: one of the run's own, or a run-unique one no organization has.
    target_fields = {"set_organization_token": ("name",)}
    absent_ids = {"id": "0000{run}000000000000", "name": "apitwin-{run}-absent"}
    documented = (
        Documented(
            "filter-value-not-convertible", "positive_data_acceptance", ("list_stats",), 400,
            lambda ex: _field_errors_on_bad_filters(ex),
            "a filter value that cannot be converted to the field's type (month=abc) crashes the real service "
            "(500); the stand-in answers a field error on that parameter, as the contract says",
            planted=(400, {"field-errors": {"month": "abc could not be converted to int"}}),
            complete=lambda draft: _complete_filters(draft)),
        Documented(
            "data-mongodb-cannot-store", "positive_data_acceptance", ("create_stat",), 400,
            lambda ex: _field_errors(ex) is not None and list(_field_errors(ex)) == ["data"]
            and _field_errors(ex)["data"].startswith(("The data cannot be stored", "The data nests deeper"))
            and _unstorable((ex.request_json() or {}).get("data") if isinstance(ex.request_json(), dict) else None),
            "data holding a key with a NUL, an integer beyond 64 bits or nesting past 100 levels crashes the real "
            "service (500, MongoDB cannot store it); the stand-in answers a field error on data, as the contract says",
            planted=(400, {"field-errors": {"data": "The data cannot be stored: a key holds a NUL character"}}),
            complete=lambda draft: _complete_data(draft)),
        Documented(
            "integer-beyond-64-bits", "positive_data_acceptance", ("create_stat",), 400,
            lambda ex: _field_errors(ex) is not None and all(
                message.endswith("could not be converted to int") and _beyond_64_bits(ex, name)
                for name, message in _field_errors(ex).items()),
            "an integer field beyond 64 bits crashes the real service (500); the stand-in answers a field error "
            "on it, as the contract says",
            planted=(400, {"field-errors": {"day": "7 could not be converted to int"}}),
            complete=lambda draft: _complete_integers(draft)),
        Documented(
            "default-token-taken", "positive_data_acceptance", ("create_organization",), 400,
            lambda ex: list(_field_errors(ex) or {}) == ["token"] and _field_errors(ex)["token"].startswith(DUPLICATE)
            and isinstance(ex.request_json(), dict) and ex.request_json().get("token") in (None, ""),
            "an organization created without a token gets the service's one default token, computed once: a "
            "second one collides (the real service answers 500; the stand-in a field error on token)",
            planted=(400, {"field-errors": {"token": DUPLICATE}}),
            complete=lambda draft: _complete_token(draft)),
        Documented(
            "name-cannot-change", "positive_data_acceptance", ("set_organization_token",), 400,
            lambda ex: (_field_errors(ex) or {}) == {"name": NAME_CANNOT_CHANGE} and isinstance(ex.request_json(), dict)
            and ex.request_json().get("name") not in (None, unquote(ex.path.rstrip("/").rsplit("/", 1)[-1])),
            "a PUT replaces an organization's token; a name in its body other than the path's writes a second "
            "organization on the real service, which the stand-in refuses with a field error (its contract says so)",
            planted=(400, {"field-errors": {"name": NAME_CANNOT_CHANGE}}),
            complete=lambda draft: _complete_name(draft)),
        Documented(
            "lone-surrogate-is-invalid-json", "positive_data_acceptance", ("create_stat", "create_organization"), 400,
            lambda ex: (ex.json() or {}).get("error") == INVALID_JSON and bool(ex.request_body)
            and bool(LONE_SURROGATE.search(ex.request_body.decode("utf-8", "replace"))),
            "a string holding a lone UTF-16 surrogate (\\udXXX) crashes the real service (500); no UTF-8 store "
            "can keep it, and the stand-in answers 400 invalid JSON",
            planted=(400, {"error": INVALID_JSON}),
            complete=lambda draft: _complete_surrogates(draft)),
    )

    # -- credentials -------------------------------------------------------------------
    def login(self, http, creds):
        return {"X-API-KEY": creds["api_key"]}

    def probe(self, session: Session) -> None:
        # The organization routes take no key: the stats tell whether the key is good.
        probe_by_get(session, STATS, "the API key was refused", params={"_limit": "1"})

    # -- conventions -------------------------------------------------------------------
    def conventions(self, ex: Exchange) -> list[str]:
        status = ex.status
        if status is None:
            return []
        problems = []
        ctype = ex.media_type
        body = ex.json()
        if status >= 500:
            problems.append(f"answered {status}: MONARC answers its own 4xx error for bad input, never a server error")
        if ex.method in ("OPTIONS", "HEAD"):
            return problems  # Werkzeug's automatic answers: no body
        if status == 405:
            if ctype != "text/html" or ex.body.decode("utf-8", "replace") != WERKZEUG_405:
                problems.append(f"405 answered {ctype or '(no content type)'} {shown_body(ex)}: the real service "
                                "answers Werkzeug's HTML page 'Method Not Allowed'")
            if not ex.headers.get("allow"):
                problems.append("405 without an Allow header naming the methods the path serves")
            return problems
        if 300 <= status < 400:
            location = ex.headers.get("location", "")
            canonical = _canonical(ex.path)
            if status != 308 or canonical == ex.path or not location.split("?")[0].endswith(canonical):
                problems.append(f"redirect {status} to {location!r}: MONARC only redirects a path without its "
                                f"trailing slash or with repeated slashes, with a 308 to the slashed, merged path")
            return problems
        if status == 404 and ctype == "text/html":
            if ex.body.decode("utf-8", "replace") != WERKZEUG_404 or _served(ex.path):
                problems.append(f"404 answered text/html {shown_body(ex)}: the real service answers Werkzeug's "
                                "HTML page 'Not Found' only for a path no route serves (e.g. a name with a slash)")
            return problems
        if ctype != "application/json":
            problems.append(f"answered {status} with content type {ctype or '(none)'}: MONARC always answers "
                            "application/json (errors too, never problem+json)")
        if 200 <= status < 300:
            if ex.method == "POST" and status != 200:
                problems.append(f"create answered {status}: the real service answers 200 (not 201)")
            return problems
        if status >= 400:
            if not _error_shape(body):
                problems.append(f"{status} error body {shown_body(ex)} "
                                'is not MONARC\'s {"error": "..."} or {"field-errors": {"<field>": "<message>"}}')
                return problems
            if status == 401 and body != UNAUTHORIZED:
                problems.append(f'401 body {short(body)}: the real service answers exactly {{"error": "Unauthorized"}}')
            # The real service's message is checked for printable ids and names; one holding a
            # slash is another path (the router's plain 404), control characters vary by router.
            segment = unquote(ex.path.rstrip("/").rsplit("/", 1)[-1])
            routed = _served(ex.path) and segment.isprintable()
            if status == 404 and ex.operation == "get_stat" and routed and body != STAT_NOT_FOUND:
                problems.append(f"404 of a stat {short(body)}: expected {short(STAT_NOT_FOUND)}")
            if status == 404 and ex.operation == "get_organization" and routed and body != ORG_NOT_FOUND:
                problems.append(f"404 of an organization {short(body)}: expected {short(ORG_NOT_FOUND)}")
            if status == 404 and ex.operation in ("post_on_stat", "post_on_organization") and routed \
                    and body != POST_ON_OBJECT:
                problems.append(f"404 of a POST on an object {short(body)}: expected {short(POST_ON_OBJECT)}")
            if "field-errors" in body:
                unknown = self._unexplained_fields(ex, body["field-errors"])
                if unknown:
                    problems.append(f"field errors on {', '.join(sorted(unknown))}, which the request did not send "
                                    "and are not required: a field error must name the faulty field")
        return problems

    @staticmethod
    def _unexplained_fields(ex: Exchange, errors: dict) -> set[str]:
        if ex.method == "GET":
            return set(errors) - set(ex.query)
        sent = ex.request_json()
        sent = set(sent) if isinstance(sent, dict) else set()
        organization = ex.operation in ("create_organization", "set_organization_token")
        allowed = sent | ({"name", "token"} if organization else set(STAT_FIELDS) | {"uuid"})
        return set(errors) - allowed

    # -- created objects: MONARC deletes nothing --------------------------------------
    def created(self, ex: Exchange) -> Created | None:
        if ex.status != 200 or ex.method != "POST":
            return None
        body = ex.json()
        if not isinstance(body, dict):
            return None
        if ex.operation == "create_stat" and isinstance(body.get("id"), str):
            return Created("stat", body["id"])
        if ex.operation == "create_organization" and isinstance(body.get("name"), str):
            return Created("organization", body["name"])
        return None

    def delete(self, session, created):
        return None  # no delete route: the report lists what the run created

    def scenarios(self):
        return [refused_key_stays_refused, errors_in_monarc_shape, paging_existing_rows,
                created_is_listed_and_equal, filters_return_only_and_all_matching, paging_adds_up,
                bad_bodies_rejected, organization_token_replaced, update_is_visible, private_objects]


def _beyond_64_bits(ex: Exchange, field: str) -> bool:
    """Whether the body's `field` is an integer (or integer string) beyond 64 bits."""
    sent = ex.request_json()
    return _int_beyond_64_bits(sent.get(field) if isinstance(sent, dict) else None)


def _int_beyond_64_bits(value) -> bool:
    """Whether `value` is an integer (or integer string) beyond 64 bits."""
    if isinstance(value, str) and re.fullmatch(r"\s*[+-]?\d+(_\d+)*\s*", value):
        return not _int_ok(value)  # also past Python's 4,300 digits
    try:
        return not isinstance(value, bool) and not INT64[0] <= int(value) <= INT64[1]
    except (TypeError, ValueError, OverflowError):
        return False


def _field_errors(ex: Exchange) -> dict | None:
    body = ex.json()
    errors = body.get("field-errors") if isinstance(body, dict) else None
    return errors if isinstance(errors, dict) and errors else None


def _field_errors_on_bad_filters(ex: Exchange) -> bool:
    """Every field error names a query parameter whose value MONARC cannot convert."""
    errors = _field_errors(ex)
    return errors is not None and all(name in ex.query and not filter_value_ok(name, ex.query[name])
                                      for name in errors)


def _unstorable(data, depth: int = 0) -> bool:
    """Whether MongoDB cannot store `data`: a key holding a NUL, an integer beyond 64 bits, nesting
    past 100 levels."""
    if depth > 100:
        return True
    if isinstance(data, dict):
        return any("\x00" in str(k) or _unstorable(v, depth + 1) for k, v in data.items())
    if isinstance(data, list):
        return any(_unstorable(v, depth + 1) for v in data)
    return beyond_int64(data)


# -- completions: a valid case made to meet a rule no schema can say ------------------------
def _nearest_int64(text: str) -> str:
    """The 64-bit bound on the side of an integer beyond 64 bits."""
    return str(INT64[0] if text.strip().startswith("-") else INT64[1])


def _usable_filter_value(field: str, value: str) -> str:
    if field in FILTER_INT_FIELDS:
        return _nearest_int64(value)
    return "2020-05-12" if field in DATE_FIELDS else "risk"


def _complete_filters(draft: Draft) -> bool:
    """Each filter value MONARC cannot convert becomes one it can (an integer beyond 64 bits
    its nearest bound, a date that is none 2020-05-12), or goes where none would do."""
    changed = False
    for name, value in list(draft.query.items()):
        if filter_value_ok(name, str(value)):
            continue
        usable = _usable_filter_value(name.partition("__")[0], str(value))
        if filter_value_ok(name, usable):
            draft.query[name] = usable
        else:
            del draft.query[name]
        changed = True
    return changed


def _complete_integers(draft: Draft) -> bool:
    """Each integer field beyond 64 bits becomes its nearest 64-bit bound (a string stays one)."""
    body = draft.body
    if not isinstance(body, dict):
        return False
    changed = False
    for field in STAT_INT_FIELDS:
        value = body.get(field)
        if _int_beyond_64_bits(value):
            bound = _nearest_int64(str(value))
            body[field] = bound if isinstance(value, str) else int(bound)
            changed = True
    return changed


def _storable(value, depth: int = 1):
    """`value`, found `depth` levels down the stat's document, as MongoDB can store it: NUL
    characters out of keys, integers beyond 64 bits at their nearest bound, a container past
    the nesting limit null."""
    if isinstance(value, (dict, list)) and depth >= DOCUMENT_DEPTH:
        return None
    if isinstance(value, dict):
        return {key.replace("\x00", ""): _storable(item, depth + 1) for key, item in value.items()}
    if isinstance(value, list):
        return [_storable(item, depth + 1) for item in value]
    if beyond_int64(value):
        return nearest_int64(value)
    return value


def _complete_data(draft: Draft) -> bool:
    body = draft.body
    if not isinstance(body, dict) or "data" not in body:
        return False
    storable = _storable(body["data"])
    if storable == body["data"]:
        return False
    body["data"] = storable
    return True


def _complete_surrogates(draft: Draft) -> bool:
    if not isinstance(draft.body, (dict, list)):
        return False
    well_formed_body = well_formed(draft.body)
    if json.dumps(well_formed_body) == json.dumps(draft.body):  # the JSON text sent, escapes and all
        return False
    draft.body = well_formed_body
    return True


def _complete_token(draft: Draft) -> bool:
    """An organization created without a token gets one of its own (the kit's guard then makes
    it run-unique), not the service's one default token another organization holds."""
    body = draft.body
    if not isinstance(body, dict) or body.get("token") not in (None, ""):
        return False
    body["token"] = secrets.token_urlsafe(32)
    return True


def _complete_name(draft: Draft) -> bool:
    """A PUT's body names the organization of its path, if it names one."""
    body = draft.body
    name = draft.path.get("name")
    if not isinstance(body, dict) or "name" not in body or body["name"] == name:
        return False
    body["name"] = name
    return True


def _error_shape(body) -> bool:
    if not isinstance(body, dict) or len(body) != 1:
        return False
    if "error" in body:
        return isinstance(body["error"], str)
    errors = body.get("field-errors")
    return isinstance(errors, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in errors.items())


# -- scenarios --------------------------------------------------------------------------
def _new_organization(run) -> tuple[str, str]:
    """A fresh organization and its token (the run cannot delete it afterwards)."""
    name = run.unique("org")
    token = run.unique("token") + "-" + secrets.token_urlsafe(24)
    answer = run.post(ORGS, json={"name": name, "token": token}, auth=False)  # the route takes no key
    run.require_status(answer, 200, what="create an organization")
    run.require(answer.json() == {"name": name},
                f"create organization answered {short(answer.json())}, expected exactly {{\"name\": {name!r}}} "
                "(tokens are never returned)", answer)
    return name, token


def _stat(anr: str | None = None, **fields) -> dict:
    body = {"anr": anr or str(uuid.uuid4()), "type": "risk", "day": 1, "week": 1, "month": 1,
            "quarter": 1, "year": 2025, "data": {"total": 3}}
    body.update(fields)
    return body


def _create_stats(run, token: str, bodies: list[dict]) -> list[dict]:
    rows = []
    for body in bodies:
        answer = run.post(STATS, json=body, headers={"X-API-KEY": token})
        run.require_status(answer, 200, what="create a stat")
        stat = answer.json()
        run.require(isinstance(stat, dict) and isinstance(stat.get("id"), str),
                    "create stat answered no id", answer)
        rows.append(stat)
    return rows


def _list_all(run, path: str, params: dict, token: str | None = None, limit: int = 1000) -> list[dict] | None:
    rows, skip = [], 0
    headers = {"X-API-KEY": token} if token else None
    for _ in range(100):
        answer = run.get(path, params={**params, "_skip": str(skip), "_limit": str(limit)}, headers=headers)
        if not run.expect_status(answer, 200, what=f"list {path}"):
            return None
        page = answer.json() or {}
        data = page.get("data")
        if not run.expect(isinstance(data, list) and isinstance(page.get("has_more"), bool),
                          'a page must be {"data": [...], "has_more": true|false}', answer):
            return None
        rows += data
        if not page["has_more"]:
            return rows
        if not run.expect(len(data) > 0, "has_more is true on an empty page", answer):
            return None
        skip += len(data)
    return rows


@scenario("refused_key_stays_refused",
          "a missing, empty or wrong key is refused with 401, every time and on every stats route; a good one "
          "works; the organization routes take no key")
def refused_key_stays_refused(run) -> None:
    wrong = "conform-wrong-" + secrets.token_urlsafe(16)
    open_list = run.get(ORGS, params={"_limit": "1"}, auth=False)
    run.expect_status(open_list, 200, what="GET the organizations without a key (the routes take none)")
    for path in (STATS, STATS + "000000000000000000000000/"):
        for label, headers in (("no key", {}), ("an empty key", {"X-API-KEY": ""}), ("a wrong key", {"X-API-KEY": wrong})):
            answer = run.get(path, auth=False, headers=headers)
            run.expect(answer.status == 401 and answer.json() == UNAUTHORIZED,
                       f"GET {path} with {label}: expected 401 {{\"error\": \"Unauthorized\"}}, got {answer.status}",
                       answer)
    good = run.get(STATS, params={"_limit": "1"})
    run.expect_status(good, 200, what="GET stats with the good key")
    lower = run.get(STATS, params={"_limit": "1"}, auth=False,
                    headers={"x-api-key": run.session.headers.get("X-API-KEY", "")})
    run.expect_status(lower, 200, what="GET stats with the good key under a lower-case header name")
    for attempt in range(3):  # a key that was refused stays refused, also after a good request
        again = run.get(STATS, params={"_limit": "1"}, auth=False, headers={"X-API-KEY": wrong})
        run.expect(again.status == 401,
                   f"a refused key was accepted on attempt {attempt + 2} (answered {again.status}): "
                   "the X-API-KEY header is not really checked", again)
    key = run.session.headers.get("X-API-KEY", "")
    if len(key) > 1:
        near = run.get(STATS, params={"_limit": "1"}, auth=False, headers={"X-API-KEY": key[:-1]})
        run.expect(near.status == 401, f"the good key without its last character was accepted ({near.status})", near)


@scenario("errors_in_monarc_shape", "not found, bad paging and missing slashes answer as the real service does")
def errors_in_monarc_shape(run) -> None:
    missing = run.get(STATS + "000000000000000000000000/")
    run.expect(missing.status == 404 and missing.json() == STAT_NOT_FOUND,
               f"an unknown stat id: expected 404 {short(STAT_NOT_FOUND)}", missing)
    malformed = run.get(STATS + "not-an-object-id/")
    run.expect(malformed.status in (400, 404), "a malformed stat id: expected 404 (or 400)", malformed)
    org = run.get(ORGS + run.unique("no-such-organization") + "/")
    run.expect(org.status == 404 and org.json() == ORG_NOT_FOUND,
               f"an unknown organization: expected 404 {short(ORG_NOT_FOUND)}", org)
    for params, message in (({"_limit": "1001"}, LIMIT_TOO_LARGE),
                            ({"_limit": "abc"}, '_limit must be an integer (got "abc" instead).'),
                            ({"_skip": "-1"}, '_skip must be a non-negative integer (got "-1" instead).')):
        answer = run.get(STATS, params=params)
        run.expect(answer.status == 400 and answer.json() == {"error": message},
                   f"GET stats with {params}: expected 400 {{\"error\": {message!r}}}", answer)
    bad_filter = run.get(STATS, params={"month": "abc"})
    errors = (bad_filter.json() or {}).get("field-errors") if isinstance(bad_filter.json(), dict) else None
    run.expect(bad_filter.status == 400 and isinstance(errors, dict) and "month" in errors,
               "month=abc: expected 400 with a field error on month", bad_filter)
    no_slash = run.get(STATS.rstrip("/"))
    run.expect(no_slash.status == 308 and no_slash.headers.get("location", "").endswith(STATS),
               f"GET {STATS.rstrip('/')}: expected a 308 to {STATS}", no_slash)


def _canonical(path: str) -> str:
    """The path Werkzeug redirects `path` to: repeated slashes merged, a trailing slash."""
    return re.sub("/+", "/", path).rstrip("/") + "/"


def _served(path: str) -> bool:
    """Whether a route serves `path` as Werkzeug reads it (decoded, leading slashes as one):
    an id or name holding a slash makes another path, which none serves."""
    return _ROUTES.fullmatch("/" + unquote(path).lstrip("/")) is not None


def _check_paging(run, path: str, params: dict, full: list[dict], key: str, page_sizes=(1, 2, 3)) -> None:
    """Pages of every size add up to `full`, in order, and has_more says whether more follow."""
    total = len(full)
    want = [row[key] for row in full]
    for size in page_sizes:
        got, skip = [], 0
        while skip <= total:
            answer = run.get(path, params={**params, "_skip": str(skip), "_limit": str(size)})
            if not run.expect_status(answer, 200, what=f"page _skip={skip} _limit={size}"):
                return
            page = answer.json()
            data = page.get("data") if isinstance(page, dict) else None
            if not run.expect(isinstance(data, list), "a page has no data list", answer):
                return
            expected_more = skip + size < total
            run.expect(len(data) == min(size, max(total - skip, 0)),
                       f"_skip={skip} _limit={size} of {total} rows returned {len(data)} rows", answer)
            run.expect(page.get("has_more") is expected_more,
                       f"_skip={skip} _limit={size} of {total} rows: has_more is {page.get('has_more')}, "
                       f"expected {expected_more}", answer)
            got += [row.get(key) for row in data]
            skip += size
            if not expected_more:
                break
        run.expect(got == want, f"pages of {size} do not add up to the whole listing "
                                f"({len(got)} rows paged, {total} listed at once; order or rows differ)",
                   detail=f"paged: {got[:20]}\nwhole: {want[:20]}")
    zero = run.get(path, params={**params, "_limit": "0"})
    run.expect(zero.status == 200 and zero.json() == {"data": [], "has_more": total > 0},
               f"_limit=0: expected {{\"data\": [], \"has_more\": {str(total > 0).lower()}}}", zero)
    past = run.get(path, params={**params, "_skip": str(total), "_limit": "5"})
    run.expect(past.status == 200 and past.json() == {"data": [], "has_more": False},
               f"_skip={total} (all rows skipped): expected an empty page with has_more false", past)


@scenario("paging_existing_rows", "pages of the existing organizations and stats add up to one listing (read-only)")
def paging_existing_rows(run) -> None:
    orgs = run.get(ORGS, params={"_limit": str(ORGANIZATIONS_MAX_LIMIT)})
    run.require_status(orgs, 200, what="list organizations")
    page = orgs.json()
    if not page.get("has_more") and len(page.get("data", [])) <= 40:
        _check_paging(run, ORGS, {}, page["data"], "name", page_sizes=(1, 4))
    else:
        _check_prefix(run, ORGS, page.get("data", [])[:12], "name")
    stats = run.get(STATS, params={"_limit": "12"})
    run.require_status(stats, 200, what="list stats")
    _check_prefix(run, STATS, stats.json()["data"], "id")


def _check_prefix(run, path: str, first: list[dict], key: str) -> None:
    """Pages of 5 over the first rows give the same rows as one page of them."""
    want = [row.get(key) for row in first]
    got = []
    for skip in range(0, len(first), 5):
        answer = run.get(path, params={"_skip": str(skip), "_limit": "5"})
        if not run.expect_status(answer, 200, what=f"page _skip={skip}"):
            return
        got += [row.get(key) for row in answer.json().get("data", [])]
    run.expect(got[:len(want)] == want, f"pages of 5 do not match one page of {len(want)} rows",
               detail=f"paged: {got[:20]}\nwhole: {want[:20]}")


@scenario("created_is_listed_and_equal",
          "an organization and a stat, once created, are fetched and listed exactly as created", writes=True)
def created_is_listed_and_equal(run) -> None:
    name, token = _new_organization(run)
    fetched = run.get(ORGS + name + "/")
    run.expect(fetched.status == 200 and fetched.json() == {"name": name},
               f"GET the new organization: expected 200 {{\"name\": {name!r}}}", fetched)
    listed = _list_all(run, ORGS, {}, limit=ORGANIZATIONS_MAX_LIMIT)
    if listed is not None:
        count = sum(1 for row in listed if row.get("name") == name)
        run.expect(count == 1, f"the new organization appears {count} times in the organization list")
        run.expect(all(set(row) == {"name"} for row in listed),
                   "the organization list shows more than names (tokens must never be returned)")
    anr = str(uuid.uuid4())
    body = _stat(anr, type="conform-risk", day="7", week=2, month=3, quarter=1, year=2031,
                 data={"risks": {"low": 1, "high": 2}}, organization="SOMEONE-ELSE", unknown_field="dropped")
    answer = run.post(STATS, json=body, headers={"X-API-KEY": token})
    run.require_status(answer, 200, what="create a stat")
    stat = answer.json()
    expected = {"anr": anr, "type": "conform-risk", "day": 7, "week": 2, "month": 3, "quarter": 1, "year": 2031,
                "data": {"risks": {"low": 1, "high": 2}}, "organization": name}
    for field, value in expected.items():
        run.expect(isinstance(stat, dict) and stat.get(field) == value,
                   f"created stat field {field!r} is {short(stat.get(field) if isinstance(stat, dict) else None)}, "
                   f"expected {short(value)}"
                   + (" (the calling organization's name, whatever the body says)" if field == "organization" else ""),
                   answer)
    run.expect(isinstance(stat.get("id"), str) and bool(OBJECT_ID.match(stat["id"])),
               "created stat id is not a 24-hex ObjectId", answer)
    try:
        uuid.UUID(str(stat.get("uuid")))
        ok = True
    except ValueError:
        ok = False
    run.expect(ok, "created stat has no valid uuid", answer)
    for field in ("created_at", "updated_at"):
        run.expect(bool(STAMP.match(str(stat.get(field, "")))),
                   f"created stat {field} is {stat.get(field)!r}, expected 2020-05-11T21:56:49.584000", answer)
    run.expect("unknown_field" not in stat, "an unknown body field was kept (the real service drops it)", answer)
    one = run.get(STATS + stat["id"] + "/")
    run.expect(one.status == 200 and one.json() == stat, "the stat fetched by id differs from the created one", one)
    mine = run.get(STATS, params={"organization": name})
    run.expect(mine.status == 200 and mine.json() == {"data": [stat], "has_more": False},
               "listing the new organization's stats does not give exactly the created stat", mine)


FILTER_ROWS = [
    dict(type="risk", day=1, week=1, month=1, quarter=1, year=2024),
    dict(type="vulnerability", day=2, week=5, month=2, quarter=1, year=2024),
    dict(type="threat", day=3, week=9, month=3, quarter=1, year=2025),
    dict(type="risk", day=4, week=6, month=2, quarter=1, year=2025),
    dict(type="compliance", day=5, week=20, month=5, quarter=2, year=2025),
    dict(type="Risk-matrix", day=6, week=50, month=12, quarter=4, year=2026),
]

# (query, predicate over a created row): the rows each filter must return, no more, no less.
FILTERS = [
    ({"type": "risk"}, lambda r: r["type"] == "risk"),
    ({"month": "2"}, lambda r: r["month"] == 2),
    ({"month__exact": "3"}, lambda r: r["month"] == 3),
    # `in` and `nin` take one value, character by character.
    ({"month__in": "23"}, lambda r: r["month"] in (2, 3)),
    ({"month__nin": "23"}, lambda r: r["month"] not in (2, 3)),
    ({"month__in": "2"}, lambda r: r["month"] == 2),
    ({"month__gt": "2"}, lambda r: r["month"] > 2),
    ({"month__gte": "2"}, lambda r: r["month"] >= 2),
    ({"month__lt": "3"}, lambda r: r["month"] < 3),
    ({"month__lte": "3"}, lambda r: r["month"] <= 3),
    ({"month__ne": "2"}, lambda r: r["month"] != 2),
    ({"year": "2025"}, lambda r: r["year"] == 2025),
    ({"week__gte": "6", "week__lt": "50"}, lambda r: 6 <= r["week"] < 50),
    ({"type": "risk", "month": "2"}, lambda r: r["type"] == "risk" and r["month"] == 2),
    ({"type__iexact": "RISK"}, lambda r: r["type"].lower() == "risk"),
    ({"type__icontains": "RIS"}, lambda r: "ris" in r["type"].lower()),
    ({"type__contains": "is"}, lambda r: "is" in r["type"]),
    ({"type__startswith": "vuln"}, lambda r: r["type"].startswith("vuln")),
    ({"type__istartswith": "RISK"}, lambda r: r["type"].lower().startswith("risk")),
    ({"type__endswith": "ance"}, lambda r: r["type"].endswith("ance")),
    ({"type__in": "risk"}, lambda r: len(r["type"]) == 1 and r["type"] in "risk"),
    ({"type__nin": "risk,threat"}, lambda r: r["type"] not in set("risk,threat")),
    # Accepted and ignored by the real service.
    ({"quarter__in": "4"}, lambda r: True),
    ({"quarter": "4"}, lambda r: True),
    ({"updated_at__lt": "2000-01-01"}, lambda r: True),
    ({"created_at__gte": "2000-01-01"}, lambda r: True),
    ({"created_at__lt": "2000-01-01T00:00:00"}, lambda r: False),
    ({"nonsense": "1"}, lambda r: True),  # unknown parameters are ignored
]


@scenario("filters_return_only_and_all_matching",
          "each filter returns exactly the created rows that match it", writes=True)
def filters_return_only_and_all_matching(run) -> None:
    name, token = _new_organization(run)
    rows = _create_stats(run, token, [_stat(**fields) for fields in FILTER_ROWS])
    rows_by_id = {row["id"]: row for row in rows}
    anr = rows[2]["anr"]
    filters = FILTERS + [({"anr": anr}, lambda r: True)]  # ignored
    for query, predicate in filters:
        answer = run.get(STATS, params={"organization": name, **query, "_limit": "1000"})
        if not run.expect_status(answer, 200, what=f"filter {query}"):
            continue
        got = [row.get("id") for row in (answer.json() or {}).get("data", [])]
        want = [row["id"] for row in rows if predicate(row)]
        extra = [i for i in got if i not in want]
        left_out = [i for i in want if i not in got]
        run.expect(not extra, f"filter {query} returned rows that do not match it",
                   answer, detail="not matching: " + "; ".join(
                       short({k: rows_by_id.get(i, {}).get(k) for k in ("type", "month", "week", "year")} if i in rows_by_id else i)
                       for i in extra[:5]))
        run.expect(not left_out, f"filter {query} left out matching rows", answer,
                   detail="left out: " + "; ".join(
                       short({k: rows_by_id[i].get(k) for k in ("type", "month", "week", "year")}) for i in left_out[:5]))
        run.expect(got == [i for i in want if i in got], f"filter {query} changed the insertion order", answer)
    other = run.get(STATS, params={"organization": name + "-nobody"})
    run.expect(other.status == 200 and other.json() == {"data": [], "has_more": False},
               "filtering on an organization that has no stats must return no rows", other)
    wrong = run.get(STATS, params={"organization": name, "month__gt": "abc"})
    errors = wrong.json().get("field-errors") if isinstance(wrong.json(), dict) else None
    run.expect(wrong.status == 400 and isinstance(errors, dict) and "month__gt" in errors,
               "month__gt=abc: expected 400 with a field error on month__gt", wrong)


@scenario("paging_adds_up", "pages of the created rows add up to the whole, and has_more agrees", writes=True)
def paging_adds_up(run) -> None:
    name, token = _new_organization(run)
    rows = _create_stats(run, token, [_stat(type="page", day=n, month=1 + n % 12) for n in range(1, 8)])
    whole = run.get(STATS, params={"organization": name, "_limit": "1000"})
    run.require_status(whole, 200, what="list the created stats")
    listed = whole.json().get("data", [])
    run.require(whole.json().get("has_more") is False, "one page of 1000 rows holding all 7: has_more must be false",
                whole)
    run.require([r.get("id") for r in listed] == [r["id"] for r in rows],
                "the listing of the created stats is not exactly them, in insertion order", whole,
                detail=f"listed {[r.get('id') for r in listed]}\ncreated {[r['id'] for r in rows]}")
    _check_paging(run, STATS, {"organization": name}, listed, "id", page_sizes=(1, 2, 3, 7, 10))


@scenario("bad_bodies_rejected", "bad bodies and unserved methods get MONARC's errors", writes=True)
def bad_bodies_rejected(run) -> None:
    cases = [
        ("invalid JSON", dict(content=b'{"anr": ', headers={"Content-Type": "application/json"}), {"error": INVALID_JSON}),
        ("a JSON array", dict(json=[1, 2]), {"error": NOT_A_DICT}),
        ("a text/plain body", dict(content=b"anr=1", headers={"Content-Type": "text/plain"}), {"error": NOT_JSON}),
    ]
    for what, kwargs, expected in cases:
        answer = run.post(STATS, **kwargs)
        run.expect(answer.status == 400 and answer.json() == expected,
                   f"POST stats with {what}: expected 400 {short(expected)}", answer)
    empty = run.post(STATS, json={})
    errors = empty.json().get("field-errors") if isinstance(empty.json(), dict) else None
    run.expect(empty.status == 400 and isinstance(errors, dict) and set(STAT_FIELDS) <= set(errors),
               "POST stats with {}: expected 400 with a field error on every required field at once", empty)
    bad_day = run.post(STATS, json=_stat(day="abc"))
    run.expect(bad_day.status == 400 and bad_day.json() == {"field-errors": {"day": "abc could not be converted to int"}},
               'day="abc": expected 400 {"field-errors": {"day": "abc could not be converted to int"}}', bad_day)
    for method in ("DELETE", "PUT"):
        answer = run.request(method, STATS)
        allow = {m.strip().upper() for m in answer.headers.get("allow", "").split(",") if m.strip()}
        run.expect(answer.status == 405 and {"GET", "POST"} <= allow and method not in allow
                   and answer.body.decode("utf-8", "replace") == WERKZEUG_405,
                   f"{method} {STATS}: expected Werkzeug's 405 page with Allow: POST, HEAD, GET, OPTIONS", answer)
    posted = run.post(STATS + run.session.profile.absent_value("id", run.session.ledger) + "/", json={})
    run.expect(posted.status == 404 and posted.json() == POST_ON_OBJECT,
               f"POST on a stat: expected 404 {short(POST_ON_OBJECT)}", posted)


@scenario("organization_token_replaced",
          "a POST of an existing name or a PUT replaces the organization's token: the old one is refused",
          writes=True)
def organization_token_replaced(run) -> None:
    name, token = _new_organization(run)
    for how in ("POST", "PUT"):
        new = run.unique("token") + "-" + secrets.token_urlsafe(24)
        if how == "POST":
            answer = run.post(ORGS, json={"name": name, "token": new}, auth=False)
        else:
            answer = run.request("PUT", ORGS + name + "/", json={"token": new}, auth=False)
        run.require(answer.status == 200 and answer.json() == {"name": name},
                    f"{how} of the run's organization {name!r} with a new token, without a key: expected 200 "
                    f"{{\"name\": {name!r}}}", answer)
        old = run.get(STATS, params={"_limit": "1"}, auth=False, headers={"X-API-KEY": token})
        run.expect(old.status == 401, f"after the {how}, the organization's old token still works ({old.status})", old)
        fresh = run.get(STATS, params={"_limit": "1"}, auth=False, headers={"X-API-KEY": new})
        run.expect_status(fresh, 200, what=f"GET stats with the token set by the {how}")
        token = new
    missing = run.request("PUT", ORGS + run.unique("no-such-organization") + "/", json={"token": run.unique("token")},
                          auth=False)
    run.expect(missing.status == 404 and missing.json() == ORG_NOT_FOUND,
               f"PUT of an unknown organization: expected 404 {short(ORG_NOT_FOUND)}", missing)


@scenario("update_is_visible", "an update is visible when fetched")
def update_is_visible(run) -> None:
    run.result.status, run.result.reason = "skipped", "not applicable: MONARC has no update operation"


@scenario("private_objects", "one user cannot read another's private objects")
def private_objects(run) -> None:
    run.result.status, run.result.reason = (
        "skipped", "not applicable: MONARC stats are visible to every valid key (documented)")


PROFILE = Monarc()
