"""`apitwin serve` mistakes: one line on stderr, exit 2, nothing printed or started first;
and the settings every API declares (type, default, help), listed and case-insensitive."""
from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from apitwin import __version__
from apitwin.server.core.api import available
from apitwin.server.core.cli import main
from apitwin.server.core.health import main as health
from conformance_helpers import free_port

APITWIN = Path(sys.executable).with_name("apitwin")


def run(capsys, *argv) -> tuple[int, str, str]:
    """`apitwin <argv>` in-process: exit status, stdout, stderr."""
    try:
        code = main(list(argv))
    except SystemExit as exc:  # argparse's own exits (--help, --version, its errors)
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def refused(capsys, *argv) -> str:
    """The one line `apitwin <argv>` answers with exit 2, nothing on stdout."""
    code, out, err = run(capsys, *argv)
    assert (code, out) == (2, ""), (code, out, err)
    assert err.count("\n") == 1 and err.startswith("apitwin"), err
    return err.strip()


def test_a_port_in_use_names_the_api_and_the_port(capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert refused(capsys, "serve", "monarc", "--port", str(port)) == (
            f"apitwin: port {port} of monarc is already in use on 127.0.0.1 "
            "(another program, or another API given the same port)")


def test_two_apis_given_the_same_port_in_the_config(capsys, tmp_path):
    port = free_port()
    config = tmp_path / "apitwin.toml"
    config.write_text(f"[monarc]\nport = {port}\n[qore]\nport = {port}\n")
    assert refused(capsys, "serve", "monarc", "qore", "--config", str(config)).startswith(
        f"apitwin: port {port} of qore is already in use on 127.0.0.1")


@pytest.mark.parametrize("port, message", [
    ("99999", "99999 is out of range (1-65535)"),
    ("0", "0 is out of range (1-65535)"),
    ("http", "'http' is not a port number"),
])
def test_a_port_out_of_range(capsys, port, message):
    assert refused(capsys, "serve", "monarc", "--port", port) == (
        f"apitwin serve: argument --port: {message} (see apitwin serve --help)")


def test_an_unreadable_config(capsys, tmp_path):
    missing = tmp_path / "nope.toml"
    assert refused(capsys, "serve", "--config", str(missing)) == (
        f"apitwin: cannot read config {missing}: No such file or directory")
    assert refused(capsys, "serve", "--config", str(tmp_path)) == (
        f"apitwin: cannot read config {tmp_path}: Is a directory")


@pytest.mark.parametrize("text, message", [
    ("[monarc\n", "invalid config {path}: Expected ']' at the end of a table declaration (at line 1, column 8)"),
    (b"[monarc]\nport = \xff\n", "invalid config {path}: "),
    ("monarc = 3\n", "config {path}: monarc must be a table ([monarc]) of settings and port"),
    ("[nosuch]\n", "config {path}: unknown API [nosuch] (available: "),
    ("[monarc]\nport = 70000\n", "config {path}: monarc.port must be a port number (1-65535), got 70000"),
    ("[monarc]\nport = \"5000\"\n", "config {path}: monarc.port must be a port number (1-65535), got '5000'"),
    ("[monarc]\nnosuch = 1\n", "config {path}: unknown setting monarc.nosuch (settings of monarc: "
                               "api_key_authentication, cors; see apitwin settings monarc)"),
    ("[monarc]\napi_key_authentication = \"maybe\"\n",
     "config {path}: bad value for monarc.api_key_authentication: it takes true or false, got 'maybe'"),
    ("[datacortex]\nverify_hours = true\n",
     "config {path}: bad value for datacortex.verify_hours: it takes a number, got True"),
])
def test_an_invalid_config(capsys, tmp_path, text, message):
    config = tmp_path / "apitwin.toml"
    config.write_bytes(text if isinstance(text, bytes) else text.encode())
    assert refused(capsys, "serve", "--config", str(config)).startswith("apitwin: " + message.format(path=config))


def test_a_config_mistake_is_found_in_the_table_of_an_api_not_served(capsys, tmp_path):
    config = tmp_path / "apitwin.toml"
    config.write_text("[qore]\ncors = 3\n")
    assert refused(capsys, "serve", "monarc", "--config", str(config)) == (
        f"apitwin: config {config}: bad value for qore.cors: it takes true or false, got 3")


def test_an_unknown_api(capsys):
    assert refused(capsys, "serve", "monarc", "nosuch") == (
        f"apitwin: unknown API nosuch (available: {', '.join(available())})")
    assert refused(capsys, "settings", "nosuch").startswith("apitwin: unknown API nosuch")


@pytest.mark.parametrize("item, message", [
    ("monarc.nosuch=1", "--set: unknown setting monarc.nosuch (settings of monarc: api_key_authentication, cors; "
                        "see apitwin settings monarc)"),
    ("monarc.api_key_authentication", "--set takes API.SETTING=VALUE, got 'monarc.api_key_authentication'"),
    ("qore.cors=true", "--set qore.cors: qore is not served here (serving monarc)"),
])
def test_an_unknown_setting(capsys, item, message):
    assert refused(capsys, "serve", "monarc", "--set", item) == "apitwin: " + message


@pytest.mark.parametrize("item, message", [
    ("datacortex.verify_hours=abc", "bad value for datacortex.verify_hours: it takes a number, got 'abc'"),
    ("datacortex.verify_hours=inf", "bad value for datacortex.verify_hours: it takes a number, got 'inf'"),
    ("datacortex.auto_verify=maybe", "bad value for datacortex.auto_verify: it takes true or false, got 'maybe'"),
])
def test_a_bad_setting_value(capsys, item, message):
    assert refused(capsys, "serve", "datacortex", "--set", item) == "apitwin: --set: " + message


def test_the_cli_mistake_is_one_line_without_a_traceback_from_the_real_command():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        r = subprocess.run([str(APITWIN), "serve", "qore", "--port", str(port)],
                           capture_output=True, text=True, timeout=60)
    assert (r.returncode, r.stdout) == (2, "")
    assert r.stderr == f"apitwin: port {port} of qore is already in use on 127.0.0.1 " \
                       "(another program, or another API given the same port)\n"


def test_setting_names_are_case_insensitive_as_in_the_readme(tmp_path):
    from apitwin.server.core.config import set_items, settings_for

    sets = set_items(["monarc.API_KEY_AUTHENTICATION=False", "Datacortex.Verify_Hours=2"], ["monarc", "datacortex"])
    settings = settings_for(["monarc", "datacortex"], [("--set", sets)])
    assert settings == {"monarc": {"api_key_authentication": False}, "datacortex": {"verify_hours": 2.0}}


def test_settings_lists_each_setting_with_its_type_default_and_help(capsys):
    code, out, _ = run(capsys, "settings", "monarc", "datacortex")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split(None, 4) == ["monarc.api_key_authentication", "bool", "default", "true",
                                       "ask every stats call for an organization's X-API-KEY (the service's "
                                       "API_KEY_AUTHENTICATION; the organization routes never ask)"]
    assert any(line.split()[:4] == ["datacortex.verify_hours", "float", "default", "24.0"] for line in lines)
    assert any(line.split()[:4] == ["datacortex.cors", "bool", "default", "false"] for line in lines)


def test_serve_help_lists_the_settings_and_version_is_the_package_version(capsys):
    code, out, _ = run(capsys, "serve", "--help")
    assert code == 0 and "opengrid.regex_budget_seconds" in out and "monarc.api_key_authentication" in out
    assert run(capsys, "--version")[:2] == (0, f"apitwin {__version__}\n")


def test_the_readme_setting_works_on_all_interfaces_as_the_image_serves():
    port = free_port()
    proc = subprocess.Popen([str(APITWIN), "serve", "monarc", "--host", "0.0.0.0", "--port", str(port),
                             "--set", "monarc.API_KEY_AUTHENTICATION=False", "--quiet", "--admin-token", "s3cret"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/api/v2/stats/?_limit=1")  # no X-API-KEY
                break
            except httpx.TransportError:
                assert proc.poll() is None and time.monotonic() < deadline, proc.communicate(timeout=30)
                time.sleep(0.1)
        assert answer.status_code == 200 and len(answer.json()["data"]) == 1
        admin = f"http://127.0.0.1:{port}/__apitwin/state"
        assert httpx.get(admin).status_code == 401
        assert httpx.get(admin, headers={"Authorization": "Bearer s3cret"}).status_code == 200
        assert health([str(port)]) == 0  # the container's health check needs no token
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert f"http://0.0.0.0:{port}/__apitwin/ui/" in out
