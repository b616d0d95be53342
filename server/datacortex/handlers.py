"""Data Cortex operations: HTTP in, HTTP out. The rules live in backend.py and ingest.py.

Every field may come in a JSON body (whatever its content type), a form body or the query
string; the session key also in the `session_key` cookie. The body wins over the query,
which wins over the cookie.
"""
from __future__ import annotations

import json

import orjson
from connexion import request
from connexion.lifecycle import ConnexionResponse

from apitwin.server.core.context import backend
from apitwin.server.core.errors import BadRequest, DomainError

from . import pages
from .errors import NOT_JSON

COOKIE = "session_key"


def authenticate(apikey, required_scopes=None):
    """Connexion's x-apikeyInfoFunc: any key passes here; the backend checks it (403)."""
    return {"sub": apikey}


_FORM_TYPES = ("x-www-form-urlencoded", "multipart/form-data")


def _is_form() -> bool:
    ctype = request.headers.get("content-type", "").lower()
    return any(t in ctype for t in _FORM_TYPES)


def _first(value):
    return (value[0] if value else None) if isinstance(value, list) else value


def _body_fields(body) -> dict:
    """The body's fields, as Connexion hands them over: a form or a JSON object as a dict,
    any other content type as bytes (read as JSON). {} when there is no body.

    Connexion reads the body before the handler (it looks for form files), so the handler
    takes it as its `body` argument instead of reading the stream again.
    """
    if body is None:
        # The spec's `x-nullable` makes Connexion give None (not {}) for a JSON body it
        # could not parse; an empty body has no length.
        if _is_json_type() and _has_content():
            raise BadRequest(NOT_JSON)
        return {}
    if isinstance(body, dict):
        if _is_form():
            return {key: _first(value) for key, value in body.items()}
        _check_text(body)
        return body
    if isinstance(body, bytes) and not _is_json_type():
        if not body.strip():
            return {}
        try:
            body = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise BadRequest(NOT_JSON) from None
        if isinstance(body, dict):
            return body
    raise BadRequest("The request body must be a JSON object.")


def _check_text(fields: dict) -> None:
    """A lone surrogate (`"\\ud800"`) is valid JSON text but no UTF-8 string: the parser
    Connexion uses lets it through, and nothing could store or answer it."""
    try:
        json.dumps(fields, ensure_ascii=False).encode("utf-8")
    except (ValueError, RecursionError):
        raise BadRequest(NOT_JSON) from None


def _has_content() -> bool:
    length = request.headers.get("content-length", "0").strip()
    return (length.isdigit() and int(length) > 0) or "transfer-encoding" in request.headers


def _is_json_type() -> bool:
    return "json" in request.headers.get("content-type", "").lower()


def _query() -> dict[str, str]:
    params = {}
    for key, value in request.query_params.multi_items():
        params.setdefault(key, value)
    return params


def _fields(body) -> dict:
    """Query parameters overridden by body fields."""
    return {**_query(), **_body_fields(body)}


def _session_key(fields: dict):
    """The key sent in the body or the query (even an empty or wrong one), else the cookie's."""
    if "session_key" in fields:
        return fields["session_key"]
    return request.cookies.get(COOKIE)


def _caller(body) -> tuple[dict, dict]:
    """(fields, user of the session) or 403."""
    fields = _fields(body)
    return fields, backend().user_for(_session_key(fields))


def _json(data, status: int = 200, headers: dict | None = None) -> ConnexionResponse:
    return ConnexionResponse(status_code=status, body=orjson.dumps(data), content_type="application/json",
                             headers=headers or {})


def _text(text: str, status: int = 200, headers: dict | None = None) -> ConnexionResponse:
    return ConnexionResponse(status_code=status, body=text, content_type="text/plain; charset=utf-8",
                              headers=headers or {})


def _html(text: str, status: int = 200) -> ConnexionResponse:
    return ConnexionResponse(status_code=status, body=text, content_type="text/html; charset=utf-8")


def render_app(doc: dict) -> dict:
    return {"app_id": doc["_id"], "name": doc["name"], "api_key_list": list(doc["api_key_list"])}


# -- session ---------------------------------------------------------------------------
async def login(body=None):
    fields = _fields(body)
    base = str(request.base_url).rstrip("/")
    session = backend().login(fields.get("email"), base)
    cookie = f"{COOKIE}={session['_id']}; Path=/; HttpOnly; SameSite=Lax"
    return _json({"result": "new_browser", "session_key": session["_id"],
                  "manual_code": session["manual_code"]}, headers={"Set-Cookie": cookie})


async def verify_page():
    key, link_token = _query().get("session_key"), _query().get("token")
    try:
        session = backend().verification(key, link_token)
    except DomainError as exc:
        return _html(pages.dead_link(exc.message), 404)
    if session["state"] == "active":
        return _html(pages.verified(already=True))
    return _html(pages.form(key, link_token))


async def verify(body=None):
    try:
        fields = _fields(body)
    except DomainError as exc:
        return _html(pages.dead_link(exc.message), 400)
    key = _query().get("session_key") or fields.get("session_key")
    link_token = _query().get("token") or fields.get("token")
    try:
        session = backend().verification(key, link_token)
        was_active = session["state"] == "active"
        backend().verify(key, link_token, fields.get("manual_code"))
    except DomainError as exc:
        if exc.kind == "not_found":
            return _html(pages.dead_link(exc.message), 404)
        return _html(pages.form(key, link_token, exc.message), 403 if exc.kind == "forbidden" else 400)
    return _html(pages.verified(already=was_active))


async def logout(body=None):
    fields = _fields(body)
    backend().logout(_session_key(fields))
    return _text("OK", headers={"Set-Cookie": f"{COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax"})


async def get_user():
    _, user = _caller(None)
    orgs = backend().organizations_of(user)
    return _json({
        "user_id": user["_id"],
        "email": user["email"],
        "display_name": user["display_name"],
        "org_list": [{"org_id": org["_id"], "name": org["name"]} for org in orgs],
    })


# -- apps ------------------------------------------------------------------------------
async def list_or_create_apps():
    # A GET: the fields come in the query string (a body is not read).
    fields, user = _caller(None)
    if "app_name" in fields:
        app = backend().create_app(user, fields.get("org_id"), fields.get("app_name"))
        return _json({"app_id": app["_id"]})
    apps = backend().list_apps(user, fields.get("org_id"))
    return _json({"app_list": [render_app(app) for app in apps]})


async def create_app(body=None):
    fields, user = _caller(body)
    app = backend().create_app(user, fields.get("org_id"), fields.get("app_name"))
    return _json({"app_id": app["_id"]})


async def delete_app(app_id, body=None):
    _, user = _caller(body)
    backend().delete_app(user, app_id)
    return _text("OK")


# -- ingest ----------------------------------------------------------------------------
async def track(org_name):
    # No `body` argument: Connexion then leaves the body unread (text/plain or JSON, the
    # only types the spec lets through), and the bundle is read here as JSON.
    body = await request.body()
    backend().ingest.track(org_name, body, _query().get("current_time"))
    return _text("OK")


async def app_log(org_name):
    # The body is read as `track` reads it.
    backend().ingest.app_log(org_name, await request.body())
    return _text("OK")
