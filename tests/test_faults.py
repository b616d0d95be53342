"""Fault rules as users manage them: the admin API, the command line, the config file,
reset, the request log, and the README's recipes as written."""
from __future__ import annotations

import re
import shlex
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from starlette.testclient import TestClient

from apitwin.server.core import cli
from apitwin.server.core.api import definition
from apitwin.server.core.app import create
from apitwin.server.core.faults import install, rules
from conftest import make_client
from faults_helpers import MONARC_KEY, add_rule

KEY = {"X-API-KEY": MONARC_KEY}
README = Path(__file__).parent.parent / "README.md"


@pytest.fixture
def monarc():
    return make_client("monarc")


def _stat_path(client) -> str:
    stat = client.get("/api/v2/stats/", params={"_limit": 1}, headers=KEY).json()["data"][0]
    return f"/api/v2/stats/{stat['id']}/"


# -- the admin API ----------------------------------------------------------------------------
def test_rules_are_listed_removed_one_by_one_and_all_at_once(monarc):
    _, client = monarc
    first = add_rule(client, latency="5ms")
    second = add_rule(client, method="get", path="/api/v2/stats/{id}/", status=503, rate=0.5, seed=3)
    assert first["id"] != second["id"]
    assert second == {"id": second["id"], "method": "get", "path": "/api/v2/stats/{id}/", "status": 503,
                      "rate": 0.5, "seed": 3, "applied": 0}
    assert [r["id"] for r in client.get("/__apitwin/faults").json()["faults"]] == [first["id"], second["id"]]
    assert client.delete(f"/__apitwin/faults/{first['id']}").status_code == 204
    missing = client.delete(f"/__apitwin/faults/{first['id']}")
    assert (missing.status_code, missing.json()) == (404, {"error": "Not Found"})  # MONARC's own 404
    assert client.delete("/__apitwin/faults").status_code == 204
    assert client.get("/__apitwin/faults").json() == {"faults": []}


@pytest.mark.parametrize("rule, message", [
    ({"path": "/api/v2/nothing/", "status": 503}, "path /api/v2/nothing/: no route of this API"),
    ({"operation": "delete_stat", "status": 503}, "operation 'delete_stat': not an operationId"),
    ({"status": 418}, "status 418: name a kind"),
    ({"kind": "unauthorized", "connection": "reset"}, "one answer per rule"),
    ({"method": "GET"}, "a rule needs something to do"),
    ({"latency": {"median": "2s", "p99": "1s"}}, "0 < median < p99"),
    ({"rate_limit": "10/1m", "times": 2}, "a rate limit counts every matching call"),
    ({"latency": "5ms", "colour": "red"}, "colour"),
])
def test_a_rule_that_cannot_work_is_refused_with_what_is_wrong(monarc, rule, message):
    _, client = monarc
    answer = client.post("/__apitwin/faults", json=rule)
    assert answer.status_code == 400
    assert message in answer.json()["error"]
    assert client.get("/__apitwin/faults").json() == {"faults": []}


def test_the_admin_api_itself_is_never_faulted(monarc):
    _, client = monarc
    add_rule(client, kind="unavailable")
    assert client.get("/api/v2/stats/", headers=KEY).status_code == 503
    assert client.get("/__apitwin/state").status_code == 200
    assert client.delete("/__apitwin/faults").status_code == 204
    assert client.get("/api/v2/stats/", headers=KEY).status_code == 200


