"""Qoncrete API v2: a JWT from `POST /v2/user/login` (or an API token), `{"code","text"}` errors.

Conventions every answer follows (openapi/qoncrete.yaml and the research notes):
- errors are JSON `{"code": <the HTTP status>, "text": "<message>"}`, never problem+json;
- deletes and ingest answer 204 with an empty body; no answer is a 5xx;
- a user without access to an object gets 403 or 404 and never sees it.
"""
from __future__ import annotations

import json
import re
import secrets
from datetime import datetime
from urllib.parse import quote

from ..exchange import Exchange
from ..scenarios import Session, scenario
from . import AuthOption, Created, Documented, LoginRefused, Profile, ToolArtefact, probe_by_get, short, shown_body

SOURCES = "/v2/source"
TOKENS = "/v2/token"
STORE = "/v2/store"
INGEST = ("ingest_event", "ingest_get", "ingest_batch")
ENGINE = ("create_report", "update_report", "scan_dates", "scan_keys", "merge_reports", "export_scan_dates",
          "export_scan_keys")


def _json_or_none(text):
    try:
        return json.loads(text) if text is not None else None
    except ValueError:
        return None


def _text(ex) -> str:
    body = ex.json()
    return body["text"] if isinstance(body, dict) and isinstance(body.get("text"), str) else ""


def _has_non_json_line(ex) -> bool:
    for line in (ex.request_body or b"").decode("utf-8", "replace").splitlines():
        if line.strip():
            try:
                json.loads(line)
            except ValueError:
                return True
    return False


def _at(body, path: str):
    """The value at a definition path such as `filter[0].comparator.value` (MISSING when absent)."""
    node = body
    for name, index in re.findall(r"([^.\[\]]+)|\[(\d+)\]", path):
        if index:
            if not isinstance(node, list) or int(index) >= len(node):
                return MISSING
            node = node[int(index)]
        elif isinstance(node, dict) and name in node:
            node = node[name]
        else:
            return MISSING
    return node


MISSING = object()


def _sent_query(ex) -> dict:
    """What a query sent: its JSON body, or the exports' `?query=` JSON."""
    body = ex.request_json()
    if isinstance(body, dict):
        return body
    query = _json_or_none(ex.query.get("query"))
    return query if isinstance(query, dict) else dict(ex.query)


def _beyond_the_report(ex) -> bool:
    """The 400 gives the report's range for a parameter sent, and the value sent is outside it."""
    sent = _sent_query(ex)
    levels = re.fullmatch(r"keys: has (\d+) levels but the report has (\d+) groupBy levels", _text(ex))
    if levels:
        return isinstance(sent.get("keys"), list) and len(sent["keys"]) == int(levels.group(1)) > int(levels.group(2))
    width = re.fullmatch(r"keys\[(\d+)\]: must hold (\d+) value\(s\), one per key of groupBy\[\d+\]", _text(ex))
    if width:
        group = _at(sent, f"keys[{width.group(1)}]")
        return group is not MISSING and len(group if isinstance(group, list) else [group]) != int(width.group(2))
    match = re.fullmatch(r"(\w+): must be between (-?\d+) and (-?\d+)", _text(ex)) \
        or re.fullmatch(r"((?:\w+(?:\[\d+\])?\.)?filters\[\d+\]\.value): must be a column index between (\d+) "
                        r"and (-?\d+)", _text(ex)) \
        or re.fullmatch(r"((?:mainReport|subReports\[\d+\])\.\w+): must be between (-?\d+) and (-?\d+)", _text(ex))
    if not match:
        return False
    value = _at(_sent_query(ex), match.group(1))
    try:
        number = int(value)
    except (TypeError, ValueError):
        return False
    return not int(match.group(2)) <= number <= int(match.group(3))


