"""The Schemathesis part of a run: its phases and checks, plus the profile's conventions.

The contract is the repository's `openapi/<api>.yaml` (what the deployment must do), not
whatever document the deployment serves. Phases: examples, coverage, fuzzing, and stateful
testing through the OpenAPI links the document declares (Schemathesis also infers some).
"""
from __future__ import annotations

import copy
import json
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import unquote

import schemathesis
from schemathesis.config import SchemathesisConfig
from schemathesis.core import NotSet
from schemathesis.engine import events, from_schema

from .exchange import Exchange
from .profiles import Draft, ToolArtefact
from .results import RUN, Failure, Results
from .safety import Ledger, make_safe
from .spec import SAFE_METHODS, Routes
from .verdicts import judge, waiver

if TYPE_CHECKING:
    from .profiles import Profile
    from .scenarios import Session

# The checks of every run (Schemathesis' own), and the profile's, registered once below.
CHECKS = (
    "not_a_server_error", "status_code_conformance", "content_type_conformance",
    "response_schema_conformance", "response_headers_conformance", "positive_data_acceptance",
    "negative_data_rejection", "use_after_free", "ensure_resource_availability",
    "missing_required_header", "ignored_auth", "unsupported_method", "allow_header_conformance",
)
WRITE_ONLY_CHECKS = ("use_after_free", "ensure_resource_availability", "unsupported_method")
CONVENTIONS = "api_conventions"

# Look-ups a run keeps for its completions (`Draft.get`): past that, it asks again.
KNOWN_LIMIT = 1000

# The run in progress, for the hooks and the `api_conventions` check (Schemathesis calls
# them from its worker threads, with no way to pass them our state). One kit run at a time
# per process.
_ACTIVE: dict = {}
_LOCK = threading.Lock()


@dataclass
class _Run:
    profile: "Profile"
    session: "Session"
    results: Results
    ledger: Ledger
    strict: bool
    read_only: bool = False
    known: dict = field(default_factory=dict)  # (path, params) -> what `get` answered, once=True (bounded)
    removed: set = field(default_factory=set)  # subjects the run's requests deleted (Profile.removes)

    @property
    def routes(self) -> Routes:
        return self.session.routes

    def get(self, path: str, params: dict | None = None, once: bool = True):
        """A `Draft.get`: the JSON of a GET with the run's credentials, None unless 200. The
        kit's own look-ups, not tests: neither counted nor checked."""
        key = (path, json.dumps(params, sort_keys=True))
        if once and key in self.known:
            return self.known[key]
        answer = self.session.request("GET", path, params=params, check=False, count=False)
        found = answer.json() if answer.status == 200 else None
        if once and len(self.known) < KNOWN_LIMIT:
            self.known[key] = found
        return found


def to_exchange(response, routes: Routes, secrets: tuple[str, ...] = ()) -> Exchange:
    """A Schemathesis response as the kit's Exchange."""
    request = response.request
    body = request.body
    if isinstance(body, str):
        body = body.encode("utf-8", "surrogatepass")
    path = request.path_url.split("?", 1)[0]
    route = routes.find(request.method, path)
    return Exchange(
        method=request.method, url=request.url, request_headers=dict(request.headers),
        request_body=body or None, status=response.status_code,
        headers={k.lower(): (v[0] if isinstance(v, list) and v else v) for k, v in response.headers.items()},
        body=response.content or b"",
        operation=route.operation_id if route else None,
        label=route.label if route else routes.label(request.method, path),
        secrets=secrets,
    )


@schemathesis.hook
def before_call(context, case, kwargs):
    """Every generated write is made safe first: it can only touch what the run created."""
    active = _ACTIVE.get("run")
    if active is None:
        return
    route = active.routes.by_label.get(case.operation.label)
    valid = _is_valid(case)
    if route is not None and valid:
        complete(active.profile, active.results, route.operation_id, case, active.get)
    make_safe(active.profile, active.ledger, route, case.method, case.path_parameters, case.query, case.body,
              read_only=active.read_only)
    # The guard's rewrite can make an invalid case valid (a name that was no string is now the
    # run's own), and Schemathesis then sends it as valid: it must meet the rules too, and what
    # the completion wrote is made safe in turn.
    if route is not None and not valid and _is_valid(case) \
            and complete(active.profile, active.results, route.operation_id, case, active.get):
        make_safe(active.profile, active.ledger, route, case.method, case.path_parameters, case.query, case.body,
                  read_only=active.read_only)


