"""Fault rules given at start-up: `apitwin serve --latency/--fault/--rate-limit` and the
config file's `[[faults]]` tables. `/__apitwin/reset` brings them back."""
from __future__ import annotations

from .rules import cli_rule

CONFIG_KEY = "faults"  # the config file's array of rule tables


def startup_rules(latency: str | None, faults: list[str] | None, rate_limit: str | None,
                  config: dict | None) -> list[dict]:
    """The rules, as dicts, in the order they are tried: the config file's, then the options'."""
    tables = (config or {}).get(CONFIG_KEY, [])
    if not isinstance(tables, list) or not all(isinstance(table, dict) for table in tables):
        raise ValueError(f"config: {CONFIG_KEY} is an array of tables ([[{CONFIG_KEY}]])")
    specs = [dict(table) for table in tables]
    specs.extend(cli_rule(text) for text in faults or [])
    if latency:
        specs.append({"latency": latency})
    if rate_limit:
        specs.append({"rate_limit": rate_limit})
    return specs


def install(twins: dict, specs: list[dict]) -> None:
    """Adds each rule to the twins it fits: the one its `api` names, else every served API
    whose routes it names (all of them for a rule without path or operation)."""
    for spec in specs:
        spec = dict(spec)
        api = spec.pop("api", None)
        if api is not None and api not in twins:
            raise ValueError(f"fault {spec}: api {api!r} is not served")
        errors = []
        for name, twin in twins.items():
            if api not in (None, name):
                continue
            try:
                twin.faults.add(spec, startup=True)
            except ValueError as exc:
                errors.append(f"{name}: {exc}")
        if errors and (api is not None or len(errors) == len(twins)):
            raise ValueError(f"fault {spec}: {'; '.join(errors)}")


def summary(twins: dict) -> list[str]:
    """One line per start-up rule, printed by `serve` so nobody takes injected faults for the API."""
    return [f"fault rule {rule['id']} on {name}: "
            + " ".join(f"{k}={v}" for k, v in rule.items() if k not in ("id", "seed", "applied"))
            for name, twin in twins.items() for rule in twin.faults.describe()]
