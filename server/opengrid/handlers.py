"""OpenGrid operations: HTTP in, HTTP out. The rules live in backend.py.

Every operation answers through `_answer`, which adds the CORS headers the browser client
needs to every answer (errors included) and renders the service's error shapes.
"""
from __future__ import annotations

import functools
import logging
import orjson
from connexion import request
from connexion.lifecycle import ConnexionResponse

from apitwin.server.core.context import backend
from apitwin.server.core.errors import DEFAULT_STATUS, DomainError

from . import errors
from .mongoq import to_extended

log = logging.getLogger("apitwin")

CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Headers": "origin, content-type, accept, authorization, X-AUTH-TOKEN",
    "Access-Control-Allow-Methods": "GET, POST, PUT, DELETE, OPTIONS, HEAD",
    "Access-Control-Expose-Headers": "X-AUTH-TOKEN",
}
TOKEN_HEADER = "X-AUTH-TOKEN"


def authenticate(apikey, required_scopes=None):
    """Connexion's x-apikeyInfoFunc: the header must be there; the backend judges the token
    (so that a bad token is answered by the handler, with CORS headers)."""
    return {"sub": None, "token": apikey}


def _respond(status: int, body=None, headers: dict | None = None) -> ConnexionResponse:
    all_headers = {**CORS_HEADERS, **(headers or {})}
    if body is None:
        return ConnexionResponse(status_code=status, body=b"", headers=all_headers)
    return ConnexionResponse(status_code=status, body=orjson.dumps(body), mimetype="application/json",
                             content_type="application/json", headers=all_headers)


def _answer(operation):
    @functools.wraps(operation)
    async def wrapper(*args, **kwargs):
        try:
            return await operation(*args, **kwargs)
        except DomainError as exc:
            status, body = errors.shape(DEFAULT_STATUS.get(exc.kind, 200), exc.message, exc.kind, exc.details)
            return _respond(status, body)
        except Exception:
            log.exception("unhandled error on %s %s", request.method, request.url.path)
            status, body = errors.shape(500, "", "server_error")
            return _respond(status, body)

    return wrapper


def _caller():
    return backend().caller_for(request.headers.get(TOKEN_HEADER))


def _param(name: str) -> str | None:
    return request.query_params.get(name)


def _is_form() -> bool:
    ctype = request.headers.get("content-type", "").lower()
    return "x-www-form-urlencoded" in ctype or "multipart/form-data" in ctype


def _form_value(value):
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return value if isinstance(value, str) or value is None else str(value)


def _json_of(body):
    """The JSON document sent, whatever the content type (Connexion has read the body into
    `body`: parsed JSON, form fields, or bytes). Form fields are put back together: the web
    client sends JSON text as `application/x-www-form-urlencoded`, one field name."""
    if _is_form():
        fields = body if isinstance(body, dict) else {}
        text = "&".join(k if _form_value(v) in (None, "") else f"{k}={_form_value(v)}" for k, v in fields.items())
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            return {k: _form_value(v) for k, v in fields.items()}
    if isinstance(body, (bytes, str)):
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError:
            raise errors.ClientError("The request body is not valid JSON.") from None
    return body


def _documents(docs: list[dict]) -> list[dict]:
    return [to_extended(doc) for doc in docs]


# -- preflight ---------------------------------------------------------------------------
def _preflight():
    async def preflight(**_path):
        return _respond(200)

    return preflight


options_token = _preflight()
options_renew = _preflight()
options_users = _preflight()
options_users_slash = _preflight()
options_user = _preflight()
options_groups = _preflight()
options_groups_slash = _preflight()
options_group = _preflight()
options_queries = _preflight()
options_queries_slash = _preflight()
options_query = _preflight()
options_datasets = _preflight()
options_dataset = _preflight()
options_dataset_query = _preflight()
options_capabilities = _preflight()
options_autocomplete = _preflight()