def complete(profile: "Profile", results: Results, operation: str, case, get=None) -> bool:
    """A valid case made to meet the documented rules no schema can say (`Documented.complete`);
    True when a rule changed it. `get` is the run's `Draft.get`."""
    rules = [r for r in profile.documented if r.complete is not None and operation in r.operations]
    if not rules:
        return False
    # NOT_SET is kept as it is: a copy of it would be a body "changed" into an invalid one.
    body = case.body if isinstance(case.body, NotSet) else copy.deepcopy(case.body)
    draft = Draft(operation, case.method, dict(case.path_parameters or {}), dict(case.query or {}),
                  body, case.media_type, get)
    changed = [rule for rule in rules if rule.complete(draft)]
    if not changed:
        return False
    for rule in changed:
        results.complete(rule)
    # Assigned (not changed in place) so that Schemathesis sees the change and checks the
    # completed case against the schema again.
    for name, value in (("path_parameters", draft.path), ("query", draft.query), ("body", draft.body)):
        if value != getattr(case, name):
            setattr(case, name, value)
    return True


def _mode(case):
    """The case's generation mode (positive or negative), None when Schemathesis does not say."""
    meta = getattr(case, "meta", None) or getattr(case, "_meta", None)
    return getattr(getattr(meta, "generation", None), "mode", None)


def _is_valid(case) -> bool:
    """Whether Schemathesis sends the case, as it is now, as a valid one (it checks edits again)."""
    mode = _mode(case)
    return mode is not None and not mode.is_negative


@schemathesis.hook
def after_call(context, case, response):
    """What a generated request created is the run's own at once (later steps may change it)."""
    active = _ACTIVE.get("run")
    if active is None:
        return
    exchange = to_exchange(response, active.routes, active.session.secrets)
    item = active.profile.created(exchange)
    if item is not None:
        active.ledger.add(item)
    if exchange.status is not None and 200 <= exchange.status < 300 and active.profile.removes(exchange):
        active.removed.add(active.profile.subject(exchange))


@schemathesis.check
def api_conventions(ctx, response, case):
    """The API's own conventions (its profile's `conventions`): error shapes and the like."""
    active = _ACTIVE.get("run")
    if active is None:
        return None
    exchange = to_exchange(response, active.routes, active.session.secrets)
    mode = _mode(case)
    verdict = judge(active.profile, exchange, valid_request=mode is not None and not mode.is_negative,
                    strict=active.strict)
    if verdict.accepted is not None:
        active.results.accept(verdict.accepted, exchange)
    if verdict.waived is not None:
        active.results.waive(verdict.waived, exchange)
    if verdict.problems:
        raise AssertionError("\n".join(verdict.problems))
    return None


@schemathesis.serializer("application/x-ndjson", "application/ndjson", "application/jsonl")
def _ndjson(ctx, value) -> bytes:
    """Newline-delimited JSON: one value a line (a list is its items, anything else one line)."""
    if isinstance(value, str):  # already NDJSON text (e.g. the document's example)
        return value.encode("utf-8", "surrogatepass")
    items = value if isinstance(value, list) else [value]
    return "".join(json.dumps(item) + "\n" for item in items).encode("utf-8", "surrogatepass")


def _config(base_url: str, options) -> SchemathesisConfig:
    checks = {name: {"enabled": True} for name in CHECKS}
    for name in options.skipped_checks:
        checks[name] = {"enabled": False}
    if options.read_only:
        for name in WRITE_ONLY_CHECKS:
            checks[name] = {"enabled": False}
    data = {
        "seed": options.seed,
        "base-url": base_url,
        "workers": 1,
        "request-timeout": 15,
        # --ca-file: the CA bundle an https:// deployment's certificate is checked against.
        **({"tls-verify": options.ca_file} if options.ca_file else {}),
        "max-failures": 500,
        "suppress-health-check": ["all"],
        # --show-secrets: the reproduction lines carry the real credentials.
        "output": {"sanitization": {"enabled": not options.show_secrets}},
        # No state across runs: a cache would replay old crashes and make runs differ.
        "cache": {"enabled": False},
        "generation": {"max-examples": options.max_examples, "deterministic": True, "database": "none"},
        "checks": checks,
        "phases": {
            "examples": {"enabled": True},
            "coverage": {"enabled": True, **({"unexpected-methods": []} if options.read_only else {})},
            "fuzzing": {"enabled": True},
            "stateful": {"enabled": not options.read_only and not options.operations,
                         "max-steps": options.stateful_steps},
        },
    }
    return SchemathesisConfig.from_dict(data)


