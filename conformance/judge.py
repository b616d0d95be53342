"""One request and its answer judged against the contract and the API's conventions.

`Judge(api)(exchange)` is what `apitwin proxy` runs on every exchange it forwards. The
answer goes through the very checks of `apitwin conform` (Schemathesis' response checks of
`engine.CHECKS`, then the profile's conventions, with the profile's documented behaviour and
known deviations excused by `engine.excuse`). The request is read against the operation's
parameters, body and security with Schemathesis' own validators (conform never needs this:
it generates its requests). What is wrong is blamed on one side:

- `UNDOCUMENTED`: no operation of the contract serves this method and path;
- `REQUEST`: the request breaks the contract (the app's fault);
- `ANSWER`: the answer breaks the contract or a convention (the deployment's fault).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, unquote, urlsplit

import requests
import schemathesis
from requests.structures import CaseInsensitiveDict
from schemathesis.checks import CHECKS as REGISTERED_CHECKS
from schemathesis.checks import CheckContext, load_all_checks, run_checks
from schemathesis.core.jsonschema import make_validator
from schemathesis.core.parameters import ParameterLocation
from schemathesis.core.transport import Response
from schemathesis.specs.openapi.utils import compile_path_template, parameter_types, sent_text_is_valid

from . import profiles
from .engine import CHECKS, CONVENTIONS, excuse
from .exchange import Exchange
from .spec import Routes, load_spec

UNDOCUMENTED, REQUEST, ANSWER = "undocumented", "request", "answer"
BLAME = {UNDOCUMENTED: "not in the contract", REQUEST: "the app's fault", ANSWER: "the deployment's fault"}

# Conform's checks that judge one answer on its own; the others need generated cases
# (negative data, missing headers, unsupported methods) or several requests (stateful).
ANSWER_CHECKS = ("not_a_server_error", "status_code_conformance", "content_type_conformance",
                 "response_schema_conformance", "response_headers_conformance")
assert set(ANSWER_CHECKS) <= set(CHECKS)
REFUSED = "a refusal of a request that breaks the contract (the request is reported)"
MAX_BODY_ERRORS = 10  # per request body: enough to fix it, not a flood


@dataclass(frozen=True)
class Finding:
    side: str  # UNDOCUMENTED, REQUEST or ANSWER
    check: str  # conform's check name, or "request.<part>" / "undocumented"
    title: str  # what is wrong, one line
    where: str = ""  # "body /data/day", "query _limit", "header X-API-KEY"
    detail: str = ""


@dataclass
class Verdict:
    exchange: Exchange
    findings: list[Finding] = field(default_factory=list)
    passed: list[str] = field(default_factory=list)  # checks that held
    accepted: list[str] = field(default_factory=list)  # documented behaviour (profile.accept)
    waived: list[str] = field(default_factory=list)  # known deviations (profile.deviations)


class Judge:
    """The checks of one API, ready for one exchange after another."""

    def __init__(self, api: str, *, strict: bool = False, spec: dict | None = None, base_path: str = "") -> None:
        """`base_path`: where the contract's paths start on the deployment (e.g. "/staging")."""
        self.base_path = base_path.rstrip("/")
        self.profile = profiles.get(api)
        self.spec = spec or load_spec(api)
        self.routes = Routes(self.spec)
        self.schema = schemathesis.openapi.from_dict(self.spec)
        self.strict = strict
        load_all_checks()  # Schemathesis registers its OpenAPI checks on first use
        registered = {check.__name__: check for check in REGISTERED_CHECKS.get_all()}
        self.checks = [registered[name] for name in ANSWER_CHECKS]
        self._templates: dict[str, object] = {}
        self._operations: dict[str, object] = {}
        self._contexts: dict[str, CheckContext] = {}
        self._body_validators: dict[tuple[str, str], object] = {}

    def __call__(self, exchange: Exchange, *, body_read: bool = True) -> Verdict:
        """The verdict on one exchange; `body_read=False`: the answer's body is unknown (too
        big, or in an encoding the proxy cannot read), only its status and headers are judged."""
        path = self._path(exchange)
        route = self.routes.find(exchange.method, path)
        exchange.operation = route.operation_id if route else None
        exchange.label = route.label if route else self.routes.label(exchange.method, path)
        verdict = Verdict(exchange)
        operation = self._operation(route) if route else None
        if operation is None:
            verdict.findings.append(Finding(UNDOCUMENTED, "undocumented",
                                            f"{exchange.method} {path} is not an operation of the contract"))
            return verdict
        verdict.findings += self._request(operation, exchange)
        if not verdict.findings:
            verdict.passed.append("request")
        if exchange.status is not None:
            self._answer(operation, exchange, verdict, body_read, refusable=bool(verdict.findings))
        return verdict

    def _path(self, ex: Exchange) -> str:
        """The request's path as the contract writes it (without the deployment's base path)."""
        path = ex.path
        return path[len(self.base_path):] if self.base_path and path.startswith(self.base_path + "/") else path

    def _context(self, operation) -> CheckContext:
        """What Schemathesis' checks read besides the answer: built once per operation (building
        it walks every registered check), as `Case.validate_response` would for each answer."""
        context = self._contexts.get(operation.label)
        if context is None:
            config = operation.schema.config.checks_config_for(operation=operation, phase=None)
            context = self._contexts[operation.label] = CheckContext(
                override=None, auth=None, headers=None, config=config, transport_kwargs=None, response_checks=None)
        return context

    def _operation(self, route):
        operation = self._operations.get(route.operation_id)
        if operation is None:
            operation = self._operations[route.operation_id] = self.schema.find_operation_by_id(route.operation_id)
        return operation

    # -- the request: the app's side ---------------------------------------------------
    def _request(self, operation, ex: Exchange) -> list[Finding]:
        found = self._security(operation, ex)
        no_credentials = bool(found)
        path_values = self._path_values(operation, ex)
        query = _query_lists(ex)
        headers = {k.lower(): v for k, v in ex.request_headers.items()}
        for parameter in operation.iter_parameters():
            location = parameter.location
            if location == ParameterLocation.PATH:
                texts = [path_values[parameter.name]] if parameter.name in path_values else []
            elif location == ParameterLocation.QUERY:
                texts = query.get(parameter.name, [])
            elif location == ParameterLocation.HEADER:
                texts = [headers[parameter.name.lower()]] if parameter.name.lower() in headers else []
            else:
                continue  # cookies: read by the security check
            where = f"{location.value} {parameter.name}"
            if not texts:
                # Without credentials, a missing header is the security finding already.
                if parameter.is_required and not (no_credentials and location == ParameterLocation.HEADER):
                    found.append(Finding(REQUEST, "request.parameters", f"required {where} is missing", where))
                continue
            if not _parameter_ok(parameter, texts):
                found.append(Finding(REQUEST, "request.parameters",
                                     f"{where}={_shown(','.join(texts))} does not match its schema "
                                     f"{_shown(parameter.validation_schema)}", where))
        return found + self._body(operation, ex)

    def _path_values(self, operation, ex: Exchange) -> dict[str, str]:
        template = self._templates.get(operation.path)
        if template is None:
            template = self._templates[operation.path] = compile_path_template(operation.path)
        match = template.pattern.fullmatch(self._path(ex))
        return {name: unquote(value) for name, value in zip(template.names, match.groups())} if match else {}

    def _security(self, operation, ex: Exchange) -> list[Finding]:
        requirements = operation.definition.raw.get("security", self.spec.get("security"))
        if not requirements:
            return []
        schemes = (self.spec.get("components") or {}).get("securitySchemes") or {}
        headers = {k.lower(): v for k, v in ex.request_headers.items()}
        cookies = headers.get("cookie", "")
        for requirement in requirements:
            if all(_sends(schemes.get(name, {}), headers, ex.query, cookies) for name in requirement):
                return []
        wanted = " or ".join(" and ".join(_scheme_text(schemes.get(n, {})) for n in r) for r in requirements)
        return [Finding(REQUEST, "request.security", f"no credentials: the operation needs {wanted}", "headers")]

    def _body(self, operation, ex: Exchange) -> list[Finding]:
        bodies = list(operation.body)
        media = ex.request_content_type.split(";")[0].strip().lower()
        if not bodies:
            if ex.request_body:
                return [Finding(REQUEST, "request.body", "a request body sent to an operation that takes none", "body")]
            # Many HTTP clients send a Content-Type on every request: harmless, unless the
            # deployment refused the request (MONARC answers 400 to a multipart one).
            if media and self._refusal(ex):
                return [Finding(REQUEST, "request.body", f"Content-Type {media} sent to an operation that takes "
                                                         "no body", "header Content-Type")]
            return []
        if not ex.request_body:
            if any(getattr(b, "is_required", False) for b in bodies):
                return [Finding(REQUEST, "request.body", "the required request body is missing", "body")]
            return []
        body = next((b for b in bodies if b.media_type.lower() == media), None)
        if body is None:
            documented = ", ".join(b.media_type for b in bodies)
            return [Finding(REQUEST, "request.body", f"request content type {media or '(none)'} is not "
                                                     f"documented ({documented})", "header Content-Type")]
        if media != "application/json" and not media.endswith("+json"):
            return []  # forms, NDJSON, text: the answer's checks still apply
        try:
            value = json.loads(ex.request_body)
        except (ValueError, UnicodeDecodeError) as exc:
            return [Finding(REQUEST, "request.body", f"the request body is not JSON ({exc})", "body")]
        key = (operation.label, media)
        if key not in self._body_validators:
            try:
                self._body_validators[key] = make_validator(body.validation_schema,
                                                            operation.schema.adapter.jsonschema_validator_cls)
            except Exception:  # a schema the validator cannot read: validity unknown, nothing to blame
                self._body_validators[key] = None
        validator = self._body_validators[key]
        if validator is None:
            return []
        return [Finding(REQUEST, "request.body", error.message, "body " + _pointer(error.instance_path))
                for error in list(validator.iter_errors(value))[:MAX_BODY_ERRORS]]

    # -- the answer: the deployment's side ----------------------------------------------
    def _answer(self, operation, ex: Exchange, verdict: Verdict, body_read: bool, refusable: bool) -> None:
        """The answer's checks; `refusable`: the request broke the contract, so any 4xx refusing
        it is right even where the contract lists no such status (as conform's negative cases).
        A refusal is a 4xx, or what the profile reads as one (OpenGrid's 200 with an error)."""
        refused = refusable and self._refusal(ex)
        case = operation.Case(path_parameters=self._path_values(operation, ex), query=ex.query,
                              headers=dict(ex.request_headers))
        checks = [c for c in self.checks if body_read or c.__name__ != "response_schema_conformance"]
        failed: dict[str, list] = {}
        run_checks(case=case, response=_response(ex), ctx=self._context(operation), checks=checks,
                   on_failure=lambda name, _, failure: failed.setdefault(name, []).append(failure))
        for check in checks:
            name = check.__name__
            if name not in failed:
                verdict.passed.append(name)
            elif refused and name in ("status_code_conformance", "response_schema_conformance"):
                verdict.accepted.append(REFUSED)
            else:
                self._failed(name, ex, verdict, [_finding(name, f) for f in failed[name]], failed[name][0])
        if not body_read:
            return
        problems = self.profile.conventions(ex)
        check = f"{self.profile.name}.conventions"
        if problems:
            self._failed(CONVENTIONS, ex, verdict, [Finding(ANSWER, check, p) for p in problems], None)
        else:
            verdict.passed.append(check)

    def _refusal(self, ex: Exchange) -> bool:
        """Whether the answer refuses the request: a 4xx, or what the profile reads as one."""
        return ex.status is not None and (400 <= ex.status < 500 or bool(self.profile.rejected(ex)))

    def _failed(self, check: str, ex: Exchange, verdict: Verdict, findings: list[Finding], failure) -> None:
        excused = excuse(self.profile, check, ex, failure, self.strict)
        if excused is None:
            verdict.findings.extend(findings)
        else:
            kind, reason = excused
            (verdict.accepted if kind == "accepted" else verdict.waived).append(reason)


