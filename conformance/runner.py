"""One conformance run: reach the deployment, log in, Schemathesis, scenarios, clean-up."""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from . import profiles
from .engine import run_schemathesis
from .profiles import LoginRefused, WrongTarget
from .results import RUN, Failure, Results
from .safety import Ledger
from .scenarios import Session, Unreachable, UnsafeWrite, run_scenarios
from .spec import Routes, load_spec
from .trust import ca_context, untrusted

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
    show_secrets: bool = False  # credentials in the reproduction lines
    skipped_checks: tuple[str, ...] = ()
    operations: tuple[str, ...] = ()  # only these operationIds in the Schemathesis phases
    skipped_operations: tuple[str, ...] = ()  # set by the run: stand-in-only ones elsewhere
    ca_file: str | None = None  # PEM of the CAs an https:// deployment is checked against


# A run whose answers are nearly all 404 tested nothing: the base URL or the API is wrong.
NOT_FOUND_SHARE = 0.9


def run(options: Options, out=None) -> tuple[int, Results | None]:
    """Run the kit; prints the table (or one line saying why it could not run) to `out`."""
    out = out or sys.stdout
    profile = profiles.get(options.api)
    options.skipped_checks = tuple(options.skipped_checks) + tuple(profile.skipped_checks)
    spec = load_spec(options.api)
    routes = Routes(spec)
    results = Results(api=options.api, base_url=options.base_url, seed=options.seed, read_only=options.read_only)
    for name, why in profile.skipped_checks.items():
        results.notes.append(f"Schemathesis check {name} not run for {options.api}: {why}")
    for name, why in profile.excluded_operations.items():
        results.notes.append(f"Schemathesis does not call {name}: {why}")
    ledger = Ledger()
    session = Session(options.base_url, profile, options.creds, results, routes, ledger=ledger,
                      show_secrets=options.show_secrets, verify=_verify(options))
    session.strict = options.strict
    try:
        try:
            session.http.get("/")
        except httpx.TransportError as exc:
            refused = untrusted(exc)
            if refused is not None:
                raise Untrusted(_untrusted_message(options, refused)) from exc
            raise Unreachable(f"{options.base_url}: {exc.__class__.__name__}: {exc}") from exc
        session.login()
        profile.probe(session)
        ledger.owned.update(profile.own_values(session))
        _stand_in_only(session, routes, options, results)
        print(_plan(profile, options, ledger), file=out)
        if not options.read_only:
            profile.prepare(session)
        if options.schemathesis:
            run_schemathesis(spec, options.base_url, profile, session, results, options, ledger)
        if not options.operations:  # a run of named operations is about those alone
            run_scenarios(session, profile.scenarios(), read_only=options.read_only)
        _clean_up(session, ledger, results)
        _check_credentials(session, results)
        _not_found_everywhere(results)
    except Unreachable as exc:
        print(f"apitwin conform: could not run: the deployment is unreachable ({exc})", file=sys.stderr)
        return EXIT_NOT_RUN, None
    except Untrusted as exc:
        print(f"apitwin conform: could not run: {exc}", file=sys.stderr)
        return EXIT_NOT_RUN, None
    except LoginRefused as exc:
        print(f"apitwin conform: could not run: login refused ({exc})", file=sys.stderr)
        return EXIT_NOT_RUN, None
    except WrongTarget as exc:
        print(f"apitwin conform: could not run: {exc}", file=sys.stderr)
        return EXIT_NOT_RUN, None
    finally:
        session.close()
    if session.logins > 1:
        results.notes.append(f"Logged in {session.logins} times: again after the deployment refused the "
                             "credentials mid-run (or before they expired)")
    _all_refused(profile, results)
    results.finished = time.time()
    print(results.render_text(), file=out)
    _write_reports(options, results)
    return (EXIT_PASSED if results.passed else EXIT_FAILED), results


class Untrusted(Exception):
    """The deployment's TLS certificate is not one the run trusts."""


def _verify(options: Options):
    """How the kit's own requests check the deployment's certificate: --ca-file's CAs, or the default ones."""
    return ca_context(options.ca_file) if options.ca_file else True


