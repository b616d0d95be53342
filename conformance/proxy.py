"""`apitwin proxy`: a reverse proxy that checks live traffic against an API's contract.

Every request goes to the target unchanged (hop-by-hop headers aside; Host names the
target) and its answer back to the caller unchanged, streamed. Once the caller has the
whole answer, the exchange is judged (`judge.Judge`, the checks of `apitwin conform`) and
every violation is logged at once, one line each. `GET /__apitwin/violations` answers the
summary so far as JSON; at the end the same table and reports as `conform`.
"""
from __future__ import annotations

import asyncio
import json
import ssl
import sys
import time
import zlib
from pathlib import Path
from typing import Callable
from urllib.parse import urlsplit

import aiohttp
import uvicorn
import yarl
from multidict import CIMultiDict

from apitwin.server.core.http_protocol import TwinHttpProtocol

from .exchange import Exchange
from .har import HarRecorder, secret_values
from .judge import ANSWER, BLAME, REQUEST, UNDOCUMENTED, Judge, Verdict
from .results import Failure, Results, _pct

VIOLATIONS_PATH = "/__apitwin/violations"
# RFC 9110 7.6.1: meant for one connection only, never forwarded.
HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
              "transfer-encoding", "upgrade", "proxy-connection"}
# Headers aiohttp would add that the caller did not send (it adds Host and, for a body, its length).
NOT_ADDED = ("User-Agent", "Accept", "Accept-Encoding", "Content-Type")
# Bodies past this are forwarded whole but judged on status and headers only.
MAX_JUDGED_BODY = 10 * 1024 * 1024
SIDES = (UNDOCUMENTED, REQUEST, ANSWER)


def _hop_by_hop(headers: list[tuple[str, str]]) -> set[str]:
    named = {token.strip().lower() for name, value in headers if name.lower() == "connection"
             for token in value.split(",")}
    return HOP_BY_HOP | named


class Tally:
    """What the proxy saw: conform's Results (table, HTML, JUnit) plus the violations by side."""

    def __init__(self, api: str, target: str) -> None:
        self.results = Results(api=api, base_url=target)
        self.results.notes.append("checks named request.* are the app's fault, undocumented: not in the "
                                  "contract, all others the deployment's")
        self.exchanges = 0
        self.by_side: dict[str, dict[tuple, Failure]] = {side: {} for side in SIDES}
        self.upstream_errors = 0

    def add(self, verdict: Verdict) -> list[tuple[str, Failure]]:
        """Count a verdict; returns its violations (side, failure)."""
        ex, results = verdict.exchange, self.results
        self.exchanges += 1
        results.case(ex.label)
        for _ in verdict.passed:
            results.check(ex.label, True)
        for reason in verdict.accepted:
            results.accepted[(ex.label, reason)] += 1
        for reason in verdict.waived:
            results.waived[(ex.label, reason)] += 1
        found = []
        for finding in verdict.findings:
            failure = Failure(check=finding.check, operation=ex.label, title=finding.title,
                              message=(f"where: {finding.where}\n" if finding.where else "")
                              + (finding.detail + "\n" if finding.detail else "")
                              + f"blame: {BLAME[finding.side]}\nanswer: {ex.summary()}",
                              curl=_masked(ex.curl(), ex.secrets))
            results.check(ex.label, False, failure)
            side = self.by_side[finding.side]
            known = side.get(failure.key)
            if known is None:
                side[failure.key] = failure
            else:
                known.count += 1
            found.append((finding.side, failure))
        return found

    @property
    def violations(self) -> int:
        return sum(len(s) for s in self.by_side.values())

    def as_json(self) -> dict:
        results = self.results
        operations = [{"operation": op.label, "exchanges": op.cases, "checks": op.checks, "failed": op.failed,
                       "score": op.score} for op in results.operations.values()]
        sides = {side: [{"operation": f.operation, "check": f.check, "title": f.title, "count": f.count,
                         "detail": f.message, "reproduce": f.curl} for f in failures.values()]
                 for side, failures in self.by_side.items()}
        return {"api": results.api, "target": results.base_url, "exchanges": self.exchanges,
                "upstream_errors": self.upstream_errors, "operations": operations,
                "undocumented": sides[UNDOCUMENTED], "request_violations": sides[REQUEST],
                "answer_violations": sides[ANSWER],
                "accepted": [{"operation": op, "reason": r, "count": n} for (op, r), n in results.accepted.items()],
                "waived": [{"operation": op, "reason": r, "count": n} for (op, r), n in results.waived.items()],
                "table": results.table()}

    def render_text(self) -> str:
        results = self.results
        out = [f"apitwin proxy {results.api} to {results.base_url}: {self.exchanges} exchange(s)", "",
               results.table()]
        titles = {UNDOCUMENTED: "Undocumented operations (not in the contract)",
                  REQUEST: "Request violations (the app's fault)",
                  ANSWER: "Answer violations (the deployment's fault)"}
        for side in SIDES:
            failures = self.by_side[side]
            out += ["", f"{titles[side]}: {len(failures) or 'none'}"]
            for failure in failures.values():
                out += ["", failure.text()]
        if results.accepted:
            out += ["", "Answers accepted as this API's documented behaviour (not failures):"]
            out += [f"  {op}: {reason} ({n}x)" for (op, reason), n in sorted(results.accepted.items())]
        if results.waived:
            out += ["", "Known deviations waived (listed in the profile; --strict fails on them):"]
            out += [f"  {op}: {reason} ({n}x)" for (op, reason), n in sorted(results.waived.items())]
        if self.upstream_errors:
            out += ["", f"Note: {self.upstream_errors} request(s) got no answer from the target (502 sent)"]
        out += ["", "PASSED: no violations" if not self.violations else
                f"FAILED: {self.violations} distinct violation(s), conformance of the answers and requests "
                f"{_pct(results.score)}"]
        return "\n".join(out)

    def write_reports(self, report_dir: str | None, junit: str | None) -> None:
        self.results.finished = time.time()
        if junit:
            self.results.write_junit(junit)
        if report_dir:
            folder = Path(report_dir)
            folder.mkdir(parents=True, exist_ok=True)
            self.results.write_html(folder / "report.html")
            self.results.write_junit(folder / "junit.xml")
            (folder / "summary.txt").write_text(self.render_text() + "\n", encoding="utf-8")


