"""Qore figures on loopback: create rate, and read latencies as a resource grows.

    .venv/bin/python benchmarks/qore.py [--rows 5000] [--repeat 20]

Starts `apitwin serve qore` on a free port (one process), then, with one client
connection and requests one after another:
- creates `--rows` issues through `POST /api/resources/issues` (JSON, every rule checked,
  each one logged) and prints the rate;
- after every tenfold step (the fixtures' 80 issues of the caller, 1,000, 10,000, ...
  up to `--rows`), times: one row (`GET /api/resources/issues/{id}`), the default table
  page (15 rows sorted by code), a filtered page (`search_columns` "contains" on the
  title and "one of" on the status, sorted by the project's label, 100 rows),
  `reloadRelatedOptions` of a registration's issue for one project, and global search;
  median and max in ms over `--repeat` requests each.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time

import httpx

from loopback import served

ALICE = {"Authorization": "Bearer 1|qoreAliceDemoToken0000000000000000000000"}
VERBS = ("Ontwerp", "Bouw", "Test", "Review", "Documenteer")


def timed(client: httpx.Client, repeat: int, method: str, url: str, **kwargs) -> tuple[float, float]:
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        r = client.request(method, url, headers=ALICE, **kwargs)
        timings.append((time.perf_counter() - started) * 1000)
        if r.status_code != 200:
            raise SystemExit(f"{method} {url} answered {r.status_code}: {r.text[:200]}")
    return statistics.median(timings), max(timings)


def create_issues(client: httpx.Client, base: str, first: int, count: int, projects: list[int]) -> float:
    started = time.perf_counter()
    for n in range(first, first + count):
        r = client.post(f"{base}/api/resources/issues", headers=ALICE, json={
            "title": f"{VERBS[n % len(VERBS)]} item {n}", "code": f"BENCH.{n:07d}",
            "project": projects[n % len(projects)], "priority": "normal",
            "status": ("todo", "doing", "done")[n % 3], "estimate": n % 16})
        if r.status_code != 201:
            raise SystemExit(f"create answered {r.status_code}: {r.text[:200]}")
    return count / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=5000, help="issues to create (in steps of ten times)")
    parser.add_argument("--repeat", type=int, default=20, help="requests per read figure")
    args = parser.parse_args()
    with served("qore", "/api/me", headers=ALICE) as base, httpx.Client(timeout=300) as client:
        projects = [o["value"] for o in client.get(f"{base}/api/resources/issues/field/project/options",
                                                   headers=ALICE).json()["data"]]
        table = f"{base}/api/resources/issues/table/issues"
        reads = {
            "one row": ("GET", f"{base}/api/resources/issues/1", {}),
            "table page (15, by code)": ("GET", table, {}),
            "filtered page (100, by project label)": ("GET", table, {"json": {
                "search_columns": {"title": "e", "status": ["todo", "doing"]},
                "sort_column": "project", "per_page": 100}}),
            "reloadRelatedOptions": ("GET", f"{base}/api/resources/registrations/create", {"json": {
                "field": "issue", "state": {"project": projects[0]},
                "action": {"name": "reloadRelatedOptions"}}}),
            "global search": ("GET", f"{base}/api/global-search?query=item 1", {}),
        }
        steps, size = [], 1000
        while size < args.rows:
            steps.append(size)
            size *= 10
        steps.append(args.rows)
        created, rates = 0, []
        print(f"{'issues of the caller':>22} | " + " | ".join(f"{name:>20}" for name in reads))
        for step in [0, *steps]:
            if step > created:
                rates.append(create_issues(client, base, created, step - created, projects))
                created = step
            total = client.get(table, headers=ALICE).json()["meta"]["total"]
            figures = [timed(client, args.repeat, method, url, **kw) for method, url, kw in reads.values()]
            print(f"{total:>22,} | " + " | ".join(f"{f'{med:.1f} ms (max {top:.0f})':>20}" for med, top in figures))
        if rates:
            print(f"create (JSON, validated, logged): {statistics.mean(rates):,.0f} issues/s "
                  f"over {created:,} issues")


if __name__ == "__main__":
    sys.exit(main())
