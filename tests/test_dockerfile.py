"""The container recipe, as far as it can be checked without Docker: what it copies,
exposes and runs, and its health check against a running stand-in."""
from __future__ import annotations

import re
import shlex
import tomllib
from pathlib import Path

from apitwin.server.core.api import available, definition
from apitwin.server.core.app import create
from apitwin.server.core.health import main as health
from conformance_helpers import free_port, serving

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = (ROOT / "Dockerfile").read_text()


def instruction(name: str) -> str:
    """The last `name` instruction's arguments, continuation lines joined."""
    joined = DOCKERFILE.replace("\\\n", " ")
    return re.findall(rf"^{name} (.*)$", joined, re.M)[-1]


def test_it_copies_every_folder_the_package_is_built_from():
    folders = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-dir"].values()
    sources = {source for line in re.findall(r"^COPY (?!--from)(.*)$", DOCKERFILE, re.M)
               for source in line.split()[:-1]}  # the last word is the destination
    assert {*folders, "pyproject.toml", "setup.py", "README.md", "constraints.txt"} <= sources


def test_it_exposes_every_api_default_port_and_checks_the_same_ports():
    exposed = {int(port) for port in instruction("EXPOSE").split()}
    assert {definition(name).default_port for name in available()} <= exposed
    probe = shlex.split(instruction("HEALTHCHECK").split("CMD", 1)[1].replace('"', "").replace(",", " ").strip("[] "))
    assert probe[:3] == ["python", "-m", "apitwin.server.core.health"]
    assert {int(port) for port in probe[3:]} == exposed


def test_it_runs_every_api_on_all_interfaces_as_a_user_without_privileges():
    assert instruction("CMD") == '["apitwin", "serve", "--host", "0.0.0.0"]'
    assert instruction("USER") == "apitwin"
    assert instruction("FROM").startswith("python:3.11-slim")


def test_the_health_check_passes_when_one_port_answers_and_fails_when_none_does():
    closed = free_port()
    assert health([str(closed)]) == 1
    _, app = create("qore")
    with serving(app) as url:
        assert health([str(closed), url.rsplit(":", 1)[1]]) == 0
