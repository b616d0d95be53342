"""Ingest: `POST /{org}/1/track` event bundles and `POST /{org}/1/app_log` log bundles,
checked and kept per app. No HTTP here.

A bundle is what the Data Cortex SDKs send: `{api_key, app_ver, device_tag, user_tag, os,
..., events: [...]}`, events or log lines. Both endpoints check a bundle in the same order
(a JSON object, the key, the fields, a repeat) and answer the same way. Failures are plain
text (`details=TEXT`), as the SDKs log the body.
"""
from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import datetime, timezone

import orjson

from apitwin.server.core.clock import parse_iso
from apitwin.server.core.errors import BadRequest, Conflict, Forbidden
from apitwin.server.core.store import Collection

from .errors import INGEST_FORBIDDEN, TEXT

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
# Log lines: the string properties the SDKs send and their lengths (the SDKs cut them so),
# the numbers, and (choice) the device description at the bundle fields' length.
LOG_STRINGS = {"log_line": 65535, "log_level": 64, "hostname": 64, "filename": 256, "remote_address": 64,
               "device_tag": TAG_MAX, "user_tag": TAG_MAX,
               **{name: BUNDLE_STRING_MAX for name in ("device_type", "os", "os_ver", "browser", "browser_ver",
                                                       "country", "language")}}
LOG_NUMBERS = ("response_ms", "response_bytes")
# A log bundle's own fields beside the device's: where the lines come from.
LOG_BUNDLE_STRINGS = {"hostname": 64, "filename": 256}


def _bad(message: str) -> BadRequest:
    return BadRequest(f"Bad Request: {message}", TEXT)


def _string(value, name: str, limit: int) -> str:
    if not isinstance(value, str):
        raise _bad(f"{name} must be a string")
    if len(value) > limit:
        raise _bad(f"{name} is longer than {limit} characters")
    return value


def _number(value, name: str):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise _bad(f"{name} must be a number")
    # The store keeps 64-bit integers; larger ones are kept as floats.
    return value if isinstance(value, float) or abs(value) <= INT64_MAX else float(value)


def _datetime(value, name: str) -> datetime:
    if not isinstance(value, str):
        raise _bad(f"{name} must be an ISO 8601 date-time string")
    try:
        return parse_iso(value).astimezone(timezone.utc)
    except (ValueError, OverflowError):
        raise _bad(f"{name} must be an ISO 8601 date-time string") from None


def _strings(raw: dict, limits: dict[str, int], where: str = "") -> dict:
    """The properties of `limits` that `raw` has, checked as strings of at most that length."""
    return {name: _string(raw[name], f"{where}{name}", limit) for name, limit in limits.items() if name in raw}


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
    event.update(_strings(raw, dict.fromkeys(SHORT_STRINGS, SHORT_MAX), f"{where}."))
    event.update(_strings(raw, dict.fromkeys(LONG_STRINGS, LONG_MAX), f"{where}."))
    for name in NUMBERS:
        if name in raw:
            event[name] = _number(raw[name], f"{where}.{name}")
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


def check_log_line(raw, index: int) -> dict:
    """One log line: every property is optional; unknown ones are ignored."""
    where = f"events[{index}]"
    if not isinstance(raw, dict):
        raise _bad(f"{where} must be an object")
    line = _strings(raw, LOG_STRINGS, f"{where}.")
    if "event_datetime" in raw:
        line["event_datetime"] = _datetime(raw["event_datetime"], f"{where}.event_datetime")
    for name in LOG_NUMBERS:
        if name in raw:
            line[name] = _number(raw[name], f"{where}.{name}")
    return line


def _device_fields(payload: dict) -> dict:
    """A bundle's device and app description (all optional strings)."""
    limits = {name: TAG_MAX if name == "user_tag" else BUNDLE_STRING_MAX for name in BUNDLE_STRINGS}
    return _strings(payload, limits)


def _items(payload: dict, check) -> list[dict]:
    items = payload.get("events")
    if not isinstance(items, list) or not items:
        raise _bad("events must be a non-empty list")
    if len(items) > MAX_EVENTS:
        raise _bad(f"events holds {len(items)} events, at most {MAX_EVENTS} are accepted")
    return [check(raw, n) for n, raw in enumerate(items)]


