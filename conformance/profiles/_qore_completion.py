"""Qore's valid cases made to meet the rules each resource and table sets for itself.

The `complete` functions of the Qore profile's documented rules (see `Documented.complete`).
What a resource or table allows is read from the API itself with the run's session
(`Draft.get`): a resource's fields, types, rules and choices from its create form, the
options of a relation for a form state from the form's `reloadRelatedOptions`, a table's tabs
and columns from its own metadata. A value the kit cannot tell is valid counts as invalid:
it is replaced by one the kit makes from what the API listed.
"""
from __future__ import annotations

import json
import re
import secrets
from datetime import date, datetime, timedelta, timezone
from urllib.parse import quote

from . import Draft

DEMO_LOGIN = ("alice@qlic.nl", "password")  # the contract's example of POST /api/api_tokens
RELATIONS = ("BelongsTo", "BelongsToMany")
TEXTS = ("Text", "Textarea", "Email")
FORM_MEDIA = ("multipart/form-data", "application/x-www-form-urlencoded")
RELOAD = "reloadRelatedOptions"
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_INTEGER = re.compile(r"^[+-]?\d{1,18}$", re.ASCII)
_NUMBER = re.compile(r"^[+-]?(\d{1,18}(\.\d{1,18})?|\.\d{1,18})$", re.ASCII)
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$", re.ASCII)
# An expiration date as the contract writes it: a date (midnight UTC) or a date and time.
_EXPIRY = re.compile(r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})?)?$", re.ASCII)


def _segment(value) -> str:
    return quote(str(value), safe="")


def _is_form(draft: Draft) -> bool:
    return (draft.media_type or "").split(";")[0].strip().lower() in FORM_MEDIA


def _form_fields(draft: Draft) -> dict | None:
    """The fields of the path's resource as its create form lists them (asked once per run)."""
    if draft.get is None or "resource_name" not in draft.path:
        return None
    form = draft.get(f"/api/resources/{_segment(draft.path['resource_name'])}/create")
    fields = form.get("fields") if isinstance(form, dict) else None
    return fields if isinstance(fields, dict) and all(isinstance(f, dict) for f in fields.values()) else None


# -- a token: the account's own email and password, an expiration date in the future -------
def complete_login(draft: Draft) -> bool:
    """Any other pair than the contract's example account becomes that account's."""
    if not isinstance(draft.body, dict) or (draft.body.get("email"), draft.body.get("password")) == DEMO_LOGIN:
        return False
    draft.body["email"], draft.body["password"] = DEMO_LOGIN
    return True


def _later_than_tomorrow(text: str) -> bool:
    if not _EXPIRY.match(text):
        return False
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return False
    moment = moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    return moment > datetime.now(timezone.utc) + timedelta(days=1)  # still future when it arrives


def complete_expiration(draft: Draft) -> bool:
    """An expiration_date that is not plainly a date in the future becomes one a year ahead
    (none, or a blank one, is a token that never expires)."""
    value = draft.body.get("expiration_date") if isinstance(draft.body, dict) else None
    if value is None or (isinstance(value, str) and (not value.strip() or _later_than_tomorrow(value))):
        return False
    draft.body["expiration_date"] = (date.today() + timedelta(days=365)).isoformat()
    return True


# -- form-field: reloadRelatedOptions names one of the resource's relations ----------------
def complete_form_field(draft: Draft) -> bool:
    """A reload of a `field` that is none of the resource's relations asks for its first one;
    a resource without relations gets its whole form (the action left out)."""
    body = draft.body
    if not isinstance(body, dict):  # the action comes in the body only (the query has no `action`)
        return False
    action = body.get("action")
    if (action.get("name") if isinstance(action, dict) else action) != RELOAD:
        return False
    fields = _form_fields(draft)
    if fields is None:
        return False
    relations = [name for name, meta in fields.items() if meta.get("type") in RELATIONS]
    holder = body if "field" in body or "field" not in draft.query else draft.query  # the body wins
    if holder.get("field") in relations:
        return False
    if relations:
        holder["field"] = relations[0]
    else:
        del body["action"]
    return True


# -- a table's own tabs, sort columns and search columns ------------------------------------
def _table(draft: Draft) -> tuple[list, list] | None:
    """(tab names, column names) of the path's table, from its own metadata (asked once)."""
    if draft.get is None or not {"resource_name", "table_name"} <= set(draft.path):
        return None
    page = draft.get(f"/api/resources/{_segment(draft.path['resource_name'])}/table/"
                     f"{_segment(draft.path['table_name'])}")
    if not isinstance(page, dict) or not isinstance(page.get("tabs"), list) or not isinstance(page.get("columns"), list):
        return None
    return ([t.get("name") for t in page["tabs"] if isinstance(t, dict)],
            [c.get("name") for c in page["columns"] if isinstance(c, dict)])


