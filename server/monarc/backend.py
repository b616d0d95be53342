"""MONARC Stats: organizations, their keys, and the stats they send. No HTTP here."""
from __future__ import annotations

import json
import secrets
import uuid
from datetime import datetime

from bson import ObjectId
from bson.errors import InvalidDocument, InvalidId

from apitwin.server.core.errors import BadRequest, Invalid, NotFound
from apitwin.server.core.store import DuplicateKey

from .fields import FieldError, to_datetime, to_int, to_string, to_uuid
from .filters import build_query

MAX_STATS_LIMIT = 1000
MAX_ORGANIZATIONS_LIMIT = 100
DEFAULT_LIMIT = 100
INT_FIELDS = ("day", "week", "month", "quarter", "year")
# A tokenless organization gets the default token, computed once per process by the real
# service (a default written as a value, not a function): a second one collides with it.
DEFAULT_TOKEN_TAKEN = ("Tried to save duplicate unique keys (an organization created without a token gets "
                       "the service's one default token, which another organization holds: send a token)")


def _is_int(text: str) -> bool:
    try:
        int(text)
        return True
    except ValueError:
        return False


def page_bounds(skip: str | None, limit: str | None, max_limit: int) -> tuple[int, int]:
    """`_skip` and `_limit` checked as flask-mongorest checks them, in its order."""
    if limit is not None and not _is_int(limit):
        raise BadRequest(f'_limit must be an integer (got "{limit}" instead).')
    if skip is not None and not _is_int(skip):
        raise BadRequest(f'_skip must be an integer (got "{skip}" instead).')
    if limit and int(limit) > max_limit:
        raise BadRequest("The limit you set is larger than the maximum limit for this resource "
                         f"(max_limit = {max_limit}).")
    if skip and int(skip) < 0:
        raise BadRequest(f'_skip must be a non-negative integer (got "{skip}" instead).')
    return int(skip or 0), int(DEFAULT_LIMIT if limit is None else limit)


def _now_ms(clock) -> datetime:
    """Naive UTC to the millisecond, as MongoDB stores it."""
    now = clock.now().replace(tzinfo=None)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


