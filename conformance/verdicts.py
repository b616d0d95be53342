"""Judging one exchange (a request and its answer): reusable wherever answers are checked.

`judge(profile, exchange, ...)` gives the problems of one answer under the API's own rules
(its profile's conventions), with documented behaviour and known deviations applied the
same way for the kit's Schemathesis phases, its scenarios, and anything else that sees
traffic (e.g. a proxy).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .exchange import Exchange
    from .profiles import Deviation, Documented, Profile

# Statuses Schemathesis' positive_data_acceptance takes for valid input (its defaults).
POSITIVE_OK = {401, 403, 404, 409, 429}


@dataclass
class Judgement:
    problems: list[str] = field(default_factory=list)
    accepted: "Documented | None" = None  # the documented rule that explained a refusal
    waived: "Deviation | None" = None  # the known deviation the problems were waived as


def judge(profile: "Profile", exchange: "Exchange", *, valid_request: bool = False,
          strict: bool = False) -> Judgement:
    """The problems of one answer under the API's conventions.

    `valid_request`: the request was valid per the contract, so a 2xx that the API's
    convention reads as a refusal (e.g. OpenGrid's 200 with an error object) is a problem
    unless a documented rule explains it. With `strict`, documented rules and known
    deviations explain nothing.
    """
    result = Judgement(problems=list(profile.conventions(exchange)))
    status = exchange.status
    if valid_request and status is not None and 200 <= status < 300:
        refused_as = profile.rejected(exchange)
        if refused_as is not None and refused_as not in POSITIVE_OK:
            rule = None if strict else profile.accept("positive_data_acceptance", exchange)
            if rule is not None:
                result.accepted = rule
            else:
                result.problems.insert(0, f"schema-valid request rejected ({profile.rejection_text(exchange)})")
    if result.problems and not strict:
        deviation = waiver(profile, "api_conventions", exchange)
        if deviation is not None:
            result.waived, result.problems = deviation, []
    return result


def waiver(profile: "Profile", check: str, exchange: "Exchange") -> "Deviation | None":
    """The known deviation of the deployment that a failure of `check` is, if any."""
    return next((d for d in profile.deviations if d.check == check and d.operation == exchange.operation
                 and d.matches(check, exchange)), None)