def _definition_rule_broken(ex) -> bool:
    """The 400 names a field of the definition sent, and the rule it names holds for what was sent."""
    body = ex.request_json()
    where, _, why = _text(ex).partition(": ")
    if not isinstance(body, dict) or not why:
        return False
    item = _at(body, where.rsplit(".", 1)[0]) if "." in where else MISSING
    value = _at(body, where)
    if where.endswith(".param1") and why.startswith("must not be empty for"):
        return value in ("", None, MISSING)
    if where.endswith(".injectKey") and why == "must not be empty when key is empty":
        return isinstance(item, dict) and not item.get("key") and not item.get("injectKey")
    if where.endswith(".condition") and why == "contains applies to the string type only":
        return isinstance(item, dict) and item.get("condition") == "contains" and item.get("type") != "string"
    if where.endswith(".comparator.value"):
        rule = _at(body, where.rsplit(".", 2)[0])
        kind = rule.get("type") if isinstance(rule, dict) else None
        if why == "must be a number":
            return kind == "number" and not (isinstance(value, (int, float)) and not isinstance(value, bool))
        if why == "must be true or false for exists":
            return isinstance(rule, dict) and rule.get("condition") == "exists" and not isinstance(value, bool)
        if why in ("must be a non-empty string", "must be a string"):
            return kind in ("string", "time") and not (isinstance(value, str) and value)
        return kind == "time" and value is not MISSING  # a time the engine cannot read: its own message
    return False


def _ndjson(ex) -> bool:
    """Events sent as NDJSON text (application/x-ndjson, or text/plain as the SDKs do)."""
    return _ndjson_type(ex.request_content_type)


def _ndjson_type(ctype: str) -> bool:
    return "ndjson" in ctype or ctype.startswith("text/plain")


# -- completions: a generated valid request made to meet a documented rule before it is sent --
def _confirm_password(draft) -> bool:
    """passwordConfirm repeats password."""
    body = draft.body
    if not isinstance(body, dict) or "password" not in body or body.get("passwordConfirm") == body["password"]:
        return False
    body["passwordConfirm"] = body["password"]
    return True


def _is_event(text) -> bool:
    """One JSON object (strict JSON: no NaN or Infinity)."""
    try:
        return isinstance(json.loads(text, parse_constant=_no_constant), dict)
    except (ValueError, RecursionError):
        return False


def _no_constant(name):
    raise ValueError(name)


ASCII_SPACE = " \t\n\r\x0b\x0c"  # what a server reading bytes strips from a line


def _event_lines(draft) -> bool:
    """NDJSON text: each line that is not a JSON object becomes `{}` (one event a line)."""
    body = draft.body
    if not (isinstance(body, str) and _ndjson_type(draft.media_type or "")):
        return False
    try:
        json.loads(body, parse_constant=_no_constant)
        return False  # one JSON document, not NDJSON
    except (ValueError, RecursionError):
        pass
    # Lines as a server reading bytes splits them (\n, \r\n, \r), not as str.splitlines does.
    lines = re.split(r"(\r\n|\r|\n)", body)
    fixed = [line if i % 2 or not line.strip(ASCII_SPACE) or _is_event(line) else "{}" for i, line in enumerate(lines)]
    draft.body = "".join(fixed)
    return draft.body != body


def _report_of(draft, source_id, report_id) -> dict | None:
    """The report a request names, read through the API with the run's credentials (None: none such).

    Asked each time: the run's own requests change reports' columns and levels."""
    if draft.get is None or not all(isinstance(v, str) and v for v in (source_id, report_id)):
        return None
    report = draft.get(f"{SOURCES}/{quote(source_id, safe='')}/report/{quote(report_id, safe='')}", once=False)
    return report if isinstance(report, dict) and isinstance(report.get("groupBy"), list) \
        and isinstance(report.get("values"), list) else None


def _columns(report: dict) -> int:
    return 2 + len(report["values"])  # count, distinct children, one per value


def _levels(report: dict) -> int:
    return len(report["groupBy"])


