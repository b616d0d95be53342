"""One conformance run: reach the deployment, log in, Schemathesis, scenarios, clean-up."""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from . import profiles
from .engine import run_schemathesis
from .profiles import Created, LoginRefused
from .results import RUN, Failure, Results
from .scenarios import Session, Unreachable, run_scenarios
from .spec import Routes, load_spec

EXIT_PASSED, EXIT_FAILED, EXIT_NOT_RUN = 0, 1, 2


@dataclass
class Options:
    api: str
    base_url: str
    creds: dict = field(default_factory=dict)
    read_only: bool = False
    max_examples: int = 20
    seed: int = 0
    stateful_steps: int = 10
    strict: bool = False
    junit: str | None = None
    report_dir: str | None = None
    schemathesis: bool = True  # False: scenarios and conventions only
    skipped_checks: tuple[str, ...] = ()


def run(options: Options, out=None) -> tuple[int, Results | None]:
    """Run the kit; prints the table (or one line saying why it could not run) to `out`."""
    out = out or sys.stdout
    profile = profiles.get(options.api)
    options.skipped_checks = tuple(options.skipped_checks) + tuple(profile.skipped_checks)
    spec = load_spec(options.api)
    results = Results(api=options.api, base_url=options.base_url, seed=options.seed, read_only=options.read_only)
    for name, why in profile.skipped_checks.items():
        results.notes.append(f"Schemathesis check {name} not run for {options.api}: {why}")
    for name, why in profile.excluded_operations.items():
        results.notes.append(f"Schemathesis does not call {name}: {why}")
    session = Session(options.base_url, profile, options.creds, results, Routes(spec))
    session.strict = options.strict
    created: list[Created] = []
    try:
        try:
            session.http.get("/")
        except httpx.TransportError as exc:
            raise Unreachable(f"{options.base_url}: {exc.__class__.__name__}: {exc}") from exc
        session.login()
        profile.probe(session)
        if options.schemathesis:
            run_schemathesis(spec, options.base_url, profile, session, results, options, created)
        run_scenarios(session, profile.scenarios(), read_only=options.read_only, created=created)
        _clean_up(session, created, results)
    except Unreachable as exc:
        print(f"apitwin conform: could not run: the deployment is unreachable ({exc})", file=sys.stderr)
        return EXIT_NOT_RUN, None
    except LoginRefused as exc:
        print(f"apitwin conform: could not run: login refused ({exc})", file=sys.stderr)
        return EXIT_NOT_RUN, None
    finally:
        session.close()
    if session.logins > 1:
        results.notes.append(f"Logged in {session.logins} times: again after the deployment refused the "
                             "credentials mid-run (or before they expired)")
    _all_refused(profile, results)
    results.finished = time.time()
    print(results.render_text(), file=out)
    _write_reports(options, results, created)
    return (EXIT_PASSED if results.passed else EXIT_FAILED), results


def _all_refused(profile, results: Results) -> None:
    """A run whose authenticated requests all came back 401/403 tested nothing: a failure."""
    if not profile.auth_options:
        return
    total = sum(results.statuses.values())
    refused = sum(n for status, n in results.statuses.items() if status in profile.refused_statuses)
    if total == 0 or refused == total:
        results.fail(Failure(
            check="authentication", operation=RUN,
            title=f"all {total} authenticated requests were refused ({'/'.join(map(str, profile.refused_statuses))})",
            message="Nothing was really tested: check the credentials and the deployment's auth."))


def _clean_up(session: Session, created: list[Created], results: Results) -> None:
    seen = set()
    for item in created:
        if str(item) in seen:
            continue
        seen.add(str(item))
        try:
            gone = session.profile.delete(session, item)
        except Unreachable:
            gone = False
        if gone is True:
            results.cleaned += 1
        elif gone is None:
            results.leftovers.append(f"{item} (the API cannot delete it)")
        else:
            results.leftovers.append(f"{item} (deletion failed)")


def _write_reports(options: Options, results: Results, created: list[Created]) -> None:
    if options.junit:
        results.write_junit(options.junit)
    if options.report_dir:
        folder = Path(options.report_dir)
        folder.mkdir(parents=True, exist_ok=True)
        results.write_html(folder / "report.html")
        results.write_junit(folder / "junit.xml")
        (folder / "summary.txt").write_text(results.render_text() + "\n", encoding="utf-8")
        (folder / "leftovers.txt").write_text("".join(f"{item}\n" for item in results.leftovers), encoding="utf-8")
