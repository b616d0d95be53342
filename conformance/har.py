"""Recorded traffic as HAR 1.2 files, with every secret masked.

`HarRecorder(folder, api)` writes the exchanges the proxy forwards to
`<folder>/<api>-<UTC time>.har` as they come. `read_entries(folder)` reads every `*.har` file of a folder back, oldest first,
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

import harfile

from apitwin import __version__

from .exchange import Exchange

MASK = "***"
SECRET_NAME = re.compile(r"(pass(word|wd)?|secret|token|api[-_]?key|[-_]key$|session|authori[sz]ation|^auth$|"
                         r"cookie|jwt|credential|signature)", re.IGNORECASE)


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


def _records(pairs) -> list[harfile.Record]:
    return [harfile.Record(name=k, value=MASK if is_secret(k) else v) for k, v in pairs]


def _text(body: bytes | None, secrets: tuple[str, ...]) -> tuple[str, str | None]:
    """A body as HAR text (JSON with its secret fields masked, other text masked by value), and
    "base64" when it is not text."""
    body = body or b""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return base64.b64encode(body).decode("ascii"), "base64"
    try:
        text = json.dumps(mask_json(json.loads(text)), ensure_ascii=False)
    except ValueError:
        pass
    return _mask_text(text, secrets), None


class HarRecorder:
    """Writes each exchange to `<folder>/<api>-<time>.har` as it comes (harfile streams the
    entries; the file is complete JSON once `close` ran)."""

    def __init__(self, folder: str | Path, api: str) -> None:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / f"{api}-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}.har"
        self._har = harfile.open(self.path, creator=harfile.Creator(name="apitwin proxy", version=__version__))

    def record(self, ex: Exchange, started: float, elapsed_ms: float) -> None:
        """One exchange as a HAR entry, secrets masked."""
        secrets = secret_values(ex.request_headers, ex.url)
        query = parse_qsl(urlsplit(ex.url).query, keep_blank_values=True)
        post = None
        if ex.request_body:
            text, encoding = _text(ex.request_body, secrets)
            # HAR 1.2 has no encoding for posted data: a binary body is noted as base64 in the comment.
            post = harfile.PostData(mimeType=ex.request_content_type, text=text, comment=encoding)
        text, encoding = _text(ex.body, secrets)
        self._har.add_entry(
            startedDateTime=datetime.fromtimestamp(started, timezone.utc),
            time=round(elapsed_ms, 3),
            request=harfile.Request(method=ex.method, url=_mask_url(ex.url), httpVersion="HTTP/1.1",
                                    headers=_records(ex.request_headers.items()), queryString=_records(query),
                                    postData=post, bodySize=len(ex.request_body or b"")),
            response=harfile.Response(status=ex.status or 0, statusText="", httpVersion="HTTP/1.1",
                                      headers=_records(ex.headers.items()),
                                      content=harfile.Content(size=len(ex.body), mimeType=ex.content_type,
                                                              text=text, encoding=encoding),
                                      redirectURL=ex.headers.get("location", ""), bodySize=len(ex.body)),
            timings=harfile.Timings(send=0, wait=round(elapsed_ms, 3), receive=0),
            comment=ex.label or None)
        self._har.flush()

    def close(self) -> None:
        self._har.close()


def read_entries(folder: str | Path) -> list[dict]:
    """Every entry of every `*.har` file in `folder` (or the one file given), oldest first."""
    path = Path(folder)
    files = [path] if path.is_file() else sorted(path.glob("*.har"))
    entries = []
    for file in files:
        entries += _load(file.read_text(encoding="utf-8")).get("log", {}).get("entries", [])
    return sorted(entries, key=lambda e: e.get("startedDateTime", ""))


def _load(text: str) -> dict:
    """A HAR file's JSON; one a proxy that was killed never closed gets its closing brackets."""
    try:
        return json.loads(text)
    except ValueError:
        return json.loads(text + "\n]}}")


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
