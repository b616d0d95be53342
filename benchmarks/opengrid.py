"""OpenGrid scale figures: a dataset query with `$regex` plus a geoFilter over 100,000 rows.

    .venv/bin/python benchmarks/opengrid.py [rows]

Builds the twin in-process (no response validation, as `apitwin serve` runs it), gives the
`twitter` dataset `rows` generated tweets (default 100,000, the same generator as the
fixtures), and times `GET /datasets/twitter/query` with `q={"$and":[{"text":{"$regex":"happy"}}]}`,
`n=6000` and the document's downtown MultiPolygon, end to end through HTTP. The target is
under 1 s per query.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import time
import warnings
from pathlib import Path
from urllib.parse import quote

# The generator script is a maintainer's tool of the checkout; it does not ship.
ROOT = Path(__file__).resolve().parent.parent

warnings.filterwarnings("ignore")

from starlette.testclient import TestClient  # noqa: E402

from apitwin.server.core.app import create  # noqa: E402
from apitwin.server.opengrid.datasets import DatasetRows, row_from_fixture  # noqa: E402

DOWNTOWN = {"type": "MultiPolygon", "coordinates": [[[[-87.63304710388184, 41.89278978584501],
                                                       [-87.61206150054932, 41.89278978584501],
                                                       [-87.61206150054932, 41.88140002416609],
                                                       [-87.63304710388184, 41.88140002416609],
                                                       [-87.63304710388184, 41.89278978584501]]]]}
WIDE = {"type": "Polygon", "coordinates": [[[-87.70, 41.84], [-87.55, 41.84], [-87.55, 41.93],
                                            [-87.70, 41.93], [-87.70, 41.84]]]}
RUNS = 5


def _generator():
    spec = importlib.util.spec_from_file_location("opengrid_generate", ROOT / "fixtures" / "opengrid" / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _time(client, headers, url) -> tuple[float, int, int]:
    timings, count, size = [], 0, 0
    for _ in range(RUNS):
        start = time.perf_counter()
        answer = client.get(url, headers=headers)
        timings.append(time.perf_counter() - start)
        body = answer.json()
        assert answer.status_code == 200 and "features" in body, body
        count, size = len(body["features"]), len(answer.content)
    return statistics.median(timings), count, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("rows", type=int, nargs="?", default=100_000, help="twitter rows (default 100,000)")
    rows = parser.parse_args().rows
    start = time.perf_counter()
    twin, app = create("opengrid")
    client = TestClient(app)
    generated = _generator().tweets(rows, seed=4242)
    twin.backend.load_rows("twitter", DatasetRows([row_from_fixture(r, {"date"}) for r in generated]))
    print(f"setup: {rows:,} twitter rows generated and indexed in {time.perf_counter() - start:.2f} s")

    answer = client.post("/users/token", json={"username": "admin", "password": "admin"})
    headers = {"X-AUTH-TOKEN": answer.headers["x-auth-token"]}
    regex_q = quote(json.dumps({"$and": [{"text": {"$regex": "happy"}}]}))
    cases = [
        ("$regex + downtown MultiPolygon (the document's), n=6000", DOWNTOWN, regex_q),
        ("$regex + wide Polygon, n=6000", WIDE, regex_q),
        ("no q + wide Polygon, n=6000", WIDE, quote("{}")),
    ]
    print(f"{'query':58} {'median':>9} {'features':>9} {'bytes':>10}  (median of {RUNS} runs)")
    for label, geo, q in cases:
        url = f"/datasets/twitter/query?q={q}&n=6000&opts={quote(json.dumps({'geoFilter': geo}))}"
        seconds, count, size = _time(client, headers, url)
        verdict = "OK" if seconds < 1 else "SLOW"
        print(f"{label:58} {seconds * 1000:7.0f}ms {count:9,} {size:10,}  {verdict}")
    url = f"/datasets/twitter/query?q={regex_q}&n=6000"
    seconds, count, size = _time(client, headers, url)
    print(f"{'$regex without geoFilter (all rows scanned), n=6000':58} {seconds * 1000:7.0f}ms {count:9,} {size:10,}")


if __name__ == "__main__":
    main()