def _sent(draft) -> dict | None:
    """The query a draft sends: its body, or the exports' `?query=` (JSON or already parsed)."""
    if not draft.operation.startswith("export_"):
        return draft.body if isinstance(draft.body, dict) else None
    query = draft.query.get("query")
    if isinstance(query, str):
        query = _json_or_none(query)
    return query if isinstance(query, dict) else None


def _store(draft, query: dict) -> None:
    if draft.operation.startswith("export_"):
        draft.query["query"] = json.dumps(query) if isinstance(draft.query.get("query"), str) else query


def _at_most(holder: dict, name: str, highest: int) -> bool:
    value = holder.get(name)
    if isinstance(value, int) and not isinstance(value, bool) and value > highest:
        holder[name] = highest
        return True
    return False


def _columns_within(query: dict, report: dict) -> bool:
    """The row filters' columns are columns of the report."""
    changed = False
    for item in query.get("filters") or []:
        if isinstance(item, dict):
            changed = _at_most(item, "value", _columns(report) - 1) or changed
    return changed


def _group_path_within(query: dict, report: dict) -> bool:
    """`keys`: at most one entry per groupBy level, each with one value per key of its level."""
    keys = query.get("keys")
    if not isinstance(keys, list):
        return False
    path = keys[:_levels(report)]
    for i, group in enumerate(path):
        width = len(report["groupBy"][i].get("keys") or [None])
        values = group if isinstance(group, list) else [group]
        if len(values) != width:
            values = (values + [None] * width)[:width]  # a missing key groups as null
            path[i] = values if isinstance(group, list) or width != 1 else values[0]
    if path == keys:
        return False
    query["keys"] = path
    return True


def _within_the_report(draft) -> bool:
    """Column indexes and levels of a query within the report's own columns and groupBy levels."""
    query = _sent(draft)
    if query is None:
        return False
    if draft.operation == "merge_reports":
        changed = _merge_within(draft, query)
    else:
        report = _report_of(draft, draft.path.get("sourceId"), draft.path.get("reportId"))
        if report is None:
            return False
        changed = _columns_within(query, report)
        if draft.operation in ("scan_keys", "export_scan_keys"):
            changed = _at_most(query, "sortPos", _columns(report) - 1) or changed
            changed = _at_most(query, "klen", _levels(report)) or changed
        else:
            changed = _group_path_within(query, report) or changed
    if changed:
        _store(draft, query)
    return changed


def _merge_within(draft, query: dict) -> bool:
    """The main report's columns and levels, and a klen every sub-report has."""
    main = query.get("mainReport")
    report = _report_of(draft, main.get("sid"), main.get("rid")) if isinstance(main, dict) else None
    if report is None:
        return False
    changed = _columns_within(main, report)
    changed = _at_most(main, "sort", _columns(report) - 1) or changed
    levels = [_levels(report)]
    for sub in query.get("subReports") or []:
        other = _report_of(draft, sub.get("sid"), sub.get("rid")) if isinstance(sub, dict) else None
        if other is not None:
            levels.append(_levels(other))
    klen = main.get("klen")
    if not isinstance(klen, int) or isinstance(klen, bool):
        klen = min(1, levels[0])  # the default level: 1, or 0 without groupBy
    if klen > min(levels):
        main["klen"] = min(levels)
        changed = True
    return changed


def _time_range(draft) -> bool:
    """`from` and `to` for a report with time buckets (a timeless one needs neither)."""
    query = _sent(draft)
    if query is None or (query.get("from") and query.get("to")):
        return False
    report = _report_of(draft, draft.path.get("sourceId"), draft.path.get("reportId"))
    if report is None or report.get("period") == "timeless":
        return False
    # One bound alone stands for both (a range of one bucket); neither: the last 30 days.
    start, end = query.get("from"), query.get("to")
    query["from"] = start or end or "now-30d"
    query["to"] = end or start or "now"
    _store(draft, query)
    return True