# -- reading the wire --------------------------------------------------------------------
def _query_lists(ex: Exchange) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for key, value in parse_qsl(urlsplit(ex.url).query, keep_blank_values=True):
        out.setdefault(key, []).append(value)
    return out


def _parameter_ok(parameter, texts: list[str]) -> bool:
    """Whether the texts sent for a parameter read as a value its schema accepts."""
    schema = parameter.validation_schema
    try:
        validator = parameter.get_validator()
    except Exception:  # a schema the validator cannot read: validity unknown
        return True
    types = parameter_types(schema)
    if "array" in types:
        items = schema.get("items", {}) if isinstance(schema, dict) else {}
        values = texts if len(texts) > 1 else texts[0].split(",")
        try:
            item_validator = make_validator(items, parameter.adapter.jsonschema_validator_cls)
        except Exception:
            return True
        return all(sent_text_is_valid(v, item_validator.is_valid, parameter_types(items)) for v in values)
    return sent_text_is_valid(texts[-1], validator.is_valid, types)


def _sends(scheme: dict, headers: dict, query: dict, cookies: str) -> bool:
    kind, place, name = scheme.get("type"), scheme.get("in"), str(scheme.get("name", ""))
    if kind == "apiKey":
        if place == "header":
            return bool(headers.get(name.lower()))
        if place == "query":
            return bool(query.get(name))
        return any(part.strip().startswith(name + "=") for part in cookies.split(";"))
    if kind == "http":
        return headers.get("authorization", "").lower().startswith(str(scheme.get("scheme", "")).lower())
    return True  # OAuth and OpenID flows: not read here


