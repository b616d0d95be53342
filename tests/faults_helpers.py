"""Each API as the fault tests drive it: a read call, two credentials, a login, a write, and
the API's own answers to the error kinds a fault rule can inject."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import pytest

from conftest import make_client

MONARC_V1_KEY = "cases-v1-token-5b7d9f1a3c5e7a9b1d3f5a7c9e1b3d5f7a9c1e3b5d7f9a1c"
MONARC_KEY = "SylsDTZTBk2zAkg016vW_aCuO1XQDXPsxrLuI1TG7z5sYvUfRlVf5R4g6kDnLI_o-c5iqrswrWzPANDKXmtV7Q"


@dataclass(frozen=True)
class Profile:
    api: str
    read_path: str  # GET, answered 200 to either credential
    read_operation: str
    read_template: str
    credentials: Callable  # client -> (kwargs of credential A, kwargs of credential B)
    login: tuple  # (method, path, json)
    login_operation: str
    write: tuple  # (method, path, json, kwargs): changes stored state when it goes through
    # The API's own answer to each injected kind: (status, body)
    kinds: dict
    # An injected `unauthorized` on the login, when it differs from kinds["unauthorized"].
    login_refused: tuple | None = None

    def read(self, client, credential: dict, **extra):
        return client.get(self.read_path, **_merge(credential, extra))


def _merge(credential: dict, extra: dict) -> dict:
    merged = {k: dict(v) for k, v in credential.items()}
    for key, value in extra.items():
        merged.setdefault(key, {}).update(value)
    return merged


def _opengrid_login(client, user, password):
    answer = client.post("/users/token", json={"username": user, "password": password})
    assert answer.status_code == 200, answer.text
    return {"headers": {"X-AUTH-TOKEN": answer.headers["x-auth-token"]}}


def _qoncrete_body(code, text):
    return code, {"code": code, "text": text}


def _opengrid_error(status, code, message):
    return status, {"error": {"code": code, "message": message}}


PROFILES = {
    "qoncrete": Profile(
        api="qoncrete",
        read_path="/v2/source", read_operation="list_sources", read_template="/v2/source",
        credentials=lambda c: ({"params": {"token": "97b8a203-f4ca-4832-8469-d2188e4c4871"}},
                               {"params": {"token": "c0ffee00-1234-4abc-8def-0123456789ab"}}),
        login=("POST", "/v2/user/login", {"email": "demo@qoncrete.test", "password": "demo1234"}),
        login_operation="login",
        write=("POST", "/v2/user/register",
               {"email": "new@qoncrete.test", "password": "newpass123", "passwordConfirm": "newpass123"}, {}),
        kinds={
            "unauthorized": _qoncrete_body(401, "authentication required: send Authorization: Bearer <jwt> or ?token=<api token>"),
            "forbidden": _qoncrete_body(403, "forbidden"),
            "not_found": _qoncrete_body(404, "not found"),
            "rate_limited": _qoncrete_body(429, "too many requests"),
            "server_error": _qoncrete_body(500, "internal server error"),
            "unavailable": _qoncrete_body(503, "service unavailable"),
        },
    ),
    "monarc": Profile(
        api="monarc",
        read_path="/api/v2/stats/?_limit=1", read_operation="list_stats", read_template="/api/v2/stats/",
        credentials=lambda c: ({"headers": {"X-API-KEY": MONARC_KEY}},
                               {"headers": {"X-API-KEY": "other-org-key-7Qm2cXv9LpT4wR8sZb1nYk6dHf3jG0aE"}}),
        # MONARC has no login: its key is checked on every call; the stats list stands in.
        login=("GET", "/api/v2/stats/?_limit=1", None), login_operation="list_stats",
        write=("POST", "/api/v2/organizations/", {"name": "FAULTY", "token": "faulty-org-token"},
               {"headers": {"X-API-KEY": MONARC_KEY}}),
        kinds={
            "unauthorized": (401, {"error": "Unauthorized"}),
            "forbidden": (403, {"error": "Forbidden"}),
            "not_found": (404, {"error": "Not Found"}),
            "rate_limited": (429, {"error": "Too Many Requests"}),
            "server_error": (500, {"error": "Internal Server Error"}),
            "unavailable": (503, {"error": "Service Unavailable"}),
        },
    ),
    "monarc-v1": Profile(
        api="monarc-v1",
        read_path="/api/v1/client/me", read_operation="get_me", read_template="/api/v1/client/me",
        credentials=lambda c: ({"headers": {"X-API-KEY": MONARC_V1_KEY}},
                               {"headers": {"X-API-KEY": "acme-v1-token-2e4a6c8e0a2c4e6a8c0e2a4c6e8a0c2e4a6c8e0a2c4e6a8c"}}),
        # No login either: the key is checked on every call; client/me stands in.
        login=("GET", "/api/v1/client/me", None), login_operation="get_me",
        write=("PATCH", "/api/v1/client/me", {"is_sharing_enabled": False},
               {"headers": {"X-API-KEY": MONARC_V1_KEY}}),
        kinds={
            "unauthorized": (401, {"Error": "Unauthorized - Authentication required."}),
            "forbidden": (403, {"Error": "Forbidden - Authentication failed."}),
            "not_found": (404, {"message": "The requested URL was not found on the server. If you entered the URL "
                                           "manually please check your spelling and try again."}),
            "rate_limited": (429, {"message": "This user has exceeded an allotted request count. Try again later."}),
            "server_error": (500, {"message": "Internal Server Error"}),
            "unavailable": (503, {"message": "The server is temporarily unable to service your request due to "
                                             "maintenance downtime or capacity problems. Please try again later."}),
        },
    ),
    "qore": Profile(
        api="qore",
        read_path="/api/me", read_operation="get_me", read_template="/api/me",
        credentials=lambda c: ({"headers": {"Authorization": "Bearer 1|qoreAliceDemoToken0000000000000000000000"}},
                               {"headers": {"Authorization": "Bearer 2|qoreBobDemoToken000000000000000000000000"}}),
        login=("POST", "/api/api_tokens", {"email": "bob@acme.test", "password": "password", "device_name": "cli"}),
        login_operation="create_api_token",
        write=("POST", "/api/api_tokens", {"email": "bob@acme.test", "password": "password", "device_name": "x"}, {}),
        kinds={
            "unauthorized": (401, {"message": "Unauthenticated."}),
            "forbidden": (403, {"message": "This action is unauthorized."}),
            "not_found": (404, {"message": "Not Found"}),
            "rate_limited": (429, {"message": "Too Many Attempts."}),
            "server_error": (500, {"message": "Server Error"}),
            "unavailable": (503, {"message": "Service Unavailable"}),
        },
    ),
    "datacortex": Profile(
        api="datacortex",
        read_path="/api/1/user", read_operation="get_user", read_template="/api/1/user",
        credentials=lambda c: ({"headers": {"Cookie": "session_key=dcsession-alice-0000000000000000000000001"}},
                               {"headers": {"Cookie": "session_key=dcsession-bob-00000000000000000000000002"}}),
        login=("POST", "/api/1/login", {"email": "alice@acme.example"}), login_operation="login",
        write=("POST", "/api/1/login", {"email": "bob@blueharbor.example"}, {}),
        kinds={
            # Data Cortex answers "not logged in" with 403, as its real service does.
            "unauthorized": (403, {"error": "Not logged in"}),
            "forbidden": (403, {"error": "Forbidden"}),
            "not_found": (404, {"error": "Not found"}),
            "rate_limited": (429, {"error": "Too many requests"}),
            "server_error": (500, {"error": "Internal server error"}),
            "unavailable": (503, {"error": "Service unavailable"}),
        },
    ),
    "opengrid": Profile(
        api="opengrid",
        read_path="/datasets", read_operation="list_datasets", read_template="/datasets",
        credentials=lambda c: (_opengrid_login(c, "tester1", "password1"), _opengrid_login(c, "admin", "admin")),
        login=("POST", "/users/token", {"username": "admin", "password": "admin"}), login_operation="login",
        write=("POST", "/groups", {"o": {"groupId": "faulty"}}, None),  # as admin, filled in by the test
        kinds={
            # Handled errors are HTTP 200 with an error object; auth failures 403 (0300).
            "unauthorized": _opengrid_error(403, "0300", "Access denied: a valid X-AUTH-TOKEN header is required."),
            "forbidden": _opengrid_error(403, "0300", "Access denied: a valid X-AUTH-TOKEN header is required."),
            "not_found": _opengrid_error(200, "0300", "No resource matches this path."),
            "rate_limited": _opengrid_error(429, "0100", "Too many requests: try again later."),
            "server_error": _opengrid_error(500, "0101", "Internal server error."),
            "unavailable": _opengrid_error(503, "0100", "Service unavailable: try again later."),
        },
        login_refused=_opengrid_error(401, "0300", "Authentication failed: invalid username or password."),
    ),
}


@pytest.fixture(params=list(PROFILES), scope="module")
def served(request):
    """(profile, twin, client) per API, one twin per module."""
    twin, client = make_client(request.param)
    return PROFILES[request.param], twin, client


@pytest.fixture
def api(served):
    """A clean twin for each test: fixtures, clock and fault rules as at start-up."""
    profile, twin, client = served
    assert client.post("/__apitwin/reset", params={"faults": "clear"}).status_code == 200
    client.delete("/__apitwin/requests")
    return profile, twin, client


def add_rule(client, **rule) -> dict:
    answer = client.post("/__apitwin/faults", json=rule)
    assert answer.status_code == 201, answer.text
    return answer.json()


def last_entry(client) -> dict:
    return client.get("/__apitwin/requests", params={"limit": 1}).json()["requests"][-1]
