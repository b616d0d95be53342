"""OpenGrid: users, groups, saved queries, datasets and their rules over the store. No HTTP."""
from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from bson import ObjectId
from bson.errors import InvalidDocument

from apitwin.server.core.clock import jwt_expired
from apitwin.server.core.errors import Forbidden
from apitwin.server.core.passwords import check_password, hash_password
from apitwin.server.core.store import DuplicateKey

from . import auth
from .datasets import DatasetRows, feature_collection, parse_geometry, row_from_fixture
from .errors import ClientError, DataError, LoginFailed
from .mongoq import (Budget, RegexTimeout, from_extended, parse_filter, parse_id, parse_json_object,
                     parse_limit, parse_sort, sort_pairs)

COLLECTIONS = ("users", "groups", "queries")
ADMIN_RESOURCE = "$admin"
CAPABILITIES = {"geoSpatialFiltering": True}
REGEX_TOO_SLOW = ("The regular expression took too long to evaluate (more than {:g} s in this request); "
                  "simplify it.")


@dataclass
class Caller:
    """The user behind a valid token, with what its groups grant now."""

    user: dict
    groups: list[str]
    datasets: list[str] = field(default_factory=list)
    admin: bool = False

    @property
    def user_id(self) -> str:
        return self.user["userId"]

    def may_see(self, dataset_id: str) -> bool:
        return self.admin or dataset_id in self.datasets


_INT64 = (-(2**63), 2**63 - 1)


def _check_keys(value, path: str = "o") -> None:
    """What MongoDB would refuse to store: field names starting with `$` or holding a dot,
    text that is not valid Unicode (lone surrogates), integers beyond 64 bits."""
    if isinstance(value, dict):
        for key, item in value.items():
            _check_text(key, path)
            if key.startswith("$") or "." in key or "\x00" in key:
                raise ClientError(f"Invalid field name {path}.{key!r}: names cannot start with $ or contain "
                                  "a dot or a null character.")
            _check_keys(item, f"{path}.{key}")
    elif isinstance(value, list):
        for item in value:
            _check_keys(item, path)
    elif isinstance(value, str):
        _check_text(value, path)
    elif isinstance(value, int) and not isinstance(value, bool) and not _INT64[0] <= value <= _INT64[1]:
        raise ClientError(f"Invalid number in {path}: integers are limited to 64 bits.")


