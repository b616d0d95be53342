"""Event ingest: `POST /{org}/1/track` bundles, checked and kept per app. No HTTP here.

A bundle is what the Data Cortex SDKs send: `{api_key, app_ver, device_tag, user_tag, os,
..., events: [...]}`. Failures are plain text (`details=TEXT`), as the SDKs log the body.
"""
from __future__ import annotations

import hashlib
import math
from datetime import datetime, timezone

import orjson

from apitwin.server.core.clock import parse_iso
from apitwin.server.core.errors import BadRequest, Conflict, Forbidden

from .errors import TEXT

MAX_EVENTS = 100
INT64_MAX = 2**63 - 1
EVENT_TYPES = ("install", "dau", "event", "economy", "message_send", "message_click", "experiment")
# Event properties as the SDKs send them (strings cut to 32 or 64 characters).
SHORT_STRINGS = ("kingdom", "phylum", "class", "order", "family", "genus", "species",
                 "spend_currency", "spend_type", "network", "channel")
LONG_STRINGS = ("group_tag", "from_tag", "to_tag")
NUMBERS = ("float1", "float2", "float3", "float4", "spend_amount")
SHORT_MAX, LONG_MAX = 32, 64
# Bundle properties: device and app description, all optional strings but device_tag.
BUNDLE_STRINGS = ("app_ver", "server_ver", "config_ver", "os", "os_ver", "browser", "browser_ver",
                  "device_type", "device_family", "language", "country", "user_tag")
TAG_MAX = 62
BUNDLE_STRING_MAX = 64


def _bad(message: str) -> BadRequest:
    return BadRequest(f"Bad Request: {message}", TEXT)


def _string(value, name: str, limit: int) -> str:
    if not isinstance(value, str):
        raise _bad(f"{name} must be a string")
    if len(value) > limit:
        raise _bad(f"{name} is longer than {limit} characters")
    return value


def _datetime(value, name: str) -> datetime:
    if not isinstance(value, str):
        raise _bad(f"{name} must be an ISO 8601 date-time string")
    try:
        return parse_iso(value).astimezone(timezone.utc)
    except (ValueError, OverflowError):
        raise _bad(f"{name} must be an ISO 8601 date-time string") from None


def parse_bundle(body: bytes):
    """The JSON object of a bundle, whatever the content type; 400 when it is not one."""
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise _bad("the body is not JSON") from None
    if not isinstance(payload, dict):
        raise _bad("the body must be a JSON object")
    return payload


def check_event(raw, index: int) -> dict:
    where = f"events[{index}]"
    if not isinstance(raw, dict):
        raise _bad(f"{where} must be an object")
    kind = raw.get("type")
    if kind not in EVENT_TYPES:
        raise _bad(f"{where}.type must be one of {', '.join(EVENT_TYPES)}")
    event = {"type": kind}
    if "event_index" in raw:
        value = raw["event_index"]
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= INT64_MAX:
            raise _bad(f"{where}.event_index must be a non-negative integer (64 bits)")
        event["event_index"] = value
    if "event_datetime" in raw:
        event["event_datetime"] = _datetime(raw["event_datetime"], f"{where}.event_datetime")
    for name in SHORT_STRINGS:
        if name in raw:
            event[name] = _string(raw[name], f"{where}.{name}", SHORT_MAX)
    for name in LONG_STRINGS:
        if name in raw:
            event[name] = _string(raw[name], f"{where}.{name}", LONG_MAX)
    for name in NUMBERS:
        if name in raw:
            value = raw[name]
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise _bad(f"{where}.{name} must be a number")
            # The store keeps 64-bit integers; larger ones are kept as floats.
            event[name] = value if isinstance(value, float) or abs(value) <= INT64_MAX else float(value)
    if "to_list" in raw:
        values = raw["to_list"]
        if not isinstance(values, list) or len(values) > MAX_EVENTS:
            raise _bad(f"{where}.to_list must be a list of at most {MAX_EVENTS} tags")
        event["to_list"] = [_string(v, f"{where}.to_list[]", LONG_MAX) for v in values]
    if kind == "economy":
        if "spend_currency" not in event or "spend_amount" not in event:
            raise _bad(f"{where}: an economy event needs spend_currency and spend_amount")
    if kind == "message_send":
        if "from_tag" not in event or not (event.get("to_list") or event.get("to_tag")):
            raise _bad(f"{where}: a message_send event needs from_tag and to_tag or to_list")
    return event


def check_bundle(payload: dict) -> tuple[dict, list[dict]]:
    """The bundle's device fields and its events, or a 400 naming the first problem."""
    fields = {}
    device_tag = payload.get("device_tag")
    if "device_tag" not in payload or device_tag == "":
        raise _bad("device_tag is required")
    fields["device_tag"] = _string(device_tag, "device_tag", TAG_MAX)
    for name in BUNDLE_STRINGS:
        if name in payload:
            limit = TAG_MAX if name == "user_tag" else BUNDLE_STRING_MAX
            fields[name] = _string(payload[name], name, limit)
    events = payload.get("events")
    if not isinstance(events, list) or not events:
        raise _bad("events must be a non-empty list")
    if len(events) > MAX_EVENTS:
        raise _bad(f"events holds {len(events)} events, at most {MAX_EVENTS} are accepted")
    return fields, [check_event(raw, n) for n, raw in enumerate(events)]


class Ingest:
    def __init__(self, backend, store) -> None:
        self.backend = backend
        self.clock = backend.clock
        self.events = store.collection("events")
        self.bundles = store.collection("bundles")  # _id: "<app_id>:<sha256 of the bundle>"

    def track(self, org_short_name: str, body: bytes, current_time: str | None = None) -> int:
        """Keep a bundle's events; returns how many. 400, 403 or 409 as the SDKs expect."""
        payload = parse_bundle(body)
        org = self.backend.organizations.get_by("short_name", org_short_name)
        key = self.backend.app_for_key(payload.get("api_key"))
        if org is None or key is None or key["org_id"] != org["_id"]:
            raise Forbidden("Forbidden: api_key is not a key of an application of this organization", TEXT)
        client_time = None if current_time is None else _datetime(current_time, "current_time")
        fields, events = check_bundle(payload)
        digest = hashlib.sha256(orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)).hexdigest()
        bundle_id = f"{key['app_id']}:{digest}"
        if self.bundles.exists(bundle_id):
            raise Conflict("Conflict: this bundle was already received", TEXT)
        now = self.clock.now()
        self.bundles.insert({"_id": bundle_id, "app_id": key["app_id"], "org_id": org["_id"],
                             "events": len(events), "received_at": now, "current_time": client_time})
        for event in events:
            self.events.insert({"app_id": key["app_id"], "org_id": org["_id"], "bundle_id": bundle_id,
                                **fields, **event, "received_at": now})
        return len(events)

    def summary(self) -> dict:
        per_app: dict[str, int] = {}
        for event in self.events.find(projection={"app_id": 1}):
            app = str(event["app_id"])
            per_app[app] = per_app.get(app, 0) + 1
        return {"events_per_app": per_app, "bundles": self.bundles.count()}
