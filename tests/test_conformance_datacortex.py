"""The conformance kit against Data Cortex: it passes the twin and names planted faults."""
from __future__ import annotations

import pytest

from apitwin.server.core.api import available
from apitwin.server.core.app import create

from conformance_helpers import conform_output, failing_run, rewrite_json, serving

pytestmark = pytest.mark.skipif("datacortex" not in available(), reason="the Data Cortex twin is not there")

KEY = "dcsession-carol-0000000000000000000000003"


def run_kit(capsys, url, *extra, key=KEY):
    return conform_output(capsys, ["datacortex", "--base-url", url, "--session-key", key, *extra])


def test_passes_against_apitwin_datacortex(capsys):
    _, app = create("datacortex")
    with serving(app) as url:
        code, out, _ = run_kit(capsys, url, "--max-examples", "3", "--stateful-steps", "5")
    assert code == 0, out[-4000:]
    for name in ("refused_key_stays_refused", "other_organizations_are_private",
                 "app_created_listed_and_deleted", "logged_out_key_stays_refused"):
        line = next(l for l in out.splitlines() if l.startswith(name))
        assert "passed" in line, line
    writes = next(l for l in out.splitlines() if l.startswith("Writes:"))
    assert writes.endswith(" 0 left."), writes  # every app and session the run created was deleted
    assert "Schemathesis does not call logout" in out


def test_unverified_or_unknown_session_exits_2(capsys):
    _, app = create("datacortex")
    with serving(app) as url:
        code, _, err = run_kit(capsys, url, key="no-such-session")
    assert code == 2 and "login refused (the session key was refused" in err


def test_logout_that_does_not_stick_is_named(capsys):
    twin, app = create("datacortex")
    twin.backend.logout = lambda key: None  # answers 200, the key keeps working
    _, failures = failing_run(run_kit, capsys, app, "--scenarios-only")
    assert "a logged-out session key still works" in failures


def test_other_organization_readable_is_named(capsys):
    twin, app = create("datacortex")
    real = twin.backend.list_apps
    twin.backend.list_apps = lambda user, org_id: real({**user, "org_ids": [int(org_id)]}, org_id) \
        if str(org_id).isdigit() and twin.backend.organizations.exists(int(org_id)) else []
    _, failures = failing_run(run_kit, capsys, app, "--scenarios-only")
    assert "which the user is not in, answered 200 (expected 403)" in failures


def test_deleted_app_still_listed_is_named(capsys):
    twin, app = create("datacortex")
    twin.backend.delete_app = lambda user, app_id: None  # 200, nothing deleted
    out, failures = failing_run(run_kit, capsys, app, "--scenarios-only")
    assert "a deleted app is still listed" in failures
    assert "(deletion failed)" in out  # and the clean-up says what it could not delete


def test_error_shape_is_named(capsys):
    _, app = create("datacortex")

    def as_text(status, body):
        return (403, "Forbidden", "text/plain") if status == 403 else (status, body, None)

    _, failures = failing_run(run_kit, capsys, rewrite_json(app, "/api/1/user", "GET", as_text), "--scenarios-only")
    assert "[datacortex.conventions] GET /api/1/user: 403 error with content type text/plain" in failures
    assert "is not Data Cortex's {\"error\": \"...\"}" in failures


def test_unknown_query_parameters_are_accepted_only_where_documented():
    from types import SimpleNamespace

    from apitwin.conformance.engine import UNKNOWN_QUERY_IGNORED, engine_artefact
    from apitwin.conformance.exchange import Exchange
    from apitwin.conformance.profiles import Profile
    from apitwin.conformance.profiles.datacortex import PROFILE

    answer = Exchange("GET", "http://h/api/1/user?x=1", {}, None, 200, {"content-type": "application/json"}, b"{}")
    failure = SimpleNamespace(message="Invalid component: in query - violates `additionalProperties`")
    assert engine_artefact(PROFILE, "negative_data_rejection", answer, failure) is UNKNOWN_QUERY_IGNORED
    assert engine_artefact(Profile(), "negative_data_rejection", answer, failure) is None
    other = SimpleNamespace(message="Invalid component: in body - violates `type`")
    assert engine_artefact(PROFILE, "negative_data_rejection", answer, other) is None


def test_verification_page_refuses_a_body_it_cannot_read_as_an_html_page():
    """Found by the kit (once waived): the page a user opens from the email is HTML, its 400s too."""
    from conftest import make_client

    _, client = make_client("datacortex")
    for body, ctype in ((b"<x/>", "application/xml"), (b"\xff\xfe", "application/x-www-form-urlencoded")):
        answer = client.post("/api/1/verify?session_key=abc", content=body, headers={"Content-Type": ctype})
        assert answer.status_code == 400
        assert answer.headers["content-type"].startswith("text/html")
        assert "<h1>Verification failed</h1>" in answer.text


def test_track_refuses_another_content_type_in_plain_text_as_its_contract_says():
    from conftest import make_client

    _, client = make_client("datacortex")
    answer = client.post("/acme/1/track", content=b"<x/>", headers={"Content-Type": "application/xml"})
    assert answer.status_code == 400 and answer.headers["content-type"].startswith("text/plain")
