"""Report pre-processing functions: each turns an event's value into what is injected."""
from __future__ import annotations

import functools
import ipaddress
import re
from datetime import datetime
from urllib.parse import parse_qsl, urlsplit

from .periods import UTC, TimeError, parse_time

MISSING = object()

# -- user agents (a small ordered rule set: the first match wins) --------------------------
_BROWSERS = [
    ("Googlebot", r"Googlebot/([\d.]+)"),
    ("Bingbot", r"bingbot/([\d.]+)"),
    ("Edge", r"Edg(?:e|A|iOS)?/([\d.]+)"),
    ("Opera", r"(?:OPR|Opera)/([\d.]+)"),
    ("Samsung Internet", r"SamsungBrowser/([\d.]+)"),
    ("Chrome Mobile", r"Chrome/([\d.]+) Mobile"),
    ("Chrome", r"(?:Chrome|CriOS)/([\d.]+)"),
    ("Firefox", r"(?:Firefox|FxiOS)/([\d.]+)"),
    ("Mobile Safari", r"Version/([\d.]+).*Mobile.*Safari"),
    ("Safari", r"Version/([\d.]+).*Safari"),
    ("IE", r"(?:MSIE |Trident/.*rv:)([\d.]+)"),
    ("curl", r"curl/([\d.]+)"),
]
_OSES = [
    ("iOS", r"(?:iPhone|iPad|iPod).*? OS ([\d_]+)"),
    ("Android", r"Android ([\d.]+)"),
    ("Windows", r"Windows NT ([\d.]+)"),
    ("Mac OS X", r"Mac OS X ([\d_.]+)"),
    ("Chrome OS", r"CrOS \S+ ([\d.]+)"),
    ("Ubuntu", r"Ubuntu()"),
    ("Linux", r"Linux()"),
]
_DEVICES = [("Spider", r"bot|crawler|spider"), ("iPhone", r"iPhone"), ("iPad", r"iPad"),
            ("Samsung", r"SM-\w+"), ("Generic Smartphone", r"Mobile")]
_BROWSERS = [(name, re.compile(rx)) for name, rx in _BROWSERS]
_OSES = [(name, re.compile(rx)) for name, rx in _OSES]
_DEVICES = [(name, re.compile(rx, re.IGNORECASE)) for name, rx in _DEVICES]


def _first(rules, text):
    for name, rx in rules:
        match = rx.search(text)
        if match:
            return name, (match.group(1) if match.groups() else "").replace("_", ".")
    return "Other", ""


# Real user agents are a few hundred characters. The rules scan what they read (`.*? OS`
# over 100 KB of "iPhone" took 7.4 s), and the cache keeps its keys: both read this much.
UA_MAX_CHARS = 512
# The longest text address (IPv6 with an IPv4 tail and a zone) is well under this.
IP_MAX_CHARS = 64
CACHE_SIZE = 4096


def ua_parse(value, *_):
    return _ua_parse(str(value)[:UA_MAX_CHARS])


@functools.lru_cache(maxsize=CACHE_SIZE)
def _ua_parse(text: str):
    browser, bversion = _first(_BROWSERS, text)
    os_family, os_version = _first(_OSES, text)
    device = next((name for name, rx in _DEVICES if rx.search(text)), "Other")
    return {"userAgent": {"family": browser, "version": bversion},
            "os": {"family": os_family, "version": os_version},
            "device": {"family": device}}


def url_parse(value, *_):
    parts = urlsplit(str(value))
    return {"scheme": parts.scheme, "host": parts.hostname or "", "port": parts.port or "",
            "path": parts.path, "rawQuery": parts.query, "fragment": parts.fragment,
            "query": dict(parse_qsl(parts.query))}


def _part_of_day(hour: int) -> str:
    if 5 <= hour < 12:
        return "morning"
    if 12 <= hour < 17:
        return "afternoon"
    if 17 <= hour < 21:
        return "evening"
    return "night"


