"""The pytest plugin, used as another project would: test files run by pytester, the plugin
loaded through its `pytest11` entry point (as installed, not imported by these tests)."""
from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

from apitwin.server.core.api import available, definition

pytest_plugins = ["pytester"]

# pytester's in-process runs forget the modules they imported; imported again later, they
# are other modules (httpx, which imports httpcore late, then no longer maps its errors) or
# cannot load twice (numpy, under OpenGrid's shapely). So what the runs use is imported here.
for _name in available():
    importlib.import_module(definition(_name).handlers)
for _module in ("apitwin.server.core.app", "apitwin.server.core.serve", "httpx", "httpcore", "starlette.testclient"):
    importlib.import_module(_module)

README = Path(__file__).resolve().parent.parent / "README.md"


def readme_example() -> str:
    """The plugin's example in the README, as written there."""
    section = README.read_text(encoding="utf-8").split("## Testing your app against a stand-in", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_the_readme_example_passes_as_written(pytester):
    pytester.makepyfile(test_readme=readme_example())
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")  # a pytest of its own
    result.assert_outcomes(passed=len(re.findall(r"^def test_", readme_example(), re.M)))


def test_a_served_stand_in_answers_on_its_url_and_the_asgi_client_needs_no_port(pytester):
    pytester.makepyfile("""
        import httpx
        import pytest

        @pytest.mark.apitwin("qore")
        def test_served(apitwin, apitwin_url):
            assert apitwin_url == apitwin.url and apitwin_url.startswith("http://127.0.0.1:")
            me = httpx.get(f"{apitwin_url}/api/me", headers={"Authorization": "Bearer " + apitwin.credentials["token"]})
            assert me.status_code == 200 and me.json()["email"] == apitwin.credentials["email"]

        @pytest.mark.apitwin("qore")
        def test_without_a_port(apitwin_client, apitwin):
            other = {"Authorization": "Bearer " + apitwin.credentials["other_token"]}
            assert apitwin_client.get("/api/me", headers=other).json()["email"] == "bob@acme.test"
            assert any("alice@qlic.nl" in line for line in apitwin.accounts)
    """)
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=2)


def test_state_is_shared_unless_a_test_asks_for_a_reset(pytester):
    pytester.makepyfile("""
        import pytest

        pytestmark = pytest.mark.apitwin("monarc")
        STAT = {"anr": "5e6f33d1-99b1-4244-a573-942498a4a201", "type": "risk", "day": 1, "week": 1,
                "month": 1, "quarter": 1, "year": 2020, "data": {}}
        created = []

        def status(apitwin_client, apitwin):
            key = {"X-API-KEY": apitwin.credentials["api_key"]}
            return apitwin_client.get(f"/api/v2/stats/{created[0]}/", headers=key).status_code

        def test_create(apitwin_client, apitwin):
            key = {"X-API-KEY": apitwin.credentials["api_key"]}
            created.append(apitwin_client.post("/api/v2/stats/", json=STAT, headers=key).json()["id"])
            assert status(apitwin_client, apitwin) == 200

        def test_shared(apitwin_client, apitwin):
            assert status(apitwin_client, apitwin) == 200

        @pytest.mark.apitwin("monarc", reset=True)
        def test_reset_by_marker(apitwin_client, apitwin):
            assert status(apitwin_client, apitwin) == 404
    """)
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=3)


def test_settings_by_marker_and_the_clock(pytester):
    pytester.makepyfile("""
        from datetime import datetime, timedelta, timezone
        import pytest

        @pytest.mark.apitwin("monarc", settings={"API_KEY_AUTHENTICATION": False})
        def test_no_keys(apitwin_client):
            assert apitwin_client.get("/api/v2/stats/?_limit=1").status_code == 200

        @pytest.mark.apitwin("monarc")
        def test_keys_elsewhere(apitwin_client):
            assert apitwin_client.get("/api/v2/stats/?_limit=1").status_code == 401

        @pytest.mark.apitwin("datacortex", reset=True)
        def test_clock(apitwin, apitwin_client):
            start = apitwin.freeze_clock("2030-01-01T00:00:00Z")
            assert apitwin.advance_clock("5h") == start + timedelta(hours=5)
            assert apitwin.advance_clock(timedelta(days=1)) == datetime(2030, 1, 2, 5, tzinfo=timezone.utc)
            assert apitwin_client.get("/__apitwin/clock").json() == {"now": "2030-01-02T05:00:00+00:00", "frozen": True}
            apitwin.reset()
            assert apitwin_client.get("/__apitwin/clock").json()["frozen"] is False
    """)
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=3)


def test_the_api_from_the_command_line_or_the_ini_file(pytester):
    pytester.makepyfile("""
        def test_default_api(apitwin):
            assert apitwin.api == "opengrid" and apitwin.credentials == {"username": "admin", "password": "admin"}
    """)
    pytester.runpytest("-p", "no:cacheprovider", "--apitwin-api", "opengrid").assert_outcomes(passed=1)
    pytester.makeini("[pytest]\napitwin_api = opengrid\n")
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)


@pytest.mark.parametrize("marker, message", [
    ("", "apitwin: which API? Mark the test @pytest.mark.apitwin(\"monarc\"), or pass --apitwin-api monarc"),
    ("@pytest.mark.apitwin('nosuch')", "apitwin: unknown API 'nosuch' (available: "),
    ("@pytest.mark.apitwin('monarc', settings={'nosuch': 1})", "apitwin: unknown setting monarc.nosuch"),
    ("@pytest.mark.apitwin('datacortex', settings={'verify_hours': 'abc'})",
     "apitwin: bad value for datacortex.verify_hours: it takes a number, got 'abc'"),
    ("@pytest.mark.apitwin('monarc', reste=True)", "apitwin: the marker takes reset= and settings=, not reste"),
])
def test_a_mistake_fails_the_test_with_one_line(pytester, marker, message):
    pytester.makepyfile(f"""
        import pytest

        {marker}
        def test_it(apitwin):
            pass
    """)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([f"*{message}*"])
    assert "Traceback" not in result.stdout.str()


def test_the_marker_and_option_are_documented(pytester):
    result = pytester.runpytest("--markers")
    result.stdout.fnmatch_lines(["@pytest.mark.apitwin(api, reset=False, settings=None):*"])
    result = pytester.runpytest("--help")
    result.stdout.fnmatch_lines(["*--apitwin-api=API*"])
