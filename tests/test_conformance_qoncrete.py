"""The conformance kit against Qoncrete: its scenarios pass the twin and name planted faults.

The full run (Schemathesis phases too) runs once with few examples; the planted faults are
caught by the conventions and scenarios, which run alone for them.
"""
from __future__ import annotations

from datetime import timedelta

import pytest

from apitwin.conformance.cli import main as conform
from apitwin.server.core.app import create
from apitwin.server.core.api import available

from conformance_helpers import conform_output, failing_run, rewrite_json, serving

pytestmark = pytest.mark.skipif("qoncrete" not in available(), reason="the Qoncrete twin is not there")

LOGIN = ["--email", "demo@qoncrete.test", "--password", "demo1234"]


def run_kit(capsys, url, *extra):
    return conform_output(capsys, ["qoncrete", "--base-url", url, *LOGIN, "--scenarios-only", *extra])


def test_scenarios_pass_against_apitwin_qoncrete(capsys):
    _, app = create("qoncrete")
    with serving(app) as url:
        code, out, _ = run_kit(capsys, url)
    assert code == 0, out[-4000:]
    for name in ("refused_token_stays_refused", "source_created_listed_updated_deleted",
                 "store_item_round_trip", "private_objects"):
        line = next(l for l in out.splitlines() if l.startswith(name))
        assert "passed" in line, line
    # What the run created was deleted; users cannot be.
    assert "not deleted: user apitwin-" in out and "(the API cannot delete it)" in out
    assert all("user apitwin-" in line for line in out.splitlines() if line.startswith("  not deleted:"))
    line = next(l for l in out.splitlines() if l.startswith("report_created_listed_and_deleted"))
    assert "passed" in line, line


def test_full_run_passes_against_apitwin_qoncrete(capsys):
    _, app = create("qoncrete")
    with serving(app) as url:
        code, out, _ = conform_output(capsys, ["qoncrete", "--base-url", url, *LOGIN, "--max-examples", "2"])
    assert code == 0, out[-4000:]
    assert "conformance 100.0%" in out


def test_wrong_password_exits_2(capsys):
    _, app = create("qoncrete")
    with serving(app) as url:
        code = conform(["qoncrete", "--base-url", url, "--email", "demo@qoncrete.test", "--password", "wrong"])
    err = capsys.readouterr().err
    assert code == 2 and "login refused (POST /v2/user/login as demo@qoncrete.test answered 401" in err


def test_update_not_visible_is_named(capsys):
    twin, app = create("qoncrete")
    # The update answers as if applied, but nothing is stored.
    twin.backend.update_source = lambda *args, **kwargs: twin.backend.get_source(*args[:2])
    _, failures = failing_run(run_kit, capsys, app)
    assert "the update is not visible when the source is fetched again" in failures


def test_private_source_readable_by_another_user_is_named(capsys):
    _, app = create("qoncrete")

    def reveal(status, body):  # 403/404 to the other user becomes the source itself
        return (200, {"_id": "leaked"}, None) if status in (403, 404) else (status, body, None)

    _, failures = failing_run(run_kit, capsys, rewrite_json(app, "/v2/source/", "GET", reveal))
    assert "another user read a private source (200)" in failures


def test_problem_json_errors_are_named(capsys):
    _, app = create("qoncrete")

    def as_problem(status, body):
        if status == 401:
            return 401, {"type": "about:blank", "title": "Unauthorized", "status": 401}, "application/problem+json"
        return status, body, None

    _, failures = failing_run(run_kit, capsys, rewrite_json(app, "/v2/source", "GET", as_problem))
    assert "[qoncrete.conventions] GET /v2/source: 401 error with content type application/problem+json" in failures
    assert "is not Qoncrete's {\"code\": <status>, \"text\": \"...\"}" in failures


def test_logs_in_again_when_the_token_expires_mid_run(capsys):
    twin, app = create("qoncrete")
    seen = {"requests": 0}

    async def expire_once(scope, receive, send):
        if scope["type"] == "http":
            seen["requests"] += 1
            if seen["requests"] == 12:  # the JWT the kit holds is now past its 48 hours
                twin.clock.advance(timedelta(hours=49))
        await app(scope, receive, send)

    with serving(expire_once) as url:
        code, out, _ = run_kit(capsys, url)
    assert code == 0, out[-3000:]
    assert "Logged in 2 times" in out
