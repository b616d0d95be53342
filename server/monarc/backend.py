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

MAX_LIMIT = 1000
DEFAULT_LIMIT = 100
INT_FIELDS = ("day", "week", "month", "quarter", "year")
STAT_FIELDS = ("uuid", "anr", "type", *INT_FIELDS, "data")


def page_bounds(skip: str | None, limit: str | None) -> tuple[int, int]:
    """`_skip` and `_limit` as the real service reads them."""
    try:
        limit_value = DEFAULT_LIMIT if limit is None else int(limit)
    except ValueError:
        raise BadRequest(f'_limit must be an integer (got "{limit}" instead).') from None
    if limit_value < 0:
        raise BadRequest(f'_limit must be a non-negative integer (got "{limit}" instead).')
    if limit_value > MAX_LIMIT:
        raise BadRequest(
            "The limit you set is larger than the maximum limit for this resource "
            f"(max_limit = {MAX_LIMIT})."
        )
    try:
        skip_value = 0 if skip is None else int(skip)
    except ValueError:
        skip_value = -1
    if skip_value < 0:
        raise BadRequest(f'_skip must be a non-negative integer (got "{skip}" instead).')
    return skip_value, limit_value


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
    def create_organization(self, payload) -> dict:
        if not isinstance(payload, dict):
            raise BadRequest("JSON data must be a dict.")
        problems = {}
        name = payload.get("name")
        token = payload.get("token")
        if name is None or name == "":
            problems["name"] = "Field is required"
        else:
            try:
                to_string(name, 120)
            except FieldError as exc:
                problems["name"] = str(exc)
        if token is not None:
            try:
                to_string(token)
                if not token:
                    problems["token"] = "Field is required"
            except FieldError as exc:
                problems["token"] = str(exc)
        if problems:
            raise Invalid("invalid organization", problems)
        try:
            return self.organizations.insert({"name": name, "token": token or secrets.token_urlsafe(64)})
        except DuplicateKey as exc:
            raise Invalid("duplicate", {exc.field: "Tried to save duplicate unique keys"}) from None

    def get_organization(self, name: str) -> dict:
        org = self.organizations.get_by("name", name)
        if org is None:
            raise NotFound("Empty query: Organization matching query does not exist.")
        return org

    def list_organizations(self, skip: int, limit: int) -> tuple[list[dict], bool]:
        return self._page(self.organizations, {}, skip, limit)

    # -- stats -------------------------------------------------------------------------
    def validate_stat(self, payload) -> dict:
        """The stat's fields converted, or Invalid with every field's message."""
        if not isinstance(payload, dict):
            raise BadRequest("JSON data must be a dict.")
        values, problems = {}, {}
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
        if payload.get("uuid") is not None:
            try:
                values["uuid"] = to_uuid(payload["uuid"])
            except FieldError as exc:
                problems["uuid"] = str(exc)
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
        if limit == 0:
            return [], collection.count(query) > skip
        rows = collection.find(query, skip=skip, limit=limit + 1)
        return rows[:limit], len(rows) > limit

    # -- fixtures and figures ----------------------------------------------------------
    def load_fixtures(self) -> None:
        folder = self.fixtures
        for org in json.loads((folder / "organizations.json").read_text()):
            self.create_organization(org)
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
