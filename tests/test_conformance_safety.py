"""The kit never damages a deployment, and says clearly what it did and what went wrong.

- writes only touch what the run created (names `apitwin-<run id>-...`), also against a
  deployment whose organization and user writes are upserts;
- the starting credentials are checked at the end;
- a base URL that answers 404 to everything ends with exit 2; `--help` lists every API's
  credentials; `--show-secrets`; nothing is written in the current directory.
"""
from __future__ import annotations

from apitwin.conformance import profiles
from apitwin.conformance.cli import main as conform
from apitwin.conformance.profiles import Created
from apitwin.conformance.safety import Ledger, make_safe, violations
from apitwin.conformance.spec import routes_for
from apitwin.server.core.app import create

from conformance_helpers import CREDENTIALS, failures_section, kit, serving

FAST = ["--max-examples", "3", "--stateful-steps", "3"]
CASES_KEY = CREDENTIALS["monarc"][1]


# -- writes are rewritten to the run's own objects ----------------------------------------
def test_a_create_with_a_taken_name_gets_a_run_unique_one():
    monarc, ledger = profiles.get("monarc"), Ledger()
    route = routes_for("monarc").by_id["create_organization"]
    body = {"name": "CASES", "token": "x"}  # the contract's own example
    changed = make_safe(monarc, ledger, route, "POST", {}, {}, body)
    assert body["name"].startswith(ledger.prefix + "-") and body["token"].startswith(ledger.prefix + "-")
    assert changed == ["body field name", "body field token"]


def test_a_write_to_an_object_the_run_did_not_create_is_aimed_elsewhere():
    opengrid, ledger = profiles.get("opengrid"), Ledger()
    route = routes_for("opengrid").by_id["delete_user"]
    seen = {"userId": "64b7f0c2a1e4d5f6a7b8c9d0"}  # e.g. a user seen in a listing
    make_safe(opengrid, ledger, route, "DELETE", seen, {}, None)
    assert seen["userId"] == f"0000{ledger.run_id}000000000000"
    ledger.add(Created("user", "64b7f0c2a1e4d5f6a7b8c9d0"))
    mine = {"userId": "64b7f0c2a1e4d5f6a7b8c9d0"}
    assert make_safe(opengrid, ledger, route, "DELETE", mine, {}, None) == []
    assert mine["userId"] == "64b7f0c2a1e4d5f6a7b8c9d0"
    # Reads are never rewritten.
    read = {"userId": "64b7f0c2a1e4d5f6a7b8c9d1"}
    assert make_safe(opengrid, ledger, routes_for("opengrid").by_id["get_user"], "GET", read, {}, None) == []


def test_read_only_drops_what_makes_a_get_a_create():
    datacortex, ledger = profiles.get("datacortex"), Ledger()
    query = {"org_id": "101", "app_name": "x"}
    make_safe(datacortex, ledger, routes_for("datacortex").by_id["list_or_create_apps"], "GET", {}, query, None,
              read_only=True)
    assert query == {"org_id": "101"}


def test_a_scenario_write_elsewhere_is_refused():
    qoncrete, ledger = profiles.get("qoncrete"), Ledger()
    routes = routes_for("qoncrete")
    path = "/v2/source/someone-elses-source"
    assert violations(qoncrete, ledger, routes.find("DELETE", path), "DELETE", path, {}, None)
    ledger.add(Created("source", "mine"))
    assert violations(qoncrete, ledger, routes.find("DELETE", "/v2/source/mine"), "DELETE", "/v2/source/mine",
                      {}, None) == []


# -- a deployment whose writes are upserts keeps its credentials ----------------------------
def test_upserting_organizations_keep_their_keys_through_a_full_run(capsys):
    """MONARC's organization writes are upserts (a taken name gets the new token), as on the
    real service: the run's writes still reach only organizations of its own."""
    twin, app = create("monarc")
    backend = twin.backend
    before = {org["name"]: org["token"] for org in backend.organizations.find({})}
    with serving(app) as url:
        code, out, _ = kit(capsys, "monarc", url, *FAST)
    assert code == 0, out[-3000:]
    assert "Credentials: every credential the run started with still works." in out
    after = {org["name"]: org["token"] for org in backend.organizations.find({})}
    assert {name: after[name] for name in before} == before  # no organization of the deployment was touched
    assert all(name.startswith("apitwin-") for name in set(after) - set(before))
    assert "Plan: this run writes." in out and "Writes: the run created" in out


def test_a_run_that_breaks_its_credentials_says_so_and_fails(capsys):
    twin, app = create("monarc")
    backend = twin.backend
    real = backend.list_stats
    calls = {"n": 0}

    def revoke_after_a_while(*args):
        calls["n"] += 1
        if calls["n"] == 5:  # as if the run had replaced the CASES token
            cases = backend.organizations.get_by("name", "CASES")
            backend.organizations.update(cases["_id"], {"token": "replaced"})
        return real(*args)

    backend.list_stats = revoke_after_a_while
    with serving(app) as url:
        code, out, _ = kit(capsys, "monarc", url, "--scenarios-only")
    assert code == 1
    assert "Credentials: BROKEN: the starting credentials no longer work" in out
    assert "[credentials] (run): a starting credential no longer works" in failures_section(out)