# The filter conditions' other spellings, by the name the definition rules use.
CONDITION_NAMES = {"=": "eq", "==": "eq", "!=": "ne", "<": "lt", "<=": "lte", ">": "gt", ">=": "gte"}
RELATIVE_TIME = re.compile(r"now(?:[+-][0-9]{1,4}[mhdWMY])?")


def _objects(items) -> list[dict]:
    return [item for item in items if isinstance(item, dict)] if isinstance(items, list) else []


def _definition_met(draft) -> bool:
    """Each preprocess step and filter of a definition as its other fields require."""
    body = draft.body
    if not isinstance(body, dict):
        return False
    changed = [_step_met(item) for item in _objects(body.get("preprocess"))]
    changed += [_filter_met(item) for item in _objects(body.get("filter"))]
    return any(changed)


def _step_met(item: dict) -> bool:
    """A step writes somewhere (injectKey when key is empty); contains and replace have a param1."""
    changed = False
    if not item.get("key") and not item.get("injectKey"):
        item["injectKey"] = "injected"
        changed = True
    if item.get("func") in ("contains", "replace") and item.get("param1") in ("", None):
        item["param1"] = "x"
        changed = True
    return changed


def _filter_met(item: dict) -> bool:
    """contains compares strings; the comparator's value is one of the filter's condition and type."""
    condition = CONDITION_NAMES.get(item.get("condition"), item.get("condition"))
    changed = False
    if condition == "contains" and item.get("type", "string") != "string":
        item["type"] = "string"
        changed = True
    comparator = item.get("comparator")
    if not isinstance(comparator, dict) or "value" not in comparator:
        return changed
    value = comparator["value"]
    fitting = _comparator_value(condition, item.get("type", "string"), value)
    if fitting is not value:
        comparator["value"] = fitting
        changed = True
    return changed


def _comparator_value(condition, kind, value):
    """`value` when it fits the condition and type, else a value that does."""
    if condition == "exists":
        return value if isinstance(value, bool) else True
    if condition == "contains":
        return value if isinstance(value, str) and value else "x"
    if kind == "number":
        return value if isinstance(value, (int, float)) and not isinstance(value, bool) else 0
    if kind == "time":
        return value if isinstance(value, str) and _readable_time(value) else "now"
    return value if isinstance(value, (str, int, float, bool)) else "x"


def _readable_time(text: str) -> bool:
    if RELATIVE_TIME.fullmatch(text):
        return True
    try:
        datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


