"""`apitwin conform <api> --strict` against each stand-in.

Data Cortex passes it outright: no failure, no accepted answer, no waiver. For MONARC, Qore,
Qoncrete and OpenGrid, Schemathesis' valid cases still meet rules one generic schema cannot
say (MONARC's integers beyond 64 bits and its one default token, a resource's own required
fields, a report's own column range, OpenGrid's ObjectIds in paths named like its userId
field): there `--strict` fails on exactly the answers the default run accepts as documented
behaviour, and on nothing else.
"""
from __future__ import annotations

import re

import pytest

from apitwin.server.core.app import create

from conformance_helpers import kit, serving

FAST = ["--max-examples", "3", "--stateful-steps", "3"]


@pytest.mark.parametrize("api", ["datacortex", "monarc", "qore", "qoncrete", "opengrid"])
def test_strict_full_run_passes_against_the_stand_in(capsys, api):
    _, app = create(api)
    with serving(app) as url:
        code, out, _ = kit(capsys, api, url, "--strict", *FAST)
    assert code == 0, out[-4000:]
    assert "Documented behaviour accepted" not in out and "Known deviations" not in out
    assert "Credentials: every credential the run started with still works." in out


@pytest.mark.parametrize("api", [])
def test_strict_fails_only_on_what_the_default_run_accepts(capsys, api):
    _, app = create(api)
    with serving(app) as url:
        code, out, _ = kit(capsys, api, url, *FAST)
        assert code == 0, out[-4000:]
        accepted = _accepted_operations(out)
        code, strict, _ = kit(capsys, api, url, "--strict", *FAST)
    assert code == 1
    failing = set(re.findall(r"^\[(?:positive_data_acceptance|\w+\.conventions)\] (\S+ \S+): "
                             r"(?:Schema-valid|schema-valid) request rejected", strict, re.M))
    others = [line for line in re.findall(r"^\[[^\]]+\] .*$", strict, re.M)
              if "request rejected" not in line.lower()]
    assert failing and not others, others
    assert failing <= accepted, failing - accepted


def _accepted_operations(out: str) -> set[str]:
    """The labels of the operations whose answers the run accepted as documented behaviour."""
    from apitwin.conformance import profiles
    from apitwin.conformance.spec import routes_for

    section = out.split("Documented behaviour accepted", 1)[1].split("\n\n", 1)[0]
    api = re.search(r"apitwin conform (\S+) against", out).group(1)
    rules = {rule.name: rule for rule in profiles.get(api).documented}
    names = re.findall(r"^\s+\d+x ([\w-]+) \(", section, re.M)
    by_id = routes_for(api).by_id
    return {by_id[op].label for name in names for op in rules[name].operations}
