"""Handlers of the admin API (admin.yaml), on every API's port under /__apitwin/."""
from __future__ import annotations

from connexion import request
from connexion.lifecycle import ConnexionResponse

from .clock import parse_duration, parse_iso
from .context import twin
from .errors import BadRequest, NotFound
from .jsonable import jsonable
from .redact import collections as without_secrets


async def admin_spec():
    from .app import load_admin_spec

    return load_admin_spec()


async def api_spec():
    from .app import served_spec

    current = twin()
    spec = served_spec(current.definition, current.settings)
    spec["servers"] = [{"url": str(request.base_url).rstrip("/"), "description": "this apitwin server"}]
    return spec


async def reset(faults="startup"):
    current = twin()
    # Everything as at start-up: the clock too, since fixtures may be dated from it.
    current.clock.reset()
    current.reset()
    current.faults.reset(faults)
    return {"api": current.name, "collections": {name: len(docs) for name, docs in current.store.dump().items()}}


async def state(secrets=False):
    current = twin()
    dump = current.store.dump()
    if not secrets:
        dump = without_secrets(dump, getattr(current.backend, "SECRET_FIELDS", {}))
    answer = {"api": current.name, "now": current.clock.now().isoformat(), "collections": jsonable(dump)}
    summary = getattr(current.backend, "summary", None)
    if summary is not None:
        answer["summary"] = jsonable(summary())
    return answer


async def requests(limit=None):
    return {"requests": twin().journal.entries(limit)}


async def clear_requests():
    twin().journal.clear()
    return ConnexionResponse(status_code=204)


async def get_clock():
    clock = twin().clock
    return {"now": clock.now().isoformat(), "frozen": clock.frozen}


async def set_clock(body):
    clock = twin().clock
    try:
        if "advance" in body:
            clock.advance(parse_duration(body["advance"]))
        elif "freeze" in body:
            clock.freeze(parse_iso(body["freeze"]))
        elif body.get("reset"):
            clock.reset()
        else:
            raise ValueError("send one of advance, freeze or reset")
    except (ValueError, TypeError) as exc:
        raise BadRequest(str(exc)) from exc
    return await get_clock()


async def list_faults():
    return {"faults": twin().faults.describe()}


async def add_fault(body):
    try:
        rule = twin().faults.add(body)
    except ValueError as exc:
        raise BadRequest(str(exc)) from exc
    return rule.describe(), 201


async def clear_faults():
    twin().faults.clear()
    return ConnexionResponse(status_code=204)


async def delete_fault(id):
    if not twin().faults.remove(id):
        raise NotFound(f"no fault rule {id}")
    return ConnexionResponse(status_code=204)
