"""The official browser clients' calls, made by a real browser from a page of another
origin: headless Chromium (Debian's `chromium`, driven by Playwright) loads
tests/browser/clients.html from its own server and sends events to the Qoncrete and Data
Cortex stand-ins (served without `--cors`) as the SDKs do. The page must see every
answer, and the stand-ins must count every event exactly once."""
from __future__ import annotations

import shutil
import threading
import time
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from apitwin.server.core.app import create
from conformance_helpers import free_port
from datacortex_helpers import MINER
from qoncrete_helpers import SOURCE, WRITE
from conformance_helpers import serving

PAGE_DIR = Path(__file__).with_name("browser")
QONCRETE_HOST = "log.qoncrete.com"  # where the Qoncrete SDKs send, with no option to change it
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Headless, and nothing the browser would fetch on its own (no network here, no noise).
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]

sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed: make install")
pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(),
    reason="Chromium is not installed; on Debian or Ubuntu: apt-get install chromium "
           "(the browser test drives /usr/bin/chromium; .ci/run installs it)")


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@contextmanager
def page_origin():
    """tests/browser/ served on its own free port: an origin other than the stand-ins'."""
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), partial(_Quiet, directory=str(PAGE_DIR)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        thread.join(10)


@pytest.fixture(scope="module")
def stand_ins():
    _, qoncrete_app = create("qoncrete")
    _, datacortex_app = create("datacortex")
    with serving(qoncrete_app) as qoncrete, serving(datacortex_app) as datacortex:
        yield qoncrete, datacortex


@pytest.fixture(scope="module")
def page(stand_ins, tmp_path_factory):
    profile = tmp_path_factory.mktemp("chromium-profile")  # a fresh user-data-dir
    # The Qoncrete SDK sends to its own host, whatever the page: the browser maps it to the
    # stand-in, as the README tells users to.
    qoncrete_host = stand_ins[0].removeprefix("http://")
    mapping = f"--host-resolver-rules=MAP {QONCRETE_HOST} {qoncrete_host}"
    with page_origin() as origin, sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch_persistent_context(
            str(profile), executable_path=CHROMIUM, headless=True, args=[*FLAGS, mapping])
        try:
            tab = browser.new_page()
            tab.set_default_timeout(60_000)
            tab.goto(f"{origin}/clients.html")
            yield tab
        finally:
            browser.close()


def state(base: str) -> dict:
    return httpx.get(f"{base}/__apitwin/state").json()


def test_the_qoncrete_browser_client_sees_success_and_every_event_counts_once(stand_ins, page):
    qoncrete, _ = stand_ins
    sdk_base = f"http://{QONCRETE_HOST}"  # the SDK's own address, with secureTransport: false
    before = state(qoncrete)["summary"]["sources"][SOURCE]["events"]
    singles = [{"type": "pageview", "page": f"/p/{n}", "country": "FR"} for n in range(20)]
    batch = [{"type": "click", "target": f"button-{n}", "country": "DE"} for n in range(1000)]  # a ~100 KB URL
    answers = page.evaluate(
        """async ({base, source, token, singles, batch}) => Promise.all(
               [...singles, batch].map((data) => qoncreteSend(base, source, token, data)))""",
        {"base": sdk_base, "source": SOURCE, "token": WRITE, "singles": singles, "batch": batch})
    assert [answer["status"] for answer in answers] == [204] * 21
    assert all(answer["ok"] for answer in answers)
    # A refusal reaches the page too, with its body (not a network error).
    refused = page.evaluate("([base, source]) => qoncreteSend(base, source, 'not-a-token', {type: 'x'})",
                            [sdk_base, SOURCE])
    assert refused["status"] == 401 and '"code":401' in refused["text"]
    assert state(qoncrete)["summary"]["sources"][SOURCE]["events"] == before + 20 + 1000


def bundle(device: str, first: int, count: int = 10) -> dict:
    """A bundle as the Data Cortex browser SDK builds it."""
    return {"os": "linux", "os_ver": "unknown", "browser": "chrome", "browser_ver": "156.0.0.0",
            "device_type": "desktop", "device_family": "desktop", "api_key": MINER, "app_ver": "1.4.0",
            "device_tag": device,
            "events": [{"type": "event", "kingdom": "shop", "phylum": "view", "event_index": n,
                        "event_datetime": "2026-01-15T10:30:00.000Z", "group_tag": "session-1"}
                       for n in range(first, first + count)]}


def test_the_data_cortex_browser_client_sees_success_and_every_event_counts_once(stand_ins, page):
    _, datacortex = stand_ins
    track = f"{datacortex}/acme/1/track?current_time=2026-01-15T10%3A30%3A01.000Z"
    app_log = f"{datacortex}/acme/1/app_log"
    logs = {**bundle("tab-1", 0), "events": [{"log_line": f"Javascript Error: message: line {n}",
                                              "event_datetime": "2026-01-15T10:30:00.000Z"} for n in range(5)]}
    sent = page.evaluate(
        """async ({track, appLog, bundles, logs, older}) => {
               const answers = [];
               for (const bundle of bundles) answers.push(await dataCortexPost(track, bundle, "text/plain"));
               answers.push(await dataCortexPost(track, bundles[0], "text/plain"));  // resent: a repeat
               answers.push(await dataCortexPost(track, older, "application/json"));  // with a preflight
               answers.push(await dataCortexPost(appLog, logs, "text/plain"));
               answers.push(await dataCortexPost(appLog, logs, "text/plain"));
               return answers;
           }""",
        {"track": track, "appLog": app_log, "bundles": [bundle("tab-1", 0), bundle("tab-1", 10), bundle("tab-2", 0)],
         "logs": logs, "older": bundle("tab-3", 0)})
    assert [answer["status"] for answer in sent] == [200, 200, 200, 409, 200, 200, 409]
    assert [answer["text"] for answer in sent if answer["status"] == 200] == ["OK"] * 5
    assert sent[3]["text"].startswith("Conflict")
    assert page.evaluate("([url, bundle]) => dataCortexBeacon(url, bundle)", [track, bundle("tab-4", 0)]) is True
    # The beacon's answer is never read: wait (generously) for the stand-in to have it.
    deadline = time.monotonic() + 20
    while state(datacortex)["summary"]["bundles"] < 5 and time.monotonic() < deadline:
        time.sleep(0.1)
    summary = state(datacortex)["summary"]
    assert summary["bundles"] == 5
    assert summary["events_per_app"] == {"1001": 50}
    assert summary["log_lines_per_app"] == {"1001": 5}