def _no_constant(name):
    raise ValueError(name)  # NaN and Infinity are no JSON


NOT_A_MAP = object()


def _search_map(value, in_query: bool):
    """search_columns as the API reads it: a map, None when there is none, or NOT_A_MAP. In
    the query it is JSON text; a form field is text; a JSON body holds the map itself."""
    if in_query and isinstance(value, str) and value[:1] in ("{", "["):
        try:
            value = json.loads(value, parse_constant=_no_constant)
        except ValueError:
            pass
    if value is None or value == "" or value == []:
        return None
    return value if isinstance(value, dict) else NOT_A_MAP


def _holders(draft: Draft):
    """(parameters, whether they are the query): the query's and the body's are each checked."""
    yield draft.query, True
    if isinstance(draft.body, dict):
        yield draft.body, False


def complete_table_names(draft: Draft) -> bool:
    """A tab, sort column or search column the table does not have: the first tab, the first
    column, and the search column left out."""
    table = _table(draft)
    if table is None:
        return False
    tabs, columns = table
    changed = False
    for holder, in_query in _holders(draft):
        for name, known in (("tab", tabs), ("sort_column", columns)):
            if holder.get(name) not in (None, "") and holder[name] not in known and known:
                holder[name] = known[0]
                changed = True
        search = _search_map(holder.get("search_columns"), in_query)
        if isinstance(search, dict) and set(search) - set(columns):
            kept = {key: value for key, value in search.items() if key in columns}
            holder["search_columns"] = json.dumps(kept) if in_query else kept
            changed = True
    return changed


def complete_search_map(draft: Draft) -> bool:
    """search_columns that the API cannot read as a map is left out."""
    changed = False
    for holder, in_query in _holders(draft):
        if "search_columns" in holder and _search_map(holder["search_columns"], in_query) is NOT_A_MAP:
            del holder["search_columns"]
            changed = True
    return changed


# -- a resource's own fields and rules -------------------------------------------------------
def _rules(meta: dict) -> dict[str, str]:
    """`["required", "max:255"]` -> {"required": "", "max": "255"}."""
    rules = meta.get("rules") if isinstance(meta.get("rules"), list) else []
    return dict(rule.partition(":")[::2] for rule in rules if isinstance(rule, str))


def _bound(rules: dict, name: str) -> float | None:
    try:
        return float(rules[name])
    except (KeyError, ValueError):
        return None


def _within(size: float, rules: dict) -> bool:
    low, high = _bound(rules, "min"), _bound(rules, "max")
    return (low is None or size >= low) and (high is None or size <= high)


def _has_default(meta: dict) -> bool:
    return meta.get("value") not in (None, "", [])


def _empty_is_fine(meta: dict) -> bool:
    """An empty value of a field that is not required; a relation with a default (the row's
    tenant) must keep one."""
    return not meta.get("required") and not (meta.get("type") in RELATIONS and _has_default(meta))


def _id(value) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and _INTEGER.match(value.strip()):
        return int(value)
    return None


def _number(value) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value if abs(value) < 2**53 else None
    if isinstance(value, str) and _NUMBER.match(value.strip()):
        return float(value)
    return None


def _fits(meta: dict, value, options: list | None) -> bool:
    """Whether a value sent meets the field's type and rules, as far as the kit can tell
    without the stored rows (a value that must be unique never does: a fresh one is sure)."""
    kind, rules = meta.get("type"), _rules(meta)
    if "unique" in rules:
        return False
    if isinstance(value, str):
        value = value.strip()  # Laravel trims input
    if value is None or value == "" or value == []:
        return _empty_is_fine(meta)
    if kind == "BelongsTo":
        return _id(value) in (options or [])
    if kind == "BelongsToMany":
        return isinstance(value, list) and all(_id(v) in (options or []) for v in value)
    if kind == "Select":
        return isinstance(value, (str, int)) and not isinstance(value, bool) \
            and str(value) in [str(o.get("value")) for o in meta.get("options") or [] if isinstance(o, dict)]
    if kind == "Boolean":
        return not isinstance(value, float) and value in (True, False, 1, 0, "1", "0")
    if kind == "Date":
        return isinstance(value, str) and bool(_DAY.match(value)) and _is_day(value)
    if kind == "Number" or "integer" in rules or "numeric" in rules:
        number = _number(value)
        return number is not None and (float(number).is_integer() or "integer" not in rules) and _within(number, rules)
    if kind in TEXTS or "string" in rules:
        return isinstance(value, str) and _within(len(value), rules) \
            and (kind != "Email" and "email" not in rules or bool(_EMAIL.match(value)))
    return False  # a file (which no generated case sends) or a type the kit does not know