class Qoncrete(Profile):
    name = "qoncrete"
    auth_options = (
        AuthOption("email", "a user's email, to log in for a JWT (with --password)", secret=False),
        AuthOption("password", "that user's password"),
        AuthOption("token", "an API token (instead of --email/--password), sent as a Bearer token"),
    )
    renew_after = 24 * 3600.0  # JWTs last 48 hours: log in again well before
    refused_statuses = (401, 403)
    creates = ("sources (with reports, shares and events), API tokens and store items, deleted at the end, "
               "and users (Qoncrete cannot delete them: listed at the end)")
    named_fields = {"register": {"email": "email"}}
    # A share names a registered user: always the one the run registered (`prepare`).
    target_fields = {"update_item": ("id",), "create_source_share": ("email",), "create_report_share": ("email",)}
    reads_by_post = frozenset({"login", "scan_dates", "scan_keys", "merge_reports"})
    writing_gets = {"ingest_get": "body"}  # ?body= is an event to keep
    artefacts = (
        ToolArtefact("ingest-refuses-with-402", "negative_data_rejection", INGEST, lambda ex, f: ex.status == 402,
                     "the ingest endpoints refuse an event with 402 (documented); the check knows only 4xx "
                     "statuses of other meanings"),
        ToolArtefact("json-query-parameter-as-string", "positive_data_acceptance", ("ingest_get",),
                     lambda ex, f: ex.status == 402 and isinstance(_json_or_none(ex.query.get("body")), str),
                     "Schemathesis sends ?body= as a JSON string (\"{}\" quoted); the contract allows only an "
                     "object or an array there, and the deployment refuses it rightly"),
        ToolArtefact("ndjson-serialized", "negative_data_rejection", INGEST, lambda ex, f: _ndjson(ex),
                     "an NDJSON body that the schema calls the wrong type is valid NDJSON once serialized "
                     "(Schemathesis cannot generate invalid NDJSON text)"),
    )
    documented = (
        Documented(
            "ndjson-line-not-json", "positive_data_acceptance", ("ingest_event", "ingest_batch"), 402,
            lambda ex: _ndjson(ex) and _text(ex).startswith("invalid JSON") and _has_non_json_line(ex),
            "NDJSON text whose lines are not JSON is refused with 402 (the schema is a plain string)",
            planted=(402, {"code": 402, "text": "invalid JSON on line 1"}), complete=_event_lines),
        Documented(
            "password-confirm-differs", "positive_data_acceptance", ("register",), 400,
            lambda ex: _text(ex).startswith("passwordConfirm") and isinstance(ex.request_json(), dict)
            and ex.request_json().get("passwordConfirm") != ex.request_json().get("password"),
            "passwordConfirm must equal password (400 naming passwordConfirm); no schema can say it",
            planted=(400, {"code": 400, "text": "passwordConfirm: must equal password"}),
            complete=_confirm_password),
        Documented(
            "time-range-required", "positive_data_acceptance", ("scan_dates", "export_scan_dates"), 400,
            lambda ex: _text(ex) in ("from: is required", "to: is required")
            and _sent_query(ex).get(_text(ex).split(":")[0]) in (None, ""),
            "from and to are required unless the report is timeless (a property of the report, not of the "
            "query): without one, 400 \"from: is required\"",
            planted=(400, {"code": 400, "text": "from: is required"}), complete=_time_range),
        Documented(
            "beyond-the-report", "positive_data_acceptance",
            ("scan_keys", "scan_dates", "export_scan_keys", "export_scan_dates", "merge_reports"), 400,
            lambda ex: _beyond_the_report(ex),
            "a column index or level past the report's own columns or groupBy levels (which the schema "
            "cannot know) gets 400 naming the parameter and the report's range",
            planted=(400, {"code": 400, "text": "sortPos: must be between -1 and 3"}),
            complete=_within_the_report),
        Documented(
            "report-definition-rule", "positive_data_acceptance", ("create_report", "update_report"), 400,
            lambda ex: _definition_rule_broken(ex),
            "a report definition's fields depend on each other beyond the schema (a preprocess function's "
            "param1, injectKey without key, contains on a non-string, a comparator value of its type): "
            "400 naming the field",
            planted=(400, {"code": 400, "text": "values[0].type: must be one of count, sum"}),
            complete=_definition_met),
    )
    skipped_checks = {
        "ignored_auth": "two alternative schemes (Bearer or ?token=): Schemathesis spoils one while the "
                        "kit's valid Bearer stays; the refused_token_stays_refused scenario checks refusals",
    }

    # -- credentials -------------------------------------------------------------------
    def missing_credentials(self, creds):
        if creds.get("token") or (creds.get("email") and creds.get("password")):
            return None
        return "missing --email and --password, or --token"

    def login(self, http, creds):
        if creds.get("token") and not (creds.get("email") and creds.get("password")):
            return {"Authorization": f"Bearer {creds['token']}"}
        answer = http.post("/v2/user/login", json={"email": creds["email"], "password": creds["password"]})
        if answer.status_code != 200:
            raise LoginRefused(f"POST /v2/user/login as {creds['email']} answered {answer.status_code} "
                               f"{answer.text[:200]}")
        try:
            token = answer.json()["token"]
        except (ValueError, KeyError, TypeError):
            raise LoginRefused(f"POST /v2/user/login answered no token: {answer.text[:200]}") from None
        return {"Authorization": f"Bearer {token}"}

    def probe(self, session: Session) -> None:
        probe_by_get(session, SOURCES, "the credentials were refused")

    def prepare(self, session: Session) -> None:
        """A user of the run's own, whom its shares name (sharing with anyone else is refused)."""
        email = session.ledger.unique_as("email", "share-user")
        password = secrets.token_urlsafe(12)
        answer = session.request("POST", "/v2/user/register", auth=False,
                                 json={"email": email, "password": password, "passwordConfirm": password})
        if answer.status == 200:
            session.ledger.aims["email"] = email

    # -- conventions -------------------------------------------------------------------
    def conventions(self, ex: Exchange) -> list[str]:
        status = ex.status
        if status is None:
            return []
        problems = []
        ctype = ex.media_type
        if status >= 500:
            problems.append(f"answered {status}: bad input gets Qoncrete's own 4xx error, never a server error")
        if status == 204 and ex.body:
            problems.append(f"204 with a body ({len(ex.body)} bytes): Qoncrete's 204 answers are empty")
        if status >= 400:
            body = ex.json()
            if ctype != "application/json":
                problems.append(f"{status} error with content type {ctype or '(none)'}: Qoncrete errors are "
                                'application/json {"code", "text"}, never problem+json')
            if not (isinstance(body, dict) and set(body) == {"code", "text"} and isinstance(body["text"], str)
                    and isinstance(body["code"], int) and not isinstance(body["code"], bool)):
                problems.append(f'{status} error body {shown_body(ex)} '
                                'is not Qoncrete\'s {"code": <status>, "text": "..."}')
            elif body["code"] != status:
                problems.append(f'{status} error says "code": {body["code"]}: the code repeats the HTTP status')
            if status == 405 and not ex.headers.get("allow"):
                problems.append("405 without an Allow header naming the methods the path serves")
        return problems

    # -- created objects ---------------------------------------------------------------
    def created(self, ex: Exchange) -> Created | None:
        if ex.method != "POST" or ex.status != 200:
            return None
        body = ex.json()
        if not isinstance(body, dict):
            return None
        path = ex.path
        if ex.operation == "create_source" and body.get("_id"):
            return Created("source", body["_id"], {"path": f"{SOURCES}/{body['_id']}"})
        if ex.operation == "create_token" and body.get("_id"):
            return Created("token", body["_id"], {"path": f"{TOKENS}/{body['_id']}"})
        if ex.operation == "create_item" and body.get("id"):
            return Created("store item", str(body["id"]), {"path": f"{path}/{body['id']}"},
                           targets=(path.rsplit("/", 1)[-1],))
        if ex.operation == "create_report" and body.get("_id"):
            return Created("report", body["_id"], {"path": f"{path}/{body['_id']}"})
        if ex.operation in ("create_source_share", "create_report_share") and body.get("_id"):
            return Created("share", body["_id"], {"path": f"{path}/{body['_id']}"})
        if ex.operation == "register" and body.get("email"):
            return Created("user", body["email"])
        return None

    def delete(self, session: Session, created: Created) -> bool | None:
        path = (created.data or {}).get("path")
        if not path:
            return None  # users cannot be deleted through the API
        answer = session.request("DELETE", path)
        return answer.status in (204, 404)  # 404: already gone (the run deleted it itself)

    def scenarios(self):
        return [refused_token_stays_refused, source_created_listed_updated_deleted,
                report_created_listed_and_deleted, store_item_round_trip, private_objects]


