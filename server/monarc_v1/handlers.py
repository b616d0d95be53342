"""MONARC Stats v1 operations: HTTP in, HTTP out. The rules live in backend.py.

Each operation runs the real service's gates in its order: the MONARC User-Agent check
(where the real one has it), the API key, then the body, then the logic.
"""
from __future__ import annotations

import json

from connexion import request
from connexion.lifecycle import ConnexionResponse

from apitwin.server.core.context import backend, raw_body, twin
from apitwin.server.core.errors import BadRequest, Conflict

from . import documentation, output
from .errors import BAD_REQUEST, NOT_JSON, NotJson
from .urls import HTML, NOT_FOUND_PAGE, is_json
from .values import jsonb_number

JSON = "application/json"


# -- reading the request ---------------------------------------------------------------------
def _is_json() -> bool:
    return is_json(request.headers.get("content-type", ""))


def _parse(raw: bytes):
    # JSONB's numbers come back as Python reads PostgreSQL's numeric: 1e2 is 100.
    return json.loads(raw, parse_float=jsonb_number)


def _get_json():
    """Flask's `request.get_json()`: 415 unless JSON, 400 when unreadable."""
    if not _is_json():
        raise NotJson(NOT_JSON)
    try:
        return _parse(raw_body())
    except (ValueError, RecursionError):
        raise BadRequest(BAD_REQUEST) from None


def _silent_json():
    """Flask's `request.get_json(silent=True)`: the body, or None when absent or unreadable."""
    if not _is_json():
        return None
    try:
        return _parse(raw_body())
    except (ValueError, RecursionError):
        return None


def _arguments_body():
    """The JSON body a GET reads its arguments from (the real service crashes on an array
    or a string there)."""
    body = _silent_json()
    if body is not None and not isinstance(body, dict):
        raise BadRequest("The arguments must be sent as a JSON object in the request body.")
    return body


def _query_keys() -> list[str]:
    return list(dict.fromkeys(key for key, _ in request.query_params.multi_items()))


def _mask():
    try:
        return output.parse_mask(request.headers.get("x-fields"))
    except output.MaskError as exc:
        raise BadRequest(str(exc)) from None


def _check_user_agent() -> None:
    backend().check_user_agent(request.headers.get("user-agent", ""))


def _caller() -> dict:
    # The header's absence and its emptiness answer alike; HTTP whitespace around the value
    # is not part of it (gunicorn trims it before the service sees it).
    value = request.headers.get("x-api-key")
    return backend().authenticate(None if value is None else value.strip(" \t"))


# -- writing the answer ----------------------------------------------------------------------
def _json(data, status: int = 200) -> ConnexionResponse:
    return ConnexionResponse(status_code=status, body=output.restx_json(data), content_type=JSON)


def _marshalled(data, model, status: int = 200) -> ConnexionResponse:
    mask = _mask()
    try:
        return _json(output.marshal(data, model, mask), status)
    except output.MaskError as exc:
        raise BadRequest(str(exc)) from None


def _empty(status: int, content_type: str | None = JSON) -> ConnexionResponse:
    return ConnexionResponse(status_code=status, body=b"", content_type=content_type)


def _stat(row: dict) -> dict:
    return {"uuid": row["_id"], "anr": row["anr"], "type": row["type"], "date": row["date"], "data": row["data"]}


def _client(doc: dict) -> dict:
    return {"name": doc["name"], "token": doc["token"], "role": doc["role"],
            "is_sharing_enabled": doc["is_sharing_enabled"]}


# -- stats -----------------------------------------------------------------------------------
async def list_stats():
    _check_user_agent()
    caller = _caller()
    rows, metadata = backend().list_stats(caller, _arguments_body(), _query_keys())
    return _marshalled({"metadata": metadata, "data": [_stat(r) for r in rows]}, output.STATS_LIST)


async def create_stats():
    _check_user_agent()
    caller = _caller()
    created, failed = backend().create_stats(caller, _get_json())
    body = {"metadata": {"count": len(created), "offset": 0, "limit": 0}, "data": [_stat(r) for r in created]}
    return _marshalled(body, output.STATS_LIST, 207 if failed else 201)


async def get_anr_stats(anr):
    _caller()
    return _marshalled([_stat(r) for r in backend().stats_of_anr(anr)], output.STATS)


async def delete_anr_stats(anr):
    _caller()
    backend().delete_anr(anr)
    return _empty(204)


async def get_processed():
    _caller()
    return _marshalled(backend().processed(_arguments_body(), _query_keys()), output.RESULT)


async def list_processors():
    return _json(backend().processor_list())


# -- clients ---------------------------------------------------------------------------------
async def get_me():
    _check_user_agent()
    return _marshalled(_client(_caller()), output.CLIENT)


async def update_me():
    _check_user_agent()
    caller = _caller()
    return _marshalled(_client(backend().update_sharing(caller, _get_json())), output.CLIENT, 201)


async def create_client():
    _check_user_agent()
    caller = _caller()
    try:
        client = backend().create_client(caller, _silent_json(), _query_keys())
    except Conflict:
        return _empty(304, None)  # the real handler's body is lost: a 304 carries none
    if client is None:
        return _empty(204)  # registration closed
    return _marshalled(_client(client), output.CLIENT, 201)


# -- what the service serves about itself (no key: one sent is not read) ---------------------
def _instance_url() -> str:
    """The service's INSTANCE_URL; unset, the scheme and host the page was asked at (what
    a deployment configures it to)."""
    url = request.url
    return twin().settings["instance_url"] or f"{url.scheme}://{url.netloc}"


async def get_swagger_ui():
    return ConnexionResponse(status_code=200, body=documentation.swagger_ui_page(_instance_url()), content_type=HTML)


async def get_swagger_document():
    return ConnexionResponse(status_code=200, body=documentation.swagger_document(), content_type=JSON)


async def get_swagger_ui_asset(filename):
    found = documentation.asset(filename)
    if found is None:
        return ConnexionResponse(status_code=404, body=NOT_FOUND_PAGE.encode(), content_type=HTML)
    body, content_type = found
    # Flask's send_from_directory: shown in the browser, revalidated on every use.
    headers = {"Content-Disposition": f"inline; filename={filename}", "Cache-Control": "no-cache"}
    return ConnexionResponse(status_code=200, body=body, content_type=content_type, headers=headers)


async def get_about():
    return ConnexionResponse(status_code=200, body=documentation.about(), content_type=JSON)
