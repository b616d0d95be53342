"""Reading rows the way Qore's screens do: table pages with tabs, search and sorting,
field options (grouped for the form's `relatedOptions`), forms and global search."""
from __future__ import annotations

import math

from apitwin.server.core.errors import Invalid

from .definitions import Field, Resource, Table
from .rules import attribute, message, summary, to_id

DIRECTIONS = {"ascending": False, "asc": False, "descending": True, "desc": True}
MAX_PER_PAGE = 1000
DEFAULT_PER_PAGE = 15
SCALARS = (str, int, float, bool)


def _integer(params: dict, name: str, default: int, low: int, high: int | None, errors: dict) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    value = to_id(raw) if not isinstance(raw, dict) else None
    if value is None:
        errors[name] = [message("integer", name)]
        return default
    if value < low:
        errors[name] = [message("min.numeric", name, n=low)]
    elif high is not None and value > high:
        errors[name] = [message("max.numeric", name, n=high)]
    return value


def _user_id(user):
    return None if user is None else user["_id"]


def where_matches(row: dict, where: dict, user: dict | None) -> bool:
    for key, expected in where.items():
        value = row["_id"] if key == "id" else row.get(key)
        allowed = expected if isinstance(expected, list) else [expected]
        allowed = [_user_id(user) if a == "$user" else a for a in allowed]
        if isinstance(value, list):
            if not any(v in allowed for v in value):
                return False
        elif value not in allowed:
            return False
    return True


class Labels:
    """Labels of related rows, looked up once per request."""

    def __init__(self, backend) -> None:
        self.backend = backend
        self._cache: dict = {}

    def of(self, f: Field, value) -> str:
        if value is None:
            return ""
        if f.type == "Select":
            return next((str(o["label"]) for o in f.options if str(o["value"]) == str(value)), str(value))
        if not f.is_relation:
            return str(value)
        ids = value if isinstance(value, list) else [value]
        names = []
        for i in ids:
            key = (f.resource, i)
            if key not in self._cache:
                self._cache[key] = self.backend.label(f.resource, i) or ""
            names.append(self._cache[key])
        return ", ".join(names)


def _wanted(f: Field, item):
    if f.is_relation:
        return to_id(item)
    if f.type == "Boolean":
        return item in (True, 1, "1", "true")
    if f.type == "Number":
        try:
            return float(item)
        except (TypeError, ValueError):
            return None
    return str(item)


def _normal(f: Field, value):
    if f.type == "Number" and value is not None:
        return float(value)
    if f.type in ("Boolean",) or f.is_relation:
        return value
    return None if value is None else str(value)


def _search_matcher(f: Field, needle, labels: Labels):
    """A test of a row's value for one search column, prepared once per request: a list
    of 200,000 ids is read once, not once a row."""
    if needle is None or needle == "" or needle == []:
        return lambda value: True
    if isinstance(needle, list):
        # As SQL's `IN`: an empty value is in no list, and an item that is no id (or no
        # number) matches nothing, so `["x"]` does not pick the rows without a value.
        wanted = {_wanted(f, item) for item in needle} - {None}

        def one_of(value) -> bool:
            if isinstance(value, list):
                return bool(wanted.intersection(value))
            normal = _normal(f, value)
            return normal is not None and normal in wanted

        return one_of
    text = str(needle).casefold() if not isinstance(needle, bool) else ("1" if needle else "0")

    def contains(value) -> bool:
        shown = labels.of(f, value).casefold()
        raw = "" if value is None else str(value).casefold()
        if isinstance(value, bool):
            raw = "1" if value else "0"
        return text in shown or text in raw

    return contains


def _sort_key(f: Field, value, labels: Labels):
    if value is None or value == []:
        return (0, 0)
    if f.type == "Number":
        return (1, value)
    if f.type == "Boolean":
        return (1, int(value))
    if f.is_relation:
        return (1, labels.of(f, value).casefold())
    return (1, str(value).casefold())