@scenario("refused_token_stays_refused", "no, a wrong or a tampered token is refused with 401, every time")
def refused_token_stays_refused(run) -> None:
    good = run.session.headers.get("Authorization", "")
    tampered = good[:-2] + ("AA" if not good.endswith("AA") else "BB")
    for label, headers in (("no token", {}), ("a wrong token", {"Authorization": "Bearer not-a-token"}),
                           ("a tampered token", {"Authorization": tampered})):
        for attempt in range(2):
            answer = run.get(SOURCES, auth=False, headers=headers)
            run.expect(answer.status == 401, f"GET {SOURCES} with {label} (attempt {attempt + 1}): expected 401, "
                                             f"got {answer.status}", answer)
    ok = run.get(SOURCES)
    run.expect_status(ok, 200, what=f"GET {SOURCES} with the good credentials")
    again = run.get(SOURCES, auth=False, headers={"Authorization": tampered})
    run.expect(again.status == 401, f"a refused token was accepted after a good request ({again.status})", again)


@scenario("source_created_listed_updated_deleted",
          "a created source is fetched and listed equal, an update is visible, a delete makes it gone", writes=True)
def source_created_listed_updated_deleted(run) -> None:
    name = run.unique("source")
    created = run.post(SOURCES, json={"name": name, "rawttl": "30d"})
    run.require_status(created, 200, what="create a source")
    source = created.json()
    run.require(isinstance(source, dict) and source.get("name") == name and source.get("rawttl") == "30d",
                f"the created source does not hold the name and rawttl sent ({short(source)})", created)
    sid = source["_id"]
    one = run.get(f"{SOURCES}/{sid}")
    run.expect(one.status == 200 and one.json() == source, "the source fetched by id differs from the created one", one)
    listed = run.get(SOURCES)
    if run.expect_status(listed, 200, what="list sources"):
        rows = [row for row in listed.json() if isinstance(row, dict) and row.get("_id") == sid]
        run.expect(len(rows) == 1, f"the created source is listed {len(rows)} times", listed)
        run.expect(rows == [source], "the listed source differs from the created one", listed)
    new_name = name + "-renamed"
    updated = run.request("PUT", f"{SOURCES}/{sid}", json={"name": new_name})
    run.expect(updated.status == 200 and (updated.json() or {}).get("name") == new_name,
               "the update answer does not show the new name", updated)
    after = run.get(f"{SOURCES}/{sid}")
    run.expect(after.status == 200 and (after.json() or {}).get("name") == new_name
               and (after.json() or {}).get("rawttl") == "30d",
               "the update is not visible when the source is fetched again (or changed another field)", after)
    gone = run.request("DELETE", f"{SOURCES}/{sid}")
    run.expect(gone.status == 204, f"deleting the source answered {gone.status}, expected 204", gone)
    missing = run.get(f"{SOURCES}/{sid}")
    run.expect(missing.status == 404, f"a deleted source is still found ({missing.status})", missing)


