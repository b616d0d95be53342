"""Data Cortex Report API: users, organizations, sessions, apps and their keys. No HTTP here.

Ingest (`/{org}/1/track` events, `/{org}/1/app_log` log lines) lives in ingest.py and
shares this backend's collections.
"""
from __future__ import annotations

import hmac
import json
import re
import secrets
import sys
from datetime import datetime, timedelta

from apitwin import FIXTURES_DIR
from apitwin.server.core.errors import BadRequest, Forbidden, NotFound

from .errors import NOT_LOGGED_IN
from .ingest import Ingest

APP_NAME_MAX = 100
EMAIL_MAX = 254
_EMAIL = re.compile(r"[^@]+@[^@]+")
_DIGITS = re.compile(r"^[0-9]{1,15}$")

# Messages of the 403s the document names.
LIST_FORBIDDEN = "Not allowed to list that organization's applications."
CREATE_FORBIDDEN = "Not allowed to add an application to that organization."
DELETE_FORBIDDEN = "Not allowed to delete that application."
NOT_VERIFIED = "Session not verified: open the verification link and enter the manual code."

PENDING, ACTIVE, LOGGED_OUT = "pending", "active", "logged_out"
# Logins need no credentials, so what they keep is bounded: past these counts the oldest
# sessions (other than the fixtures') and "emails" are forgotten (documented in the contract).
MAX_SESSIONS = 10_000
MAX_OUTBOX = 1_000


def parse_id(value, name: str) -> int:
    """An integer id sent as a number or a string of digits; 400 otherwise."""
    if value is None or value == "":
        raise BadRequest(f"{name} is required")
    if isinstance(value, bool):
        raise BadRequest(f"{name} must be an integer")
    if isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and _DIGITS.match(value.strip()):
        number = int(value.strip())
    else:
        raise BadRequest(f"{name} must be an integer")
    if not 0 <= number < 10**15:
        raise BadRequest(f"{name} must be an integer")
    return number


