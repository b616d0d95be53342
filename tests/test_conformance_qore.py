"""The conformance kit against Qore: its scenarios pass the twin and name planted faults."""
from __future__ import annotations

import pytest

from apitwin.conformance.cli import main as conform
from apitwin.server.core.api import available
from apitwin.server.core.app import create

from conformance_helpers import failures_section, rewrite_json, serving

pytestmark = pytest.mark.skipif("qore" not in available(), reason="the Qore twin is not there")

ALICE = "1|qoreAliceDemoToken0000000000000000000000"
BOB = "2|qoreBobDemoToken000000000000000000000000"


def run_kit(capsys, url, *extra, token=ALICE, phases=("--scenarios-only",)):
    code = conform(["qore", "--base-url", url, "--token", token, "--other-token", BOB, *phases, *extra])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_scenarios_pass_against_apitwin_qore(capsys):
    _, app = create("qore")
    with serving(app) as url:
        code, out, _ = run_kit(capsys, url)
    assert code == 0, out[-4000:]
    for name in ("refused_token_stays_refused", "table_pages_add_up", "filter_returns_only_and_all_matching",
                 "project_created_listed_updated_deleted", "validation_errors_in_laravel_shape", "private_objects"):
        line = next(l for l in out.splitlines() if l.startswith(name))
        assert "passed" in line, line


def test_full_run_passes_against_apitwin_qore(capsys):
    _, app = create("qore")
    with serving(app) as url:
        code, out, _ = run_kit(capsys, url, "--max-examples", "3", phases=())
    assert code == 0, out[-4000:]
    assert "conformance 100.0%" in out


def test_refused_token_exits_2(capsys):
    _, app = create("qore")
    with serving(app) as url:
        code, _, err = run_kit(capsys, url, token="9|nope")
    assert code == 2 and "login refused (the token was refused" in err


def test_ignored_token_is_named(capsys):
    _, app = create("qore")

    async def any_token(scope, receive, send):  # every request is let in as Alice
        if scope["type"] == "http":
            headers = [(k, v) for k, v in scope["headers"] if k != b"authorization"]
            scope = {**scope, "headers": headers + [(b"authorization", f"Bearer {ALICE}".encode())]}
        await app(scope, receive, send)

    with serving(any_token) as url:
        code, out, _ = run_kit(capsys, url)
    assert code == 1
    failures = failures_section(out)
    assert "GET /api/me with a wrong token (attempt 1): expected 401" in failures
    assert "a refused token was accepted after a good request" in failures


def test_paging_total_off_by_one_is_named(capsys):
    _, app = create("qore")

    def more(status, body):
        if status == 200 and isinstance(body, dict) and isinstance(body.get("meta"), dict):
            body["meta"]["total"] += 1
        return status, body, None

    with serving(rewrite_json(app, "/api/resources/projects/table/", "GET", more)) as url:
        code, out, _ = run_kit(capsys, url)
    assert code == 1
    assert "table_pages_add_up" in failures_section(out) and "meta.total says" in failures_section(out)


def test_filter_ignoring_its_value_is_named(capsys):
    _, app = create("qore")

    async def no_search(scope, receive, send):  # search_columns is dropped on the way in
        if scope["type"] == "http" and b"search_columns" in scope.get("query_string", b""):
            query = b"&".join(p for p in scope["query_string"].split(b"&") if not p.startswith(b"search_columns="))
            scope = {**scope, "query_string": query}
        await app(scope, receive, send)

    with serving(no_search) as url:
        code, out, _ = run_kit(capsys, url)
    assert code == 1
    failures = failures_section(out)
    assert "returned rows of another status" in failures