REPORT = {"period": "1d", "filter": [{"key": "type", "condition": "eq", "type": "string",
                                      "comparator": {"value": "pageview"}}],
          "groupBy": [{"name": "country", "keys": ["country"]}],
          "values": [{"name": "duration", "key": "duration", "type": "sum", "mustExists": True}]}


@scenario("report_created_listed_and_deleted",
          "a created report is fetched and listed equal, renamed visibly, and gone once deleted", writes=True)
def report_created_listed_and_deleted(run) -> None:
    source = run.post(SOURCES, json={"name": run.unique("report-source")})
    run.require_status(source, 200, what="create a source")
    sid = source.json()["_id"]
    reports = f"{SOURCES}/{sid}/report"
    name = run.unique("report")
    made = run.post(reports, json={"name": name, **REPORT})
    run.require_status(made, 200, what="create a report")
    report = made.json()
    run.require(isinstance(report, dict) and report.get("name") == name and report.get("period") == "1d"
                and isinstance(report.get("_id"), str),
                f"the created report does not hold the name and period sent ({short(report)})", made)
    rid = report["_id"]
    one = run.get(f"{reports}/{rid}")
    run.expect(one.status == 200 and one.json() == report, "the report fetched by id differs from the created one", one)
    listed = run.get(reports)
    rows = [r for r in (listed.json() if isinstance(listed.json(), list) else []) if r.get("_id") == rid]
    run.expect(listed.status == 200 and rows == [report], "the source's report list does not show the report "
                                                          "exactly once, as created", listed)
    renamed = run.request("PUT", f"{reports}/{rid}", json={"name": name + "-renamed", **REPORT})
    run.expect(renamed.status == 200 and (renamed.json() or {}).get("name") == name + "-renamed",
               "the report update answer does not show the new name", renamed)
    after = run.get(f"{reports}/{rid}")
    run.expect(after.status == 200 and (after.json() or {}).get("name") == name + "-renamed",
               "the report update is not visible when fetched again", after)
    gone = run.request("DELETE", f"{reports}/{rid}")
    run.expect(gone.status == 204, f"deleting the report answered {gone.status}, expected 204", gone)
    missing = run.get(f"{reports}/{rid}")
    run.expect(missing.status == 404, f"a deleted report is still found ({missing.status})", missing)
    run.request("DELETE", f"{SOURCES}/{sid}")


