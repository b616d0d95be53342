"""Qoncrete figures on loopback: ingest rate and scankeys latency (the issue's Scale section).

    .venv/bin/python benchmarks/qoncrete.py [--batches 30] [--keys 100000]

Starts `apitwin serve qoncrete` on a free port (one process), then measures, one client
connection, requests one after another:
- ingest: batches of 1,000 page views (`POST /{sourceId}/batch`) into the demo source,
  whose two reports (by country and page per day with sum and unique; timeless by browser
  family, with ua_parse) aggregate every event; target at least 5,000 events/s;
- scankeys: the top 20 (by count) among 100,000 distinct keys of one bucket of a report;
  target under 100 ms.
"""
from __future__ import annotations

import argparse
import random
import statistics
import sys
import time

import httpx

from loopback import served

MASTER = "97b8a203-f4ca-4832-8469-d2188e4c4871"
WRITE = "5d0f3a6b-2c41-4e8a-9b7d-6e1f0a2b3c4d"
SOURCE = "8b5229f1-ee8f-4b23-9b4c-6149288cfb51"
AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/118.0.0.0 Safari/537.36",
    "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:119.0) Gecko/20100101 Firefox/119.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1",
)


def page_views(rng: random.Random, n: int) -> list[dict]:
    return [{"type": "pageview", "country": rng.choice("FR US DE GB LU JP BR".split()),
             "page": rng.choice(["/", "/pricing", "/docs", "/blog"]), "visitor": f"v{rng.randrange(5000)}",
             "ua": rng.choice(AGENTS), "duration": rng.randint(1, 300)} for _ in range(n)]


def ingest(client: httpx.Client, base: str, source: str, batches: list[list[dict]]) -> float:
    """Events per second over all batches."""
    bodies = [httpx.Request("POST", "http://x", json=b).read() for b in batches]  # JSON encoded up front
    started = time.perf_counter()
    for body in bodies:
        r = client.post(f"{base}/{source}/batch?token={WRITE}", content=body,
                        headers={"Content-Type": "application/json"})
        if r.status_code != 204:
            raise SystemExit(f"ingest answered {r.status_code}: {r.text}")
    return sum(len(b) for b in batches) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--batches", type=int, default=30, help="batches of 1,000 events for the ingest rate")
    parser.add_argument("--keys", type=int, default=100_000, help="distinct keys for the scankeys figure")
    args = parser.parse_args()
    with served("qoncrete", f"/v2/source?token={MASTER}") as base, httpx.Client(timeout=120) as client:
        rng = random.Random(5000)
        rate = ingest(client, base, SOURCE, [page_views(rng, 1000) for _ in range(args.batches)])
        print(f"ingest, batches of 1,000 into a source with two reports: {rate:,.0f} events/s "
              f"({args.batches * 1000:,} events; target >= 5,000)")

        source = client.post(f"{base}/v2/source?token={MASTER}", json={"name": "keys"}).json()["_id"]
        report = client.post(f"{base}/v2/source/{source}/report?token={MASTER}", json={
            "name": "by key", "period": "1d", "groupBy": [{"name": "k", "keys": ["k"]}],
            "values": [{"name": "n", "key": "n", "type": "sum", "mustExists": True}]}).json()["_id"]
        at = "2016-11-26T12:00:00Z"
        batches = [[{"k": f"key{i:06d}", "n": rng.randint(1, 1000), "_qtime": at}
                    for i in range(start, min(start + 1000, args.keys))]
                   for start in range(0, args.keys, 1000)]
        keys_rate = ingest(client, base, source, batches)
        timings = []
        for sort_pos in (0, 2) * 10:
            query = {"at": at, "klen": 1, "count": 20, "sortType": "desc", "sortPos": sort_pos}
            started = time.perf_counter()
            r = client.post(f"{base}/v2/source/{source}/report/{report}/scankeys?token={MASTER}", json=query)
            timings.append((time.perf_counter() - started) * 1000)
            if r.status_code != 200 or len(r.json()["data"]) != 20:
                raise SystemExit(f"scankeys answered {r.status_code}: {r.text[:200]}")
        print(f"scankeys top 20 among {args.keys:,} distinct keys: median {statistics.median(timings):.1f} ms, "
              f"max {max(timings):.1f} ms over {len(timings)} queries (target < 100 ms; "
              f"those keys were ingested at {keys_rate:,.0f} events/s into a one-report source)")


if __name__ == "__main__":
    sys.exit(main())
