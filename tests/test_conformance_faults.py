"""The planted faults that used to pass as "documented behaviour" now fail a default run (exit 1)."""
from __future__ import annotations

from apitwin.server.core.app import create

from conformance_helpers import failures_section, kit, plant_answer, serving

FAST = ["--max-examples", "2", "--stateful-steps", "2"]


def test_qore_token_creation_answering_422_fails(capsys):
    _, app = create("qore")
    broken = plant_answer(app, "qore", ("create_api_token",), 422, {
        "message": "The password field is required.", "errors": {"password": ["The password field is required."]}})
    with serving(broken) as url:
        code, out, _ = kit(capsys, "qore", url, *FAST)
    assert code == 1
    assert "[positive_data_acceptance] POST /api/api_tokens: Schema-valid request rejected" in failures_section(out)


def test_opengrid_user_creation_answering_0300_fails(capsys):
    _, app = create("opengrid")
    broken = plant_answer(app, "opengrid", ("create_user", "create_user_slash"), 200,
                          {"error": {"code": "0300", "message": "Invalid document."}})
    with serving(broken) as url:
        code, out, _ = kit(capsys, "opengrid", url, *FAST)
    assert code == 1
    assert '[opengrid.conventions] POST /users: schema-valid request rejected (200 with error {"code": "0300"' \
        in failures_section(out)


def test_opengrid_accepted_refusal_without_cors_header_fails(capsys):
    """An answer a documented rule accepts is still checked for the rest: here the CORS header."""
    from apitwin.conformance.profiles.opengrid import PROFILE

    _, app = create("opengrid")
    rule = next(r for r in PROFILE.documented if r.name == "unusable-query-parameter")
    refusing = plant_answer(app, "opengrid", ("list_users",), *rule.planted, every=True)

    async def no_cors_on_refusals(scope, receive, send):
        async def strip(message):
            if message["type"] == "http.response.start" and scope["path"] == "/users" and scope["query_string"]:
                message = {**message, "headers": [(k, v) for k, v in message["headers"]
                                                  if k.lower() != b"access-control-allow-origin"]}
            await send(message)

        await refusing(scope, receive, strip if scope["type"] == "http" else send)

    with serving(no_cors_on_refusals) as url:
        code, out, _ = kit(capsys, "opengrid", url, "--max-examples", "5", "--operation", "list_users")
    assert code == 1
    assert "unusable-query-parameter (" in out.split("FAILURES")[0]  # the refusal itself is accepted...
    # ... and its missing header is not.
    assert "[opengrid.conventions] GET /users: no Access-Control-Allow-Origin: *" in failures_section(out)


def test_qoncrete_report_creation_answering_400_fails(capsys):
    _, app = create("qoncrete")
    broken = plant_answer(app, "qoncrete", ("create_report",), 400,
                          {"code": 400, "text": "period: must be one of 1m, 1h, 1d"})
    with serving(broken) as url:
        code, out, _ = kit(capsys, "qoncrete", url, *FAST)
    assert code == 1
    failures = failures_section(out)
    assert "[positive_data_acceptance] POST /v2/source/{sourceId}/report: Schema-valid request rejected" in failures
    assert "[scenario:report_created_listed_and_deleted] POST /v2/source/{sourceId}/report" in failures