@scenario("store_item_round_trip", "a stored item is listed and equal, updates are visible, deletes stick", writes=True)
def store_item_round_trip(run) -> None:
    kind = run.unique("kind")
    made = run.post(f"{STORE}/{kind}", json={"name": "first", "value": '{"f": 1}'})
    run.require_status(made, 200, what="create a store item")
    item = made.json()
    run.require(isinstance(item, dict) and item.get("name") == "first" and item.get("value") == '{"f": 1}',
                f"the created item does not hold what was sent ({short(item)})", made)
    one = run.get(f"{STORE}/{kind}/{item['id']}")
    run.expect(one.status == 200 and one.json() == item, "the item fetched by id differs from the created one", one)
    listed = run.get(f"{STORE}/{kind}")
    run.expect(listed.status == 200 and listed.json() == [item],
               "the kind's list is not exactly the created item", listed)
    changed = run.request("PUT", f"{STORE}/{kind}", json={"id": item["id"], "name": "second", "value": '{"f": 2}'})
    run.expect_status(changed, 200, what="update the item")
    after = run.get(f"{STORE}/{kind}/{item['id']}")
    run.expect(after.status == 200 and after.json() == {"id": item["id"], "name": "second", "value": '{"f": 2}'},
               "the update is not visible when the item is fetched again", after)
    gone = run.request("DELETE", f"{STORE}/{kind}/{item['id']}")
    run.expect(gone.status == 204, f"deleting the item answered {gone.status}, expected 204", gone)
    missing = run.get(f"{STORE}/{kind}/{item['id']}")
    run.expect(missing.status == 404, f"a deleted item is still found ({missing.status})", missing)


@scenario("private_objects", "another user can neither read, change nor list a user's source", writes=True)
def private_objects(run) -> None:
    source = run.post(SOURCES, json={"name": run.unique("private")})
    run.require_status(source, 200, what="create a source")
    sid = source.json()["_id"]
    email = run.unique("user", kind="email")
    password = secrets.token_urlsafe(12)
    registered = run.post("/v2/user/register", auth=False,
                          json={"email": email, "password": password, "passwordConfirm": password})
    run.require_status(registered, 200, what="register a second user")
    login = run.post("/v2/user/login", auth=False, json={"email": email, "password": password})
    run.require_status(login, 200, what="log in as the second user")
    other = {"Authorization": f"Bearer {login.json()['token']}"}
    read = run.get(f"{SOURCES}/{sid}", auth=False, headers=other)
    run.expect(read.status in (403, 404), f"another user read a private source ({read.status})", read)
    change = run.request("PUT", f"{SOURCES}/{sid}", auth=False, headers=other, json={"name": "stolen"})
    run.expect(change.status in (403, 404), f"another user changed a private source ({change.status})", change)
    listed = run.get(SOURCES, auth=False, headers=other)
    run.expect(listed.status == 200 and all(row.get("_id") != sid for row in listed.json() or []),
               "another user's source list shows a private source", listed)
    mine = run.get(f"{SOURCES}/{sid}")
    run.expect(mine.status == 200 and mine.json().get("name") != "stolen",
               "the owner's source was changed by another user", mine)
    run.request("DELETE", f"{SOURCES}/{sid}")


PROFILE = Qoncrete()