def test_reset_brings_back_the_start_up_rules_or_keeps_or_clears_them_as_asked():
    twin, client = make_client("monarc")
    install({"monarc": twin}, [{"kind": "unavailable", "times": 1}])
    assert client.get("/api/v2/stats/", headers=KEY).status_code == 503
    add_rule(client, latency="1ms")
    assert client.post("/__apitwin/reset").status_code == 200  # start-up rules, afresh
    assert [r.get("kind") for r in client.get("/__apitwin/faults").json()["faults"]] == ["unavailable"]
    add_rule(client, latency="1ms")
    assert client.post("/__apitwin/reset", params={"faults": "keep"}).status_code == 200
    assert len(client.get("/__apitwin/faults").json()["faults"]) == 2
    assert client.post("/__apitwin/reset", params={"faults": "clear"}).status_code == 200
    assert client.get("/__apitwin/faults").json() == {"faults": []}
    assert client.post("/__apitwin/reset").status_code == 200
    assert client.get("/api/v2/stats/", headers=KEY).status_code == 503


def test_a_long_tailed_latency_has_its_median_and_its_tail(monarc):
    _, client = monarc
    add_rule(client, path="/api/v2/organizations/", latency={"median": "10ms", "p99": "100ms"}, seed=5)
    for _ in range(100):
        assert client.get("/api/v2/organizations/", headers=KEY).status_code == 200
    entries = client.get("/__apitwin/requests", params={"limit": 100}).json()["requests"]
    delays = sorted(int(e["fault"]["actions"][0].split()[-2]) for e in entries)
    assert 6 <= delays[50] <= 15
    assert delays[-1] > 30  # a tail: far above the median
    assert sum(d > 100 for d in delays) <= 5


def test_a_range_written_as_text_is_a_uniform_latency(monarc):
    _, client = monarc
    add_rule(client, latency="20ms..40ms", seed=1)
    for _ in range(3):
        assert client.get("/api/v2/stats/", headers=KEY).status_code == 200
    entries = client.get("/__apitwin/requests", params={"limit": 3}).json()["requests"]
    assert all(20 <= int(e["fault"]["actions"][0].split()[-2]) <= 40 for e in entries)


def test_delays_of_several_rules_add_up_and_the_first_answer_wins(monarc):
    _, client = monarc
    add_rule(client, latency="5ms")
    add_rule(client, operation="list_stats", latency="7ms")
    add_rule(client, operation="list_stats", kind="forbidden", times=1)
    add_rule(client, operation="list_stats", kind="unavailable", times=1)
    assert client.get("/api/v2/stats/", headers=KEY).status_code == 403
    entry = client.get("/__apitwin/requests", params={"limit": 1}).json()["requests"][0]
    assert entry["fault"]["actions"] == ["f1: latency 5 ms", "f2: latency 7 ms", "f3: forbidden"]
    assert entry["ms"] >= 12
    assert client.get("/api/v2/stats/", headers=KEY).status_code == 503  # f4 kept its turn
    assert client.get("/api/v2/stats/", headers=KEY).status_code == 200


def test_the_request_log_marks_injected_answers(capfd):
    _, app = create("monarc", quiet=False)
    client = TestClient(app)
    add_rule(client, status=503, times=1)
    client.get("/api/v2/stats/", headers=KEY)
    client.get("/api/v2/stats/", headers=KEY)
    lines = [line for line in capfd.readouterr().err.splitlines() if "GET /api/v2/stats/" in line]
    assert re.search(r"503 [\d.]+ms \[injected: f1: unavailable status 503\]$", lines[0])
    assert lines[1].endswith("ms") and "injected" not in lines[1]


def test_in_process_a_reset_connection_is_raised_to_the_client():
    twin, app = create("monarc")
    client = TestClient(app)
    add_rule(client, connection="reset", times=1)
    with pytest.raises(ConnectionResetError):
        client.get("/api/v2/stats/", headers=KEY)
    assert client.get("/api/v2/stats/", headers=KEY).status_code == 200
    entry = client.get("/__apitwin/requests", params={"limit": 2}).json()["requests"][0]
    assert entry["status"] == 0 and entry["fault"]["actions"] == ["f1: connection reset"]
    assert twin.faults.describe() == []