def time_parse(value, _p1, _p2, now: datetime):
    if isinstance(value, datetime):
        at = value
    else:
        at = parse_time(value, now)
    at = at.astimezone(UTC)
    return {"year": at.year, "month": at.month, "day": at.day, "hour": at.hour,
            "minute": at.minute, "day_of_week": at.isoweekday(),
            "day_of_year": at.timetuple().tm_yday, "quarter_of_year": (at.month - 1) // 3 + 1,
            "part_of_day": _part_of_day(at.hour), "meridiem": "AM" if at.hour < 12 else "PM"}


# A tiny offline table (documentation and well-known ranges); unknown addresses give "".
_GEO = [
    ("8.8.8.0/24", ("US", "California", "Mountain View", 37.386, -122.0838)),
    ("1.1.1.0/24", ("AU", "New South Wales", "Sydney", -33.8688, 151.2093)),
    ("9.9.9.0/24", ("CH", "Zurich", "Zurich", 47.3769, 8.5417)),
    ("81.0.0.0/8", ("FR", "Ile-de-France", "Paris", 48.8566, 2.3522)),
    ("82.0.0.0/8", ("GB", "England", "London", 51.5074, -0.1278)),
    ("84.0.0.0/8", ("DE", "Berlin", "Berlin", 52.52, 13.405)),
    ("85.0.0.0/8", ("LU", "Luxembourg", "Luxembourg", 49.6116, 6.1319)),
    ("101.0.0.0/8", ("CN", "Shanghai", "Shanghai", 31.2304, 121.4737)),
    ("110.0.0.0/8", ("SG", "Singapore", "Singapore", 1.3521, 103.8198)),
    ("126.0.0.0/8", ("JP", "Tokyo", "Tokyo", 35.6762, 139.6503)),
    ("177.0.0.0/8", ("BR", "Sao Paulo", "Sao Paulo", -23.5505, -46.6333)),
    ("192.0.2.0/24", ("US", "New York", "New York", 40.7128, -74.006)),
    ("198.51.100.0/24", ("FR", "Ile-de-France", "Paris", 48.8566, 2.3522)),
    ("203.0.113.0/24", ("SG", "Singapore", "Singapore", 1.3521, 103.8198)),
]
_GEO = [(ipaddress.ip_network(net), place) for net, place in _GEO]


_NO_PLACE = {"country": "", "region": "", "city": "", "latitude": None, "longitude": None}


def ip2geo(value, *_):
    text = str(value)
    return dict(_NO_PLACE) if len(text) > IP_MAX_CHARS else _ip2geo(text)


@functools.lru_cache(maxsize=CACHE_SIZE)
def _ip2geo(value: str):
    try:
        address = ipaddress.ip_address(str(value).strip())
    except ValueError:
        address = None
    for network, (country, region, city, lat, lon) in _GEO:
        if address is not None and address.version == network.version and address in network:
            return {"country": country, "region": region, "city": city,
                    "latitude": lat, "longitude": lon}
    return dict(_NO_PLACE)


def clear_caches() -> None:
    """Forget the parsed user agents and addresses (a reset starts from nothing)."""
    _ua_parse.cache_clear()
    _ip2geo.cache_clear()


def contains(value, param1, param2):
    return param1 if value is not MISSING and str(param1) in str(value) else param2


def replace(value, param1, param2):
    return str(value).replace(str(param1), str(param2))


# name -> (function, needs the input value, takes `now`)
FUNCTIONS = {
    "ua_parse": (ua_parse, True, False),
    "url_parse": (url_parse, True, False),
    "time_parse": (time_parse, False, True),
    "ip2geo": (ip2geo, True, False),
    "key_exists": (lambda value, p1, p2: p2 if value is MISSING else p1, False, False),
    "contains": (contains, False, False),
    "replace": (replace, True, False),
}


def run(name: str, value, param1, param2, event_time: datetime, now: datetime):
    """The value to inject, or MISSING when nothing is injected."""
    func, needs_value, takes_now = FUNCTIONS[name]
    if name == "time_parse" and value is MISSING:
        value = event_time  # without an input key, the event's own time
    if needs_value and (value is MISSING or value is None):
        return MISSING
    try:
        return func(value, param1, param2, now) if takes_now else func(value, param1, param2)
    except (TimeError, ValueError, TypeError, OverflowError):
        return MISSING
