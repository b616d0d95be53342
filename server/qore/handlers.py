"""Qore operations: HTTP in, HTTP out. The rules live in backend.py and queries.py."""
from __future__ import annotations

import re
from functools import lru_cache

import orjson
from connexion import request
from connexion.context import context
from connexion.lifecycle import ConnexionResponse
from starlette.datastructures import UploadFile

from apitwin.server.core.context import backend, twin
from apitwin.server.core.errors import BadRequest, DomainError, Unauthorized, json_body

from .backend import timestamp
from .rules import Upload

_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])+)$")
ON_EACH_SIDE = 3


class MethodNotAllowed(DomainError):
    kind = "method_not_allowed"


# -- auth ------------------------------------------------------------------------------
def authenticate(token, required_scopes=None):
    """Connexion's x-bearerInfoFunc: a live Sanctum token of an existing user."""
    found = backend().authenticate(token)
    if found is None:
        return None
    user, row = found
    return {"sub": user["_id"], "token_id": row["_id"]}


def _user() -> dict:
    info = context.get("token_info") or {}
    user = backend().user(info.get("sub"))
    if user is None:
        raise Unauthorized("Unauthenticated.")
    return user


# -- reading requests --------------------------------------------------------------------
def _req():
    return request._starlette_request


def _base() -> str:
    return str(_req().base_url).rstrip("/")


def _minimal() -> bool:
    """`Prefer: return=minimal` (also written `return:minimal`, as Qore's document does)."""
    prefer = _req().headers.get("prefer", "")
    return any(re.sub(r"\s+", "", part).lower() in ("return=minimal", "return:minimal")
               for part in prefer.split(","))


def _listify(node):
    if isinstance(node, dict):
        node = {k: _listify(v) for k, v in node.items()}
        if node and all(k.isdigit() for k in node):
            return [node[k] for k in sorted(node, key=int)]
    return node


def parse_pairs(pairs) -> dict:
    """PHP's reading of `a[b]=1&c[]=2&c[]=3` -> {"a": {"b": "1"}, "c": ["2", "3"]}."""
    root: dict = {}
    for key, value in pairs:
        match = _KEY.match(key)
        if not match:
            root[key] = value
            continue
        parts = [match.group(1), *re.findall(r"\[([^\[\]]*)\]", match.group(2))]
        node = root
        for part in parts[:-1]:
            part = part or str(len(node))
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        node[parts[-1] or str(len(node))] = value
    return {key: _listify(value) for key, value in root.items()}  # the input itself stays an object


FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")


def _mimetype() -> str:
    return _req().headers.get("content-type", "").split(";")[0].strip().lower()


def _json_value(raw):
    try:
        return orjson.loads(raw)
    except (orjson.JSONDecodeError, TypeError):
        return None


def _json_object(raw) -> dict:
    """A JSON object from text; anything else reads as empty input, as Laravel reads it."""
    try:
        data = orjson.loads(raw)
    except (orjson.JSONDecodeError, TypeError):
        return {}
    return data if isinstance(data, dict) else {}