def _check_text(text: str, path: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ClientError(f"Invalid text in {path}: not valid Unicode (lone surrogate).") from None


def _string(o: dict, name: str, *, required: bool = False) -> None:
    """A text field; a required one is not empty (as the contract's minLength 1 says: text of
    spaces is text, and the real service stores whatever it is sent)."""
    if name not in o:
        if required:
            raise ClientError(f"Field {name} is required.")
        return
    value = o[name]
    if not isinstance(value, str) or (required and not value):
        raise ClientError(f"Field {name} must be a non-empty string." if required else f"Field {name} must be a string.")


def _strings(o: dict, name: str) -> None:
    if name not in o:
        return
    value = o[name]
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ClientError(f"Field {name} must be an array of strings.")


def _boolean(o: dict, name: str) -> None:
    if name in o and not isinstance(o[name], bool):
        raise ClientError(f"Field {name} must be true or false.")


def _object(o: dict, name: str) -> None:
    if name in o and not isinstance(o[name], dict):
        raise ClientError(f"Field {name} must be an object.")


@lru_cache(maxsize=None)
def _fixture_rows(folder: Path, dataset_id: str, date_columns: tuple[str, ...]) -> DatasetRows:
    """The shipped rows, read and indexed once per process (rows are never written)."""
    raw = json.loads((folder / f"{dataset_id}.json").read_text(encoding="utf-8"))
    return DatasetRows([row_from_fixture(row, set(date_columns)) for row in raw])


class OpenGridBackend:
    def __init__(self, twin) -> None:
        self.clock = twin.clock
        self.settings = twin.settings
        self.fixtures = twin.fixtures_folder
        store = twin.store
        self.users = store.collection("users", unique=("userId",))
        self.credentials = store.collection("credentials")  # _id = the user's _id; never served
        self.groups = store.collection("groups", unique=("groupId",))
        self.queries = store.collection("queries")
        self.datasets = store.collection("datasets", unique=("id",))
        self.lists = store.collection("lists", unique=("listId",))
        self.rows: dict[str, DatasetRows] = {}
        # Tokens are signed with a key of this start unless `jwt_secret` is set: a key in
        # the code would let anyone forge an admin token.
        self._random_secret = secrets.token_hex(32)

    @property
    def secret(self) -> str:
        return str(self.settings.get("jwt_secret") or self._random_secret)

    @property
    def regex_budget(self) -> float:
        return float(self.settings["regex_budget_seconds"])

    # -- authentication ----------------------------------------------------------------
    def _grants(self, user: dict) -> tuple[list[str], bool]:
        datasets, admin = [], False
        for group_id in user.get("groups") or []:
            group = self.groups.get_by("groupId", group_id)
            if group is None or group.get("enabled") is False:
                continue
            admin = admin or group.get("isAdmin") is True
            for dataset in group.get("datasets") or []:
                if dataset not in datasets:
                    datasets.append(dataset)
        return datasets, admin

    def _token_for(self, user: dict) -> str:
        datasets, admin = self._grants(user)
        now = self.clock.now()
        claims = {
            "sub": user["userId"],
            "exp": int((now + auth.TOKEN_LIFETIME).timestamp()),
            "jti": user["userId"],
            "roles": ",".join(user.get("groups") or []),
            "resources": ",".join(datasets + ([ADMIN_RESOURCE] if admin else [])),
            "fname": user.get("firstName") or "",
            "lname": user.get("lastName") or "",
            # The user's own record and the clock's era: a token dies with its user (one
            # created again with the same userId is another record) and stays expired
            # when the clock is moved back.
            "uid": str(user["_id"]),
            "era": self.clock.era,
        }
        return auth.issue(claims, self.secret)

    def login(self, username, password) -> str:
        """A fresh token for good credentials; LoginFailed (401) otherwise."""
        user = self.users.get_by("userId", username) if isinstance(username, str) else None
        credential = self.credentials.get(user["_id"]) if user else None
        if user is None or not check_password(password, credential and credential.get("hash")):
            raise LoginFailed("Authentication failed: invalid username or password.")
        return self._token_for(user)

    def caller_for(self, token: str | None) -> Caller:
        """The caller of a valid, unexpired token whose user still exists; Forbidden otherwise."""
        if not token:
            raise Forbidden("Access denied: a valid X-AUTH-TOKEN header is required.")
        claims = auth.read(token, self.secret)
        if claims is None:
            raise Forbidden("Access denied: the X-AUTH-TOKEN is not a valid token.")
        if jwt_expired(self.clock, claims):
            raise Forbidden("Access denied: the X-AUTH-TOKEN has expired; log in again.")
        user = self.users.get_by("userId", claims.get("sub")) if isinstance(claims.get("sub"), str) else None
        if user is None or claims.get("uid") != str(user["_id"]):
            raise Forbidden("Access denied: the user of this token no longer exists.")
        datasets, admin = self._grants(user)
        return Caller(user=user, groups=list(user.get("groups") or []), datasets=datasets, admin=admin)

    def renew(self, caller: Caller) -> str:
        return self._token_for(caller.user)

    # -- users, groups, queries --------------------------------------------------------
    def _collection(self, kind: str):
        return {"users": self.users, "groups": self.groups, "queries": self.queries}[kind]

    def _run(self, call):
        """Run a mongomock evaluation, turning its failures into the service's errors."""
        try:
            return call()
        except RegexTimeout:
            raise ClientError(REGEX_TOO_SLOW.format(self.regex_budget)) from None
        except (ClientError, DataError):
            raise
        except Exception as exc:  # OperationFailure, NotImplementedError, TypeError from mongomock
            raise DataError(f"Invalid query filter: {exc}") from None

    def _visible_queries(self, caller: Caller) -> dict:
        if caller.admin:
            return {}
        return {"$or": [
            {"owner": caller.user_id},
            {"isCommon": True},
            {"sharedWith.users": caller.user_id},
            {"sharedWith.groups": {"$in": caller.groups}},
        ]}

    def list_documents(self, kind: str, caller: Caller, q: str | None, n) -> list[dict]:
        flt = parse_filter(q, budget=Budget(self.regex_budget))
        limit = parse_limit(n)
        if limit == 0:
            return []
        if kind == "queries" and not caller.admin:
            flt = {"$and": [flt, self._visible_queries(caller)]} if flt else self._visible_queries(caller)
        collection = self._collection(kind)
        return self._run(lambda: collection.find(flt, limit=limit or 0))

    def get_document(self, kind: str, caller: Caller, raw_id: str) -> list[dict]:
        doc = self._collection(kind).get(parse_id(raw_id))
        if doc is None:
            return []
        if kind == "queries" and not self._may_read_query(caller, doc):
            raise Forbidden("Access denied: this query is not shared with you.")
        return [doc]

    def _may_read_query(self, caller: Caller, doc: dict) -> bool:
        if caller.admin or doc.get("owner") == caller.user_id or doc.get("isCommon") is True:
            return True
        shared = doc.get("sharedWith") if isinstance(doc.get("sharedWith"), dict) else {}
        users, groups = shared.get("users") or [], shared.get("groups") or []
        return caller.user_id in users or any(group in groups for group in caller.groups)

    @staticmethod
    def _object_of(body) -> dict:
        if not isinstance(body, dict) or not isinstance(body.get("o"), dict):
            raise ClientError('The body must be a JSON object {"id": ..., "o": {...}} with the object in "o".')
        o = from_extended(body["o"])
        o.pop("_id", None)
        _check_keys(o)
        return o

    def create_document(self, kind: str, caller: Caller, body) -> dict:
        o = self._object_of(body)
        if kind == "users":
            self._require_admin(caller)
            return self._create_user(o)
        if kind == "groups":
            self._require_admin(caller)
            return self._create_group(o)
        return self._create_query(caller, o)

    def update_document(self, kind: str, caller: Caller, raw_id: str, body) -> dict:
        _id = parse_id(raw_id)
        o = self._object_of(body)
        if kind in ("users", "groups"):
            self._require_admin(caller)
        old = self._collection(kind).get(_id)
        if old is None:
            raise DataError(f"No object exists with id {{\"$oid\":\"{_id}\"}}.")
        if kind == "users":
            return self._update_user(old, o)
        if kind == "groups":
            return self._update_group(old, o)
        return self._update_query(caller, old, o)

    def delete_document(self, kind: str, caller: Caller, raw_id: str) -> None:
        _id = parse_id(raw_id)
        if kind in ("users", "groups"):
            self._require_admin(caller)
        old = self._collection(kind).get(_id)
        if old is None:
            raise DataError(f"No object exists with id {{\"$oid\":\"{_id}\"}}.")
        if kind == "users":
            self._delete_user(old)
        elif kind == "groups":
            self._delete_group(old)
        else:
            if not (caller.admin or old.get("owner") == caller.user_id):
                raise Forbidden("Access denied: only the owner of a query or an administrator may delete it.")
            self.queries.delete(_id)

    @staticmethod
    def _require_admin(caller: Caller) -> None:
        if not caller.admin:
            raise Forbidden("Access denied: administrators only.")

    def _insert(self, collection, doc: dict, what: str) -> dict:
        try:
            return collection.insert(doc)
        except DuplicateKey as exc:
            raise DataError(f"A {what} with {exc.field} {exc.value} already exists.") from None
        except InvalidDocument as exc:
            raise ClientError(f"Invalid {what}: {exc}") from None

    def _replace(self, collection, _id, doc: dict, what: str) -> dict:
        try:
            return collection.replace(_id, doc)
        except DuplicateKey as exc:
            raise DataError(f"A {what} with {exc.field} {exc.value} already exists.") from None
        except InvalidDocument as exc:
            raise ClientError(f"Invalid {what}: {exc}") from None

    # users
    @staticmethod
    def _validate_user(o: dict) -> None:
        _string(o, "userId", required=True)
        for name in ("firstName", "lastName"):
            _string(o, name)
        _strings(o, "groups")

    def _create_user(self, o: dict, *, _id: ObjectId | None = None) -> dict:
        self._validate_user(o)
        password = o.pop("password", None)
        if not isinstance(password, str) or not password:
            raise ClientError("Field password is required (a non-empty string).")
        o.setdefault("groups", [])
        if _id is not None:
            o["_id"] = _id
        doc = self._insert(self.users, o, "user")
        self.credentials.insert({"_id": doc["_id"], "hash": hash_password(password)})
        return doc

    def _update_user(self, old: dict, o: dict) -> dict:
        self._validate_user(o)
        password = o.pop("password", None)
        if password is not None and not isinstance(password, str):
            raise ClientError("Field password must be a string.")
        o.setdefault("groups", [])
        doc = self._replace(self.users, old["_id"], o, "user")
        if password:
            self.credentials.replace(old["_id"], {"hash": hash_password(password)})
        if doc["userId"] != old["userId"]:
            self._rename_in_queries("owner", "sharedWith.users", old["userId"], doc["userId"])
        return doc

    def _delete_user(self, old: dict) -> None:
        user_id = old["userId"]
        self.queries.delete_many({"owner": user_id})
        self._pull_from_queries("sharedWith.users", user_id)
        self.credentials.delete(old["_id"])
        self.users.delete(old["_id"])

    # groups
    @staticmethod
    def _validate_group(o: dict) -> None:
        _string(o, "groupId", required=True)
        for name in ("name", "description"):
            _string(o, name)
        for name in ("enabled", "isAdmin"):
            _boolean(o, name)
        for name in ("functions", "datasets"):
            _strings(o, name)

    def _create_group(self, o: dict, *, _id: ObjectId | None = None) -> dict:
        self._validate_group(o)
        if _id is not None:
            o["_id"] = _id
        return self._insert(self.groups, o, "group")

    def _update_group(self, old: dict, o: dict) -> dict:
        self._validate_group(o)
        doc = self._replace(self.groups, old["_id"], o, "group")
        if doc["groupId"] != old["groupId"]:
            for user in self.users.find({"groups": old["groupId"]}):
                groups = [doc["groupId"] if g == old["groupId"] else g for g in user["groups"]]
                self.users.update(user["_id"], {"groups": groups})
            self._rename_in_queries(None, "sharedWith.groups", old["groupId"], doc["groupId"])
        return doc

    def _delete_group(self, old: dict) -> None:
        if self.users.count({"groups": old["groupId"]}):
            raise DataError("There are currently users under this group. Group cannot be deleted.")
        self._pull_from_queries("sharedWith.groups", old["groupId"])
        self.groups.delete(old["_id"])

    # queries
    @staticmethod
    def _validate_query(o: dict) -> None:
        _string(o, "name", required=True)
        _string(o, "owner")
        if "spec" in o and (not isinstance(o["spec"], list) or not all(isinstance(s, dict) for s in o["spec"])):
            raise ClientError("Field spec must be an array of objects.")
        if "sharedWith" in o:
            shared = o["sharedWith"]
            if not isinstance(shared, dict):
                raise ClientError('Field sharedWith must be an object {"users": [...], "groups": [...]}.')
            _strings(shared, "users")
            _strings(shared, "groups")
        for name in ("isCommon", "autoRefresh"):
            _boolean(o, name)
        _object(o, "geoFilter")

    def _create_query(self, caller: Caller, o: dict, *, _id: ObjectId | None = None) -> dict:
        self._validate_query(o)
        owner = o.get("owner") or caller.user_id
        if owner != caller.user_id and not caller.admin:
            raise Forbidden("Access denied: a query can only be created for yourself.")
        o["owner"] = owner
        if _id is not None:
            o["_id"] = _id
        return self._insert(self.queries, o, "query")

    def _update_query(self, caller: Caller, old: dict, o: dict) -> dict:
        if not (caller.admin or old.get("owner") == caller.user_id):
            raise Forbidden("Access denied: only the owner of a query or an administrator may change it.")
        self._validate_query(o)
        if not caller.admin or not o.get("owner"):
            o["owner"] = old.get("owner")
        return self._replace(self.queries, old["_id"], o, "query")

    def _pull_from_queries(self, path: str, value: str) -> None:
        outer, inner = path.split(".")
        for query in self.queries.find({path: value}):
            shared = dict(query.get(outer) or {})
            shared[inner] = [item for item in shared.get(inner) or [] if item != value]
            self.queries.update(query["_id"], {outer: shared})

    def _rename_in_queries(self, owner_field: str | None, path: str, old: str, new: str) -> None:
        outer, inner = path.split(".")
        if owner_field:
            for query in self.queries.find({owner_field: old}):
                self.queries.update(query["_id"], {owner_field: new})
        for query in self.queries.find({path: old}):
            shared = dict(query.get(outer) or {})
            shared[inner] = [new if item == old else item for item in shared.get(inner) or []]
            self.queries.update(query["_id"], {outer: shared})

    # -- datasets ----------------------------------------------------------------------
    def list_datasets(self, caller: Caller) -> list[dict]:
        return [self._public(d) for d in self.datasets.find() if caller.may_see(d["id"])]

    def get_dataset(self, caller: Caller, dataset_id: str) -> dict:
        descriptor = self.datasets.get_by("id", dataset_id)
        if descriptor is None:
            raise DataError(f"Unknown dataset: {dataset_id}")
        if not caller.may_see(dataset_id):
            raise Forbidden(f"Access denied: you have no access to dataset {dataset_id}.")
        return self._public(descriptor)

    @staticmethod
    def _public(descriptor: dict) -> dict:
        return {key: value for key, value in descriptor.items() if key != "_id"}

    def query_dataset(self, caller: Caller, dataset_id: str, q: str | None, n, s: str | None,
                      opts: str | None) -> dict:
        descriptor = self.get_dataset(caller, dataset_id)
        date_columns = [c["id"] for c in descriptor.get("columns", []) if c.get("dataType") == "date"]
        flt = parse_filter(q, budget=Budget(self.regex_budget), date_fields=date_columns)
        limit = parse_limit(n)
        sort = parse_sort(s)
        if sort is None:
            sort = sort_pairs(descriptor.get("options", {}).get("defaultSort") or {})
        geometry = parse_geometry(parse_json_object(opts, "opts", error=ClientError))
        rows = self.rows.get(dataset_id) or DatasetRows([])
        found = self._run(lambda: rows.select(flt, geometry, sort, limit))
        return feature_collection(found, descriptor)

    def load_rows(self, dataset_id: str, rows) -> None:
        """Give a dataset its rows: a DatasetRows, or stored rows (dicts with `_id`, `lat`, `long`)."""
        if self.datasets.get_by("id", dataset_id) is None:
            raise DataError(f"Unknown dataset: {dataset_id}")
        self.rows[dataset_id] = rows if isinstance(rows, DatasetRows) else DatasetRows(list(rows))

    def capabilities(self) -> dict:
        return dict(CAPABILITIES)

    def autocomplete(self, list_id: str) -> list[dict]:
        values = self.lists.get_by("listId", list_id)
        if values is None:
            raise DataError(f"Unknown list of values: {list_id}")
        return values.get("values", [])

    # -- fixtures and figures ----------------------------------------------------------
    def _fixture(self, name: str):
        return json.loads((self.fixtures / f"{name}.json").read_text(encoding="utf-8"))

    def load_fixtures(self) -> None:
        self.rows = {}
        for group in self._fixture("groups"):
            self._create_group(dict(group), _id=ObjectId(group.pop("_id")))
        for user in self._fixture("users"):
            self._create_user(dict(user), _id=ObjectId(user.pop("_id")))
        owners = {}
        for query in self._fixture("queries"):
            owner = query["owner"]
            if owner not in owners:
                user = self.users.get_by("userId", owner)
                datasets, admin = self._grants(user)
                owners[owner] = Caller(user=user, groups=user["groups"], datasets=datasets, admin=admin)
            self._create_query(owners[owner], dict(query), _id=ObjectId(query.pop("_id")))
        for descriptor in self._fixture("datasets"):
            self.datasets.insert(descriptor)
            dates = tuple(c["id"] for c in descriptor["columns"] if c.get("dataType") == "date")
            self.load_rows(descriptor["id"], _fixture_rows(self.fixtures, descriptor["id"], dates))
        for values in self._fixture("lists"):
            self.lists.insert(values)

    def accounts(self) -> list[str]:
        lines = []
        for user in self._fixture("users"):
            lines.append(f"{user['userId']} / {user['password']} (groups {', '.join(user['groups'])})")
        lines.append("POST /users/token with {\"username\",\"password\"}; send the X-AUTH-TOKEN it answers")
        return lines

    def summary(self) -> dict:
        return {"rows": {dataset_id: len(rows) for dataset_id, rows in self.rows.items()}}