def run_schemathesis(spec: dict, base_url: str, profile: "Profile", session: "Session", results: Results,
                     options, ledger: Ledger) -> None:
    """Run the Schemathesis phases; record cases, checks and failures in `results`."""
    routes = session.routes
    schema = schemathesis.openapi.from_dict(spec, config=_config(base_url, options))
    if options.read_only:
        schema = schema.include(method=list(SAFE_METHODS))
    excluded = list(profile.excluded_operations) + list(options.skipped_operations)
    if excluded:
        schema = schema.exclude(operation_id=excluded)
    if options.operations:
        schema = schema.include(operation_id=list(options.operations))

    class KitAuth:
        """The session's credentials; a fresh login when Schemathesis gets 401/403 mid-run."""

        calls = 0

        def get(self, case, context):
            KitAuth.calls += 1
            return dict(session.headers) if KitAuth.calls == 1 and session.headers else session.login()

        def set(self, case, data, context):
            case.headers = {**(case.headers or {}), **data}

    if profile.auth_options:
        schema.auth.auth(refresh_interval=int(profile.renew_after) if profile.renew_after else None,
                         retry_on=list(profile.refused_statuses))(KitAuth)

    strict = options.strict

    @schema.hook("filter_failure")
    def filter_failure(context, failure, case, response):
        exchange = to_exchange(response, routes, session.secrets)
        for check in _check_names(failure):
            if check == CONVENTIONS:
                continue  # judged (documented rules and waivers too) in the check itself
            artefact = run_artefact(_ACTIVE["run"], check, exchange)
            if artefact is not None:
                results.artefact(artefact, exchange)
                return False
            excused = excusal(profile, check, exchange, failure, strict)
            if excused is not None:
                kind, why = excused
                {"artefact": results.artefact, "accepted": results.accept, "waived": results.waive}[kind](why, exchange)
                return False
        return True

    seen_cases: set[str] = set()
    with _LOCK:
        _ACTIVE["run"] = _Run(profile, session, results, ledger, strict, options.read_only)
        try:
            for event in from_schema(schema).execute():
                if isinstance(event, events.ScenarioFinished):
                    _record(event.recorder, routes, profile, session, results, seen_cases)
                elif isinstance(event, events.NonFatalError):
                    results.fail(Failure(check="schemathesis", operation=event.label or RUN,
                                         title=f"could not test: {event.value.__class__.__name__}",
                                         message=str(event.value)[:2000]))
                elif isinstance(event, events.FatalError):
                    results.fail(Failure(check="schemathesis", operation=RUN, title="Schemathesis crashed",
                                         message=repr(event.exception)))
        finally:
            _ACTIVE.pop("run", None)


def excusal(profile: "Profile", check: str, exchange: Exchange, failure=None, strict: bool = False):
    """Why a failed check on one exchange is no failure of the deployment, or None:
    ("artefact", ToolArtefact) the checker is wrong (also with `strict`); ("accepted", Documented)
    the API's documented behaviour; ("waived", Deviation) a known deviation."""
    artefact = profile.artefact(check, exchange, failure) or engine_artefact(profile, check, exchange, failure)
    if artefact is not None:
        return "artefact", artefact
    if strict:
        return None
    rule = profile.accept(check, exchange)
    if rule is not None:
        return "accepted", rule
    deviation = waiver(profile, check, exchange)
    return ("waived", deviation) if deviation is not None else None


def excuse(profile: "Profile", check: str, exchange: Exchange, failure=None, strict: bool = False):
    """`excusal` in words, for `judge` (the proxy): ("accepted", reason) for a tool artefact or
    documented behaviour, ("waived", why) for a known deviation, None for a failure."""
    excused = excusal(profile, check, exchange, failure, strict)
    if excused is None:
        return None
    kind, why = excused
    if kind == "waived":
        return "waived", why.why
    return "accepted", f"{why.name}: {why.why if kind == 'artefact' else why.reason}"


# Web servers refuse request lines past a limit before the application sees them (nginx:
# 414 past 8 KiB by default, uvicorn: 400 past about 64 KiB); that is transport, not the API.
REQUEST_LINE_LIMIT = 8192


def engine_artefact(profile: "Profile", check: str, exchange: Exchange, failure) -> ToolArtefact | None:
    """Failures that are Schemathesis' mistake for any API (listed as tool artefacts)."""
    message = getattr(failure, "message", "") or ""
    if profile.ignores_unknown_query_parameters and check == "negative_data_rejection" \
            and "in query - violates `additionalProperties`" in message:
        return UNKNOWN_QUERY_IGNORED
    if len(exchange.url) > REQUEST_LINE_LIMIT and exchange.status in (400, 414):
        return REQUEST_LINE_TOO_LONG
    if check in ("negative_data_rejection", "unsupported_method") and exchange.status is not None \
            and 200 <= exchange.status < 300 and profile.rejected(exchange) is not None:
        return REFUSED_IN_A_2XX
    return None


def run_artefact(run: _Run, check: str, exchange: Exchange) -> ToolArtefact | None:
    """Failures that are Schemathesis' mistake given what this run did: a not-found of an object
    the run deleted by the API's own request, or of one its guard aimed the write away from."""
    if check != "ensure_resource_availability":
        return None
    if deleted_before(run.profile, exchange, run.removed):
        return DELETED_BY_ANOTHER_REQUEST
    return AIMED_NOWHERE_BY_THE_GUARD if aimed_nowhere(exchange, run.ledger) else None


