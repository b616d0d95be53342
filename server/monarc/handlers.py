"""MONARC Stats operations: HTTP in, HTTP out. The rules live in backend.py."""
from __future__ import annotations

import json

from connexion import request

from apitwin.server.core.context import backend
from apitwin.server.core.errors import BadRequest

from .backend import page_bounds
from .errors import NOT_JSON
from .fields import format_datetime


def authenticate(apikey, required_scopes=None):
    """Connexion's x-apikeyInfoFunc: a key is good when it is an organization's token."""
    organization = backend().organization_for(apikey)
    return {"sub": organization} if organization else None


def _caller() -> str | None:
    """The calling organization's name (None when auth is off and no good key is sent)."""
    return backend().organization_for(request.headers.get("x-api-key"))


async def _json_body():
    if "json" not in request.headers.get("content-type", "").lower():
        raise BadRequest(NOT_JSON)
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


def _page(rows: list[dict], has_more: bool, render) -> dict:
    return {"data": [render(row) for row in rows], "has_more": has_more}


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
    skip, limit = page_bounds(params.get("_skip"), params.get("_limit"))
    rows, has_more = backend().list_stats(params, skip, limit)
    return _page(rows, has_more, render_stat)


async def create_stat():
    doc = backend().create_stat(await _json_body(), _caller())
    return render_stat(doc)


async def get_stat(id):
    return render_stat(backend().get_stat(id))


async def list_organizations():
    params = _query()
    skip, limit = page_bounds(params.get("_skip"), params.get("_limit"))
    rows, has_more = backend().list_organizations(skip, limit)
    return _page(rows, has_more, render_organization)


async def create_organization():
    return render_organization(backend().create_organization(await _json_body()))


async def get_organization(name):
    return render_organization(backend().get_organization(name))