class MonarcBackend:
    def __init__(self, twin) -> None:
        self.clock = twin.clock
        self.settings = twin.settings
        self.fixtures = twin.fixtures_folder
        self.organizations = twin.store.collection("organizations", unique=("name", "token"))
        self.stats = twin.store.collection("stats", unique=("uuid",))
        self._default_token = secrets.token_urlsafe(64)

    # -- auth --------------------------------------------------------------------------
    @property
    def auth_enabled(self) -> bool:
        return bool(self.settings.get("api_key_authentication", True))

    def organization_for(self, key: str | None) -> str | None:
        """The name of the organization whose token is `key`, or None."""
        if not key:
            return None
        org = self.organizations.get_by("token", key)
        return org["name"] if org else None

    # -- organizations -----------------------------------------------------------------
    def save_organization(self, payload) -> dict:
        """POST: the organization named in `payload`, created or, when the name exists,
        replaced (the name is the key): its token is the one sent, or the default one."""
        if not isinstance(payload, dict):
            raise BadRequest("JSON data must be a dict.")
        problems = {}
        name = payload.get("name")
        if name is None:
            problems["name"] = "Field is required"
        else:
            _check_string(problems, "name", name)
        token = payload.get("token")
        if token is not None:
            _check_string(problems, "token", token)
        if problems:
            raise Invalid("invalid organization", problems)
        existing = self.organizations.get_by("name", name)
        doc = {"name": name, "token": self._default_token if token is None else token}
        return self._store_organization(existing, doc)

    def set_organization_token(self, name: str, payload) -> dict:
        """PUT: the fields sent replace the organization's (only its token can change)."""
        existing = self.get_organization(name)
        if not isinstance(payload, dict):
            raise BadRequest("JSON data must be a dict.")
        problems = {}
        if "name" in payload and payload["name"] != name:
            # The name is the key: the real service does not rename, it writes another organization.
            problems["name"] = "The name of an organization cannot be changed"
        token = payload.get("token", existing["token"])
        if token is not None:
            _check_string(problems, "token", token)
        if problems:
            raise Invalid("invalid organization", problems)
        doc = {"name": name, "token": self._default_token if token is None else token}
        return self._store_organization(existing, doc)

    def _store_organization(self, existing: dict | None, doc: dict) -> dict:
        try:
            if existing is None:
                return self.organizations.insert(doc)
            return self.organizations.replace(existing["_id"], doc)
        except DuplicateKey as exc:
            # The real service answers 500 here (MongoDB's duplicate key error).
            message = DEFAULT_TOKEN_TAKEN if doc["token"] == self._default_token else \
                "Tried to save duplicate unique keys"
            raise Invalid("duplicate", {exc.field: message}) from None

    def get_organization(self, name: str) -> dict:
        org = self.organizations.get_by("name", name)
        if org is None:
            raise NotFound("Empty query: Organization matching query does not exist.")
        return org

    def list_organizations(self, skip: int, limit: int) -> tuple[list[dict], bool]:
        return self._page(self.organizations, {}, skip, limit)

    # -- stats -------------------------------------------------------------------------
    def validate_stat(self, payload) -> dict:
        """The stat's fields converted, or Invalid with every field's message (in the
        document's field order, as MongoEngine reports them)."""
        if not isinstance(payload, dict):
            raise BadRequest("JSON data must be a dict.")
        values, problems = {}, {}
        if payload.get("uuid") is not None:
            try:
                values["uuid"] = to_uuid(payload["uuid"])
            except FieldError as exc:
                problems["uuid"] = str(exc)
        converters = {
            "anr": to_uuid,
            "type": lambda v: to_string(v, 120),
            **{name: to_int for name in INT_FIELDS},
            "data": lambda v: v,
        }
        for name, convert in converters.items():
            if payload.get(name) is None:
                problems[name] = "Field is required"
                continue
            try:
                values[name] = convert(payload[name])
            except FieldError as exc:
                problems[name] = str(exc)
        if problems:
            raise Invalid("invalid stat", problems)
        return values

    def create_stat(self, payload, organization: str | None, *, _id: ObjectId | None = None,
                    created_at: datetime | None = None) -> dict:
        values = self.validate_stat(payload)
        stamp = created_at or _now_ms(self.clock)
        doc = {
            "_id": _id or ObjectId(),
            "uuid": values.pop("uuid", None) or str(uuid.uuid4()),
            "organization": organization,
            **values,
            "created_at": stamp,
            "updated_at": stamp,
        }
        try:
            return self.stats.insert(doc)
        except DuplicateKey:
            raise Invalid("duplicate", {"uuid": "Tried to save duplicate unique keys"}) from None
        except (InvalidDocument, OverflowError) as exc:
            # Only `data` holds structure of the caller's choosing: MongoDB refuses a key with
            # a NUL character or an integer beyond 64 bits in it.
            raise Invalid("unstorable", {"data": str(exc)}) from None

    def get_stat(self, stat_id: str) -> dict:
        try:
            doc = self.stats.get(ObjectId(stat_id))
        except (InvalidId, TypeError):
            doc = None
        if doc is None:
            raise NotFound("Empty query: Stats matching query does not exist.")
        return doc

    def list_stats(self, filters: dict[str, str], skip: int, limit: int) -> tuple[list[dict], bool]:
        return self._page(self.stats, build_query(filters), skip, limit)

    @staticmethod
    def _page(collection, query: dict, skip: int, limit: int) -> tuple[list[dict], bool]:
        """flask-mongorest's page: it asks MongoDB for `limit + 1` rows (none for 0, at most
        |n| for a negative n, as MongoDB reads a negative limit) and has more when it got
        more than `limit`, dropping the last. So `_limit=0` or `-1` is an empty page with
        more to come."""
        wanted = limit + 1
        rows = collection.find(query, skip=skip, limit=abs(wanted)) if wanted else []
        has_more = len(rows) > limit
        return (rows[:-1] if has_more else rows), has_more

    # -- fixtures and figures ----------------------------------------------------------
    def load_fixtures(self) -> None:
        folder = self.fixtures
        for org in json.loads((folder / "organizations.json").read_text()):
            self.save_organization(org)
        for stat in json.loads((folder / "stats.json").read_text()):
            self.create_stat(stat, stat["organization"], _id=ObjectId(stat["id"]),
                             created_at=to_datetime(stat["created_at"]))

    def accounts(self) -> list[str]:
        rows = self.organizations.find(sort=[("name", 1)])
        return [f"X-API-KEY {org['token']} ({org['name']})" for org in rows]

    def summary(self) -> dict:
        counts = {}
        for stat in self.stats.find(projection={"organization": 1}):
            counts[stat.get("organization")] = counts.get(stat.get("organization"), 0) + 1
        return {"stats_per_organization": counts}


def _check_string(problems: dict, field: str, value) -> None:
    try:
        to_string(value)
    except FieldError as exc:
        problems[field] = str(exc)
