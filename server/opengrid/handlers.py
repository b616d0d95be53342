"""OpenGrid operations: HTTP in, HTTP out. The rules live in backend.py.

The core does the rest (server/opengrid/__init__.py): the token is checked before routing
(`guard`), the CORS headers go on every answer (`response_headers`), and a DomainError
raised here is rendered by errors.py.
"""
from __future__ import annotations

import orjson
from connexion import request
from connexion.lifecycle import ConnexionResponse

from apitwin.server.core.context import backend, raw_body

from . import errors
from .mongoq import to_extended

CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Headers": "origin, content-type, accept, authorization, X-AUTH-TOKEN",
    "Access-Control-Allow-Methods": "GET, POST, PUT, DELETE, OPTIONS, HEAD",
    "Access-Control-Expose-Headers": "X-AUTH-TOKEN",
}
TOKEN_HEADER = "X-AUTH-TOKEN"


def authenticate(apikey, required_scopes=None):
    """Connexion's x-apikeyInfoFunc: the guard has already judged the token before routing;
    the handlers read the caller from it again (`_caller`)."""
    return {"sub": None, "token": apikey}


def _respond(status: int, body=None, headers: dict | None = None) -> ConnexionResponse:
    if body is None:
        return ConnexionResponse(status_code=status, body=b"", headers=headers or {})
    return ConnexionResponse(status_code=status, body=orjson.dumps(body), mimetype="application/json",
                             content_type="application/json", headers=headers or {})


def _caller():
    return backend().caller_for(request.headers.get(TOKEN_HEADER))


def _param(name: str) -> str | None:
    """A query parameter; given more than once, it is refused rather than one value picked."""
    values = request.query_params.getlist(name)
    if len(values) > 1:
        raise errors.ClientError(f"Invalid parameter {name}: given {len(values)} times, expected once.")
    return values[0] if values else None


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
    """The JSON document sent, whatever the content type. The web client sends JSON text as
    `application/x-www-form-urlencoded`, which Connexion form-decodes (losing `+` and `%`
    escapes): such a body is read again as it arrived. A real form gives its fields."""
    if _is_form():
        try:
            return orjson.loads(raw_body())
        except orjson.JSONDecodeError:
            fields = body if isinstance(body, dict) else {}
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
async def login(body=None):
    try:
        credentials = _json_of(body)
    except errors.ClientError:
        credentials = None
    if not isinstance(credentials, dict):
        credentials = {}
    token = backend().login(credentials.get("username"), credentials.get("password"))
    return _respond(200, None, {TOKEN_HEADER: token})


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


async def list_users():
    return await _list("users")


async def list_users_slash():
    return await _list("users")


async def create_user(body=None):
    return await _create("users", body)


async def create_user_slash(body=None):
    return await _create("users", body)


async def get_user(userId):
    return await _get("users", userId)


async def update_user(userId, body=None):
    return await _update("users", userId, body)


async def delete_user(userId):
    return await _delete("users", userId)


async def list_groups():
    return await _list("groups")


async def list_groups_slash():
    return await _list("groups")


async def create_group(body=None):
    return await _create("groups", body)


async def create_group_slash(body=None):
    return await _create("groups", body)


async def get_group(groupId):
    return await _get("groups", groupId)


async def update_group(groupId, body=None):
    return await _update("groups", groupId, body)


async def delete_group(groupId):
    return await _delete("groups", groupId)


async def list_queries():
    return await _list("queries")


async def list_queries_slash():
    return await _list("queries")


async def create_query(body=None):
    return await _create("queries", body)


async def create_query_slash(body=None):
    return await _create("queries", body)


async def get_query(queryId):
    return await _get("queries", queryId)


async def update_query(queryId, body=None):
    return await _update("queries", queryId, body)


async def delete_query(queryId):
    return await _delete("queries", queryId)


# -- datasets ----------------------------------------------------------------------------
async def list_datasets():
    return _respond(200, backend().list_datasets(_caller()))


async def get_dataset(datasetId):
    return _respond(200, backend().get_dataset(_caller(), datasetId))


async def query_dataset(datasetId):
    caller = _caller()
    answer = backend().query_dataset(caller, datasetId, _param("q"), _param("n"), _param("s"), _param("opts"))
    return _respond(200, answer)


async def query_dataset_form(datasetId, body=None):
    caller = _caller()
    form = body if isinstance(body, dict) else {}
    fields = {name: _form_value(form.get(name)) for name in ("q", "n", "s", "opts")}
    answer = backend().query_dataset(caller, datasetId, fields["q"], fields["n"], fields["s"], fields["opts"])
    return _respond(200, answer)


async def get_capabilities():
    _caller()
    return _respond(200, backend().capabilities())


async def autocomplete(listId):
    _caller()
    return _respond(200, backend().autocomplete(listId))


# -- before routing ----------------------------------------------------------------------
def guard(backend_, method: str, path: str, headers) -> None:
    """The real service's Spring Security filter, run by the core before routing: every
    request but the login and the CORS preflights needs a valid token, so an unknown route,
    an unsupported method or a bad body without one answers 403 like any other."""
    if method == "OPTIONS" or (method == "POST" and path == "/users/token"):
        return
    backend_.caller_for(headers.get(TOKEN_HEADER))
