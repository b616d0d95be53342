"""Users' passwords and Sanctum-style personal access tokens. No HTTP here.

A token is `"<id>|<40 random characters>"`; only the sha256 of the random part is stored.
It stops working after its `expires_at` by the server clock; each use sets `last_used_at`.
"""
from __future__ import annotations

import hashlib
import secrets
import string
from datetime import datetime

from apitwin.server.core.errors import Invalid, NotFound
from apitwin.server.core.passwords import check_password, hash_password

from .rules import is_empty, message, parse_datetime, summary

USERS = "users"  # the resource whose rows are the accounts (with an `email` field)
TOKEN_ALPHABET = string.ascii_letters + string.digits


def token_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class Accounts:
    """Mixed into the backend: needs self.clock, self.rows, self.tokens, self.resources."""

    # -- users -------------------------------------------------------------------------
    @property
    def users(self):
        return self.rows[USERS]

    def set_password(self, email: str, password: str, *, salt: bytes | None = None) -> None:
        user = self.users.get_by("email", email)
        if user is None:
            raise NotFound(f"No user has the email {email}")
        salt = salt or secrets.token_bytes(16)
        self.users.update(user["_id"], {"password": hash_password(password, salt)})

    def tenants_of(self, user: dict | None) -> list[int]:
        scope = self.resources[USERS].scope
        if user is None or scope in (None, "id"):
            return []
        value = user.get(scope)
        if isinstance(value, list):
            return value
        return [] if value is None else [value]

    # -- tokens ------------------------------------------------------------------------
    def create_token(self, payload, *, token: str | None = None, token_id: int | None = None) -> tuple[dict, str]:
        """Check email, password, device_name, expiration_date; (token row, plain text token)."""
        if not isinstance(payload, dict):
            payload = {}
        errors: dict[str, list[str]] = {}
        for name in ("email", "password", "device_name"):
            value = payload.get(name)
            if is_empty(value):
                errors[name] = [message("required", name)]
            elif not isinstance(value, str):
                errors[name] = [message("string", name)]
            elif name == "device_name" and len(value) > 255:
                errors[name] = [message("max.string", name, n=255)]
        expires_at = None
        raw_expiry = payload.get("expiration_date")
        if not is_empty(raw_expiry):
            expires_at = parse_datetime(raw_expiry)
            if expires_at is None:
                errors["expiration_date"] = [message("date", "expiration_date")]
            elif expires_at <= self.clock.now():
                errors["expiration_date"] = [message("after", "expiration_date", n="now")]
        if errors:
            raise Invalid(summary(errors), errors)
        user = self.users.get_by("email", payload["email"].strip())
        if user is None or not check_password(payload["password"], user.get("password")):
            errors = {"email": ["The provided credentials are incorrect."]}
            raise Invalid(summary(errors), errors)
        return self.issue_token(user["_id"], payload["device_name"].strip(), expires_at,
                                token=token, token_id=token_id)

    def issue_token(self, user_id: int, name: str, expires_at: datetime | None, *,
                    token: str | None = None, token_id: int | None = None) -> tuple[dict, str]:
        token_id = token_id or self._next_id("personal_access_tokens")
        secret = token.split("|", 1)[1] if token else "".join(
            secrets.choice(TOKEN_ALPHABET) for _ in range(40))
        now = self.now()
        row = self.tokens.insert({
            "_id": token_id, "tokenable_type": self.resources[USERS].model, "tokenable_id": user_id,
            "name": name, "token": token_hash(secret), "abilities": ["*"],
            "last_used_at": None, "expires_at": expires_at, "created_at": now, "updated_at": now,
            "clock_era": self.clock.era,  # an expired token stays so when the clock moves back
        })
        self._bump("personal_access_tokens", token_id)
        return row, f"{token_id}|{secret}"

    def authenticate(self, bearer: str | None) -> tuple[dict, dict] | None:
        """(user, token) for a good bearer token, None otherwise; marks the token used."""
        if not bearer or not isinstance(bearer, str):
            return None
        token_id, bar, secret = bearer.partition("|")
        if not bar:
            token_id, secret = "", bearer
        row = self.tokens.get_by("token", token_hash(secret))
        if row is None or (token_id and str(row["_id"]) != token_id):
            return None
        expires_at = row["expires_at"]  # stored naive UTC
        if expires_at is not None and self.clock.reached(expires_at, row.get("clock_era", 0)):
            return None
        user = self.users.get(row["tokenable_id"])
        if user is None:
            return None
        self.tokens.update(row["_id"], {"last_used_at": self.now()})
        return user, self.tokens.get(row["_id"])

    def user(self, user_id) -> dict | None:
        return self.users.get(user_id)

    def list_tokens(self, user: dict) -> list[dict]:
        return self.tokens.find({"tokenable_id": user["_id"]}, sort=[("_id", 1)])

    def revoke_token(self, user: dict, token_id) -> None:
        try:
            row = self.tokens.get(int(token_id))
        except (TypeError, ValueError):
            row = None
        if row is None or row["tokenable_id"] != user["_id"]:
            raise NotFound("No query results for model [Laravel\\Sanctum\\PersonalAccessToken] "
                           f"{token_id}")
        self.tokens.delete(row["_id"])