def deleted_before(profile: "Profile", exchange: Exchange, removed: set) -> bool:
    """A not-found about an object the run had deleted by a request Schemathesis does not take
    for a deletion (`Profile.removes`)."""
    return exchange.status == 404 and profile.subject(exchange) is not None and profile.subject(exchange) in removed


def aimed_nowhere(exchange: Exchange, ledger: Ledger) -> bool:
    """A not-found of a write whose path the kit's guard aimed at no object (the value
    Schemathesis chose named an object the run did not create)."""
    segments = {unquote(part) for part in exchange.path.split("/")}
    return exchange.status == 404 and not segments.isdisjoint(ledger.nowhere)


AIMED_NOWHERE_BY_THE_GUARD = ToolArtefact(
    "aimed-nowhere-by-the-guard", "ensure_resource_availability", (), lambda ex, f: True,
    "the kit's guard aimed this write at an object no deployment has, because the value Schemathesis "
    "chose named an object the run did not create: not found is right")
DELETED_BY_ANOTHER_REQUEST = ToolArtefact(
    "deleted-by-another-request", "ensure_resource_availability", (), lambda ex, f: True,
    "the run had deleted the object by the API's own request for it (a delete action...), which Schemathesis "
    "does not take for a deletion (only a DELETE of the object's path): not found is right")
UNKNOWN_QUERY_IGNORED = ToolArtefact(
    "unknown-query-ignored", "negative_data_rejection", (), lambda ex, f: True,
    "OpenAPI lets a server ignore query parameters it does not know (and this API documents it); "
    "Schemathesis counts sending one as invalid input")
REQUEST_LINE_TOO_LONG = ToolArtefact(
    "request-line-too-long", "*", (), lambda ex, f: True,
    f"the web server refuses a request line over {REQUEST_LINE_LIMIT} bytes before the API sees it (transport)")
REFUSED_IN_A_2XX = ToolArtefact(
    "refusal-in-a-2xx", "*", (), lambda ex, f: True,
    "the API refuses with a 2xx holding an error (its documented convention); Schemathesis reads only the status")


def _check_names(failure) -> tuple[str, ...]:
    """The checks a Schemathesis failure belongs to (a class may serve several)."""
    if CONVENTIONS in (getattr(failure, "title", "") or ""):
        return (CONVENTIONS,)
    names = tuple(getattr(failure, "checks", ()) or ())
    legacy = {"RejectedPositiveData": "positive_data_acceptance",
              "AcceptedNegativeData": "negative_data_rejection"}.get(type(failure).__name__)
    return names + ((legacy,) if legacy and legacy not in names else ()) or (type(failure).__name__,)


def _record(recorder, routes: Routes, profile, session, results: Results, seen_cases: set) -> None:
    labels: dict[str, str] = {}
    answers: dict[str, Exchange] = {}
    for case_id, node in recorder.cases.items():
        label = node.value.operation.label
        labels[case_id] = label
        interaction = recorder.interactions.get(case_id)
        if interaction is None or interaction.response is None:
            continue
        response = interaction.response
        exchange = to_exchange(response, routes, session.secrets)
        answers[case_id] = exchange
        if case_id in seen_cases:
            continue
        seen_cases.add(case_id)
        results.case(label)
        results.answers[response.status_code] += 1
        if profile.auth_options and not _unauthenticated(response, session):
            results.statuses[response.status_code] += 1
    for case_id, checks in recorder.checks.items():
        label = labels.get(case_id) or recorder.label or RUN
        for check in checks:
            if check.status.value == "failure" and check.failure_info is not None:
                info = check.failure_info
                name = CONVENTIONS if check.name == CONVENTIONS else check.name
                message = info.failure.message or ""
                answered = answers.get(case_id)
                if answered is not None and name != CONVENTIONS:
                    message = message.rstrip() + "\nanswer: " + answered.summary()
                results.check(label, False, Failure(
                    check=f"{profile.name}.conventions" if name == CONVENTIONS else name,
                    operation=label, title=info.failure.title if name != CONVENTIONS else message.splitlines()[0],
                    message=message if name != CONVENTIONS else "\n".join(message.splitlines()[1:]),
                    curl=_curl(info.code_sample, session)))
            elif check.status.value == "success":
                results.check(label, True)


def _unauthenticated(response, session) -> bool:
    """A request Schemathesis sent without our credentials on purpose (e.g. ignored_auth)."""
    sent = {k.lower(): v for k, v in response.request.headers.items()}
    return any(k.lower() not in sent or sent[k.lower()] != v for k, v in session.headers.items())


def _curl(sample: str, session) -> str:
    sample = sample or ""
    for secret in session.secrets:
        sample = sample.replace(secret, "***")
    return sample.replace("[Filtered]", "***")