def _untrusted_message(options: Options, error) -> str:
    trusted = f"the CAs of --ca-file {options.ca_file}" if options.ca_file else "the default CAs"
    hint = "" if options.ca_file else \
        "; give the CA that issued it with --ca-file PEM (for `apitwin serve --tls`: its ca.pem)"
    return (f"the TLS certificate of {options.base_url} is not trusted by {trusted} "
            f"({error.verify_message or error.reason}){hint}")


def _plan(profile, options: Options, ledger: Ledger) -> str:
    """What the run will do to the deployment, said before it starts."""
    if options.read_only:
        return "Plan: read-only: only GET, HEAD and OPTIONS requests; nothing is created or changed."
    return (f"Plan: this run writes. It creates {profile.creates}, every name and id it chooses "
            f"starting with {ledger.prefix}-; it changes and deletes only what it created itself, and deletes "
            "that at the end where the API allows (--read-only for none of this).")


def _stand_in_only(session: Session, routes: Routes, options: Options, results: Results) -> None:
    """Operations only apitwin's stand-in has are tested there, and skipped elsewhere."""
    only = routes.stand_in_only
    results.stand_in_only = sorted(only.values())
    if not only:
        return
    if is_stand_in(session):
        results.stand_in_only_tested = True
    else:
        options.skipped_operations = tuple(options.skipped_operations) + tuple(only)
        session.skipped_operations = frozenset(only)


def is_stand_in(session: Session) -> bool:
    """Whether the deployment is apitwin's stand-in (its admin API describes itself)."""
    try:
        answer = session.http.get(ADMIN_DOCUMENT)
    except httpx.TransportError:
        return False
    finally:
        session.http.cookies.clear()
    try:
        title = answer.json().get("info", {}).get("title", "")
    except (ValueError, AttributeError):
        return False
    return answer.status_code == 200 and "apitwin" in str(title).lower()


ADMIN_DOCUMENT = "/__apitwin/admin/openapi.json"


def _not_found_everywhere(results: Results) -> None:
    total = sum(results.answers.values())
    missing = results.answers.get(404, 0)
    if total >= 10 and missing >= NOT_FOUND_SHARE * total:
        raise WrongTarget(f"{missing} of {total} answers were 404: is this the {results.api} API, and is "
                          f"{results.base_url} its base URL?")


def _check_credentials(session: Session, results: Results) -> None:
    """Every credential the run started with must still work; a run that broke one fails loudly."""
    broken = session.profile.credentials_work(session)
    if not broken:
        results.credentials = "every credential the run started with still works."
        return
    results.credentials = "BROKEN: " + "; ".join(broken)
    results.fail(Failure(check="credentials", operation=RUN, title="a starting credential no longer works",
                         message="\n".join(broken)))


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


def _clean_up(session: Session, ledger: Ledger, results: Results) -> None:
    results.created += [str(item) for item in ledger.created]
    # Newest first: what was made later may point at what was made before it (an issue at its
    # project), and a deployment refuses to delete an object still pointed at.
    for item in reversed(ledger.created):
        try:
            gone = session.profile.delete(session, item)
        except (Unreachable, UnsafeWrite):
            gone = False
        if gone is True:
            results.cleaned += 1
            ledger.deleted.append(item)
        elif gone is None:
            results.leftovers.append(f"{item} (the API cannot delete it)")
        else:
            results.leftovers.append(f"{item} (deletion failed)")


def _write_reports(options: Options, results: Results) -> None:
    if options.junit:
        results.write_junit(options.junit)
    if options.report_dir:
        folder = Path(options.report_dir)
        folder.mkdir(parents=True, exist_ok=True)
        results.write_html(folder / "report.html")
        results.write_junit(folder / "junit.xml")
        (folder / "summary.txt").write_text(results.render_text() + "\n", encoding="utf-8")
        (folder / "leftovers.txt").write_text("".join(f"{item}\n" for item in results.leftovers), encoding="utf-8")
        (folder / "created.txt").write_text("".join(f"{item}\n" for item in results.created), encoding="utf-8")