async def _payload(kwargs: dict, strict: bool = False) -> dict:
    """The request's input: a JSON object, or form fields (with files) read as PHP does.

    Connexion reads the body before the handler (it parses forms for every operation), so
    the body comes from the `body` argument Connexion gives the handler, and files from
    the UploadFile arguments of a handler taking **kwargs. Handlers whose query parameters
    are typed take `body` only: with **kwargs Connexion would convert those parameters
    itself and fail on bad values (`limit=null`) instead of letting us answer 422.
    `strict` (the query-like bodies of GET operations): a body that is not a JSON object
    answers 400, where a create or update body reads as empty input, as Laravel reads it.
    """
    body = kwargs.get("body")
    mimetype = _mimetype()
    if mimetype in FORM_TYPES:
        pairs = []
        for key, values in (body or {}).items() if isinstance(body, dict) else ():
            for value in values if isinstance(values, list) else [values]:
                pairs.append((key, value))
        if len(pairs) == 1 and pairs[0][0].lstrip().startswith("{") and mimetype.endswith("urlencoded"):
            # `curl -d '{"tab": ...}'` sends JSON labelled as a form.
            key, value = pairs[0]
            return _json_object(key + ("=" + value if value else ""))
        for key, value in kwargs.items():
            if isinstance(value, UploadFile):
                content = await value.read()
                if value.filename or content:  # an empty file input sends neither
                    pairs.append((key, Upload(value.filename or "upload",
                                              value.content_type or "application/octet-stream", content)))
                else:
                    pairs.append((key, None))
        return parse_pairs(pairs)
    if isinstance(body, (bytes, bytearray, str)):
        if strict and str(body).strip() and not isinstance(_json_value(body), dict):
            raise BadRequest("The request body must be a JSON object.")
        return _json_object(body) if str(body).strip() else {}
    if strict and body is not None and not isinstance(body, dict):
        raise BadRequest("The request body must be a JSON object.")
    if strict and body is None and "json" in mimetype:
        # Connexion hands over None both for `null` (no body, as documented) and for text
        # that is not JSON; only the length tells them apart (4: `null`).
        length = _req().headers.get("content-length", "0")
        if length.isdigit() and int(length) not in (0, 4):
            raise BadRequest("The request body is not valid JSON.")
    return body if isinstance(body, dict) else {}


def _query() -> dict:
    """Query parameters, bracketed (`a[b]=1`) or JSON-valued (`a={"b":1}`)."""
    query = parse_pairs(_req().query_params.multi_items())
    for key, value in query.items():
        if isinstance(value, str) and value[:1] in ("{", "["):
            try:
                query[key] = orjson.loads(value)
            except orjson.JSONDecodeError:
                pass
    return query


async def _params(kwargs: dict) -> dict:
    """Query parameters overlaid by the body, as Laravel's input()."""
    return {**_query(), **(await _payload(kwargs, strict=True))}


def _json(data, status: int = 200, headers: dict | None = None) -> ConnexionResponse:
    return ConnexionResponse(status_code=status, body=json_body(data), content_type="application/json",
                             headers=headers or {})


def _answer(full: dict, minimal_keys: tuple[str, ...], status: int = 200) -> ConnexionResponse:
    if _minimal():
        return _json({k: full[k] for k in minimal_keys if k in full}, status,
                     {"Preference-Applied": "return=minimal"})
    return _json(full, status)


# -- shaping answers ---------------------------------------------------------------------
def _row(resource, row) -> dict:
    out = backend().view(resource, row)
    base = _base()
    for f in resource.fields.values():
        if f.type == "File" and out[f.name] is not None:
            out[f.name]["url"] = f"{base}/api/resources/{resource.name}/{row['_id']}/download/{f.name}"
    return out


def _resource_meta(resource) -> dict:
    return {"name": resource.name, "label": resource.label, "singular_label": resource.singular_label,
            "tables": list(resource.tables)}


def _field_meta(f) -> dict:
    out = {"name": f.name, "label": f.label, "type": f.type, "required": f.required, "rules": list(f.rules)}
    if f.is_relation:
        out["resource"] = f.resource
    if f.type == "Select":
        out["options"] = [{"label": o["label"], "value": o["value"]} for o in f.options]
    return out


def _action_meta(action) -> dict:
    return {"name": action.name, "label": action.label, "type": action.type, "confirm": action.confirm}


def _token(row) -> dict:
    return {"id": row["_id"], "name": row["name"], "abilities": row["abilities"],
            "tokenable_type": row["tokenable_type"], "tokenable_id": row["tokenable_id"],
            "last_used_at": timestamp(row["last_used_at"]), "expires_at": timestamp(row["expires_at"]),
            "created_at": timestamp(row["created_at"]), "updated_at": timestamp(row["updated_at"])}


