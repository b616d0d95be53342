"""`apitwin proxy` as a user runs it: violations logged at once, the summary on Ctrl-C, the
reports of `conform`, the traffic recorded as HAR with secrets masked."""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from xml.etree import ElementTree as ET

import httpx

from apitwin.server.core.app import create
from conformance_helpers import free_port, serving

KEY = "SylsDTZTBk2zAkg016vW_aCuO1XQDXPsxrLuI1TG7z5sYvUfRlVf5R4g6kDnLI_o-c5iqrswrWzPANDKXmtV7Q"
STAT = {"type": "risk", "anr": "5e6f33d1-99b1-4244-a573-942498a4a201", "data": {"total": 3},
        "day": 1, "week": 1, "month": 1, "quarter": 1, "year": 2020}


def _start(*argv):
    return subprocess.Popen([sys.executable, "-m", "apitwin.server.core.cli", "proxy", *argv],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_until_up(url: str, process) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        try:
            httpx.get(url + "/__apitwin/violations", timeout=2)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError("the proxy did not start")


def test_ctrl_c_prints_the_summary_and_writes_reports_and_masked_har(tmp_path):
    _, app = create("monarc")
    port = free_port()
    with serving(app) as target:
        process = _start("monarc", "--target", target, "--port", str(port), "--report-dir", str(tmp_path / "r"),
                         "--junit", str(tmp_path / "j.xml"), "--record", str(tmp_path / "har"))
        try:
            url = f"http://127.0.0.1:{port}"
            _wait_until_up(url, process)
            with httpx.Client(base_url=url, headers={"X-API-KEY": KEY}) as client:
                assert client.post("/api/v2/stats/", json=STAT).status_code == 200
                assert client.get("/api/v2/stats/", params={"_limit": "2"}).status_code == 200
                assert client.post("/api/v2/stats/", json={**STAT, "year": "soon"}).status_code == 400
                live = client.get("/__apitwin/violations").json()
            assert live["exchanges"] == 3 and len(live["request_violations"]) == 1 and not live["answer_violations"]
            assert "where: body /year" in live["request_violations"][0]["detail"]
        finally:
            process.send_signal(signal.SIGINT)
            out, err = process.communicate(timeout=60)
    assert process.returncode == 1, err
    # One line at once per violation, on stderr; the summary on stdout.
    assert "[request] POST /api/v2/stats/ -> 400: " in err and "(at body /year) [request.body]" in err
    assert out.startswith("apitwin proxy monarc to http://127.0.0.1:")
    assert "POST /api/v2/stats/" in out and "overall" in out
    assert "Request violations (the app's fault): 1" in out
    assert "Answer violations (the deployment's fault): none" in out and "Undocumented operations" in out
    assert KEY not in out and KEY not in err
    page = (tmp_path / "r" / "report.html").read_text()
    assert "POST /api/v2/stats/" in page and "request.body" in page and KEY not in page
    assert (tmp_path / "r" / "summary.txt").read_text().strip() == out.strip()
    suites = ET.parse(tmp_path / "j.xml").getroot()
    failed = [case.get("name") for case in suites.iter("testcase") if case.find("failure") is not None]
    assert failed == ["POST /api/v2/stats/"]
    (har_file,) = (tmp_path / "har").glob("monarc-*.har")
    text = har_file.read_text()
    assert KEY not in text
    entries = json.loads(text)["log"]["entries"]
    assert [e["request"]["method"] for e in entries] == ["POST", "GET", "POST"]
    assert {"name": "X-API-KEY", "value": "***"} in [
        {"name": h["name"].upper() if h["name"].lower() == "x-api-key" else h["name"], "value": h["value"]}
        for h in entries[0]["request"]["headers"]]
    assert json.loads(entries[1]["response"]["content"]["text"])["data"]


def test_an_unusable_command_line_exits_2_with_one_line():
    for argv, message in ((["nosuch", "--target", "http://x"], "unknown API 'nosuch'"),
                          (["monarc", "--target", "ftp://x"], "--target must be an http:// or https:// URL")):
        process = _start(*argv)
        out, err = process.communicate(timeout=60)
        assert process.returncode == 2 and message in err, err


def test_a_port_in_use_exits_2_saying_so():
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        process = _start("monarc", "--target", "http://127.0.0.1:9", "--port", str(port))
        _, err = process.communicate(timeout=60)
    assert process.returncode == 2 and f"could not listen on 127.0.0.1:{port}" in err, err
