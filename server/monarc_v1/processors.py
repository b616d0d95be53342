"""The four processors of `GET stats/processed/`, computing what the real ones compute.

Each takes the matching stats (dicts with `date` and `data`, in insertion order) and the
processor's params. Stored data a processor cannot read raises ProcessingError (the real
service crashes with a 500 there). The descriptions are the real functions' docstrings, as
`stats/processed/list` shows them (indentation kept, as Python 3.10 keeps it).
"""
from __future__ import annotations

STATES = ("current", "residual")
KINDS = ("informational", "operational")
LEVELS = ("Low risks", "Medium risks", "High risks")


class ProcessingError(Exception):
    pass


class _Mean:
    """The real `mean_gen`: the running mean of the values sent (sum / count)."""

    def __init__(self) -> None:
        self.total = None
        self.count = 0

    def send(self, value):
        self.total = value if self.count == 0 else self.total + value
        self.count += 1
        return self.total / float(self.count)


def _grid(make):
    return {state: {kind: {level: make() for level in LEVELS} for kind in KINDS} for state in STATES}


def risk_averages(stats: list[dict], params=None) -> dict:
    result = _grid(lambda: 0)
    means = _grid(_Mean)
    for stat in stats:
        for state, risk in stat["data"]["risks"].items():
            for kind in KINDS:
                for level in risk[kind]:
                    result[state][kind][level["level"]] = means[state][kind][level["level"]].send(level["value"])
    return result


def risk_averages_on_date(stats: list[dict], params=None) -> dict:
    params = dict(params or {})
    # Substring (or list membership) tests, as the real processor makes them.
    if not params.get("risks_type", ""):
        params["risks_type"] = "informational,operational"
    if not params.get("risks_state", ""):
        params["risks_state"] = "current,residual"
    kinds, states = params["risks_type"], params["risks_state"]
    result = _grid(dict)
    means = _grid(dict)
    for stat in stats:
        day = stat["date"].isoformat()
        for state, risk in stat["data"]["risks"].items():
            if state not in states:
                continue
            for kind in KINDS:
                if kind not in kinds:
                    continue
                for level in risk[kind]:
                    per_day = means[state][kind][level["level"]]
                    if day not in per_day:
                        per_day[day] = _Mean()
                    result[state][kind][level["level"]][day] = per_day[day].send(level["value"])
    for state in result.values():
        for kind in state.values():
            for level, values in kind.items():
                kind[level] = sorted(({"date": d, "value": v} for d, v in values.items()), key=lambda i: i["date"])
    # The real pruning: one `elif` chain per state, so at most one kind goes.
    for state in STATES:
        if state not in states:
            result.pop(state)
        elif "informational" not in kinds:
            result[state].pop("informational")
        elif "operational" not in kinds:
            result[state].pop("operational")
    return result


def threat_average_on_date(stats: list[dict], params=None) -> list:
    """Despite its name, each value is the last one seen (for an object and a date), and
    `averages` the last one seen for the object: the real one restarts its running mean
    on every value."""
    result, per_day, last = [], {}, {}
    for stat in stats:
        day = stat["date"].isoformat()
        for elem in stat["data"]:
            key = str(elem["uuid"])
            if key not in per_day:
                result.append({
                    "object": key,
                    "labels": {f"label{i}": elem.get(f"label{i}", "") for i in range(1, 5)},
                    "values": [],
                    "averages": {},
                })
                per_day[key] = {}
            values = {name: float(elem[name]) for name in ("count", "maxRisk", "averageRate")}
            per_day[key][day] = values
            last[key] = values
    for elem in result:
        elem["values"] = [{**values, "date": day} for day, values in per_day[elem["object"]].items()]
        elem["averages"] = dict(last[elem["object"]])
    return result


def vulnerability_average_on_date(stats: list[dict], params=None) -> list:
    return threat_average_on_date(stats)


PROCESSORS = {
    "risk_averages": (risk_averages, "Evaluates the averages for the risks. Averages are evaluated per categories\n"
                      "    (current/residual, informational/operational, low/medium/high)."),
    "risk_averages_on_date": (risk_averages_on_date, (
        "Evaluates the averages for the risks per date. Averages are evaluated per categories\n"
        "    (current/residual, informational/operational, low/medium/high).\n"
        "    Supported parameters:\n"
        "    - risks_type: informational or operational\n"
        "    - risks_state: current or residual.")),
    "threat_average_on_date": (threat_average_on_date, None),
    "vulnerability_average_on_date": (vulnerability_average_on_date, (
        "Aggregation and average of vulnerabilities per date for each vulnerability\n"
        "    (accross all risk analysis).\n    ")),
}


def run(name: str, stats: list[dict], params: dict) -> object:
    try:
        return PROCESSORS[name][0](stats, params)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError, ZeroDivisionError) as exc:
        raise ProcessingError(f"{type(exc).__name__}: {exc}") from None