def _page_links(current: int, last: int, url) -> list[dict]:
    """Laravel's UrlWindow (3 pages on each side) as `meta.links`."""
    def pages(first, end):
        return list(range(first, end + 1))

    window = ON_EACH_SIDE + 4
    if last < ON_EACH_SIDE * 2 + 8:
        parts = [pages(1, last)]
    elif current <= window:
        parts = [pages(1, window + ON_EACH_SIDE), pages(last - 1, last)]
    elif current > last - window:
        parts = [pages(1, 2), pages(last - (window + ON_EACH_SIDE - 1), last)]
    else:
        parts = [pages(1, 2), pages(current - ON_EACH_SIDE, current + ON_EACH_SIDE), pages(last - 1, last)]
    links = [{"url": url(current - 1) if current > 1 else None, "label": "&laquo; Previous", "active": False}]
    for i, part in enumerate(parts):
        if i:
            links.append({"url": None, "label": "...", "active": False})
        links.extend({"url": url(n), "label": str(n), "active": n == current} for n in part)
    links.append({"url": url(current + 1) if current < last else None, "label": "Next &raquo;", "active": False})
    return links


# -- operations: auth ----------------------------------------------------------------------
async def create_api_token(**kwargs):
    row, plain = backend().create_token(await _payload(kwargs))
    return _json({"accessToken": _token(row), "plainTextToken": plain}, 201)


async def list_api_tokens(**kwargs):
    return {"data": [_token(row) for row in backend().list_tokens(_user())]}


async def delete_api_token(id, **kwargs):
    backend().revoke_token(_user(), id)
    return ConnexionResponse(status_code=204)


async def get_me(**kwargs):
    b = backend()
    return _row(b.resources["users"], _user())


@lru_cache(maxsize=1)
def _routes() -> tuple:
    spec = twin().definition.load_spec()
    routes = []
    for path, item in spec["paths"].items():
        for method in ("get", "post", "put", "patch", "delete"):
            if method in item:
                routes.append({"method": "GET|HEAD" if method == "get" else method.upper(),
                               "uri": path.lstrip("/"), "name": item[method]["operationId"]})
    return tuple(routes)


async def list_endpoints(**kwargs):
    _user()
    return {"data": list(_routes())}


# -- operations: resources -------------------------------------------------------------------
async def list_resources(**kwargs):
    _user()
    return {"data": [_resource_meta(r) for r in backend().resources.values()]}


async def get_table(resource_name, table_name, body=None):
    user = _user()
    b = backend()
    params = await _params({"body": body})
    page = b.table(resource_name, table_name, params, user, query=_query())
    resource = b.resources[resource_name]
    table, total, per_page, current, last = page["table"], page["total"], page["per_page"], page["page"], page["last_page"]
    path = f"{_base()}/api/resources/{resource_name}/table/{table_name}"

    def url(n):
        return f"{path}?page={n}"

    rows = [_row(resource, row) for row in page["rows"]]
    first = (current - 1) * per_page + 1 if rows else None
    full = {
        "data": rows,
        "links": {"first": url(1), "last": url(last), "prev": url(current - 1) if current > 1 else None,
                  "next": url(current + 1) if current < last else None},
        "meta": {"current_page": current, "from": first, "last_page": last,
                 "links": _page_links(current, last, url), "path": path, "per_page": per_page,
                 "to": first + len(rows) - 1 if rows else None, "total": total},
        "columns": [{**_field_meta(resource.fields[c]), "sortable": True, "searchable": True,
                     "sorted": (page["sort_direction"] if c == page["sort_column"] else None)}
                    for c in table.columns],
        "tabs": [{"name": t.name, "label": t.label, "active": t is page["tab"]} for t in table.tabs],
        "table": {"name": table.name, "label": table.label, "resource": resource_name},
        "actions": [_action_meta(a) for a in resource.actions.values()],
    }
    return _answer(full, ("data", "links", "meta"))