# -- the command line and the config file -------------------------------------------------------
def test_a_command_line_rule_reads_as_its_json_form():
    assert rules.cli_rule("GET /api/v2/stats/{id}/ status=503 rate=0.2 seed=7") == \
        {"method": "GET", "path": "/api/v2/stats/{id}/", "status": 503, "rate": 0.2, "seed": 7}
    assert rules.cli_rule("op=get_me median=80ms p99=2s header.X-Case=slow query.page=2 ttl=5m") == \
        {"operation": "get_me", "latency": {"median": "80ms", "p99": "2s"}, "headers": {"X-Case": "slow"},
         "query": {"page": "2"}, "ttl": "5m"}
    assert rules.cli_rule("POST /v2/user/login kind=unauthorized times=1 message='try later'") == \
        {"method": "POST", "path": "/v2/user/login", "kind": "unauthorized", "times": 1, "message": "try later"}
    assert rules.cli_rule("slow=2s chunks=4 limit=5/1m") == \
        {"slow_body": {"duration": "2s", "chunks": 4}, "rate_limit": "5/1m"}


def _serve(monkeypatch, argv) -> tuple[int, dict]:
    """`apitwin serve ARGV` up to the point it would serve: its exit code and its apps
    (listening on free loopback ports, never the APIs' default ones)."""
    from apitwin.server.core import serve

    served = {}
    listen = serve.listen

    def capture(apps, host, rows, *rest):
        for name, app, sock in apps:
            served[name] = app
            sock.close()
        return 0

    monkeypatch.setattr(serve, "listen", lambda name, host, port: listen(name, "127.0.0.1", 0))
    monkeypatch.setattr(serve, "serve_all", capture)
    return cli.main(argv), served


def test_serve_takes_rules_from_its_options_and_its_config_file(monkeypatch, tmp_path, capsys):
    config = tmp_path / "apitwin.toml"
    config.write_text('[[faults]]\napi = "qore"\noperation = "get_me"\nkind = "unavailable"\n'
                      '[[faults]]\npath = "/api/v2/organizations/"\nstatus = 500\n')
    code, apps = _serve(monkeypatch, ["serve", "monarc", "qore", "--quiet", "--config", str(config),
                                      "--fault", "GET /api/v2/stats/ kind=forbidden times=1", "--rate-limit", "1/1m"])
    assert code == 0
    monarc, qore = TestClient(apps["monarc"]), TestClient(apps["qore"])
    qore_key = {"Authorization": "Bearer 1|qoreAliceDemoToken0000000000000000000000"}
    assert qore.get("/api/me", headers=qore_key).status_code == 503
    assert monarc.get("/api/v2/organizations/", headers=KEY).status_code == 500
    assert monarc.get("/api/v2/stats/", headers=KEY).status_code == 403
    assert monarc.get("/api/v2/stats/", headers=KEY).status_code == 429
    assert [r.get("operation") for r in qore.get("/__apitwin/faults").json()["faults"]] == ["get_me", None]
    assert "fault rule f1 on qore: operation=get_me kind=unavailable" in capsys.readouterr().err


def test_serve_refuses_a_rule_no_served_api_can_take(monkeypatch, capsys, tmp_path):
    code, apps = _serve(monkeypatch, ["serve", "monarc", "--fault", "GET /api/me status=503"])
    assert code == 2 and not apps
    assert "path /api/me: no route of this API" in capsys.readouterr().err
    code, _ = _serve(monkeypatch, ["serve", "monarc", "--latency", "fast"])
    assert code == 2
    assert "invalid duration 'fast'" in capsys.readouterr().err
    config = tmp_path / "apitwin.toml"
    config.write_text("faults = 3\n")
    code, _ = _serve(monkeypatch, ["serve", "monarc", "--config", str(config)])
    assert code == 2
    assert capsys.readouterr().err == "apitwin: config: faults is an array of tables ([[faults]])\n"


# -- the README's recipes, as written -----------------------------------------------------------
def _recipes() -> list[list[str]]:
    text = README.read_text()
    section = text[text.index("## Faults, latency and rate limits"):]
    section = section[:section.index("\n## ", 1)]
    return [block.strip().splitlines() for block in re.findall(r"```sh\n(.*?)```", section, re.DOTALL)]


