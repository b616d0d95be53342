"""MONARC Stats operations: HTTP in, HTTP out. The rules live in backend.py."""
from __future__ import annotations

import json

from connexion import request
from connexion.lifecycle import ConnexionResponse

from apitwin.server.core.context import backend
from apitwin.server.core.errors import BadRequest, NotFound

from .answers import JSON, to_json
from .backend import MAX_ORGANIZATIONS_LIMIT, MAX_STATS_LIMIT, page_bounds
from .errors import NOT_JSON
from .fields import format_datetime

# flask-mongorest's answer to a POST on an object's own path.
POST_ON_OBJECT = "404 Not Found: Did you mean to use PUT?"


def authenticate(apikey, required_scopes=None):
    """Connexion's x-apikeyInfoFunc: a key is good when it is an organization's token."""
    organization = backend().organization_for(apikey)
    return None if organization is None else {"sub": organization}  # "" is a name too


def _caller() -> str | None:
    """The calling organization's name (None when auth is off and no good key is sent)."""
    return backend().organization_for(request.headers.get("x-api-key"))


async def _json_body():
    """The body as flask-mongorest reads it: a content type, when sent, must be JSON."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type and "json" not in content_type:
        raise BadRequest(NOT_JSON)
    if request.headers.get("transfer-encoding", "").lower() == "chunked":
        raise BadRequest("Chunked Transfer-Encoding is not supported.")
    try:
        # The standard parser: it keeps integers beyond 64 bits exact, so they are refused
        # rather than rounded into range.
        value = json.loads(await request.body(), parse_constant=_not_json)
        # A lone surrogate (`"\ud800"`) is valid JSON text but no UTF-8 string, and the
        # store could not keep it.
        json.dumps(value, ensure_ascii=False).encode("utf-8")
        return value
    except (ValueError, RecursionError):
        raise BadRequest("The request contains invalid JSON.") from None


def _not_json(constant: str):
    raise ValueError(f"{constant} is not JSON")


def _query() -> dict[str, str]:
    # The first value of each parameter, as Flask's request.args.get reads it.
    params = {}
    for key, value in request.query_params.multi_items():
        params.setdefault(key, value)
    return params


def _answer(payload) -> ConnexionResponse:
    return ConnexionResponse(status_code=200, body=to_json(payload), content_type=JSON)


def _page(rows: list[dict], has_more: bool, render) -> ConnexionResponse:
    return _answer({"data": [render(row) for row in rows], "has_more": has_more})


def render_stat(doc: dict) -> dict:
    out = {key: value for key, value in doc.items() if key != "_id"}
    out["created_at"] = format_datetime(doc["created_at"])
    out["updated_at"] = format_datetime(doc["updated_at"])
    out["id"] = str(doc["_id"])
    return out


def render_organization(doc: dict) -> dict:
    return {"name": doc["name"]}


async def list_stats():
    params = _query()
    skip, limit = page_bounds(params.get("_skip"), params.get("_limit"), MAX_STATS_LIMIT)
    rows, has_more = backend().list_stats(params, skip, limit)
    return _page(rows, has_more, render_stat)


async def create_stat():
    doc = backend().create_stat(await _json_body(), _caller())
    return _answer(render_stat(doc))


async def get_stat(id):
    return _answer(render_stat(backend().get_stat(id)))


async def post_on_stat(id):
    raise NotFound(POST_ON_OBJECT)


async def list_organizations():
    params = _query()
    skip, limit = page_bounds(params.get("_skip"), params.get("_limit"), MAX_ORGANIZATIONS_LIMIT)
    rows, has_more = backend().list_organizations(skip, limit)
    return _page(rows, has_more, render_organization)


async def create_organization():
    return _answer(render_organization(backend().save_organization(await _json_body())))


async def get_organization(name):
    return _answer(render_organization(backend().get_organization(name)))


async def set_organization_token(name):
    # The organization is looked up before the body is read, as the real service does.
    backend().get_organization(name)
    return _answer(render_organization(backend().set_organization_token(name, await _json_body())))


async def post_on_organization(name):
    raise NotFound(POST_ON_OBJECT)
