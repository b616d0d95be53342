"""The conformance kit against MONARC Stats v1: it passes the stand-in, touches nothing it
did not create, and names a planted fault."""
from __future__ import annotations

import json

import pytest

from apitwin.conformance import profiles
from apitwin.conformance.engine import excusal
from apitwin.conformance.exchange import Exchange
from apitwin.conformance.profiles import Draft
from apitwin.conformance.profiles.monarc_v1 import storable_batch
from apitwin.conformance.verdicts import judge
from apitwin.server.core.api import available
from apitwin.server.core.app import create
from conformance_helpers import CREDENTIALS, conform_output, failing_run, serving

pytestmark = pytest.mark.skipif("monarc-v1" not in available(), reason="the MONARC v1 twin is not there")

KEY = CREDENTIALS["monarc-v1"][1]
FAST = ["--max-examples", "5", "--stateful-steps", "5"]


def run_kit(capsys, base_url, *extra, key=KEY):
    return conform_output(capsys, ["monarc-v1", "--base-url", base_url, "--api-key", key, *extra])


def clients(twin) -> list[dict]:
    """The clients, less `last_seen` (every authenticated request sets it)."""
    return [{k: v for k, v in c.items() if k != "last_seen"} for c in twin.store["clients"].scan()]


def stats_by_anr(twin) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for row in twin.store["stats"].scan():
        out.setdefault(row["anr"], []).append(row["_id"])
    return out


def test_passes_against_the_stand_in_and_deletes_only_what_it_created(capsys, tmp_path):
    twin, app = create("monarc-v1")
    before = stats_by_anr(twin)
    clients_before = clients(twin)
    with serving(app) as url:
        code, out, _ = run_kit(capsys, url, "--max-examples", "10", "--report-dir", str(tmp_path / "report"))
    assert code == 0, out[-4000:]
    assert "PASSED" in out and "FAILURES" not in out
    for label in ("GET /api/v1/stats/", "POST /api/v1/stats/", "GET /api/v1/stats/processed/",
                  "GET /api/v1/stats/{anr}", "GET /api/v1/client/me", "GET /api/v1/stats/processed/list",
                  "GET /api/v1/", "GET /api/v1/swagger.json", "GET /swaggerui/{filename}", "GET /about.json"):
        row = next(line for line in out.splitlines() if line.startswith(label + " "))
        cases, checks, failed, score = row[len(label):].split()
        assert int(checks) > 0 and failed == "0" and score == "100.0%", row
    for name in ("created_is_listed_and_equal", "processors_compute", "failed_items_give_207", "paging_adds_up"):
        assert next(line for line in out.splitlines() if line.startswith(name + " ")).split()[1] == "passed"
    # Every seeded stat is still there, and no stat the run created is left behind.
    assert stats_by_anr(twin) == before
    assert clients(twin) == clients_before
    assert "0 left" in out
    assert KEY not in (tmp_path / "report" / "report.html").read_text() and KEY not in out


def test_read_only_changes_nothing(capsys):
    twin, app = create("monarc-v1")
    stats, clients_before = twin.store["stats"].all(), clients(twin)
    with serving(app) as url:
        code, out, _ = run_kit(capsys, url, "--read-only", *FAST)
    assert code == 0, out[-4000:]
    assert twin.store["stats"].all() == stats
    assert clients(twin) == clients_before


def test_an_anr_shared_with_another_client_is_left_alone(capsys, monkeypatch):
    twin, app = create("monarc-v1")
    seeded = "aaaaaaaa-0000-4000-8000-000000000001"
    # Make Schemathesis' example batch land in a seeded ANR: the clean-up must not delete it.
    original = twin.backend.create_stats

    def into_seeded(caller, items):
        if isinstance(items, list):
            items = [{**i, "anr": seeded} if isinstance(i, dict) and "anr" in i else i for i in items]
        return original(caller, items)

    monkeypatch.setattr(twin.backend, "create_stats", into_seeded)
    seeded_before = {r["_id"] for r in twin.store["stats"].scan() if r["anr"] == seeded}
    with serving(app) as url:
        code, out, _ = run_kit(capsys, url, "--scenarios-only")
    remaining = {r["_id"] for r in twin.store["stats"].scan() if r["anr"] == seeded}
    assert seeded_before <= remaining
    assert "(deletion failed)" in out


