"""Recorded traffic as HAR 1.2 files, with every secret masked.

`HarRecorder(folder, api)` collects the exchanges the proxy forwards and writes them to
`<folder>/<api>-<UTC time>.har` (again at most once a second while traffic flows, and at
the end). `read_entries(folder)` reads every `*.har` file of a folder back, oldest first,
for `apitwin fixtures import`.

Masked (the value becomes `***`): credential headers (Authorization, Cookie, Set-Cookie,
X-API-KEY, X-AUTH-TOKEN, any header whose name says key, token, session, secret or
password), query parameters and JSON body fields whose names say so, and cookie values.
"""
from __future__ import annotations

import base64
import json
import re
import time
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from apitwin import __version__

from .exchange import Exchange

MASK = "***"
SECRET_NAME = re.compile(r"(pass(word|wd)?|secret|token|api[-_]?key|[-_]key$|session|authori[sz]ation|^auth$|"
                         r"cookie|jwt|credential|signature)", re.IGNORECASE)
FLUSH_EVERY = 1.0  # seconds


def is_secret(name: str) -> bool:
    """Whether a header, parameter or field of this name holds a credential."""
    return bool(SECRET_NAME.search(name))


def secret_values(headers: dict[str, str], url: str) -> tuple[str, ...]:
    """The credentials a request carries, for masking them in logs and reports."""
    values = [v for k, v in headers.items() if v and is_secret(k)]
    values += [v.split(" ", 1)[1] for v in list(values) if " " in v]  # "Bearer <token>"
    values += [v for k, v in parse_qsl(urlsplit(url).query) if v and is_secret(k)]
    return tuple(v for v in values if len(v) > 3)


def mask_json(value):
    """A JSON value with the value of every secret-named field masked, at any depth."""
    if isinstance(value, dict):
        return {k: (MASK if is_secret(str(k)) and not isinstance(v, (dict, list)) else mask_json(v))
                for k, v in value.items()}
    if isinstance(value, list):
        return [mask_json(v) for v in value]
    return value


def _mask_text(text: str, secrets: tuple[str, ...]) -> str:
    for secret in secrets:
        text = text.replace(secret, MASK)
    return text


def _mask_url(url: str) -> str:
    parts = urlsplit(url)
    query = [(k, MASK if is_secret(k) else v) for k, v in parse_qsl(parts.query, keep_blank_values=True)]
    return urlunsplit(parts._replace(query=urlencode(query)))


def _headers(headers: dict[str, str]) -> list[dict]:
    return [{"name": k, "value": MASK if is_secret(k) else v} for k, v in headers.items()]


def _content(body: bytes | None, media: str, secrets: tuple[str, ...]) -> dict:
    """A body as HAR content: JSON with its secret fields masked, other text masked by value."""
    body = body or b""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return {"size": len(body), "mimeType": media, "encoding": "base64",
                "text": base64.b64encode(body).decode("ascii")}
    try:
        text = json.dumps(mask_json(json.loads(text)), ensure_ascii=False)
    except ValueError:
        pass
    return {"size": len(body), "mimeType": media, "text": _mask_text(text, secrets)}


def entry(ex: Exchange, started: float, elapsed_ms: float) -> dict:
    """One exchange as a HAR entry, secrets masked."""
    secrets = secret_values(ex.request_headers, ex.url)
    request_media = ex.request_content_type
    request = {
        "method": ex.method, "url": _mask_url(ex.url), "httpVersion": "HTTP/1.1",
        "headers": _headers(ex.request_headers), "cookies": [],
        "queryString": [{"name": k, "value": MASK if is_secret(k) else v}
                        for k, v in parse_qsl(urlsplit(ex.url).query, keep_blank_values=True)],
        "headersSize": -1, "bodySize": len(ex.request_body or b""),
    }
    if ex.request_body:
        content = _content(ex.request_body, request_media, secrets)
        request["postData"] = {"mimeType": request_media, "text": content.get("text", ""),
                               **({"encoding": "base64"} if content.get("encoding") else {})}
    response = {
        "status": ex.status or 0, "statusText": "", "httpVersion": "HTTP/1.1",
        "headers": _headers(ex.headers), "cookies": [],
        "content": _content(ex.body, ex.content_type, secrets),
        "redirectURL": ex.headers.get("location", ""), "headersSize": -1, "bodySize": len(ex.body),
    }
    stamp = datetime.fromtimestamp(started, timezone.utc).isoformat().replace("+00:00", "Z")
    return {"startedDateTime": stamp, "time": round(elapsed_ms, 3), "request": request, "response": response,
            "cache": {}, "timings": {"send": 0, "wait": round(elapsed_ms, 3), "receive": 0},
            "comment": ex.label or ""}


class HarRecorder:
    """Collects HAR entries and keeps `<folder>/<api>-<time>.har` up to date."""

    def __init__(self, folder: str | Path, api: str) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.path = self.folder / f"{api}-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}.har"
        self.entries: list[dict] = []
        self._written = 0.0
        self._dirty = False

    def record(self, ex: Exchange, started: float, elapsed_ms: float) -> None:
        self.entries.append(entry(ex, started, elapsed_ms))
        self._dirty = True
        if time.monotonic() - self._written > FLUSH_EVERY:
            self.flush()

    def flush(self) -> None:
        if not self._dirty:
            return
        har = {"log": {"version": "1.2", "creator": {"name": "apitwin proxy", "version": __version__},
                       "entries": self.entries}}
        partial = self.path.with_suffix(".har.partial")
        partial.write_text(json.dumps(har, ensure_ascii=False, indent=1), encoding="utf-8")
        partial.replace(self.path)  # readers never see half a file
        self._written = time.monotonic()
        self._dirty = False


def read_entries(folder: str | Path) -> list[dict]:
    """Every entry of every `*.har` file in `folder` (or the one file given), oldest first."""
    path = Path(folder)
    files = [path] if path.is_file() else sorted(path.glob("*.har"))
    entries = []
    for file in files:
        entries += json.loads(file.read_text(encoding="utf-8")).get("log", {}).get("entries", [])
    return sorted(entries, key=lambda e: e.get("startedDateTime", ""))


def response_json(item: dict):
    """The JSON body of a HAR entry's answer, or None."""
    content = item.get("response", {}).get("content", {})
    text = content.get("text")
    if text is None:
        return None
    if content.get("encoding") == "base64":
        text = base64.b64decode(text).decode("utf-8", "replace")
    try:
        return json.loads(text)
    except ValueError:
        return None
