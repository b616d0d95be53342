"""What a run found: counts per operation, failures with their curl line, the reports."""
from __future__ import annotations

import html
import math
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree as ET

RUN = "(run)"


@dataclass
class Failure:
    check: str  # the check's name: a Schemathesis check, "<api>.conventions", "scenario:<name>"
    operation: str  # "GET /path/" or RUN
    title: str
    message: str = ""
    curl: str | None = None
    count: int = 1

    @property
    def key(self) -> tuple:
        """Failures that say the same thing of the same operation count as one (seen N times)."""
        lines = self.message.strip().splitlines()
        gist = [lines[0]] if lines else []
        gist += [line for line in lines if line.startswith(("Invalid component", "Received:"))]
        return (self.check, self.operation, self.title, tuple(gist))

    def text(self) -> str:
        lines = [f"[{self.check}] {self.operation}: {self.title}"]
        if self.message:
            lines += ["    " + line for line in self.message.strip().splitlines()]
        if self.count > 1:
            lines.append(f"    (seen {self.count} times)")
        if self.curl:
            lines.append("    reproduce: " + self.curl)
        return "\n".join(lines)


@dataclass
class OperationStats:
    label: str
    cases: int = 0
    checks: int = 0
    failed: int = 0

    @property
    def score(self) -> float | None:
        return None if not self.checks else 100.0 * (self.checks - self.failed) / self.checks


@dataclass
class ScenarioResult:
    name: str
    description: str
    status: str = "passed"  # passed | failed | skipped
    checks: int = 0
    failed: int = 0
    reason: str = ""