async def get_resource(resource_name, id, **kwargs):
    resource, row = backend().get_row(resource_name, id, _user())
    full = {"data": _row(resource, row), "resource": _resource_meta(resource),
            "fields": [_field_meta(f) for f in resource.fields.values()],
            "actions": [_action_meta(a) for a in resource.actions.values()]}
    return _answer(full, ("data",))


async def create_resource(resource_name, **kwargs):
    user = _user()
    payload = await _payload(kwargs)
    resource, row = backend().create(resource_name, payload, user)
    return _json({"data": _row(resource, row)}, 201)


async def update_resource(resource_name, id, **kwargs):
    user = _user()
    payload = await _payload(kwargs)
    payload.pop("_method", None)
    resource, row = backend().update(resource_name, id, payload, user)
    return {"data": _row(resource, row)}


async def update_resource_form(resource_name, id, **kwargs):
    """POST with `_method=PUT` (how FormData updates, with files, are sent)."""
    user = _user()
    payload = await _payload(kwargs)
    method = payload.pop("_method", None)
    if not isinstance(method, str) or method.upper() not in ("PUT", "PATCH"):
        raise MethodNotAllowed(f"The POST method is not supported for route api/resources/{resource_name}/{id}. "
                               "Supported methods: GET, HEAD, PUT.")
    resource, row = backend().update(resource_name, id, payload, user)
    return {"data": _row(resource, row)}


async def update_inline(resource_name, id, field_name, **kwargs):
    user = _user()
    resource, row = backend().update_inline(resource_name, id, field_name, await _payload(kwargs), user)
    return {"data": _row(resource, row)}


async def run_action(resource_name, action_name, id, **kwargs):
    user = _user()
    resource, row = backend().run_action(resource_name, action_name, id, user)
    action = resource.actions[action_name]
    if row is None:
        return {"message": f"{resource.singular_label} deleted.", "data": None}
    return {"message": f"{action.label}: done.", "data": _row(resource, row)}


async def get_logs(resource_name, id, **kwargs):
    b = backend()
    entries = b.logs(resource_name, id, _user())
    return {"data": [{
        "id": e["_id"], "log_name": e["log_name"], "description": e["description"], "event": e["event"],
        "subject_type": e["subject_type"], "subject_id": e["subject_id"], "causer": b.causer(e["causer_id"]),
        "properties": e["properties"], "created_at": timestamp(e["created_at"]),
        "updated_at": timestamp(e["updated_at"]),
    } for e in entries]}


async def get_field_options(resource_name, field_name, body=None):
    user = _user()
    params = await _params({"body": body})
    query = params.get("query")
    state = params.get("state") if isinstance(params.get("state"), dict) else {}
    options = backend().options(resource_name, field_name, user, state=state,
                                query=query if isinstance(query, (str, int)) else None)
    return {"data": options}


async def get_create_form(resource_name, body=None):
    user = _user()
    b = backend()
    form = b.form(resource_name, await _params({"body": body}), user, query=_query())
    return _answer({"resource": _resource_meta(b.resources[resource_name]), **form}, ("fields",))


async def get_edit_form(resource_name, id, body=None):
    user = _user()
    b = backend()
    form = b.form(resource_name, await _params({"body": body}), user, row_id=id, query=_query())
    return _answer({"resource": _resource_meta(b.resources[resource_name]), **form}, ("fields",))


async def download_file(resource_name, id, field_name, **kwargs):
    doc = backend().file(resource_name, id, field_name, _user())
    name = doc["name"].replace('"', "")
    return ConnexionResponse(status_code=200, body=doc["content"], content_type=doc["mime_type"],
                             headers={"Content-Disposition": f'attachment; filename="{name}"'})


async def global_search(body=None):
    user = _user()
    return {"data": backend().search(await _params({"body": body}), user)}