def _scheme_text(scheme: dict) -> str:
    if scheme.get("type") == "apiKey":
        return f"{scheme.get('in')} {scheme.get('name')}"
    if scheme.get("type") == "http":
        return f"Authorization: {str(scheme.get('scheme', '')).title()}"
    return str(scheme.get("type"))


def _response(ex: Exchange) -> Response:
    """The answer as Schemathesis' Response; its request as sent (not re-encoded by `prepare`)."""
    request = requests.PreparedRequest()
    request.method, request.url, request.body = ex.method, ex.url, ex.request_body
    request.headers = CaseInsensitiveDict(ex.request_headers)
    return Response(ex.status, {k: [v] for k, v in ex.headers.items()}, ex.body, request, 0.0, True)


def _finding(check: str, failure) -> Finding:
    message = (getattr(failure, "message", "") or str(failure)).strip()
    lines = [line for line in message.splitlines() if line.strip()]
    title = getattr(failure, "title", "") or check
    path = getattr(failure, "instance_path", None)
    where = ""
    if path is not None:
        where = ("header " if "header" in title.lower() else "body ") + _pointer(path)
    summary = lines[0] if lines else ""
    if summary.startswith("Received:"):  # status and content type: "Received: 418 / Documented: ..."
        summary = "; ".join(lines[:2])
    return Finding(ANSWER, check, f"{title}: {summary}" if summary else title, where, message)


def _pointer(path) -> str:
    return "/" + "/".join(str(p) for p in path) if path else "/"


def _shown(value, limit: int = 120) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[:limit] + "..."
