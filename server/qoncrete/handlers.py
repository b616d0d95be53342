"""Qoncrete API v2 operations: HTTP in, HTTP out. The rules live in backend.py."""
from __future__ import annotations

import orjson
from connexion import request
from connexion.lifecycle import ConnexionResponse

from apitwin.server.core.context import backend
from apitwin.server.core.errors import BadRequest, Unauthorized


# -- security (Connexion's x-bearerInfoFunc / x-apikeyInfoFunc) ----------------------------
def bearer_info(token, required_scopes=None):
    caller = backend().caller(token, None)
    return {"sub": caller.uid, "scope": []} if caller else None


def token_info(apikey, required_scopes=None):
    caller = backend().caller(None, apikey)
    return {"sub": caller.uid, "scope": []} if caller else None


def _bearer() -> str | None:
    header = request.headers.get("authorization", "")
    return header[7:].strip() if header[:7].lower() == "bearer " else None


def _caller():
    bearer, token = _bearer(), request.query_params.get("token")
    found = (backend().caller(bearer, None) if bearer else None) or (
        backend().caller(None, token) if token else None)
    if found is None:
        raise Unauthorized("invalid or expired token" if bearer or token else "")
    return found


async def _json():
    raw = await request.body()
    if not raw or not raw.strip():
        raise BadRequest("body: a JSON object is required")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise BadRequest("body: not valid JSON") from None


def _query_json():
    raw = request.query_params.get("query")
    if raw is None or not raw.strip():
        raise BadRequest("query: the query JSON is required (url-encoded)")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise BadRequest("query: not valid JSON") from None


def _no_content():
    return ConnexionResponse(status_code=204)


def _csv(text: str, name: str):
    return ConnexionResponse(status_code=200, body=text, content_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})


# -- users -------------------------------------------------------------------------------
async def register():
    user = backend().register(await _json())
    return {"_id": user["_id"], "email": user["email"], "created": user["created"]}


async def login():
    return {"token": backend().login(await _json())}


# -- sources -----------------------------------------------------------------------------
async def list_sources():
    return backend().list_sources(_caller())


async def create_source():
    return backend().create_source(_caller(), await _json())


async def get_source(sourceId):
    return backend().get_source(_caller(), sourceId)


async def update_source(sourceId):
    return backend().update_source(_caller(), sourceId, await _json())


async def delete_source(sourceId):
    backend().delete_source(_caller(), sourceId)
    return _no_content()


async def daily_stats(sourceId):
    return backend().daily_stats(_caller(), sourceId)


async def list_source_shares(sourceId):
    return backend().list_source_shares(_caller(), sourceId)


async def create_source_share(sourceId):
    return backend().create_source_share(_caller(), sourceId, await _json())


async def get_source_share(sourceId, shareId):
    return backend().get_source_share(_caller(), sourceId, shareId)


async def delete_source_share(sourceId, shareId):
    backend().delete_source_share(_caller(), sourceId, shareId)
    return _no_content()


# -- reports -----------------------------------------------------------------------------
async def list_reports(sourceId):
    return backend().list_reports(_caller(), sourceId)


async def create_report(sourceId):
    return backend().create_report(_caller(), sourceId, await _json())


async def get_report(sourceId, reportId):
    return backend().get_report(_caller(), sourceId, reportId)


async def update_report(sourceId, reportId):
    return backend().update_report(_caller(), sourceId, reportId, await _json())


async def delete_report(sourceId, reportId):
    backend().delete_report(_caller(), sourceId, reportId)
    return _no_content()


async def list_report_shares(sourceId, reportId):
    return backend().list_report_shares(_caller(), sourceId, reportId)


async def create_report_share(sourceId, reportId):
    return backend().create_report_share(_caller(), sourceId, reportId, await _json())


async def get_report_share(sourceId, reportId, shareId):
    return backend().get_report_share(_caller(), sourceId, reportId, shareId)


async def delete_report_share(sourceId, reportId, shareId):
    backend().delete_report_share(_caller(), sourceId, reportId, shareId)
    return _no_content()


# -- queries -----------------------------------------------------------------------------
async def scan_dates(sourceId, reportId):
    return backend().scan_dates(_caller(), sourceId, reportId, await _json())


async def export_scan_dates(sourceId, reportId):
    caller = _caller()
    return _csv(backend().scan_dates(caller, sourceId, reportId, _query_json(), export=True), "scandates")


async def scan_keys(sourceId, reportId):
    return backend().scan_keys(_caller(), sourceId, reportId, await _json())


async def export_scan_keys(sourceId, reportId):
    caller = _caller()
    return _csv(backend().scan_keys(caller, sourceId, reportId, _query_json(), export=True), "scankeys")


async def merge_reports():
    return backend().merge_reports(_caller(), await _json())


# -- store -------------------------------------------------------------------------------
async def list_items(kind):
    return backend().list_items(_caller(), kind)


async def create_item(kind):
    return backend().create_item(_caller(), kind, await _json())


async def update_item(kind):
    return backend().update_item(_caller(), kind, await _json())


async def get_item(kind, id):
    return backend().get_item(_caller(), kind, id)


async def delete_item(kind, id):
    backend().delete_item(_caller(), kind, id)
    return _no_content()


# -- tokens ------------------------------------------------------------------------------
async def list_tokens():
    return backend().list_tokens(_caller())


async def create_token():
    return backend().create_token(_caller(), await _json())


async def get_token(tokenId):
    return backend().get_token(_caller(), tokenId)


async def update_token(tokenId):
    return backend().update_token(_caller(), tokenId, await _json())


async def delete_token(tokenId):
    backend().delete_token(_caller(), tokenId)
    return _no_content()


# -- ingest (the "log" host's paths, on the same port) -----------------------------------
async def _ingest(source_id: str, body: bytes):
    backend().ingest(source_id, request.query_params.get("token"), _bearer(), body)
    return _no_content()


async def ingest_event(sourceId):
    return await _ingest(sourceId, await request.body())


async def ingest_batch(sourceId):
    return await _ingest(sourceId, await request.body())


async def ingest_get(sourceId):
    return await _ingest(sourceId, (request.query_params.get("body") or "").encode())