def server_config(proxy: "Proxy", host: str, port: int, **options) -> uvicorn.Config:
    """How the proxy is served: the stand-ins' HTTP layer (request targets up to 1 MiB, as
    browser SDKs send them), and no Server or Date header of its own (the target's pass)."""
    settings = {"log_level": "warning", "access_log": False, "lifespan": "on", **options}
    return uvicorn.Config(proxy, host=host, port=port, http=TwinHttpProtocol, server_header=False,
                          date_header=False, **settings)


def _masked(text: str, secrets: tuple[str, ...]) -> str:
    """`text` with the request's credentials (headers and query, e.g. Qoncrete's ?token=) masked."""
    for secret in secrets:
        text = text.replace(secret, "***")
    return text


def log_line(side: str, ex: Exchange, failure: Failure) -> str:
    """One violation, one line: side, method, path and query, status, what is wrong, where."""
    target = ex.url.split("://", 1)[-1].split("/", 1)
    shown = _masked("/" + (target[1] if len(target) > 1 else ""), ex.secrets)
    where = next((line[len("where: "):] for line in failure.message.splitlines() if line.startswith("where: ")), "")
    status = ex.status if ex.status is not None else "-"
    return (f"[{side}] {ex.method} {shown} -> {status}: {failure.title}"
            + (f" (at {where})" if where else "") + f" [{failure.check}]")


