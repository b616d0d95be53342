"""One request and its answer, as the kit records it: for checks, reports and curl lines."""
from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

MAX_BODY = 2000


@dataclass
class Exchange:
    """A request, its answer (None when the request never got one), and what it was for."""

    method: str
    url: str
    request_headers: dict[str, str]
    request_body: bytes | None
    status: int | None
    headers: dict[str, str] = field(default_factory=dict)  # lower-cased names
    body: bytes = b""
    operation: str | None = None  # operationId
    label: str | None = None  # "GET /path/{id}/"
    secrets: tuple[str, ...] = ()  # header values never written into a report

    @property
    def path(self) -> str:
        return urlsplit(self.url).path

    @property
    def query(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for key, value in parse_qsl(urlsplit(self.url).query, keep_blank_values=True):
            out.setdefault(key, value)
        return out

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")

    @property
    def media_type(self) -> str:
        """The answer's content type without parameters, lower-cased ("" when there is none)."""
        return self.content_type.split(";")[0].strip().lower()

    @property
    def request_content_type(self) -> str:
        """The Content-Type header the request was sent with, as sent ("" when there was none)."""
        return {k.lower(): v for k, v in self.request_headers.items()}.get("content-type", "")

    def json(self, default: Any = None) -> Any:
        return _parsed(self.body, default)

    def request_json(self, default: Any = None) -> Any:
        return default if self.request_body is None else _parsed(self.request_body, default)

    def curl(self) -> str:
        return curl_line(self.method, self.url, self.request_headers, self.request_body, self.secrets)

    def summary(self) -> str:
        """The answer in one short paragraph: status and (truncated) body."""
        if self.status is None:
            return "no answer"
        text = self.body[:MAX_BODY].decode("utf-8", "replace")
        for secret in self.secrets:
            if len(secret) > 3:
                text = text.replace(secret, "***")
        more = "..." if len(self.body) > MAX_BODY else ""
        return f"{self.status} {self.content_type or '(no content type)'} {text}{more}"


def _parsed(data: bytes, default: Any) -> Any:
    """`data` parsed as JSON, or `default` when it is not JSON."""
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return default


_SKIPPED_HEADERS = {"user-agent", "accept-encoding", "accept", "connection", "content-length", "host"}


def curl_line(method: str, url: str, headers: dict[str, str] | None, body: bytes | None,
              secrets: tuple[str, ...] = ()) -> str:
    """A curl command that sends the same request (secret header values left out)."""
    parts = ["curl", "-i", "-X", method.upper()]
    for name, value in (headers or {}).items():
        if name.lower() in _SKIPPED_HEADERS:
            continue
        if value and value in secrets:
            value = "***"
        parts += ["-H", f"{name}: {value}"]
    if body:
        parts += ["--data-binary", body.decode("utf-8", "backslashreplace")]
    parts.append(url)
    return " ".join(shlex.quote(p) for p in parts)
