"""`apitwin conform <api> --strict` passes against each stand-in: no failure, no answer
accepted as documented behaviour, no waiver.

Schemathesis' valid cases still meet rules one generic schema cannot say (a resource's own
required fields, a report's own columns, MongoDB's storage limits inside a free-form object):
each profile's documented rules complete those cases before they are sent
(`Documented.complete`), so a stand-in that refused a completed case would fail here.
"""
from __future__ import annotations

import re

import pytest

from apitwin.conformance import profiles
from apitwin.server.core.app import create

from conformance_helpers import kit, serving

FAST = ["--max-examples", "3", "--stateful-steps", "3"]


@pytest.mark.parametrize("api", profiles.names())
def test_strict_full_run_passes_against_the_stand_in(capsys, api):
    _, app = create(api)
    with serving(app) as url:
        code, out, _ = kit(capsys, api, url, "--strict", *FAST)
    assert code == 0, out[-4000:]
    assert "Documented behaviour accepted" not in out and "Known deviations" not in out
    assert "Credentials: every credential the run started with still works." in out
    # What completed cases there were is said, one line per rule of this API.
    completed = out.split("Valid cases completed", 1)[1].split("\n\n", 1)[0] if "Valid cases completed" in out else ""
    rules = {rule.name for rule in profiles.get(api).documented}
    assert set(re.findall(r"^\s+\d+x ([\w-]+) \(", completed, re.M)) <= rules