def check_bundle(payload: dict) -> tuple[dict, list[dict]]:
    """An event bundle's device fields and its events, or a 400 naming the first problem."""
    device_tag = payload.get("device_tag")
    if "device_tag" not in payload or device_tag == "":
        raise _bad("device_tag is required")
    fields = {"device_tag": _string(device_tag, "device_tag", TAG_MAX), **_device_fields(payload)}
    return fields, _items(payload, check_event)


def check_log_bundle(payload: dict) -> tuple[dict, list[dict]]:
    """A log bundle's fields and its lines, or a 400 naming the first problem. A server
    (the Node SDK's logger) need not have a device_tag."""
    fields = {**_device_fields(payload), **_strings(payload, LOG_BUNDLE_STRINGS)}
    if "device_tag" in payload:
        fields["device_tag"] = _string(payload["device_tag"], "device_tag", TAG_MAX)
    return fields, _items(payload, check_log_line)


@dataclass(frozen=True)
class _Stream:
    """Where one endpoint keeps its bundles (for repeats) and their items."""

    bundles: Collection  # _id: "<app_id>:<sha256 of the bundle>"
    items: Collection


class Ingest:
    def __init__(self, backend, store) -> None:
        self.backend = backend
        self.clock = backend.clock
        self.events = _Stream(store.collection("bundles"), store.collection("events"))
        self.logs = _Stream(store.collection("log_bundles"), store.collection("log_lines"))

    def track(self, org_short_name: str, body: bytes, current_time: str | None = None) -> int:
        """Keep a bundle's events; returns how many. 400, 403 or 409 as the SDKs expect."""
        payload, key = self._sender(org_short_name, body)
        client_time = None if current_time is None else _datetime(current_time, "current_time")
        fields, events = check_bundle(payload)
        return self._keep(self.events, key, payload, fields, events, current_time=client_time)

    def app_log(self, org_short_name: str, body: bytes) -> int:
        """Keep a bundle's log lines; returns how many. The same answers as `track`."""
        payload, key = self._sender(org_short_name, body)
        fields, lines = check_log_bundle(payload)
        return self._keep(self.logs, key, payload, fields, lines)

    def _sender(self, org_short_name: str, body: bytes) -> tuple[dict, dict]:
        """The bundle and its key's {app_id, org_id}; 400 when not a JSON object, 403 when
        the key is not one of an app of that organization."""
        payload = parse_bundle(body)
        org = self.backend.organizations.get_by("short_name", org_short_name)
        key = self.backend.app_for_key(payload.get("api_key"))
        if org is None or key is None or key["org_id"] != org["_id"]:
            raise Forbidden(INGEST_FORBIDDEN, TEXT)
        return payload, key

    def _keep(self, stream: _Stream, key: dict, payload: dict, fields: dict, items: list[dict],
              **bundle_fields) -> int:
        """Keep a checked bundle's items with its fields (an item's own win); 409 for a
        bundle whose JSON (keys in any order) the app already sent."""
        digest = hashlib.sha256(orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)).hexdigest()
        bundle_id = f"{key['app_id']}:{digest}"
        if stream.bundles.exists(bundle_id):
            raise Conflict("Conflict: this bundle was already received", TEXT)
        now = self.clock.now()
        owner = {"app_id": key["app_id"], "org_id": key["org_id"]}
        stream.bundles.insert({"_id": bundle_id, **owner, "events": len(items), "received_at": now,
                               **bundle_fields})
        for item in items:
            stream.items.insert({**owner, "bundle_id": bundle_id, **fields, **item, "received_at": now})
        return len(items)

    def summary(self) -> dict:
        return {"events_per_app": _per_app(self.events.items), "bundles": self.events.bundles.count(),
                "log_lines_per_app": _per_app(self.logs.items), "log_bundles": self.logs.bundles.count()}


def _per_app(items: Collection) -> dict[str, int]:
    counts: dict[str, int] = {}
    for item in items.find(projection={"app_id": 1}):
        app = str(item["app_id"])
        counts[app] = counts.get(app, 0) + 1
    return counts
