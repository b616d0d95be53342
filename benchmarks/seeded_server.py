"""Serves MONARC with N extra stats created through the backend (benchmarks only).

    python benchmarks/seeded_server.py PORT N
Prints `ready <stat id>` on stdout once it listens.
"""
import sys
import warnings

warnings.filterwarnings("ignore")

import uvicorn  # noqa: E402

from apitwin.server.core.app import create  # noqa: E402
from apitwin.server.core.serve import config as serve_config  # noqa: E402

STAT = {"anr": "5e6f33d1-99b1-4244-a573-942498a4a201", "type": "risk", "day": 1, "week": 1,
        "month": 1, "quarter": 1, "year": 2025, "data": {"total": 3}}


def main() -> None:
    port, count = int(sys.argv[1]), int(sys.argv[2])
    twin, app = create("monarc", quiet=True)
    backend = twin.backend
    existing = twin.store["stats"].count()
    last = None
    for _ in range(max(0, count - existing)):
        last = backend.create_stat(STAT, "CASES")
    target = last or twin.store["stats"].find(limit=1)[0]

    config = serve_config(app, "127.0.0.1", port)  # as `apitwin serve` serves it
    server = uvicorn.Server(config)

    async def announce():
        print(f"ready {target['_id']}", flush=True)

    config.callback_notify = None
    import asyncio

    async def run():
        task = asyncio.create_task(server.serve())
        while not server.started:
            await asyncio.sleep(0.05)
        await announce()
        await task

    asyncio.run(run())


if __name__ == "__main__":
    main()
