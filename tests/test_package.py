"""The package as a user installs it: a wheel built from the checkout, installed with its
pinned dependencies into a new virtual environment, run from another directory.

Slow (marked `slow`): building the wheel and installing it with every dependency takes a
minute or two (more on a busy machine; pip's cache keeps it from downloading anything).
"""
from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import httpx
import pytest

from apitwin import __version__
from apitwin.server.core.api import available, definition
from conformance_helpers import free_port
from test_pytest_plugin import readme_example

ROOT = Path(__file__).resolve().parent.parent
# What the checkout holds that is not the package's source (nor anything pip may leave).
NOT_SOURCE = shutil.ignore_patterns(".git", ".venv", "build", "*.egg-info", "__pycache__", ".pytest_cache",
                                    ".hypothesis", "reports", "node_modules", ".prism", ".schemathesis", "results")

pytestmark = pytest.mark.slow


def _run(*argv, cwd=None, timeout=600) -> str:
    done = subprocess.run([str(a) for a in argv], cwd=cwd, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{argv}: {done.stdout[-2000:]}{done.stderr[-3000:]}"
    return done.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel, built from a copy of the checkout (so the build leaves nothing in it)."""
    tmp = tmp_path_factory.mktemp("wheel")
    shutil.copytree(ROOT, tmp / "source", ignore=NOT_SOURCE)
    _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", tmp / "dist", tmp / "source")
    built, = (tmp / "dist").glob("apitwin-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Path:
    """The bin/ folder of a new virtual environment holding only the wheel and its pins."""
    tmp = tmp_path_factory.mktemp("package")
    _run(sys.executable, "-m", "venv", tmp / "venv")
    bin_dir = tmp / "venv" / "bin"
    # pytest too, for the plugin's example (not the whole test extra: the browser driver).
    _run(bin_dir / "python", "-m", "pip", "install", "--quiet", "-c", ROOT / "constraints.txt", wheel, "pytest")
    return bin_dir


def test_the_wheel_holds_every_module_contract_and_fixture_of_the_checkout(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {f"apitwin/{path.relative_to(ROOT).as_posix()}"
                for pattern in ("server/**/*.py", "server/**/*.yaml", "server/**/*.json", "server/**/*.html",
                                "conformance/**/*.py", "openapi/*.yaml",
                                "fixtures/*/*.json", "apitwin/*.py")
                for path in ROOT.glob(pattern) if "__pycache__" not in path.parts}
    expected = {name.replace("apitwin/apitwin/", "apitwin/") for name in expected}
    assert expected - names == set()


def _wait_for(url: str, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(url)
            return
        except httpx.TransportError:
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the installed apitwin did not start"
            time.sleep(0.2)


def test_the_installed_command_serves_every_api_from_another_directory(installed, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    assert _run(installed / "apitwin", "--version", cwd=elsewhere) == f"apitwin {__version__}\n"
    ports = {name: free_port() for name in available()}
    (elsewhere / "apitwin.toml").write_text("".join(f"[{name}]\nport = {port}\n" for name, port in ports.items()))
    proc = subprocess.Popen([installed / "apitwin", "serve", "--config", "apitwin.toml", "--quiet"],
                            cwd=elsewhere, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for name, port in ports.items():
            base = f"http://127.0.0.1:{port}"
            _wait_for(f"{base}/__apitwin/state", proc)
            state = httpx.get(f"{base}/__apitwin/state").json()
            assert state["api"] == name and any(state["collections"].values()), name  # fixtures loaded
            spec = httpx.get(f"{base}/__apitwin/openapi.json").json()
            assert spec["info"]["title"] == definition(name).load_spec()["info"]["title"]
        key = {"X-API-KEY": definition("monarc").credentials()["api_key"]}
        stats = httpx.get(f"http://127.0.0.1:{ports['monarc']}/api/v2/stats/?_limit=2", headers=key)
        assert stats.status_code == 200 and len(stats.json()["data"]) == 2
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert all(f"http://127.0.0.1:{port}/__apitwin/ui/" in out for port in ports.values())


def test_the_installed_pytest_plugin_runs_the_readme_example(installed, tmp_path):
    (tmp_path / "test_readme.py").write_text(readme_example())
    out = _run(installed / "python", "-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=tmp_path)
    assert "1 passed" in out
