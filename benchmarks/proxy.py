"""What `apitwin proxy` adds to a request: latency at a fixed rate, and the rate it holds.

    .venv/bin/python benchmarks/proxy.py [--rate 500] [--seconds 10] [--connections 16]

Serves MONARC (`apitwin serve monarc`) and `apitwin proxy monarc --target` it, each in a
process of its own on loopback, then sends GET one stat by id at a fixed rate (open loop:
each request is timed from when it was due, so a stall is counted, not hidden) straight to
the stand-in, then through the proxy, and prints p50/p90/p99 of both and the difference.
Then each as fast as it goes (closed loop, all connections busy), for the rate it holds,
and the proxy process's CPU time per request (from /proc), which load elsewhere on the
machine does not change much.
The load generator is a small HTTP/1.1 client on asyncio streams (keep-alive connections),
cheap enough not to be the bottleneck. Target: under 5 ms added at p50, 500 requests/s held.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
from contextlib import contextmanager

import httpx

from loopback import ROOT, free_port, served, wait_until_up

KEY = "SylsDTZTBk2zAkg016vW_aCuO1XQDXPsxrLuI1TG7z5sYvUfRlVf5R4g6kDnLI_o-c5iqrswrWzPANDKXmtV7Q"
STAT_ID = "659200013a4932cf9297bc90"
PATH = f"/api/v2/stats/{STAT_ID}/"
ADDED_P50_TARGET_MS = 5.0


class Connection:
    """One keep-alive HTTP/1.1 connection: GET a path, read the answer whole."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader = self.writer = None

    async def get(self, path: str) -> int:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        self.writer.write(f"GET {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nX-API-KEY: {KEY}\r\n\r\n".encode())
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        if b"transfer-encoding: chunked" in head.lower():
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).strip(), 16)
                await self.reader.readexactly(size + 2)
                if size == 0:
                    break
        else:
            await self.reader.readexactly(length)
        return status


async def fixed_rate(host: str, port: int, rate: float, seconds: float, connections: int) -> dict:
    """Requests due every 1/rate s over a pool of connections; latency from when each was due."""
    pool: asyncio.Queue[Connection] = asyncio.Queue()
    for _ in range(connections):
        pool.put_nowait(Connection(host, port))
    latencies: list[float] = []
    errors = 0
    loop = asyncio.get_running_loop()
    start = loop.time() + 0.05
    total = int(rate * seconds)

    async def one(due: float) -> None:
        nonlocal errors
        await asyncio.sleep(max(0.0, due - loop.time()))
        connection = await pool.get()
        try:
            status = await connection.get(PATH)
            if status != 200:
                errors += 1
            latencies.append((loop.time() - due) * 1000)
        except (OSError, asyncio.IncompleteReadError, ValueError):
            errors += 1
            connection.writer = None
        finally:
            pool.put_nowait(connection)

    await asyncio.gather(*(one(start + i / rate) for i in range(total)))
    elapsed = loop.time() - start
    return {"sent": total, "errors": errors, "rate": len(latencies) / elapsed, **_percentiles(latencies)}


async def closed_loop(host: str, port: int, seconds: float, connections: int) -> float:
    """Requests a second with every connection busy all the time."""
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    done = 0

    async def worker() -> None:
        nonlocal done
        connection = Connection(host, port)
        while loop.time() < end:
            await connection.get(PATH)
            done += 1

    started = loop.time()
    await asyncio.gather(*(worker() for _ in range(connections)))
    return done / (loop.time() - started)


def _percentiles(latencies: list[float]) -> dict:
    if not latencies:
        return {"p50": float("nan"), "p90": float("nan"), "p99": float("nan")}
    q = statistics.quantiles(latencies, n=100, method="inclusive")
    return {"p50": statistics.median(latencies), "p90": q[89], "p99": q[98]}


def cpu_seconds(pid: int) -> float | None:
    """CPU time (user + system) a process has used so far; None where /proc is not there."""
    try:
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def proxy_in_front(target: str):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = subprocess.Popen([str(ROOT / ".venv/bin/apitwin"), "proxy", "monarc", "--target", target,
                                "--port", str(port)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if not wait_until_up(url + "/__apitwin/violations"):
        process.kill()
        raise SystemExit("the proxy did not come up")
    try:
        yield url, process.pid
    finally:
        violations = httpx.get(url + "/__apitwin/violations").json()
        process.terminate()
        process.communicate(timeout=30)
        found = len(violations["request_violations"]) + len(violations["answer_violations"])
        print(f"proxy checked {violations['exchanges']} exchanges, {found} violation(s) found")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=500, help="requests a second in the fixed-rate runs")
    parser.add_argument("--seconds", type=float, default=10, help="length of each measured run")
    parser.add_argument("--connections", type=int, default=16, help="keep-alive connections of the load")
    args = parser.parse_args()

    def port_of(url: str) -> int:
        return int(url.rsplit(":", 1)[1])

    with served("monarc", PATH, {"X-API-KEY": KEY}) as direct, proxy_in_front(direct) as (proxied, pid):
        runs = {}
        for name, url in (("direct", direct), ("proxied", proxied)):
            asyncio.run(fixed_rate("127.0.0.1", port_of(url), args.rate, 2, args.connections))  # warm-up
            before = cpu_seconds(pid)
            runs[name] = asyncio.run(fixed_rate("127.0.0.1", port_of(url), args.rate, args.seconds,
                                                args.connections))
            after = cpu_seconds(pid)
        served_by_proxy = runs["proxied"]["sent"] - runs["proxied"]["errors"]
        cpu_ms = None if before is None or not served_by_proxy else (after - before) * 1000 / served_by_proxy
        most = {name: asyncio.run(closed_loop("127.0.0.1", port_of(url), args.seconds / 2, args.connections))
                for name, url in (("direct", direct), ("proxied", proxied))}
    print(f"\nGET {PATH} on loopback, {args.rate:.0f} requests/s for {args.seconds:.0f} s, "
          f"{args.connections} connections ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())})")
    print(f"{'':10}{'held req/s':>11}{'errors':>8}{'p50 ms':>9}{'p90 ms':>9}{'p99 ms':>9}{'max req/s':>11}")
    for name, run in runs.items():
        print(f"{name:10}{run['rate']:>11.0f}{run['errors']:>8}{run['p50']:>9.2f}{run['p90']:>9.2f}"
              f"{run['p99']:>9.2f}{most[name]:>11.0f}")
    if cpu_ms is not None:  # what the proxy costs whatever else the machine is doing
        print(f"\nproxy process CPU per request (forwarding and checking): {cpu_ms:.2f} ms, "
              f"so one core holds about {1000 / cpu_ms:.0f} requests/s")
    added = runs["proxied"]["p50"] - runs["direct"]["p50"]
    held = runs["proxied"]["rate"] >= 0.98 * args.rate and not runs["proxied"]["errors"]
    print(f"\nadded by the proxy at p50: {added:.2f} ms (target < {ADDED_P50_TARGET_MS:.0f} ms: "
          f"{'met' if added < ADDED_P50_TARGET_MS else 'NOT met'}); {args.rate:.0f} requests/s held through the "
          f"proxy: {'yes' if held else 'NO'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