def _recipe_apps(monkeypatch, lines) -> list[tuple[str, TestClient]]:
    """Each line of a recipe block as it would run: the serve command's apps, and a fresh
    twin of the port the curl line names after its POST."""
    serve_line, curl_line = lines
    argv = shlex.split(serve_line)
    assert argv[0] == ".venv/bin/apitwin"
    code, apps = _serve(monkeypatch, argv[1:] + ["--quiet"])
    assert code == 0
    served = [(name, TestClient(app)) for name, app in apps.items()]
    words = shlex.split(curl_line)
    url = urlsplit(words[-1])
    api = next(name for name in apps if definition(name).default_port == url.port)
    _, client = make_client(api)
    assert words[words.index("-X") + 1] == "POST"
    posted = client.post(url.path, content=words[words.index("-d") + 1],
                         headers={"Content-Type": "application/json"})
    assert posted.status_code == 201, posted.text
    return served + [(api, client)]


def test_recipe_slow_everything(monkeypatch):
    slow, _, _ = _recipes()
    for api, client in _recipe_apps(monkeypatch, slow):
        client.get("/__apitwin/openapi.json")  # not faulted: the admin API
        client.get("/no/such/path")
        entry = client.get("/__apitwin/requests", params={"limit": 1}).json()["requests"][0]
        assert entry["fault"]["actions"] == ["f1: latency 150 ms"], api
        assert entry["ms"] >= 150


def test_recipe_fail_the_next_login(monkeypatch):
    _, login, _ = _recipes()
    body = {"email": "demo@qoncrete.test", "password": "demo1234"}
    for api, client in _recipe_apps(monkeypatch, login):
        assert api == "qoncrete"
        refused = client.post("/v2/user/login", json=body)
        assert refused.status_code == 401
        assert refused.json()["code"] == 401 and refused.json()["text"]
        assert "token" in client.post("/v2/user/login", json=body).json()


def test_recipe_a_share_of_503_on_one_operation(monkeypatch):
    _, _, share = _recipes()
    outcomes = []
    for api, client in _recipe_apps(monkeypatch, share):
        assert api == "monarc"
        path = _stat_path(client)
        statuses = [client.get(path, headers=KEY).status_code for _ in range(50)]
        assert set(statuses) == {200, 503}
        assert 4 <= statuses.count(503) <= 18
        assert client.get("/api/v2/stats/", headers=KEY).status_code == 200  # other operations
        outcomes.append(statuses)
    assert outcomes[0] == outcomes[1]  # the same seed: the same calls fail


# -- ingest endpoints, as browser SDKs call them --------------------------------------------------
def test_a_rate_limited_ingest_answers_in_its_own_form_with_cors_headers():
    from qoncrete_helpers import SOURCE, WRITE

    _, qoncrete = make_client("qoncrete")
    add_rule(qoncrete, path="/{sourceId}", rate_limit="1/1m")
    origin = {"Origin": "http://localhost:3000"}

    def send():
        return qoncrete.get(f"/{SOURCE}", params={"token": WRITE, "body": '{"type": "x"}'}, headers=origin)

    assert send().status_code == 204
    refused = send()
    assert (refused.status_code, refused.json()) == (429, {"code": 429, "text": "too many requests"})
    assert refused.headers["access-control-allow-origin"] in ("*", "http://localhost:3000")

    _, datacortex = make_client("datacortex")
    add_rule(datacortex, path="/acme/1/track", kind="unavailable")
    down = datacortex.post("/acme/1/track", content=b"{}", headers={"Content-Type": "text/plain", **origin})
    assert (down.status_code, down.text) == (503, "Service unavailable")
    assert down.headers["content-type"].startswith("text/plain")
    assert down.headers["access-control-allow-origin"] in ("*", "http://localhost:3000")