def table_params(resource: Resource, table: Table, params: dict) -> dict:
    """The table request's parameters checked, or Invalid in Laravel's shape."""
    errors: dict[str, list[str]] = {}
    tab_name = params.get("tab")
    tab = None
    if tab_name is not None and not isinstance(tab_name, str):
        errors["tab"] = [message("string", "tab")]
    else:
        tab = table.tab(tab_name or None)
        if tab is None:
            errors["tab"] = [message("in", "tab")]
    search = params.get("search_columns")
    if search is None or search == "" or search == []:
        search = {}
    if not isinstance(search, dict):
        errors["search_columns"] = [message("array", "search_columns")]
        search = {}
    for key, needle in search.items():
        name = f"search_columns.{key}"
        if key not in table.columns:
            errors[name] = [f"The selected {attribute(name)} is invalid."]
        elif not (needle is None or isinstance(needle, SCALARS)
                  or (isinstance(needle, list) and all(isinstance(i, SCALARS) for i in needle))):
            errors[name] = [message("string", name)]
    sort_column = params.get("sort_column")
    if sort_column in (None, ""):
        sort_column = table.sort[0]
    elif not isinstance(sort_column, str) or sort_column not in table.columns:
        errors["sort_column"] = [message("in", "sort_column")]
    direction = params.get("sort_direction")
    if direction in (None, ""):
        direction = table.sort[1] if sort_column == table.sort[0] else "ascending"
    elif not isinstance(direction, str) or direction.lower() not in DIRECTIONS:
        errors["sort_direction"] = [message("in", "sort_direction")]
    per_page = _integer(params, "per_page", DEFAULT_PER_PAGE, 1, MAX_PER_PAGE, errors)
    page = _integer(params, "page", 1, 1, None, errors)
    if errors:
        raise Invalid(summary(errors), errors)
    return {"tab": tab, "search": search, "sort_column": sort_column,
            "descending": DIRECTIONS[direction.lower()], "per_page": per_page, "page": page}


def table_page(backend, resource: Resource, table: Table, params: dict, user) -> dict:
    checked = table_params(resource, table, params)
    labels = Labels(backend)
    rows = [row for row in backend.visible_rows(resource, user)
            if where_matches(row, table.where, user) and where_matches(row, checked["tab"].where, user)]
    for key, needle in checked["search"].items():
        matches = _search_matcher(resource.fields[key], needle, labels)
        rows = [row for row in rows if matches(row.get(key))]
    f = resource.fields[checked["sort_column"]]
    rows.sort(key=lambda row: _sort_key(f, row.get(f.name), labels), reverse=checked["descending"])
    total = len(rows)
    per_page, page = checked["per_page"], checked["page"]
    start = (page - 1) * per_page
    return {
        "rows": rows[start:start + per_page], "total": total, "page": page, "per_page": per_page,
        "last_page": max(1, math.ceil(total / per_page)), "table": table, "tab": checked["tab"],
        "sort_column": checked["sort_column"],
        "sort_direction": "descending" if checked["descending"] else "ascending",
    }


def options(backend, f: Field, user, state: dict, query: str | None, grouped: bool) -> list[dict]:
    needle = str(query).casefold() if query not in (None, "") else None
    if f.type == "Select":
        return [{"label": o["label"], "value": o["value"]} for o in f.options
                if needle is None or needle in str(o["label"]).casefold()]
    target = backend.resources[f.resource]
    where = {key: state[state_key] for key, state_key in f.depends_on.items()
             if state.get(state_key) not in (None, "", [])}
    where = {k: (to_id(v) if target.fields[k].is_relation and not isinstance(v, list) else v)
             for k, v in where.items()}
    rows = [row for row in backend.visible_rows(target, user)
            if where_matches(row, where, user)
            and (needle is None or needle in backend.title(target, row).casefold())]
    rows.sort(key=lambda row: (backend.title(target, row).casefold(), row["_id"]))

    def item(row):
        out = {"label": backend.title(target, row), "value": row["_id"]}
        if f.description:
            value = row.get(f.description)
            out["description"] = "" if value is None else str(value)
        return out

    if not grouped or not f.group_by:
        return [item(row) for row in rows]
    group_field = target.fields.get(f.group_by)
    groups: dict = {}
    for row in rows:
        groups.setdefault(row.get(f.group_by), []).append(row)
    labels = Labels(backend)
    out = []
    for key in sorted(groups, key=lambda k: (k is not None, k if isinstance(k, int) else str(k))):
        if key is None:
            name = f.empty_group or "—"
        else:
            name = labels.of(group_field, key) if group_field else str(key)
        out.append({"group": name, "disable": True})
        out.extend(item(row) for row in groups[key])
    return out