class Proxy:
    """The ASGI app: forwards to `target`, judges each exchange, logs and counts violations."""

    def __init__(self, api: str, target: str, *, strict: bool = False, recorder: HarRecorder | None = None,
                 log: Callable[[str], None] | None = None, timeout: float = 60.0,
                 trust: ssl.SSLContext | None = None) -> None:
        self.target = target.rstrip("/")
        self.trust = trust  # the CAs an https:// target is checked against (--ca-file); None: the default ones
        self.judge = Judge(api, strict=strict, base_path=urlsplit(self.target).path)
        self.tally = Tally(api, self.target)
        self.recorder = recorder
        self.log = log or (lambda line: print(line, file=sys.stderr, flush=True))
        self.timeout = timeout
        self.client: aiohttp.ClientSession | None = None

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            if scope["method"] == "GET" and scope["path"] == VIOLATIONS_PATH:
                await _send_json(send, self.tally.as_json())
            else:
                await self._forward(scope, receive, send)

    async def _lifespan(self, receive, send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self._open()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    def _open(self) -> None:
        if self.client is None:
            # aiohttp rather than httpx: a quarter of its CPU time per request, measured here.
            # No cookies kept, no redirects followed, no decompression, no environment proxies:
            # the caller's request goes to the target as it is, its answer comes back as it is.
            self.client = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=200, ttl_dns_cache=300, ssl=self.trust or True),
                auto_decompress=False,
                cookie_jar=aiohttp.DummyCookieJar(), trust_env=False,
                timeout=aiohttp.ClientTimeout(total=None, connect=self.timeout, sock_read=self.timeout))

    async def close(self) -> None:
        if self.client is not None:
            await self.client.close()
            self.client = None
        if self.recorder is not None:
            self.recorder.close()

    async def _forward(self, scope, receive, send) -> None:
        self._open()
        started, clock = time.time(), time.perf_counter()
        body = await _read_body(receive)
        raw = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]
        # Host names the target; Expect: 100-continue was answered to the caller already (the body is read).
        drop = _hop_by_hop(raw) | {"host", "expect"}
        headers = [(k, v) for k, v in raw if k.lower() not in drop]
        query = scope.get("query_string", b"").decode("latin-1")
        url = self.target + scope.get("raw_path", scope["path"].encode()).decode("latin-1") + (f"?{query}" if query else "")
        exchange = Exchange(method=scope["method"], url=url, request_headers=dict(headers),
                            request_body=body or None, status=None, secrets=secret_values(dict(headers), url))
        try:
            # encoded=True: the path and query go out byte for byte as the caller sent them.
            response = await self.client.request(scope["method"], yarl.URL(url, encoded=True),
                                                 headers=CIMultiDict(headers), data=body or None,
                                                 allow_redirects=False, skip_auto_headers=NOT_ADDED)
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            self.tally.upstream_errors += 1
            hint = "; give its CA with --ca-file PEM" if isinstance(exc, aiohttp.ClientConnectorCertificateError) else ""
            self.log(f"[proxy] {scope['method']} {scope['path']}: no answer from {self.target} "
                     f"({exc.__class__.__name__}: {exc}){hint}")
            await _send_text(send, 502, f"apitwin proxy: no answer from {self.target}: {exc.__class__.__name__}\n")
            return
        captured, size = [], 0
        try:
            pairs = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in response.raw_headers]
            drop = _hop_by_hop(pairs)
            await send({"type": "http.response.start", "status": response.status,
                        "headers": [(k, v) for k, v in response.raw_headers if k.decode("latin-1").lower() not in drop]})
            async for chunk in response.content.iter_any():
                if size <= MAX_JUDGED_BODY:
                    captured.append(chunk)
                size += len(chunk)
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            response.release()
        exchange.status = response.status
        exchange.headers = {k.lower(): v for k, v in pairs if k.lower() not in drop}
        exchange.body = _decoded(b"".join(captured), exchange.headers.get("content-encoding", ""))
        readable = size <= MAX_JUDGED_BODY and exchange.body is not None
        exchange.body = exchange.body if readable else b""
        self._judge(exchange, started, (time.perf_counter() - clock) * 1000, readable)

    def _judge(self, exchange: Exchange, started: float, elapsed_ms: float, readable: bool) -> None:
        verdict = self.judge(exchange, body_read=readable)
        for side, failure in self.tally.add(verdict):
            self.log(log_line(side, exchange, failure))
        if self.recorder is not None:
            self.recorder.record(exchange, started, elapsed_ms)


async def _read_body(receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    return b"".join(chunks)


def _decoded(body: bytes, encoding: str) -> bytes | None:
    """The answer's body as the app reads it (the caller got it still encoded); None when the
    encoding is one the proxy cannot read (br, zstd): then only status and headers are judged."""
    encoding = encoding.strip().lower()
    try:
        if encoding in ("gzip", "x-gzip"):
            return zlib.decompress(body, 16 + zlib.MAX_WBITS)
        if encoding == "deflate":
            return zlib.decompress(body)
    except zlib.error:
        return body
    return body if encoding in ("", "identity") else None


async def _send_json(send, data) -> None:
    raw = json.dumps(data, indent=1).encode()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(raw)).encode())]})
    await send({"type": "http.response.body", "body": raw})


async def _send_text(send, status: int, text: str) -> None:
    raw = text.encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(raw)).encode())]})
    await send({"type": "http.response.body", "body": raw})