# -- clear signals -------------------------------------------------------------------------
def test_a_target_answering_404_to_everything_exits_2(capsys):
    async def nothing_here(scope, receive, send):
        if scope["type"] != "http":
            return
        await send({"type": "http.response.start", "status": 404, "headers": [(b"content-type", b"text/html")]})
        await send({"type": "http.response.body", "body": b"<h1>Not Found</h1>"})

    with serving(nothing_here) as url:
        code, out, err = kit(capsys, "monarc", url)
    assert code == 2
    assert "answered 404: is this the monarc API" in err and len(err.strip().splitlines()) == 1


def test_help_lists_every_apis_credentials(capsys):
    assert conform(["--help"]) == 0
    out = capsys.readouterr().out
    for api in profiles.names():
        assert f"  {api}:" in out
        for option in profiles.get(api).auth_options:
            assert option.flag in out, (api, option.flag)


def test_reproduction_lines_hide_credentials_unless_asked(capsys):
    from conformance_helpers import plant_answer

    _, app = create("monarc")
    broken = plant_answer(app, "monarc", ("get_stat",), 201, {"id": "x"})
    with serving(broken) as url:
        code, out, _ = kit(capsys, "monarc", url, "--scenarios-only")
        assert code == 1 and CASES_KEY not in out and "x-api-key: ***" in out.lower()
        code, out, _ = kit(capsys, "monarc", url, "--scenarios-only", "--show-secrets")
        assert code == 1 and f"x-api-key: {CASES_KEY.lower()}" in out.lower()


def test_a_run_leaves_no_files_in_the_current_directory(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _, app = create("monarc")
    with serving(app) as url:
        code, out, _ = kit(capsys, "monarc", url, *FAST)
    assert code == 0, out[-3000:]
    assert list(tmp_path.iterdir()) == []


def test_upserting_users_keep_their_passwords_through_a_full_run(capsys):
    """OpenGrid with user creation as an upsert by userId: the run's admin login survives."""
    twin, app = create("opengrid")
    backend = twin.backend
    real = backend.create_document
    replaced = []

    def upsert(kind, caller, body):
        o = body.get("o") if isinstance(body, dict) else None
        known = backend.users.get_by("userId", o.get("userId")) if kind == "users" and isinstance(o, dict) else None
        if known is not None:  # a taken userId: that user is replaced, password included
            replaced.append(known["userId"])
            return backend.update_document(kind, caller, str(known["_id"]), body)
        return real(kind, caller, body)

    backend.create_document = upsert
    before = {user["userId"] for user in backend.users.find({})}
    with serving(app) as url:
        code, out, _ = kit(capsys, "opengrid", url, "--max-examples", "3", "--stateful-steps", "3")
    assert code == 0, out[-3000:]
    assert "Credentials: every credential the run started with still works." in out
    after = {user["userId"] for user in backend.users.find({})}
    assert before <= after and all(name.startswith("apitwin-") for name in after - before)
    assert not replaced  # no user of the deployment was written to


def test_clean_up_deletes_newest_first_so_dependents_go_before_what_they_point_at():
    from types import SimpleNamespace

    from apitwin.conformance.results import Results
    from apitwin.conformance.runner import _clean_up

    existing = {"project 1", "issue 2"}

    class Pointing(profiles.Profile):
        def delete(self, session, created):
            if str(created) == "project 1" and "issue 2" in existing:
                return False  # still pointed at by the issue
            existing.discard(str(created))
            return True

    ledger = Ledger()
    ledger.add(Created("project", "1"))
    ledger.add(Created("issue", "2"))
    results = Results("t", "http://x")
    _clean_up(SimpleNamespace(profile=Pointing()), ledger, results)
    assert not existing and results.cleaned == 2 and not results.leftovers
    assert results.created == ["project 1", "issue 2"]  # listed in the order they were made


def test_a_not_found_is_excused_only_where_the_guard_aimed_the_write_at_no_object():
    """Schemathesis calls a 404 after a create "created resource not found"; where the guard
    had aimed the write at no object (it named one the run did not create), 404 is right."""
    from apitwin.conformance.engine import aimed_nowhere
    from apitwin.conformance.exchange import Exchange

    monarc, ledger = profiles.get("monarc"), Ledger()
    route = routes_for("monarc").by_id["set_organization_token"]
    path = {"name": "OTHER"}  # an organization the run did not create
    make_safe(monarc, ledger, route, "PUT", path, {}, {"token": "t"})
    ledger.add(Created("organization", "apitwin-mine"))

    def put(name, status):
        return Exchange("PUT", f"http://x/api/v2/organizations/{name}/", {}, None, status,
                        operation="set_organization_token")

    assert aimed_nowhere(put(path["name"], 404), ledger)
    assert not aimed_nowhere(put(path["name"], 200), ledger)
    assert not aimed_nowhere(put("apitwin-mine", 404), ledger)  # the run's own: a 404 is a fault