# -- tokens ------------------------------------------------------------------------------
@_answer
async def login(body=None):
    try:
        credentials = _json_of(body)
    except errors.ClientError:
        credentials = None
    if not isinstance(credentials, dict):
        credentials = {}
    username, password = credentials.get("username"), credentials.get("password")
    try:
        token = backend().login(username, password)
    except errors.LoginFailed:
        # JSON text sent as a form loses its `+` signs to form decoding: try them back.
        if not (_is_form() and isinstance(password, str) and " " in password):
            raise
        token = backend().login(username, password.replace(" ", "+"))
    return _respond(200, None, {TOKEN_HEADER: token})


@_answer
async def renew():
    token = backend().renew(_caller())
    return _respond(204, None, {TOKEN_HEADER: token})


# -- users, groups, queries --------------------------------------------------------------
async def _list(kind: str):
    docs = backend().list_documents(kind, _caller(), _param("q"), _param("n"))
    return _respond(200, _documents(docs))


async def _create(kind: str, body):
    caller = _caller()
    body = _json_of(body)
    return _respond(200, to_extended(backend().create_document(kind, caller, body)))


async def _get(kind: str, id: str):
    return _respond(200, _documents(backend().get_document(kind, _caller(), id)))


async def _update(kind: str, id: str, body):
    caller = _caller()
    body = _json_of(body)
    return _respond(200, to_extended(backend().update_document(kind, caller, id, body)))


async def _delete(kind: str, id: str):
    backend().delete_document(kind, _caller(), id)
    return _respond(204)


@_answer
async def list_users():
    return await _list("users")


@_answer
async def list_users_slash():
    return await _list("users")


@_answer
async def create_user(body=None):
    return await _create("users", body)


@_answer
async def create_user_slash(body=None):
    return await _create("users", body)


@_answer
async def get_user(userId):
    return await _get("users", userId)


@_answer
async def update_user(userId, body=None):
    return await _update("users", userId, body)


@_answer
async def delete_user(userId):
    return await _delete("users", userId)


@_answer
async def list_groups():
    return await _list("groups")


@_answer
async def list_groups_slash():
    return await _list("groups")


@_answer
async def create_group(body=None):
    return await _create("groups", body)


@_answer
async def create_group_slash(body=None):
    return await _create("groups", body)


@_answer
async def get_group(groupId):
    return await _get("groups", groupId)


@_answer
async def update_group(groupId, body=None):
    return await _update("groups", groupId, body)


@_answer
async def delete_group(groupId):
    return await _delete("groups", groupId)


@_answer
async def list_queries():
    return await _list("queries")


@_answer
async def list_queries_slash():
    return await _list("queries")


@_answer
async def create_query(body=None):
    return await _create("queries", body)


@_answer
async def create_query_slash(body=None):
    return await _create("queries", body)


@_answer
async def get_query(queryId):
    return await _get("queries", queryId)


@_answer
async def update_query(queryId, body=None):
    return await _update("queries", queryId, body)


@_answer
async def delete_query(queryId):
    return await _delete("queries", queryId)


# -- datasets ----------------------------------------------------------------------------
@_answer
async def list_datasets():
    return _respond(200, backend().list_datasets(_caller()))


@_answer
async def get_dataset(datasetId):
    return _respond(200, backend().get_dataset(_caller(), datasetId))


@_answer
async def query_dataset(datasetId):
    caller = _caller()
    answer = backend().query_dataset(caller, datasetId, _param("q"), _param("n"), _param("s"), _param("opts"))
    return _respond(200, answer)


@_answer
async def query_dataset_form(datasetId, body=None):
    caller = _caller()
    form = body if isinstance(body, dict) else {}
    fields = {name: _form_value(form.get(name)) for name in ("q", "n", "s", "opts")}
    answer = backend().query_dataset(caller, datasetId, fields["q"], fields["n"], fields["s"], fields["opts"])
    return _respond(200, answer)


@_answer
async def get_capabilities():
    _caller()
    return _respond(200, backend().capabilities())


@_answer
async def autocomplete(listId):
    _caller()
    return _respond(200, backend().autocomplete(listId))
