"""Every documented-behaviour rule of every profile is narrow: its answer, planted where a valid
request succeeds, fails the run (exit 1) instead of being accepted."""
from __future__ import annotations

import pytest

from apitwin.conformance import profiles
from apitwin.server.core.app import create

from conformance_helpers import failures_section, kit, plant_answer, serving

RULES = [(api, rule) for api in profiles.names() for rule in profiles.get(api).documented]
# A rule for a refused valid request has an answer to plant; one for an accepted invalid
# request (a 2xx the contract does not foresee) has none: a valid request gets a 2xx anyway.
REFUSALS = [(api, rule) for api, rule in RULES if rule.check == "positive_data_acceptance"]


def test_every_rule_is_narrow_and_has_a_planted_answer():
    for api, rule in RULES:
        assert rule.operations and "*" not in rule.operations, (api, rule.name)
        assert (rule.planted is not None) == (rule.check == "positive_data_acceptance"), (api, rule.name)
        assert rule.reason and rule.check, (api, rule.name)
    names = [(api, rule.name) for api, rule in RULES]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("api, rule", REFUSALS, ids=[f"{api}-{rule.name}" for api, rule in REFUSALS])
def test_planted_answer_of_a_rule_fails_the_run(capsys, api, rule):
    _, app = create(api)
    status, body = rule.planted
    # Every answer of the rule's operations: some never succeed on a deployment the run does
    # not own (Data Cortex's track of an organization the run cannot have).
    planted = plant_answer(app, api, rule.operations, status, body, every=True)
    ops = [arg for op in rule.operations for arg in ("--operation", op)]
    with serving(planted) as url:
        code, out, _ = kit(capsys, api, url, *ops, "--max-examples", "3", "--stateful-steps", "2")
    assert code == 1, out[-3000:]
    failures = failures_section(out)
    assert "schema-valid request rejected" in failures.lower(), failures[:3000]
