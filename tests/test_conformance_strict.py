"""`apitwin conform <api> --strict` against each stand-in: no failure, no accepted answer, no waiver."""
from __future__ import annotations

import pytest

from apitwin.conformance import profiles
from apitwin.server.core.app import create

from conformance_helpers import kit, serving


@pytest.mark.parametrize("api", profiles.names())
def test_strict_full_run_passes_against_the_stand_in(capsys, api):
    _, app = create(api)
    with serving(app) as url:
        code, out, _ = kit(capsys, api, url, "--strict", "--max-examples", "3", "--stateful-steps", "3")
    assert code == 0, out[-4000:]
    assert "Documented behaviour accepted" not in out and "Known deviations" not in out
    assert "Credentials: every credential the run started with still works." in out