@dataclass
class Results:
    api: str
    base_url: str
    seed: int | None = None
    read_only: bool = False
    started: float = field(default_factory=time.time)
    finished: float | None = None
    operations: dict[str, OperationStats] = field(default_factory=dict)
    failures: dict[tuple, Failure] = field(default_factory=dict)
    scenarios: list[ScenarioResult] = field(default_factory=list)
    accepted: Counter = field(default_factory=Counter)  # documented-behaviour line -> count
    waived: Counter = field(default_factory=Counter)  # known-deviation line -> count
    artefacts: Counter = field(default_factory=Counter)  # tool-artefact line -> count
    completed: Counter = field(default_factory=Counter)  # documented rule's line -> valid cases completed
    stand_in_only: list[str] = field(default_factory=list)  # operations only the stand-in has
    stand_in_only_tested: bool = False  # the deployment is apitwin's stand-in: they were tested
    leftovers: list[str] = field(default_factory=list)  # created objects the run could not delete
    created: list[str] = field(default_factory=list)  # what the run created
    cleaned: int = 0
    credentials: str = ""  # whether the starting credentials still work at the end
    notes: list[str] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)  # status of every authenticated answer
    answers: Counter = field(default_factory=Counter)  # status of every answer

    # -- the three lists (and documented behaviour) ------------------------------------
    def accept(self, rule, exchange) -> None:
        ops = ", ".join(rule.operations)
        self.accepted[f"{rule.name} ({ops}, {rule.status}): {rule.reason}"] += 1

    def complete(self, rule) -> None:
        self.completed[f"{rule.name} ({', '.join(rule.operations)}): {rule.reason}"] += 1

    def waive(self, deviation, exchange) -> None:
        self.waived[f"{deviation.operation}: {deviation.why}"] += 1

    def artefact(self, artefact, exchange) -> None:
        self.artefacts[f"{artefact.name} ({exchange.label}): {artefact.why}"] += 1

    # -- recording ---------------------------------------------------------------------
    def operation(self, label: str | None) -> OperationStats:
        label = label or RUN
        if label not in self.operations:
            self.operations[label] = OperationStats(label)
        return self.operations[label]

    def case(self, label: str | None) -> None:
        self.operation(label).cases += 1

    def check(self, label: str | None, ok: bool, failure: Failure | None = None) -> None:
        stats = self.operation(label)
        stats.checks += 1
        if not ok:
            stats.failed += 1
            if failure is not None:
                self.fail(failure)

    def fail(self, failure: Failure) -> None:
        known = self.failures.get(failure.key)
        if known is None:
            self.failures[failure.key] = failure
        else:
            known.count += 1
            known.curl = known.curl or failure.curl

    # -- verdict -----------------------------------------------------------------------
    @property
    def passed(self) -> bool:
        return not self.failures

    @property
    def total_checks(self) -> int:
        return sum(op.checks for op in self.operations.values())

    @property
    def total_failed(self) -> int:
        return sum(op.failed for op in self.operations.values())

    @property
    def score(self) -> float | None:
        total = self.total_checks
        return None if not total else 100.0 * (total - self.total_failed) / total

    def failures_of(self, label: str) -> list[Failure]:
        return [f for f in self.failures.values() if f.operation == label]

    def failures_of_scenario(self, name: str) -> list[Failure]:
        return [f for f in self.failures.values() if f.check == f"scenario:{name}"]

    # -- text --------------------------------------------------------------------------
    def table(self) -> str:
        rows = [("operation", "cases", "checks", "failed", "score")]
        for label in sorted(self.operations, key=lambda l: (l == RUN, _path_key(l))):
            op = self.operations[label]
            rows.append((label, str(op.cases), str(op.checks), str(op.failed), _pct(op.score)))
        rows.append(("overall", str(sum(o.cases for o in self.operations.values())),
                     str(self.total_checks), str(self.total_failed), _pct(self.score)))
        widths = [max(len(r[i]) for r in rows) for i in range(5)]
        lines = []
        for n, row in enumerate(rows):
            cells = [row[0].ljust(widths[0])] + [row[i].rjust(widths[i]) for i in range(1, 5)]
            lines.append("  ".join(cells))
            if n == 0 or n == len(rows) - 2:
                lines.append("  ".join("-" * w for w in widths))
        return "\n".join(lines)

    def scenario_table(self) -> str:
        if not self.scenarios:
            return ""
        width = max(len(s.name) for s in self.scenarios)
        lines = []
        for s in self.scenarios:
            extra = f"  ({s.reason})" if s.reason else ""
            lines.append(f"{s.name.ljust(width)}  {s.status:<7}  {s.checks - s.failed}/{s.checks} checks{extra}")
        return "\n".join(lines)

    def render_text(self) -> str:
        out = [f"apitwin conform {self.api} against {self.base_url}"
               + (" (read-only)" if self.read_only else "") + (f", seed {self.seed}" if self.seed is not None else ""),
               "", self.table()]
        scenario_table = self.scenario_table()
        if scenario_table:
            out += ["", "Scenarios:", scenario_table]
        for title, counter in self._lists():
            out += ["", title]
            out += [f"  {n}x {_line(key)}" for key, n in sorted(counter.items())]
        if self.stand_in_only:
            out += ["", "Operations only in apitwin's stand-in (" + (
                "tested: the deployment is the stand-in):" if self.stand_in_only_tested
                else "not in the real service; skipped against this deployment):")]
            out += [f"  {label}" for label in self.stand_in_only]
        out += ["", self.writes_summary()]
        if self.leftovers:
            shown = self.leftovers[:10]
            out += [f"  not deleted: {item}" for item in shown]
            if len(self.leftovers) > len(shown):
                out.append(f"  ... and {len(self.leftovers) - len(shown)} more (see the report directory)")
        if self.credentials:
            out += [f"Credentials: {self.credentials}"]
        if self.notes:
            out += [""] + [f"Note: {n}" for n in self.notes]
        if self.failures:
            out += ["", f"FAILURES ({len(self.failures)}):"]
            for failure in self.failures.values():
                out += ["", failure.text()]
        out += ["", self.verdict()]
        return "\n".join(out)

    def _lists(self) -> list[tuple[str, Counter]]:
        lists = []
        if self.accepted:
            lists.append(("Documented behaviour accepted, per rule (not failures; --strict fails on them):",
                          self.accepted))
        if self.completed:
            lists.append(("Valid cases completed to meet a documented rule before they were sent, per rule "
                          "(what no schema can say; the deployment must accept them):", self.completed))
        if self.waived:
            lists.append(("Known deviations of this deployment, waived (--strict fails on them):", self.waived))
        if self.artefacts:
            lists.append(("Tool artefacts (the checker is wrong, not the deployment; never failures):",
                          self.artefacts))
        return lists

    def writes_summary(self) -> str:
        if not self.created:
            return "Writes: the run created nothing."
        kinds = Counter(item.split(" ", 1)[0] if " " in item else item for item in self.created)
        what = ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items()))
        return (f"Writes: the run created {len(self.created)} object(s) ({what}); deleted {self.cleaned}, "
                f"{len(self.leftovers)} left.")

    def verdict(self) -> str:
        if self.passed:
            return f"PASSED: {self.total_checks} checks, conformance {_pct(self.score)}"
        names = sorted({f"{f.check} on {f.operation}" for f in self.failures.values()})
        return (f"FAILED: {len(self.failures)} distinct failure(s), conformance {_pct(self.score)}; "
                + "; ".join(names))

    # -- files -------------------------------------------------------------------------
    def write_junit(self, path: str | Path) -> None:
        suites = ET.Element("testsuites", name=f"apitwin conform {self.api}")
        elapsed = (self.finished or time.time()) - self.started
        ops = ET.SubElement(suites, "testsuite", name=f"{self.api}.operations")
        n_fail = 0
        for label in sorted(self.operations, key=_path_key):
            stats = self.operations[label]
            case = ET.SubElement(ops, "testcase", classname=f"{self.api}.operations", name=label,
                                 time="0")
            ET.SubElement(case, "system-out").text = (
                f"{stats.cases} cases, {stats.checks} checks, {stats.failed} failed, score {_pct(stats.score)}")
            failures = [f for f in self.failures_of(label) if not f.check.startswith("scenario:")]
            if failures:
                n_fail += 1
                node = ET.SubElement(case, "failure", message=failures[0].title, type=failures[0].check)
                node.text = "\n\n".join(f.text() for f in failures)
        ops.set("tests", str(len(self.operations)))
        ops.set("failures", str(n_fail))
        ops.set("time", f"{elapsed:.2f}")
        scen = ET.SubElement(suites, "testsuite", name=f"{self.api}.scenarios",
                             tests=str(len(self.scenarios)))
        s_fail = s_skip = 0
        for s in self.scenarios:
            case = ET.SubElement(scen, "testcase", classname=f"{self.api}.scenarios", name=s.name, time="0")
            if s.status == "skipped":
                s_skip += 1
                ET.SubElement(case, "skipped", message=s.reason or "skipped")
            failures = self.failures_of_scenario(s.name)
            if failures:
                s_fail += 1
                node = ET.SubElement(case, "failure", message=failures[0].title, type="scenario")
                node.text = "\n\n".join(f.text() for f in failures)
        scen.set("failures", str(s_fail))
        scen.set("skipped", str(s_skip))
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        ET.ElementTree(suites).write(path, encoding="utf-8", xml_declaration=True)

    def write_html(self, path: str | Path) -> None:
        e = html.escape
        rows = []
        for label in sorted(self.operations, key=lambda l: (l == RUN, _path_key(l))):
            op = self.operations[label]
            cls = "bad" if op.failed else "good"
            rows.append(f"<tr class='{cls}'><td>{e(label)}</td><td>{op.cases}</td><td>{op.checks}</td>"
                        f"<td>{op.failed}</td><td>{_pct(op.score)}</td></tr>")
        scen = "".join(
            f"<tr class='{'bad' if s.status == 'failed' else 'good'}'><td>{e(s.name)}</td><td>{e(s.status)}</td>"
            f"<td>{s.checks - s.failed}/{s.checks}</td><td>{e(s.description)} {e(s.reason)}</td></tr>"
            for s in self.scenarios)
        fails = "".join(
            f"<div class='failure'><h3>[{e(f.check)}] {e(f.operation)}: {e(f.title)}"
            f"{f' <small>(seen {f.count} times)</small>' if f.count > 1 else ''}</h3>"
            f"<pre>{e(f.message)}</pre>"
            + (f"<p>Reproduce:</p><pre class='curl'>{e(f.curl)}</pre>" if f.curl else "")
            + "</div>" for f in self.failures.values())
        extra = ""
        for title, counter in self._lists():
            extra += f"<h2>{e(title)}</h2><ul>" + "".join(
                f"<li>{n}x {e(_line(key))}</li>" for key, n in sorted(counter.items())) + "</ul>"
        if self.stand_in_only:
            extra += "<h2>Operations only in apitwin's stand-in</h2><ul>" + "".join(
                f"<li>{e(label)}</li>" for label in self.stand_in_only) + "</ul>"
        extra += f"<h2>Writes</h2><p>{e(self.writes_summary())}</p>"
        if self.credentials:
            extra += f"<p>Credentials: {e(self.credentials)}</p>"
        if self.leftovers:
            extra += "<h2>Created objects not deleted</h2><ul>" + "".join(
                f"<li>{e(item)}</li>" for item in self.leftovers) + "</ul>"
        if self.notes:
            extra += "<h2>Notes</h2><ul>" + "".join(f"<li>{e(n)}</li>" for n in self.notes) + "</ul>"
        verdict_cls = "good" if self.passed else "bad"
        page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>apitwin conform {e(self.api)}</title>
