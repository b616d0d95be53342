"""MONARC throughput and latency on loopback, apitwin against Stoplight Prism.

    make bench            (or: .venv/bin/python benchmarks/run.py [--seconds 5])

Load tool: wrk (Debian package `wrk`), one thread (so the server keeps the other core), 32
connections, one server process.
Measures GET one stat by id with the collection at 100, 10,000 and 100,000 stats, POST a
stat, and the same GET answered by `prism mock openapi/monarc.yaml` (npm package
@stoplight/prism-cli, installed into benchmarks/.prism on first use). Prints one table,
then the start-up time of `apitwin serve` with every API (fixtures loaded, until its table).
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

import loopback
from loopback import ROOT, free_port

KEY = "SylsDTZTBk2zAkg016vW_aCuO1XQDXPsxrLuI1TG7z5sYvUfRlVf5R4g6kDnLI_o-c5iqrswrWzPANDKXmtV7Q"
PRISM_DIR = ROOT / "benchmarks" / ".prism"
POST_LUA = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"anr": "5e6f33d1-99b1-4244-a573-942498a4a201", "type": "risk", "day": 1, "week": 1, "month": 1, "quarter": 1, "year": 2025, "data": {"total": 3}}'
"""


def wait_until_up(url: str, seconds: float = 300) -> None:
    if not loopback.wait_until_up(url, {"X-API-KEY": KEY}, seconds, timeout=30):
        raise SystemExit(f"server at {url} did not come up")


def measure(url: str, seconds: int, script: str | None = None) -> dict:
    """A 2-second warm-up run (Node's JIT, Python's caches), then the measured one."""
    wrk(url, 2, script)
    return wrk(url, seconds, script)


def wrk(url: str, seconds: int, script: str | None = None) -> dict:
    cmd = ["wrk", "-t1", "-c32", f"-d{seconds}s", "--latency", "-H", f"X-API-KEY: {KEY}"]
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as lua:
        if script:
            lua.write(script)
    if script:
        cmd += ["-s", lua.name]
    out = subprocess.run(cmd + [url], capture_output=True, text=True, check=True).stdout
    os.unlink(lua.name)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)

    def pct(p):
        value, unit = re.search(rf"\s{p}%\s+([\d.]+)(us|ms|s)", out).groups()
        return float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit]

    return {"rps": rps, "p50": pct(50), "p99": pct(99), "errors": int(non2xx.group(1)) if non2xx else 0}


def apitwin_server(size: int):
    port = free_port()
    proc = subprocess.Popen([sys.executable, str(ROOT / "benchmarks" / "seeded_server.py"), str(port), str(size)],
                            stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    if not line.startswith("ready"):
        proc.kill()
        raise SystemExit("the seeded apitwin server did not start")
    return proc, port, line.split()[1]


def prism_server():
    if not shutil.which("npm"):
        return None
    binary = PRISM_DIR / "node_modules" / ".bin" / "prism"
    if not binary.exists():
        print("installing @stoplight/prism-cli into benchmarks/.prism ...", file=sys.stderr)
        subprocess.run(["npm", "install", "--silent", "--prefix", str(PRISM_DIR), "@stoplight/prism-cli@5"],
                       check=True, stdout=subprocess.DEVNULL)
    port = free_port()
    proc = subprocess.Popen([str(binary), "mock", str(ROOT / "openapi" / "monarc.yaml"), "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return proc, port


def startup_seconds() -> float:
    """Seconds from `apitwin serve` (every API) to its start-up table, fixtures loaded."""
    apitwin = os.path.join(os.path.dirname(sys.executable), "apitwin")
    start = time.monotonic()
    proc = subprocess.Popen([apitwin, "serve", "--quiet"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        for line in proc.stdout:
            if "Ctrl-C" in line:
                return time.monotonic() - start
        raise SystemExit("apitwin serve did not print its table")
    finally:
        proc.terminate()
        proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=5, help="duration of each wrk run")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install wrk")

    rows = []
    for size in (100, 10_000, 100_000):
        proc, port, stat_id = apitwin_server(size)
        try:
            base = f"http://127.0.0.1:{port}/api/v2/stats/"
            wait_until_up(f"{base}{stat_id}/")
            rows.append((f"apitwin GET /stats/{{id}}/ ({size:,} stats)", measure(f"{base}{stat_id}/", args.seconds)))
            if size == 100:
                rows.append(("apitwin POST /stats/ (from 100 stats)", measure(base, args.seconds, POST_LUA)))
        finally:
            proc.terminate()
            proc.wait()

    prism = prism_server()
    if prism:
        proc, port = prism
        try:
            url = f"http://127.0.0.1:{port}/api/v2/stats/5eb9ca210381f6f321022ae6/"
            wait_until_up(url, 60)
            rows.append(("Prism mock GET /stats/{id}/ (static example)", measure(url, args.seconds)))
        finally:
            proc.terminate()
            proc.wait()

    print(f"\nwrk, 1 thread, 32 connections, {args.seconds}s a run, one server process, loopback\n")
    print(f"{'what':<48} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8}")
    for name, r in rows:
        print(f"{name:<48} {r['rps']:>9.0f} {r['p50']:>8.2f} {r['p99']:>8.2f} {r['errors']:>8}")
    figures = dict(rows)
    small = figures["apitwin GET /stats/{id}/ (100 stats)"]
    large = figures["apitwin GET /stats/{id}/ (100,000 stats)"]
    print(f"\np50 at 100,000 stats / p50 at 100 stats: {large['p50'] / small['p50']:.2f} (target <= 2)")
    print(f"GET by id throughput: {small['rps']:.0f} req/s (target >= 2,500)")
    if prism:
        ratio = small["rps"] / figures["Prism mock GET /stats/{id}/ (static example)"]["rps"]
        print(f"apitwin / Prism, GET by id: {ratio:.2f} (target >= 0.8)")
    else:
        print("Prism not measured: npm is not installed")
    print(f"start-up of apitwin serve, all APIs, fixtures loaded: {startup_seconds():.2f} s (target < 3)")


if __name__ == "__main__":
    main()
