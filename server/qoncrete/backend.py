"""Qoncrete: users, tokens, sources, reports, shares, the store, and ingest. No HTTP here.

Objects live in the store (mongomock). Raw events and report rows live in the aggregation
engine (engine.py), in memory beside the store, because they are written thousands of
times a second; `summary()` shows their figures and a reset empties them too.
"""
from __future__ import annotations

import hashlib
import json
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt
import orjson

from apitwin import FIXTURES_DIR
from apitwin.server.core.clock import jwt_expired
from apitwin.server.core.errors import Conflict, DomainError, Forbidden, NotFound, Unauthorized
from apitwin.server.core.passwords import check_password, hash_password
from apitwin.server.core.store import DuplicateKey

from . import preprocess, queries
from .definition import compile_report, fail
from .engine import ReportRows, SourceData
from .periods import TimeError, iso, parse_time, parse_ttl

READ, WRITE, MANAGE = 1, 2, 4
ALL = READ | WRITE | MANAGE
ACCESS_NAMES = {READ: "read (1)", WRITE: "write (2)", MANAGE: "manage (4)"}
JWT_LIFETIME = timedelta(hours=48)
MAX_BATCH = 1000
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# Whitespace as the contract's `\S` (ECMA-262) knows it: not Python's, which also counts
# \x1c-\x1f and \x85, so a name of those is a name.
_BLANK = re.compile(r"[\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]*")


class IngestRejected(DomainError):
    """Ingest's 402: a body that is not usable JSON, or a token without write access."""

    kind = "ingest_rejected"


class IngestUnauthorized(DomainError):
    """Ingest's 401: unknown source or token."""

    kind = "ingest_unauthorized"


@dataclass
class Caller:
    uid: str
    email: str
    access: int
    token_id: str | None = None

    def require(self, bit: int) -> None:
        if not self.access & bit:
            raise Forbidden(f"this token lacks the {ACCESS_NAMES[bit]} access")


def _storable(value):
    """A scalar of a definition as stored: an integer beyond 64 bits becomes a float."""
    if isinstance(value, int) and not isinstance(value, bool) and not -2**63 <= value < 2**63:
        return float(value)
    return value


def _uuid(value) -> str | None:
    try:
        text = str(uuid.UUID(str(value)))
    except (ValueError, TypeError, AttributeError):
        return None
    return text if text == str(value).lower() else None


def _body(body) -> dict:
    if not isinstance(body, dict):
        fail("body", "must be a JSON object")
    return body


def _name(body: dict, *, required: bool, where: str = "name"):
    if "name" not in body and not required:
        return None
    value = body.get("name")
    if not isinstance(value, str) or _BLANK.fullmatch(value):
        fail(where, "must be a non-empty string")
    if len(value) > 200:
        fail(where, "must be at most 200 characters")
    return value


