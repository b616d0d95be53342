"""Data Cortex scale figures: event ingest, session lookups and app lists at size.

    .venv/bin/python benchmarks/datacortex.py [bundles] [sessions] [apps]

Builds the twin in-process (no response validation, as `apitwin serve` runs it) and times,
end to end through HTTP:
- ingest: `bundles` bundles of 10 events each (default 2,000, so 20,000 events) posted to
  `POST /acme/1/track` as a browser sends them (text/plain JSON); bundles/s, events/s and
  the median and 95th percentile per bundle; then a repeat (409) and the state summary;
- sessions: `GET /api/1/user` with `sessions` sessions in the store (default 50,000);
- apps: `GET /api/1/app?org_id=101` listing `apps` apps (default 5,000), and a delete.
Prints one figure a line. A script that prints figures, not a test.
"""
from __future__ import annotations

import argparse

import json
import statistics
import sys
import time
import warnings

warnings.filterwarnings("ignore")

from starlette.testclient import TestClient  # noqa: E402

from apitwin.server.core.app import create  # noqa: E402

KEY = "acme-spaceminer-3f9c2a7e51d04b8e"
CAROL = "dcsession-carol-0000000000000000000000003"
RUNS = 20


def _bundle(n: int) -> str:
    events = [{"type": "event", "event_index": n * 10 + i, "event_datetime": "2026-01-15T10:30:00.000Z",
               "kingdom": "level", "phylum": str(i), "float1": i * 1.5} for i in range(10)]
    return json.dumps({"api_key": KEY, "app_ver": "1.0.0", "device_tag": f"device-{n % 97}",
                       "os": "android", "events": events})


def _median_ms(client, method: str, url: str, **kwargs) -> float:
    timings = []
    for _ in range(RUNS):
        start = time.perf_counter()
        answer = client.request(method, url, **kwargs)
        timings.append(time.perf_counter() - start)
        assert answer.status_code == 200, answer.text
    return statistics.median(timings) * 1000


def ingest(client, bundles: int) -> None:
    bodies = [_bundle(n) for n in range(bundles)]
    timings = []
    start = time.perf_counter()
    for body in bodies:
        t0 = time.perf_counter()
        answer = client.post("/acme/1/track?current_time=2026-01-15T10:30:01Z", content=body,
                             headers={"Content-Type": "text/plain"})
        timings.append(time.perf_counter() - t0)
        assert answer.status_code == 200, answer.text
    total = time.perf_counter() - start
    timings.sort()
    print(f"ingest: {bundles} bundles, {bundles * 10} events in {total:.1f} s: "
          f"{bundles / total:.0f} bundles/s, {bundles * 10 / total:.0f} events/s")
    print(f"ingest: per bundle median {statistics.median(timings) * 1000:.2f} ms, "
          f"p95 {timings[int(len(timings) * 0.95) - 1] * 1000:.2f} ms")
    t0 = time.perf_counter()
    repeat = client.post("/acme/1/track", content=bodies[-1], headers={"Content-Type": "text/plain"})
    print(f"ingest: a repeated bundle answers {repeat.status_code} in {(time.perf_counter() - t0) * 1000:.2f} ms")
    t0 = time.perf_counter()
    summary = client.get("/__apitwin/state").json()["summary"]
    print(f"ingest: state dump with {summary['events_per_app'].get('1001', 0)} events "
          f"in {(time.perf_counter() - t0) * 1000:.0f} ms")


def sessions(twin, client, count: int) -> None:
    twin.settings["auto_verify"] = True
    t0 = time.perf_counter()
    for _ in range(count):
        twin.backend.login("alice@acme.example", "http://127.0.0.1:8003")
    built = time.perf_counter() - t0
    twin.settings["auto_verify"] = False
    median = _median_ms(client, "GET", "/api/1/user", params={"session_key": CAROL})
    print(f"sessions: {count} logins made in {built:.1f} s; GET /api/1/user median {median:.2f} ms")


def apps(twin, client, count: int) -> None:
    carol = twin.backend.users.get(3)
    for n in range(count):
        twin.backend.create_app(carol, 101, f"App {n}")
    median = _median_ms(client, "GET", "/api/1/app", params={"org_id": 101, "session_key": CAROL})
    t0 = time.perf_counter()
    answer = client.delete("/api/1/app/1001", params={"session_key": CAROL})
    assert answer.status_code == 200, answer.text
    deleted = (time.perf_counter() - t0) * 1000
    print(f"apps: {count + 2} apps in organization 101: list median {median:.1f} ms; delete {deleted:.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("bundles", type=int, nargs="?", default=2_000)
    parser.add_argument("sessions", type=int, nargs="?", default=50_000)
    parser.add_argument("apps", type=int, nargs="?", default=5_000)
    args = parser.parse_args()
    bundles, session_count, app_count = args.bundles, args.sessions, args.apps
    twin, app = create("datacortex")
    with TestClient(app) as client:
        ingest(client, bundles)
        sessions(twin, client, session_count)
        apps(twin, client, app_count)


if __name__ == "__main__":
    main()