<style>
body{{font-family:system-ui,sans-serif;margin:2em;color:#222}}
table{{border-collapse:collapse;margin:1em 0}}td,th{{border:1px solid #ccc;padding:.3em .6em;text-align:left}}
tr.bad td{{background:#fde8e8}}tr.good td{{background:#eefaf0}}
.verdict.bad{{color:#a00}}.verdict.good{{color:#070}}
pre{{background:#f6f6f6;padding:.6em;white-space:pre-wrap;word-break:break-all}}
.failure{{border-left:4px solid #c33;padding-left:1em;margin:1em 0}}
</style></head><body>
<h1>apitwin conform {e(self.api)}</h1>
<p>Deployment: <code>{e(self.base_url)}</code>{' (read-only)' if self.read_only else ''}
{f' &middot; seed {self.seed}' if self.seed is not None else ''}
&middot; {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime(self.started))}</p>
<p class="verdict {verdict_cls}"><strong>{e(self.verdict())}</strong></p>
<h2>Operations</h2>
<table><tr><th>operation</th><th>cases</th><th>checks</th><th>failed</th><th>score</th></tr>{''.join(rows)}
<tr><th>overall</th><th></th><th>{self.total_checks}</th><th>{self.total_failed}</th><th>{_pct(self.score)}</th></tr></table>
<h2>Scenarios</h2>
<table><tr><th>scenario</th><th>status</th><th>checks</th><th>what</th></tr>{scen}</table>
{extra}
<h2>Failures ({len(self.failures)})</h2>{fails or '<p>None.</p>'}
</body></html>
"""
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(page, encoding="utf-8")


def _line(key) -> str:
    """A counted line: the kit counts a line per rule, the proxy (operation, reason) pairs."""
    return ": ".join(key) if isinstance(key, tuple) else key


def _pct(value: float | None) -> str:
    """One decimal, rounded down: a single failure never shows as 100.0%."""
    if value is None:
        return "n/a"
    return f"{math.floor(value * 10) / 10:.1f}%"


def _path_key(label: str) -> tuple:
    method, _, path = label.partition(" ")
    return (path, method)