class QoncreteBackend:
    # An API token is its document's `_id` (admin state hides it).
    SECRET_FIELDS = {"tokens": ("_id",)}

    def __init__(self, twin) -> None:
        self.clock = twin.clock
        self.settings = twin.settings
        store = twin.store
        self.users = store.collection("users", unique=("email",))
        self.tokens = store.collection("tokens")
        self.sources = store.collection("sources")
        self.reports = store.collection("reports")
        self.source_shares = store.collection("source_shares", unique=("pair",))
        self.report_shares = store.collection("report_shares", unique=("pair",))
        self.items = store.collection("store_items")
        self.data: dict[str, SourceData] = {}
        # JWTs are signed with a key of this start unless `jwt_secret` is set.
        self._random_secret = secrets.token_hex(32)

    @property
    def secret(self) -> str:
        return str(self.settings.get("jwt_secret") or self._random_secret)

    def now(self) -> datetime:
        return self.clock.now()

    # -- users and auth ----------------------------------------------------------------
    def register(self, body, *, _id: str | None = None, salt: bytes | None = None) -> dict:
        body = _body(body)
        email = body.get("email")
        if not isinstance(email, str) or not _EMAIL.match(email.strip()):
            fail("email", "must be an email address")
        email = email.strip().lower()
        password = body.get("password")
        if not isinstance(password, str) or len(password) < 6:
            fail("password", "must be a string of at least 6 characters")
        if body.get("passwordConfirm") != password:
            fail("passwordConfirm", "must equal password")
        if self.users.get_by("email", email) is not None:
            raise Conflict(f"email: {email} is already registered")
        now = iso(self.now())
        user = {"_id": _id or str(uuid.uuid4()), "email": email,
                "password": hash_password(password, salt), "created": now, "modified": now}
        try:
            return self.users.insert(user)
        except DuplicateKey:
            raise Conflict(f"email: {email} is already registered") from None

    def login(self, body) -> str:
        body = _body(body)
        email, password = body.get("email"), body.get("password")
        if not isinstance(email, str) or not isinstance(password, str):
            fail("email" if not isinstance(email, str) else "password", "must be a string")
        user = self.users.get_by("email", email.strip().lower())
        if user is None or not check_password(password, user["password"]):
            raise Unauthorized("invalid email or password")
        now = self.now()
        claims = {"sub": user["_id"], "email": user["email"], "iat": int(now.timestamp()),
                  "exp": int((now + JWT_LIFETIME).timestamp()), "era": self.clock.era}
        return jwt.encode(claims, self.secret, algorithm="HS256")

    def caller_from_jwt(self, token: str | None) -> Caller | None:
        if not token:
            return None
        try:
            claims = jwt.decode(token, self.secret, algorithms=["HS256"],
                                options={"verify_exp": False, "verify_iat": False, "require": ["sub", "exp"]})
        except jwt.PyJWTError:
            return None
        if jwt_expired(self.clock, claims):
            return None
        user = self.users.get(claims.get("sub"))
        return Caller(user["_id"], user["email"], ALL) if user else None

    def caller_from_token(self, token: str | None) -> Caller | None:
        token_id = _uuid(token) if token else None
        doc = self.tokens.get(token_id) if token_id else None
        if doc is None:
            return None
        user = self.users.get(doc["userId"])
        return Caller(user["_id"], user["email"], int(doc["access"]), doc["_id"]) if user else None

    def caller(self, bearer: str | None, token: str | None) -> Caller | None:
        """The caller of a request: `Authorization: Bearer <jwt>` or `?token=<api token>`."""
        if bearer:
            return self.caller_from_jwt(bearer) or self.caller_from_token(bearer)
        return self.caller_from_token(token) or self.caller_from_jwt(token)

    # -- tokens ------------------------------------------------------------------------
    def _token_fields(self, body: dict, caller: Caller, *, partial: bool) -> dict:
        changes = {}
        name = _name(body, required=not partial)
        if name is not None:
            changes["name"] = name
        if "access" in body or not partial:
            access = body.get("access")
            if isinstance(access, str) and access.strip().isdigit():
                access = int(access)
            if isinstance(access, bool) or not isinstance(access, int) or not 0 <= access <= ALL:
                fail("access", "must be an integer from 0 to 7 (1 read, 2 write, 4 manage)")
            if access & ~caller.access:
                raise Forbidden("access: a token cannot grant more than the caller's own access")
            changes["access"] = access
        return changes

    def list_tokens(self, caller: Caller) -> list[dict]:
        caller.require(MANAGE)
        return [self.render_token(t) for t in self.tokens.find({"userId": caller.uid})]

    def _own_token(self, caller: Caller, token_id: str) -> dict:
        caller.require(MANAGE)
        doc = self.tokens.get(_uuid(token_id))
        if doc is None or doc["userId"] != caller.uid:
            raise NotFound("token not found")
        return doc

    def get_token(self, caller: Caller, token_id: str) -> dict:
        return self.render_token(self._own_token(caller, token_id))

    def create_token(self, caller: Caller, body, *, _id: str | None = None) -> dict:
        caller.require(MANAGE)
        fields = self._token_fields(_body(body), caller, partial=False)
        now = iso(self.now())
        doc = {"_id": _id or str(uuid.uuid4()), "userId": caller.uid, **fields, "created": now, "modified": now}
        return self.render_token(self.tokens.insert(doc))

    def update_token(self, caller: Caller, token_id: str, body) -> dict:
        doc = self._own_token(caller, token_id)
        changes = self._token_fields(_body(body), caller, partial=True)
        return self.render_token(self.tokens.update(doc["_id"], {**changes, "modified": iso(self.now())}))

    def delete_token(self, caller: Caller, token_id: str) -> None:
        doc = self._own_token(caller, token_id)
        self.tokens.delete(doc["_id"])

    @staticmethod
    def render_token(doc: dict) -> dict:
        return {k: doc[k] for k in ("_id", "userId", "name", "access", "created", "modified")}

    # -- sources -----------------------------------------------------------------------
    def _rights(self, caller: Caller, source: dict) -> tuple[bool, bool] | None:
        """(read, write) of the caller's user on a source, or None when it is not theirs."""
        if source["userId"] == caller.uid:
            return True, True
        share = self.source_shares.get_by("pair", f"{source['_id']}:{caller.uid}")
        if share and (share["readAccess"] or share["writeAccess"]):
            return bool(share["readAccess"]), bool(share["writeAccess"])
        return None

    def _source(self, caller: Caller, source_id: str) -> tuple[dict, tuple[bool, bool]]:
        source = self.sources.get(_uuid(source_id))
        rights = self._rights(caller, source) if source else None
        if rights is None:
            raise NotFound("source not found")
        return source, rights

    def _writable_source(self, caller: Caller, source_id: str) -> dict:
        caller.require(MANAGE)
        source, (_, write) = self._source(caller, source_id)
        if not write:
            raise Forbidden("you have no write access to this source")
        return source

    def _owned_source(self, caller: Caller, source_id: str) -> dict:
        caller.require(MANAGE)
        source, _ = self._source(caller, source_id)
        if source["userId"] != caller.uid:
            raise Forbidden("only the owner of the source may do this")
        return source

    def render_source(self, caller: Caller, source: dict, rights: tuple[bool, bool]) -> dict:
        data = self.data.get(source["_id"])
        report_list = []
        for rid in source["reports"]:
            report = self.reports.get(rid)
            if report is not None:
                access = self._report_rights(caller, source, report)
                if access is not None:
                    report_list.append(self.render_report(report, access))
        return {
            "_id": source["_id"], "db": "", "userId": source["userId"], "name": source["name"],
            "created": source["created"], "modified": source["modified"], "active": True, "ready": 1,
            "reports": [r["_id"] for r in report_list], "reportList": report_list,
            "sourceVersion": source["sourceVersion"], "maxQuery": -1,
            "_extra": {"count": data.count if data else 0, "size": data.size if data else 0},
            "rawttl": source["rawttl"], "writeMinStat": 0,
            "writeAccess": rights[1], "readAccess": rights[0],
        }

    def _source_fields(self, body: dict, *, partial: bool) -> dict:
        changes = {}
        name = _name(body, required=not partial)
        if name is not None:
            changes["name"] = name
        if "rawttl" in body or not partial:
            ttl = body.get("rawttl", "")
            try:
                if not isinstance(ttl, str):
                    raise TimeError("must be a string such as \"30d\" (or \"\" to keep raw events forever)")
                parse_ttl(ttl)
            except TimeError as exc:
                fail("rawttl", str(exc))
            changes["rawttl"] = ttl or ""
        return changes

    def list_sources(self, caller: Caller) -> list[dict]:
        caller.require(READ)
        found = self.sources.find({"userId": caller.uid})
        for share in self.source_shares.find({"userId": caller.uid}):
            source = self.sources.get(share["sourceId"])
            if source is not None:
                found.append(source)
        answer = []
        for source in found:
            rights = self._rights(caller, source)
            if rights is not None:
                answer.append(self.render_source(caller, source, rights))
        return answer

    def get_source(self, caller: Caller, source_id: str) -> dict:
        caller.require(READ)
        source, rights = self._source(caller, source_id)
        return self.render_source(caller, source, rights)

    def create_source(self, caller: Caller, body, *, _id: str | None = None) -> dict:
        caller.require(MANAGE)
        fields = self._source_fields(_body(body), partial=False)
        now = iso(self.now())
        doc = {"_id": _id or str(uuid.uuid4()), "userId": caller.uid, **fields, "created": now,
               "modified": now, "reports": [], "sourceVersion": 0, "_extra": {"count": 0, "size": 0}}
        self.sources.insert(doc)
        self.data[doc["_id"]] = SourceData()
        return self.render_source(caller, doc, (True, True))

    def update_source(self, caller: Caller, source_id: str, body) -> dict:
        source = self._writable_source(caller, source_id)
        changes = self._source_fields(_body(body), partial=True)
        source = self.sources.update(source["_id"], {**changes, "modified": iso(self.now()),
                                                     "sourceVersion": source["sourceVersion"] + 1})
        self._purge(source)
        return self.render_source(caller, source, self._rights(caller, source))

    def delete_source(self, caller: Caller, source_id: str) -> None:
        source = self._owned_source(caller, source_id)
        sid = source["_id"]
        for rid in source["reports"]:
            self.reports.delete(rid)
        self.report_shares.delete_many({"sourceId": sid})
        self.source_shares.delete_many({"sourceId": sid})
        self.sources.delete(sid)
        self.data.pop(sid, None)

    def daily_stats(self, caller: Caller, source_id: str) -> list[dict]:
        caller.require(READ)
        source, _ = self._source(caller, source_id)
        data = self.data.get(source["_id"]) or SourceData()
        return [{"date": day, "count": c, "size": s} for day, (c, s) in sorted(data.daily.items())]

    # -- shares ------------------------------------------------------------------------
    def _grantee(self, body: dict, owner_id: str) -> dict:
        email = body.get("email")
        if not isinstance(email, str) or not email.strip():
            fail("email", "must be the email address of a registered user")
        user = self.users.get_by("email", email.strip().lower())
        if user is None:
            raise NotFound(f"email: no registered user has the email {email.strip()}")
        if user["_id"] == owner_id:
            fail("email", "you cannot share with yourself")
        return user

    @staticmethod
    def _flags(body: dict) -> tuple[bool, bool]:
        flags = []
        for name, default in (("readAccess", True), ("writeAccess", False)):
            value = body.get(name, default)
            if not isinstance(value, bool):
                fail(name, "must be true or false")
            flags.append(value)
        return flags[0], flags[1]

    def _create_share(self, collection, owner_id: str, body, extra: dict, pair_of: str) -> dict:
        body = _body(body)
        user = self._grantee(body, owner_id)
        read, write = self._flags(body)
        doc = {"_id": str(uuid.uuid4()), "pair": f"{pair_of}:{user['_id']}", "ownerId": owner_id,
               "userId": user["_id"], "userEmail": user["email"], **extra,
               "readAccess": read, "writeAccess": write}
        try:
            return self.render_share(collection.insert(doc))
        except DuplicateKey:
            raise Conflict(f"email: already shared with {user['email']}") from None

    @staticmethod
    def render_share(doc: dict) -> dict:
        keys = ["_id", "ownerId", "userId", "userEmail", "sourceId"]
        if "reportId" in doc:
            keys.append("reportId")
        return {**{k: doc[k] for k in keys}, "readAccess": doc["readAccess"], "writeAccess": doc["writeAccess"]}

    def list_source_shares(self, caller: Caller, source_id: str) -> list[dict]:
        source = self._owned_source(caller, source_id)
        return [self.render_share(s) for s in self.source_shares.find({"sourceId": source["_id"]})]

    def _source_share(self, caller: Caller, source_id: str, share_id: str) -> dict:
        source = self._owned_source(caller, source_id)
        share = self.source_shares.get(_uuid(share_id))
        if share is None or share["sourceId"] != source["_id"]:
            raise NotFound("share not found")
        return share

    def get_source_share(self, caller: Caller, source_id: str, share_id: str) -> dict:
        return self.render_share(self._source_share(caller, source_id, share_id))

    def create_source_share(self, caller: Caller, source_id: str, body) -> dict:
        source = self._owned_source(caller, source_id)
        return self._create_share(self.source_shares, caller.uid, body, {"sourceId": source["_id"]}, source["_id"])

    def delete_source_share(self, caller: Caller, source_id: str, share_id: str) -> None:
        self.source_shares.delete(self._source_share(caller, source_id, share_id)["_id"])

    def _report_of_owned(self, caller: Caller, source_id: str, report_id: str) -> tuple[dict, dict]:
        source = self._owned_source(caller, source_id)
        report = self.reports.get(_uuid(report_id))
        if report is None or report["sourceId"] != source["_id"]:
            raise NotFound("report not found")
        return source, report

    def list_report_shares(self, caller: Caller, source_id: str, report_id: str) -> list[dict]:
        _, report = self._report_of_owned(caller, source_id, report_id)
        return [self.render_share(s) for s in self.report_shares.find({"reportId": report["_id"]})]

    def _report_share(self, caller: Caller, source_id: str, report_id: str, share_id: str) -> dict:
        _, report = self._report_of_owned(caller, source_id, report_id)
        share = self.report_shares.get(_uuid(share_id))
        if share is None or share["reportId"] != report["_id"]:
            raise NotFound("share not found")
        return share

    def get_report_share(self, caller: Caller, source_id: str, report_id: str, share_id: str) -> dict:
        return self.render_share(self._report_share(caller, source_id, report_id, share_id))

    def create_report_share(self, caller: Caller, source_id: str, report_id: str, body) -> dict:
        source, report = self._report_of_owned(caller, source_id, report_id)
        return self._create_share(self.report_shares, caller.uid, body,
                                  {"sourceId": source["_id"], "reportId": report["_id"]}, report["_id"])

    def delete_report_share(self, caller: Caller, source_id: str, report_id: str, share_id: str) -> None:
        self.report_shares.delete(self._report_share(caller, source_id, report_id, share_id)["_id"])

    # -- reports -----------------------------------------------------------------------
    def _report_rights(self, caller: Caller, source: dict, report: dict) -> tuple[bool, bool] | None:
        rights = self._rights(caller, source)
        if rights is not None:
            return rights
        share = self.report_shares.get_by("pair", f"{report['_id']}:{caller.uid}")
        if share and (share["readAccess"] or share["writeAccess"]):
            return bool(share["readAccess"]), bool(share["writeAccess"])
        return None

    def _report(self, caller: Caller, source_id: str, report_id: str) -> tuple[dict, dict, tuple[bool, bool]]:
        source = self.sources.get(_uuid(source_id))
        report = self.reports.get(_uuid(report_id))
        if source is None or report is None or report["sourceId"] != source["_id"]:
            if source is None or self._rights(caller, source) is None:
                raise NotFound("source not found")
            raise NotFound("report not found")
        rights = self._report_rights(caller, source, report)
        if rights is None:
            raise NotFound("source not found")
        return source, report, rights

    def _rows(self, source: dict, report: dict) -> ReportRows:
        data = self.data.setdefault(source["_id"], SourceData())
        rows = data.reports.get(report["_id"])
        if rows is None:
            rows = data.rebuild(report["_id"], compile_report(report, self.now()), self.now())
        return rows

    def render_report(self, report: dict, rights: tuple[bool, bool]) -> dict:
        data = self.data.get(report["sourceId"])
        rows = data.reports.get(report["_id"]) if data else None
        size = rows.row_count * (48 + 16 * rows.c.columns) if rows else 0
        return {
            "_id": report["_id"], "sourceId": report["sourceId"], "name": report["name"],
            "period": report["period"], "created": report["created"], "modified": report["modified"],
            "reportVersion": report["reportVersion"], "active": True,
            "preprocess": report["preprocess"], "filter": report["filter"], "groupBy": report["groupBy"],
            "values": report["values"], "_extra": None, "storageVersion": 0, "dataSize": size,
            "startingPoint": "", "writeAccess": rights[1], "readAccess": rights[0],
        }

    @staticmethod
    def _normalized(body: dict) -> dict:
        """The definition as stored and answered: every field of every item, defaults filled.

        Only what the engine reads is kept (a comparator's `value`, not other keys sent along),
        and integers beyond 64 bits as the float they compare as: the real service, reading
        JSON numbers as doubles, stores whatever a valid definition holds."""
        def pick(items, fields):
            return [{name: _storable(item.get(name, default)) for name, default in fields} for item in items or []]

        filters = pick(body.get("filter"), (("key", ""), ("condition", ""), ("type", "string"), ("comparator", None)))
        for item in filters:
            item["type"] = item["type"] or "string"
            comparator = item["comparator"]
            item["comparator"] = {"value": _storable(comparator["value"]) if comparator is not None else True}
        return {
            "period": body["period"],
            "preprocess": pick(body.get("preprocess"), (("key", ""), ("injectKey", ""), ("func", ""),
                                                         ("param1", ""), ("param2", ""))),
            "filter": filters,
            "groupBy": pick(body.get("groupBy"), (("name", ""), ("keys", []))),
            "values": pick(body.get("values"), (("name", ""), ("key", ""), ("type", ""), ("mustExists", False))),
        }

    @staticmethod
    def _as_sent(report: dict, field: str):
        """A stored definition field as a client sends it: a count's key "" is no key."""
        if field != "values":
            return report[field]
        return [{k: v for k, v in item.items() if not (k == "key" and v == "" and item["type"] == "count")}
                for item in report["values"]]

    def list_reports(self, caller: Caller, source_id: str) -> list[dict]:
        caller.require(READ)
        source = self.sources.get(_uuid(source_id))
        answer = []
        for rid in (source or {}).get("reports", []):
            report = self.reports.get(rid)
            rights = self._report_rights(caller, source, report) if report else None
            if rights is not None:
                answer.append(self.render_report(report, rights))
        if source is None or (not answer and self._rights(caller, source) is None):
            raise NotFound("source not found")
        return answer

    def get_report(self, caller: Caller, source_id: str, report_id: str) -> dict:
        caller.require(READ)
        _, report, rights = self._report(caller, source_id, report_id)
        return self.render_report(report, rights)

    def create_report(self, caller: Caller, source_id: str, body, *, _id: str | None = None) -> dict:
        source = self._writable_source(caller, source_id)
        body = _body(body)
        name = _name(body, required=True)
        compiled = compile_report(body, self.now())
        now = iso(self.now())
        doc = {"_id": _id or str(uuid.uuid4()), "sourceId": source["_id"], "name": name,
               **self._normalized(body), "created": now, "modified": now, "reportVersion": 0}
        self.reports.insert(doc)
        self.sources.update(source["_id"], {"reports": [*source["reports"], doc["_id"]]})
        self._purge(source)
        self.data.setdefault(source["_id"], SourceData()).rebuild(doc["_id"], compiled, self.now())
        return self.render_report(doc, self._rights(caller, source))

    def update_report(self, caller: Caller, source_id: str, report_id: str, body) -> dict:
        caller.require(MANAGE)
        source, report, rights = self._report(caller, source_id, report_id)
        if not rights[1]:
            raise Forbidden("you have no write access to this report")
        body = _body(body)
        name = _name(body, required=False)
        definition_fields = ("period", "preprocess", "filter", "groupBy", "values")
        changes = {"modified": iso(self.now())}
        if name is not None:
            changes["name"] = name
        if any(f in body for f in definition_fields):
            merged = {f: body[f] if f in body else self._as_sent(report, f) for f in definition_fields}
            compiled = compile_report(merged, self.now())
            changes.update(self._normalized(merged))
            changes["reportVersion"] = report["reportVersion"] + 1
            self._purge(source)
            self.data.setdefault(source["_id"], SourceData()).rebuild(report["_id"], compiled, self.now())
        report = self.reports.update(report["_id"], changes)
        return self.render_report(report, rights)

    def delete_report(self, caller: Caller, source_id: str, report_id: str) -> None:
        caller.require(MANAGE)
        source, report, rights = self._report(caller, source_id, report_id)
        if not rights[1]:
            raise Forbidden("you have no write access to this report")
        self.reports.delete(report["_id"])
        self.report_shares.delete_many({"reportId": report["_id"]})
        self.sources.update(source["_id"], {"reports": [r for r in source["reports"] if r != report["_id"]]})
        data = self.data.get(source["_id"])
        if data:
            data.reports.pop(report["_id"], None)

    # -- queries -----------------------------------------------------------------------
    def _readable_rows(self, caller: Caller, source_id, report_id, where: str = "") -> ReportRows:
        caller.require(READ)
        if where:
            for name, value in (("sid", source_id), ("rid", report_id)):
                if not isinstance(value, str) or _uuid(value) is None:
                    fail(where + name, "must be a lowercase UUID")
        source, report, rights = self._report(caller, source_id, report_id)
        if not rights[0]:
            raise Forbidden("you have no read access to this report")
        return self._rows(source, report)

    def scan_keys(self, caller: Caller, source_id: str, report_id: str, body, *, export=False):
        rows = self._readable_rows(caller, source_id, report_id)
        now = self.now()
        limits = {"limit_max": queries.MAX_EXPORT, "limit_default": 10000} if export else {}
        level, bucket, page, has_more, cursor = queries.scan_keys(rows, body, now, **limits)
        if export:
            return queries.to_csv(rows, level, [(bucket, r) for r in page])
        return {"data": [rows.render(level, bucket, r) for r in page], "hasMore": has_more, "cursor": cursor}

    def scan_dates(self, caller: Caller, source_id: str, report_id: str, body, *, export=False):
        rows = self._readable_rows(caller, source_id, report_id)
        limits = {"limit_max": queries.MAX_EXPORT, "limit_default": 10000} if export else {}
        level, found, has_more = queries.scan_dates(rows, body, self.now(), **limits)
        if export:
            return queries.to_csv(rows, level, found)
        return {"data": [rows.render(level, bucket, r) for bucket, r in found], "hasMore": has_more}

    def merge_reports(self, caller: Caller, body) -> dict:
        body = _body(body)
        main = body.get("mainReport")
        if not isinstance(main, dict):
            fail("mainReport", "must be an object")
        subs = body.get("subReports", [])
        if subs is None:
            subs = []
        if not isinstance(subs, list) or len(subs) > 10:
            fail("subReports", "must be an array of at most 10 objects")
        rows = self._readable_rows(caller, main.get("sid"), main.get("rid"), "mainReport.")
        now = self.now()
        level, bucket, page, has_more, _ = queries.scan_keys(
            rows, main, now, names=queries.MERGE_NAMES, where="mainReport.")
        at = queries.query_time(main, "at", now, "mainReport.", default="now")  # sub buckets hold it, shifted
        data = [[rows.render(level, bucket, r) for r in page]]
        for i, sub in enumerate(subs):
            where = f"subReports[{i}]."
            if not isinstance(sub, dict):
                fail(where.rstrip("."), "must be an object")
            sub_rows = self._readable_rows(caller, sub.get("sid"), sub.get("rid"), where)
            if sub_rows.c.depth < level:
                fail(where + "rid", f"has {sub_rows.c.depth} groupBy levels, fewer than klen {level}")
            search = sub.get("search") or ""
            if not isinstance(search, str):
                fail(where + "search", "must be a string")
            diff = queries.parse_time_diff(sub, where)
            sub_at = queries.shifted(at, diff)
            data.append([queries.sub_row(sub_rows, level, sub_at, r.path, search) for r in page])
        return {"data": data, "hasMore": has_more}

    # -- store -------------------------------------------------------------------------
    @staticmethod
    def _kind(kind: str) -> str:
        if not isinstance(kind, str) or not re.match(r"^[A-Za-z0-9_.-]{1,64}$", kind):
            fail("kind", "must be 1-64 letters, digits, '_', '-' or '.'")
        return kind

    @staticmethod
    def _item_fields(body: dict) -> dict:
        name = _name(body, required=True)
        value = body.get("value")
        if not isinstance(value, str):
            fail("value", 'must be a string (JSON written as a string, e.g. "{\\"f1\\": 10}")')
        return {"name": name, "value": value}

    @staticmethod
    def render_item(doc: dict) -> dict:
        return {"id": doc["_id"], "name": doc["name"], "value": doc["value"]}

    def list_items(self, caller: Caller, kind: str) -> list[dict]:
        caller.require(READ)
        return [self.render_item(d) for d in self.items.find({"userId": caller.uid, "kind": self._kind(kind)})]

    def _item(self, caller: Caller, kind: str, item_id) -> dict:
        kind = self._kind(kind)
        doc = self.items.get(_uuid(item_id)) if isinstance(item_id, str) else None
        if doc is None or doc["userId"] != caller.uid or doc["kind"] != kind:
            raise NotFound("item not found")
        return doc

    def get_item(self, caller: Caller, kind: str, item_id: str) -> dict:
        caller.require(READ)
        return self.render_item(self._item(caller, kind, item_id))

    def create_item(self, caller: Caller, kind: str, body) -> dict:
        caller.require(WRITE)
        kind = self._kind(kind)
        fields = self._item_fields(_body(body))
        now = iso(self.now())
        doc = {"_id": str(uuid.uuid4()), "userId": caller.uid, "kind": kind, **fields,
               "created": now, "modified": now}
        return self.render_item(self.items.insert(doc))

    def update_item(self, caller: Caller, kind: str, body) -> dict:
        caller.require(WRITE)
        body = _body(body)
        if body.get("id") is None:
            fail("id", "is required")
        doc = self._item(caller, kind, body.get("id"))
        fields = self._item_fields(body)
        return self.render_item(self.items.update(doc["_id"], {**fields, "modified": iso(self.now())}))

    def delete_item(self, caller: Caller, kind: str, item_id: str) -> None:
        caller.require(WRITE)
        self.items.delete(self._item(caller, kind, item_id)["_id"])

    # -- ingest ------------------------------------------------------------------------
    @staticmethod
    def parse_events(body: bytes) -> list:
        """A JSON object, a JSON array of objects, or NDJSON (one object a line)."""
        if not body or not body.strip():
            raise IngestRejected("empty body: send a JSON object, a JSON array of objects or NDJSON")
        try:
            parsed = orjson.loads(body)
        except orjson.JSONDecodeError:
            parsed = []
            for number, line in enumerate(body.splitlines(), 1):
                if line.strip():
                    try:
                        parsed.append(orjson.loads(line))
                    except orjson.JSONDecodeError:
                        raise IngestRejected(f"invalid JSON on line {number}") from None
        events = parsed if isinstance(parsed, list) else [parsed]
        if not events:
            raise IngestRejected("empty batch: send 1 to 1000 events")
        if len(events) > MAX_BATCH:
            raise IngestRejected(f"a batch holds at most {MAX_BATCH} events (got {len(events)})")
        for i, event in enumerate(events):
            if not isinstance(event, dict):
                raise IngestRejected(f"event {i}: must be a JSON object")
        return events

    def ingest(self, source_id: str, token: str | None, bearer: str | None, body: bytes) -> int:
        source = self.sources.get(_uuid(source_id))
        if source is None:
            raise IngestUnauthorized("unknown source")
        caller = self.caller(bearer, token)
        if caller is None:
            raise IngestUnauthorized("unknown token")
        rights = self._rights(caller, source)
        if rights is None or not rights[1] or not caller.access & WRITE:
            raise IngestRejected("this token has no write access to the source")
        return self.accept(source, self.parse_events(body), self.now())

    def accept(self, source: dict, events: list[dict], received: datetime | None) -> int:
        """Check every event first (nothing is kept when one is bad), then keep them all.

        `received` None (fixtures only): each event is taken as received at its own time.
        """
        now = self.now()
        items = []
        for i, event in enumerate(events):
            at = received or now
            if "_qtime" in event:
                try:
                    at = parse_time(event["_qtime"], now) if isinstance(event["_qtime"], str) else None
                except TimeError:
                    at = None
                if at is None or at.year < 2:
                    raise IngestRejected(f"event {i}: _qtime must be an ISO 8601 time")
            items.append((received or at, at, event, len(orjson.dumps(event))))
        data = self.data.setdefault(source["_id"], SourceData())
        self._purge(source)
        for rid in source["reports"]:
            if rid not in data.reports:
                self._rows(source, self.reports.get(rid))
        data.ingest(items, now)
        self.sources.update(source["_id"], {"_extra": {"count": data.count, "size": data.size}})
        return len(items)

    def _purge(self, source: dict) -> None:
        data = self.data.get(source["_id"])
        if data is not None:
            data.purge(parse_ttl(source.get("rawttl")), self.now())

    # -- fixtures and figures ----------------------------------------------------------
    def load_fixtures(self) -> None:
        self.data = {}
        preprocess.clear_caches()
        folder = FIXTURES_DIR / "qoncrete"
        accounts = json.loads((folder / "accounts.json").read_text())
        for user in accounts["users"]:
            self.register({"email": user["email"], "password": user["password"],
                           "passwordConfirm": user["password"]},
                          _id=user["_id"], salt=hashlib.sha256(user["email"].encode()).digest()[:16])
            caller = Caller(user["_id"], user["email"], ALL)
            for token in user.get("tokens", []):
                self.create_token(caller, token, _id=token["_id"])
            for source in user.get("sources", []):
                self.create_source(caller, source, _id=source["_id"])
        generated = json.loads((folder / "events.json").read_text())
        midnight = self.now().replace(hour=0, minute=0, second=0, microsecond=0)
        for sid, rows in generated["events"].items():
            events = []
            for ago, event in rows:  # seconds before today's midnight (UTC), oldest first
                at = midnight - timedelta(seconds=ago)
                events.append({**event, "ua": generated["agents"][event["ua"]],
                               "_qtime": at.strftime("%Y-%m-%dT%H:%M:%SZ")})
            for start in range(0, len(events), MAX_BATCH):
                self.accept(self.sources.get(sid), events[start:start + MAX_BATCH], None)
        for user in accounts["users"]:
            caller = Caller(user["_id"], user["email"], ALL)
            for source in user.get("sources", []):
                for report in source.get("reportDefinitions", []):
                    self.create_report(caller, source["_id"], report, _id=report["_id"])
            for share in user.get("sourceShares", []):
                self.create_source_share(caller, share["sourceId"], share)

    def accounts(self) -> list[str]:
        seeded = json.loads((FIXTURES_DIR / "qoncrete" / "accounts.json").read_text())
        passwords = {user["email"]: user["password"] for user in seeded["users"]}
        lines = []
        for user in self.users.find(sort=[("email", 1)]):
            password = passwords.get(user["email"])
            lines.append(f"user {user['email']}" + (f" / {password}" if password else ""))
            for token in self.tokens.find({"userId": user["_id"]}):
                lines.append(f"  ?token={token['_id']} ({token['name']}, access {token['access']})")
        return lines

    def summary(self) -> dict:
        figures = {}
        for source in self.sources.find():
            self._purge(source)
        for sid, data in self.data.items():
            figures[sid] = {"events": data.count, "retained": len(data.events), "size": data.size,
                            "reports": {rid: rows.row_count for rid, rows in data.reports.items()}}
        return {"sources": figures}