def _form_value(f: Field, value):
    """A form state value in the field's stored shape (anything unreadable is empty)."""
    if value is None:
        return [] if f.type == "BelongsToMany" else None
    if f.type == "BelongsTo":
        return to_id(value)
    if f.type == "BelongsToMany":
        ids = [to_id(v) for v in (value if isinstance(value, list) else [value])]
        return [i for i in ids if i is not None]
    if f.type == "File":
        return value if isinstance(value, int) and not isinstance(value, bool) else None
    return value if isinstance(value, SCALARS) else None


BOOLEANS = {True: True, False: False, 1: True, 0: False, "1": True, "0": False, "true": True, "false": False}


def form_params(resource: Resource, params: dict) -> dict:
    """The form request's parameters checked, or Invalid in Laravel's shape."""
    errors: dict[str, list[str]] = {}
    state = params.get("state")
    if state is None or state == []:
        state = {}
    if not isinstance(state, dict):
        errors["state"] = [message("array", "state")]
        state = {}
    initial = params.get("initial_request")
    if initial in (None, ""):
        initial = True
    elif not isinstance(initial, (str, int, bool)) or initial not in BOOLEANS:
        errors["initial_request"] = [message("boolean", "initial_request")]
    else:
        initial = BOOLEANS[initial]
    action = params.get("action")
    action_name = None
    if action not in (None, "", []):
        action_name = action.get("name") if isinstance(action, dict) else action
        if action_name in (None, ""):
            errors["action.name"] = [message("required", "action.name")]
        elif action_name != "reloadRelatedOptions":
            errors["action.name"] = [message("in", "action.name")]
    field_name = params.get("field")
    if action_name is not None:
        if field_name in (None, ""):
            errors["field"] = [message("required", "field")]
        elif not isinstance(field_name, str) or field_name not in resource.fields \
                or not resource.fields[field_name].is_relation:
            errors["field"] = [message("in", "field")]
    if errors:
        raise Invalid(summary(errors), errors)
    return {"state": state, "initial_request": initial, "action": action_name, "field": field_name}


def form(backend, resource: Resource, params: dict, user, row: dict | None) -> dict:
    checked = form_params(resource, params)
    state, action_name, field_name = checked["state"], checked["action"], checked["field"]
    current = {}
    if row is not None:
        current = {name: row.get(name) for name in resource.fields}
    else:
        current = {f.name: backend._default(resource, f, user) for f in resource.fields.values()}
    current.update({k: v for k, v in state.items() if k in resource.fields})
    if action_name == "reloadRelatedOptions":
        f = resource.fields[field_name]
        return {"fields": {f.name: {"relatedOptions": options(backend, f, user, current, None, True)}}}
    fields = {}
    for f in resource.fields.values():
        value = _form_value(f, current.get(f.name))
        entry = {"name": f.name, "label": f.label, "type": f.type, "required": f.required,
                 "rules": list(f.rules), "value": backend.view_value(f, value) if f.type != "Select" else value}
        if f.type == "Select":
            entry["options"] = [{"label": o["label"], "value": o["value"]} for o in f.options]
        elif f.is_relation:
            entry["relatedOptions"] = options(backend, f, user, current, None, True)
        fields[f.name] = entry
    return {"initial_request": checked["initial_request"], "fields": fields}


def global_search(backend, params: dict, user) -> list[dict]:
    errors: dict[str, list[str]] = {}
    query = params.get("query")
    if query is None or (isinstance(query, str) and not query.strip()):
        errors["query"] = [message("required", "query")]
    elif not isinstance(query, str):
        errors["query"] = [message("string", "query")]
    elif len(query) > 255:
        errors["query"] = [message("max.string", "query", n=255)]
    limit = _integer(params, "limit", 5, 1, 50, errors)
    if errors:
        raise Invalid(summary(errors), errors)
    needle = query.strip().casefold()
    groups = []
    for resource in backend.resources.values():
        if not resource.global_search:
            continue
        hits = []
        for row in backend.visible_rows(resource, user):
            title = backend.title(resource, row)
            subtitle = row.get(resource.subtitle) if resource.subtitle else None
            subtitle = None if subtitle is None else str(subtitle)
            if needle in title.casefold() or (subtitle and needle in subtitle.casefold()):
                hits.append({"id": row["_id"], "title": title, "subtitle": subtitle})
        if hits:
            groups.append({"resource": resource.name, "label": resource.label, "total": len(hits),
                           "results": hits[:limit]})
    return groups