def _is_day(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _text(meta: dict, rules: dict) -> str:
    high = int(_bound(rules, "max") or 255)
    if meta.get("type") == "Email" or "email" in rules:
        return f"apitwin-{secrets.token_hex(4)}@example.invalid"
    text = "k" + secrets.token_hex(8) if "unique" in rules else "apitwin"
    return text[:high].ljust(int(_bound(rules, "min") or 0), "x")


def _valid(meta: dict, options: list | None):
    """A value that meets the field's rules, made from what the API listed; None if none can be."""
    kind, rules = meta.get("type"), _rules(meta)
    if kind == "BelongsTo":
        return options[0] if options else None
    if kind == "BelongsToMany":
        return [options[0]] if options else None
    if kind == "Select":
        choices = [o.get("value") for o in meta.get("options") or [] if isinstance(o, dict)]
        return choices[0] if choices else None
    if kind == "Boolean":
        return True
    if kind == "Date":
        return date.today().isoformat()
    if kind == "Number" or "integer" in rules or "numeric" in rules:
        low, high = _bound(rules, "min"), _bound(rules, "max")
        number = max(low or 0, 0) if high is None or max(low or 0, 0) <= high else high
        return int(number) if float(number).is_integer() else number
    if kind in TEXTS or "string" in rules:
        return _text(meta, rules)
    return None


def _as_form(value):
    """A JSON value as a form field's text."""
    if value is True:
        return "1"
    return str(value)


def _relation_options(draft: Draft, name: str, state: dict) -> list[int]:
    """The ids a relation may hold given the form's state (the edit form of the path's row
    for an update): the form's `reloadRelatedOptions`, asked anew each time (rows come and go)."""
    resource = _segment(draft.path["resource_name"])
    path = f"/api/resources/{resource}/create" if draft.operation == "create_resource" \
        else f"/api/resources/{resource}/{_segment(draft.path.get('id'))}/edit"
    params = {"field": name, "action[name]": RELOAD, **{f"state[{k}]": str(v) for k, v in state.items()}}
    answer = draft.get(path, params, once=False)
    found = ((answer or {}).get("fields") or {}).get(name) if isinstance(answer, dict) else None
    options = found.get("relatedOptions") if isinstance(found, dict) else None
    return [o["value"] for o in options or [] if isinstance(o, dict) and _id(o.get("value")) is not None]


def _keys(body: dict, name: str, form: bool) -> list[str]:
    """The body's keys that give field `name` (`tenants`, and in form data `tenants[]`, `tenants[0]`...)."""
    return [key for key in body if key == name or (form and isinstance(key, str) and key.startswith(name + "["))]


def _put(body: dict, name: str, value, form: bool) -> None:
    for key in _keys(body, name, form):
        del body[key]
    if value is None:
        return
    if form and isinstance(value, list):
        body.update({f"{name}[{i}]": _as_form(item) for i, item in enumerate(value)})
    else:
        body[name] = _as_form(value) if form else value


def _needed(meta: dict, creating: bool, inline: bool) -> bool:
    """Whether a field the body leaves out must be given: the inline edit's own field (left
    out, it is empty), or a create's required field without a default."""
    if inline:
        return not _empty_is_fine(meta)
    return creating and bool(meta.get("required")) and not _has_default(meta)


def complete_resource_fields(draft: Draft) -> bool:
    """Each field of the resource that the body sends, or that a create (or an inline edit of
    it) needs, meets the resource's own rules: a value the kit cannot tell is valid becomes
    one made from the create form (a relation's first option for the form's state, a fresh
    value where it must be unique); a file, which the kit cannot make, is left out."""
    fields = _form_fields(draft)
    if fields is None:
        return False
    creating = draft.operation == "create_resource"
    inline = draft.path.get("field_name") if draft.operation == "update_inline" else None
    if inline is not None and inline not in fields:
        return False  # no such field: not found
    changed = False
    if not isinstance(draft.body, dict):
        if not creating and inline is None:
            return False  # an update reads it as empty input: it changes nothing
        draft.body, changed = {}, True
    body, form, state = draft.body, _is_form(draft), {}
    for name, meta in fields.items():
        if inline is not None and name != inline:
            continue
        keys = _keys(body, name, form)
        if not keys and not _needed(meta, creating, inline is not None):
            continue
        relation = meta.get("type") in RELATIONS
        options = _relation_options(draft, name, state) if relation else None
        if keys == [name] and _fits(meta, body[name], options):
            if meta.get("type") == "BelongsTo" and _id(body[name]) is not None:
                state[name] = _id(body[name])
            continue
        value = _valid(meta, options)
        _put(body, name, value, form)
        if meta.get("type") == "BelongsTo" and value is not None:
            state[name] = value
        changed = True
    return changed