class DataCortexBackend:
    # Session keys and API keys are their documents' `_id` (admin state hides them).
    SECRET_FIELDS = {"sessions": ("_id",), "api_keys": ("_id",)}

    def __init__(self, twin) -> None:
        self.twin = twin
        self.clock = twin.clock
        self.settings = twin.settings
        store = twin.store
        self.organizations = store.collection("organizations", unique=("short_name",))
        self.users = store.collection("users", unique=("email",))
        self.sessions = store.collection("sessions")  # _id: the session key
        self.apps = store.collection("apps")  # _id: app_id
        self.api_keys = store.collection("api_keys")  # _id: the key
        self.outbox = store.collection("outbox")  # the verification emails "sent"
        self.counters = store.collection("counters")
        self.ingest = Ingest(self, store)

    # -- ids ---------------------------------------------------------------------------
    def _next_id(self, name: str, floor: int = 1) -> int:
        counter = self.counters.get(name)
        value = max(floor, counter["next"] if counter else floor)
        if counter is None:
            self.counters.insert({"_id": name, "next": value + 1})
        else:
            self.counters.update(name, {"next": value + 1})
        return value

    def _bump_counter(self, name: str, used: int) -> None:
        counter = self.counters.get(name)
        if counter is None:
            self.counters.insert({"_id": name, "next": used + 1})
        elif counter["next"] <= used:
            self.counters.update(name, {"next": used + 1})

    # -- organizations and users -------------------------------------------------------
    def create_organization(self, org_id: int, name: str, short_name: str) -> dict:
        self._bump_counter("org_id", org_id)
        return self.organizations.insert({"_id": org_id, "name": name, "short_name": short_name})

    def create_user(self, user_id: int, email: str, display_name: str, org_ids: list[int]) -> dict:
        for org_id in org_ids:
            if not self.organizations.exists(org_id):
                raise NotFound(f"no organization {org_id}")
        self._bump_counter("user_id", user_id)
        return self.users.insert({"_id": user_id, "email": self.normalize_email(email),
                                  "display_name": display_name, "org_ids": list(org_ids)})

    def organizations_of(self, user: dict) -> list[dict]:
        orgs = (self.organizations.get(org_id) for org_id in user["org_ids"])
        return [org for org in orgs if org is not None]

    @staticmethod
    def normalize_email(value) -> str:
        if value is None or value == "":
            raise BadRequest("email is required")
        if not isinstance(value, str):
            raise BadRequest("email must be a string")
        if len(value) > EMAIL_MAX or not _EMAIL.fullmatch(value):
            raise BadRequest("email is not a valid email address")
        return value.lower()

    # -- sessions ----------------------------------------------------------------------
    @property
    def auto_verify(self) -> bool:
        return bool(self.settings.get("auto_verify"))

    def _verify_window(self) -> timedelta:
        try:
            return timedelta(hours=float(self.settings.get("verify_hours", 24)))
        except (TypeError, ValueError):
            return timedelta(hours=24)

    def login(self, email, base_url: str) -> dict:
        """A new session for the user with this email: pending, or active with auto-verify.

        Returns the session document; its `verify_url` is the link the "email" carries.
        """
        address = self.normalize_email(email)
        user = self.users.get_by("email", address)
        if user is None:
            raise Forbidden("No user with that email address.")
        now = self.clock.now()
        key = secrets.token_hex(20)
        # The link's own secret: the login answer (key and manual code) alone cannot verify.
        link_token = secrets.token_urlsafe(24)
        verify_url = f"{base_url.rstrip('/')}/api/1/verify?session_key={key}&token={link_token}"
        self._forget_oldest(self.sessions, MAX_SESSIONS, keep=lambda doc: doc.get("verify_url") is None)
        session = self.sessions.insert({
            "_id": key,
            "user_id": user["_id"],
            "manual_code": f"{secrets.randbelow(10**6):06d}",
            "state": ACTIVE if self.auto_verify else PENDING,
            "created_at": now,
            "verified_at": now if self.auto_verify else None,
            "ended_at": None,
            "verify_url": verify_url,
            "verify_token": link_token,
            "clock_era": self.clock.era,  # an expired login stays so when the clock moves back
        })
        if not self.auto_verify:
            self._send_verification(user, session)
        return session

    def _send_verification(self, user: dict, session: dict) -> None:
        """The real service emails the link; the twin keeps it in `outbox` and logs it."""
        self._forget_oldest(self.outbox, MAX_OUTBOX)
        self.outbox.insert({
            "to": user["email"],
            "subject": "Data Cortex login verification",
            "verify_url": session["verify_url"],
            "session_key": session["_id"],
            "sent_at": self.clock.now(),
        })
        journal = self.twin.journal
        if journal is None or not journal.quiet:
            print(f"[datacortex] verification email to {user['email']}: open {session['verify_url']} "
                  f"and enter the manual code", file=sys.stderr, flush=True)

    @staticmethod
    def _forget_oldest(collection, limit: int, keep=lambda doc: False) -> None:
        """Room for one more document: the oldest ones `keep` does not hold on to go."""
        excess = len(collection) - limit + 1
        if excess <= 0:
            return
        oldest = []
        for doc in collection.scan():  # insertion order: oldest first
            if not keep(doc):
                oldest.append(doc["_id"])
                if len(oldest) == excess:
                    break
        for _id in oldest:
            collection.delete(_id)

    def _live(self, key) -> dict | None:
        """The session with this key unless logged out or expired before verification."""
        if not isinstance(key, str) or not key:
            return None
        session = self.sessions.get(key)
        if session is None or session["state"] == LOGGED_OUT:
            return None
        if session["state"] == PENDING and self._expired(session):
            return None
        return session

    def _expired(self, session: dict) -> bool:
        created: datetime = session["created_at"]
        if created.tzinfo is None:
            created = created.replace(tzinfo=self.clock.now().tzinfo)
        return self.clock.reached(created + self._verify_window() + timedelta(microseconds=1),
                                  session.get("clock_era", 0))

    def verification(self, key, link_token) -> dict:
        """The session a verification link points at (its key and the link's own token);
        404 when dead, unknown or the token is not the link's."""
        session = self._live(key)
        expected = session.get("verify_token") if session else None
        if not expected or not isinstance(link_token, str) or \
                not hmac.compare_digest(link_token.encode(), expected.encode()):
            raise NotFound("This verification link is not valid: it is unknown, expired or logged out.")
        return session

    def verify(self, key, link_token, manual_code) -> dict:
        """Enable a pending session with its manual code (already active: nothing to do)."""
        session = self.verification(key, link_token)
        if session["state"] == ACTIVE:
            return session
        if not isinstance(manual_code, (str, int)) or isinstance(manual_code, bool):
            raise BadRequest("Enter the manual code shown by the login.")
        code = str(manual_code).replace(" ", "")
        if not code:
            raise BadRequest("Enter the manual code shown by the login.")
        if code != session["manual_code"]:
            raise Forbidden("That manual code does not match this login.")
        return self.sessions.update(key, {"state": ACTIVE, "verified_at": self.clock.now()})

    def user_for(self, key) -> dict:
        """The user of an active session; 403 otherwise."""
        session = self._live(key)
        if session is None:
            raise Forbidden(NOT_LOGGED_IN)
        if session["state"] != ACTIVE:
            raise Forbidden(NOT_VERIFIED)
        user = self.users.get(session["user_id"])
        if user is None:
            raise Forbidden(NOT_LOGGED_IN)
        return user

    def logout(self, key) -> None:
        """Kill the session (pending or active); 403 when there is none to kill."""
        session = self._live(key)
        if session is None:
            raise Forbidden(NOT_LOGGED_IN)
        self.sessions.update(session["_id"], {"state": LOGGED_OUT, "ended_at": self.clock.now()})

    # -- apps --------------------------------------------------------------------------
    @staticmethod
    def _member(user: dict, org_id: int) -> bool:
        return org_id in user["org_ids"]

    def list_apps(self, user: dict, org_id) -> list[dict]:
        org = parse_id(org_id, "org_id")
        if not self._member(user, org) or not self.organizations.exists(org):
            raise Forbidden(LIST_FORBIDDEN)
        return self.apps.find({"org_id": org}, sort=[("_id", 1)])

    def create_app(self, user: dict | None, org_id, app_name, *, app_id: int | None = None,
                   api_keys: list[str] | None = None) -> dict:
        """A new app with one new API key (fixtures give both the id and the keys)."""
        org = parse_id(org_id, "org_id")
        if user is not None and (not self._member(user, org) or not self.organizations.exists(org)):
            raise Forbidden(CREATE_FORBIDDEN)
        if app_name is None or app_name == "":
            raise BadRequest("app_name is required")
        if not isinstance(app_name, str):
            raise BadRequest("app_name must be a string")
        name = app_name
        if len(name) > APP_NAME_MAX:
            raise BadRequest(f"app_name is too long ({APP_NAME_MAX} characters at most)")
        if app_id is None:
            app_id = self._next_id("app_id", floor=1)
        else:
            self._bump_counter("app_id", app_id)
        keys = list(api_keys) if api_keys else [secrets.token_hex(16)]
        app = self.apps.insert({"_id": app_id, "org_id": org, "name": name, "api_key_list": keys,
                                "created_at": self.clock.now()})
        for key in keys:
            self.api_keys.insert({"_id": key, "app_id": app_id, "org_id": org})
        return app

    def delete_app(self, user: dict, app_id) -> None:
        """Delete an app and its keys; 403 for an app the user may not touch (or none)."""
        number = parse_id(app_id, "app_id")
        app = self.apps.get(number)
        if app is None or not self._member(user, app["org_id"]):
            raise Forbidden(DELETE_FORBIDDEN)
        for key in app["api_key_list"]:
            self.api_keys.delete(key)
        self.apps.delete(number)

    def app_for_key(self, key) -> dict | None:
        """{app_id, org_id} of an API key, or None."""
        if not isinstance(key, str) or not key:
            return None
        return self.api_keys.get(key)

    # -- fixtures and figures ----------------------------------------------------------
    def load_fixtures(self) -> None:
        data = json.loads((FIXTURES_DIR / "datacortex" / "accounts.json").read_text())
        for org in data["organizations"]:
            self.create_organization(org["org_id"], org["name"], org["short_name"])
        for user in data["users"]:
            self.create_user(user["user_id"], user["email"], user["display_name"], user["org_ids"])
        for app in data["apps"]:
            self.create_app(None, app["org_id"], app["name"], app_id=app["app_id"],
                            api_keys=app["api_key_list"])
        for session in data["sessions"]:
            user = self.users.get_by("email", session["email"])
            self.sessions.insert({
                "_id": session["session_key"], "user_id": user["_id"],
                "manual_code": session["manual_code"], "state": ACTIVE,
                "created_at": self.clock.now(), "verified_at": self.clock.now(),
                "ended_at": None, "verify_url": None,
            })

    def accounts(self) -> list[str]:
        lines = []
        for user in self.users.find(sort=[("_id", 1)]):
            sessions = self.sessions.find({"user_id": user["_id"], "state": ACTIVE, "verify_url": None})
            orgs = ", ".join(org["short_name"] for org in self.organizations_of(user))
            key = sessions[0]["_id"] if sessions else "-"
            lines.append(f"{user['email']} ({orgs}): verified session_key {key}")
        for app in self.apps.find(sort=[("_id", 1)]):
            org = self.organizations.get(app["org_id"])
            for key in app["api_key_list"]:
                lines.append(f"api_key {key} (app {app['_id']} {app['name']!r}, "
                             f"POST /{org['short_name']}/1/track and /app_log)")
        return lines

    def summary(self) -> dict:
        sessions = {PENDING: 0, ACTIVE: 0, LOGGED_OUT: 0}
        for session in self.sessions.find(projection={"state": 1}):
            sessions[session["state"]] = sessions.get(session["state"], 0) + 1
        return {
            "sessions": sessions,
            "emails_sent": self.outbox.count(),
            "apps": self.apps.count(),
            **self.ingest.summary(),
        }