def test_a_wrong_metadata_type_is_named(capsys):
    _, app = create("monarc-v1")

    def ints(status, body):
        if isinstance(body, dict) and isinstance(body.get("metadata"), dict):
            body["metadata"] = {k: int(v) for k, v in body["metadata"].items()}
        return status, body, None

    from conformance_helpers import rewrite_json
    out, failures = failing_run(run_kit, capsys, rewrite_json(app, "/api/v1/stats/", "GET", ints), *FAST)
    assert "metadata count, offset, limit not strings" in failures


def test_a_refused_key_stops_the_run(capsys):
    _, app = create("monarc-v1")
    with serving(app) as url:
        code, _, err = run_kit(capsys, url, key="not-a-key")
    assert code == 2
    assert "login refused" in err


def test_credentials_from_the_environment(capsys, monkeypatch):
    _, app = create("monarc-v1")
    monkeypatch.setenv("APITWIN_MONARC_V1_API_KEY", KEY)
    with serving(app) as url:
        code, out, _ = conform_output(capsys, ["monarc-v1", "--base-url", url, "--read-only", "--scenarios-only"])
    assert code == 0, out[-3000:]


# -- a batch's 207 refuses the items it leaves out ---------------------------------------------
ANR = "0c7a3c1e-52f4-4d0b-8f1e-3b9f6d2a7e01"
TAKEN = "7c3d9e61-4b0a-4f3e-9d8a-2a1b0c9d8e7f"


def batch_answer(items, status, stored) -> Exchange:
    body = {"metadata": {"count": str(len(stored)), "offset": "0", "limit": "0"}, "data": stored}
    return Exchange("POST", "http://h/api/v1/stats/", {"Content-Type": "application/json"}, json.dumps(items).encode(),
                    status, {"content-type": "application/json"}, (json.dumps(body) + "\n").encode(),
                    operation="create_stats", label="POST /api/v1/stats/")


def test_a_207_refuses_the_items_the_database_refused_also_with_strict():
    profile = profiles.get("monarc-v1")
    item = {"anr": ANR, "type": "risk", "date": None, "uuid": TAKEN}
    refusal = batch_answer([item], 207, [])
    assert profile.rejected(refusal) == 400
    for strict in (False, True):
        kind, why = excusal(profile, "negative_data_rejection", refusal, strict=strict)
        assert (kind, why.name) == ("artefact", "refusal-in-a-2xx")
    assert "leaving out 1 of 1 items" in profile.rejection_text(refusal)


def test_a_207_for_a_uuid_taken_is_a_conflict_which_a_valid_request_may_meet():
    profile = profiles.get("monarc-v1")
    stored = {"uuid": "1b9d6bcd-bbfd-4b2d-9b5d-ab8dfbbd4bed", "anr": ANR, "type": "threat", "date": "2026-12-01", "data": {}}
    conflict = batch_answer([{"anr": ANR, "type": "risk", "date": "2026-12-01", "uuid": TAKEN},
                             {k: stored[k] for k in ("anr", "type", "date")}], 207, [stored])
    assert profile.rejected(conflict) == 409
    assert judge(profile, conflict, valid_request=True, strict=True).problems == []


def test_a_batch_stored_whole_is_no_refusal():
    profile = profiles.get("monarc-v1")
    item = {"anr": ANR, "type": "risk", "date": "2026-12-01"}
    stored = {"uuid": TAKEN, **item, "data": {}}
    assert profile.rejected(batch_answer([item], 201, [stored])) is None
    assert profile.rejected(batch_answer([item, item], 207, [stored, stored])) is None


# -- completions of the kit's valid cases ------------------------------------------------------
def test_a_batch_is_completed_to_what_postgresql_can_store():
    draft = Draft("create_stats", "POST", {}, {}, [
        {"anr": ANR, "type": "ri\x00sk", "date": "2026-12-01", "data": {"a\x00": ["\ud800x", float("nan"), 1.5]}},
        {"anr": ANR, "type": ["a\x00", "\U0001d413", "\ud835\udc13"], "date": "2026-12-01"},
        {"anr": ANR, "type": 5, "date": "2026-12-01", "data": None}])
    assert storable_batch(draft)
    # A surrogate pair is one character (the same JSON text); a lone surrogate and NUL go.
    assert draft.body == [
        {"anr": ANR, "type": "risk", "date": "2026-12-01", "data": {"a": ["x", 0, 1.5]}},
        {"anr": ANR, "type": ["a", "\U0001d413", "\U0001d413"], "date": "2026-12-01"},
        {"anr": ANR, "type": 5, "date": "2026-12-01", "data": None}]
    assert not storable_batch(draft)
