"""The store shared by all APIs: mongomock collections with indexes that do not scan.

mongomock runs every find() over every document, even a lookup by `_id` (15 ms at 10,000
documents). It does keep its documents in a dict keyed by `_id`, so `get` reads that dict
directly, and `Collection` keeps its own dicts for other unique keys. Queries (`find`,
`count`) still go through mongomock, which gives us MongoDB's query language for free.
"""
from __future__ import annotations

from typing import Any, Iterable

import mongomock
from bson import BSON, ObjectId
from bson.errors import InvalidDocument
from mongomock.collection import _validate_data_fields
from mongomock.filtering import filter_applies

from .errors import BadRequest

# MongoDB's own limit on how deep a document nests (and MySQL's on a JSON value). Deeper
# data could not be stored by the real services, and the stand-ins' recursive encoders
# (BSON, orjson) would fail on it when it is read back.
MAX_DEPTH = 100


def _copy(value: Any) -> Any:
    """A copy of a stored document: containers copied, leaves (str, ObjectId, datetime,
    numbers) shared since nothing changes them in place; several times faster than deepcopy."""
    if isinstance(value, dict):
        return {key: _copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copy(item) for item in value]
    return value


class Unstorable(BadRequest, InvalidDocument):
    """A document MongoDB would not store: nested deeper than MAX_DEPTH, text that is no
    Unicode (a lone surrogate), an integer beyond 64 bits, a field name with a NUL or a
    leading `$`. Raised before anything is written; a 400 in the API's shape unless the
    API catches it (as `InvalidDocument`) to answer its own way."""


def _nests_deeper_than(value: Any, limit: int) -> bool:
    """Without recursion, so any depth can be measured."""
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            item = item.values()
        elif not isinstance(item, list):
            continue
        if depth >= limit:
            return True
        stack.extend((child, depth + 1) for child in item)
    return False


def check_storable(doc: dict) -> None:
    """Raises Unstorable unless MongoDB would store `doc` as it is."""
    if _nests_deeper_than(doc, MAX_DEPTH):
        raise Unstorable(f"The data nests deeper than {MAX_DEPTH} levels.")
    try:
        _validate_data_fields(doc)
        BSON.encode(doc)
    except (InvalidDocument, UnicodeEncodeError, OverflowError, RecursionError, ValueError, TypeError) as exc:
        raise Unstorable(f"The data cannot be stored: {_reason(exc)}") from None


def _reason(exc: Exception) -> str:
    if isinstance(exc, UnicodeEncodeError):
        return "text that is not valid Unicode (a lone surrogate)."
    if isinstance(exc, OverflowError):
        return "an integer beyond 64 bits."
    return str(exc)


class DuplicateKey(Exception):
    """A unique key already holds another document."""

    def __init__(self, field: str, value: Any) -> None:
        super().__init__(f"duplicate value for {field}: {value!r}")
        self.field = field
        self.value = value


class Collection:
    """One collection: writes keep the unique indexes in step with mongomock."""

    def __init__(self, raw: mongomock.Collection, unique: Iterable[str] = ()) -> None:
        self.raw = raw
        self._unique: dict[str, dict[Any, Any]] = {field: {} for field in unique}

    @property
    def name(self) -> str:
        return self.raw.name

    # -- reads -------------------------------------------------------------------------
    def get(self, _id: Any) -> dict | None:
        """The document with this `_id`, or None; O(1)."""
        try:
            return _copy(self.raw._store[_id])
        except (KeyError, TypeError):
            return None

    def get_by(self, field: str, value: Any) -> dict | None:
        """The document whose unique `field` equals `value`, or None; O(1)."""
        _id = self._unique[field].get(value)
        return None if _id is None else self.get(_id)

    def exists(self, _id: Any) -> bool:
        try:
            return _id in self.raw._store
        except TypeError:
            return False

    def find(
        self,
        query: dict | None = None,
        *,
        sort: list[tuple[str, int]] | None = None,
        skip: int = 0,
        limit: int = 0,
        projection: dict | None = None,
    ) -> list[dict]:
        if not sort and not projection:
            return self._find_in_order(query, skip, limit)
        cursor = self.raw.find(query or {}, projection)
        if sort:
            cursor = cursor.sort(sort)
        if skip:
            cursor = cursor.skip(skip)
        if limit:
            cursor = cursor.limit(limit)
        return list(cursor)

    def _find_in_order(self, query: dict | None, skip: int, limit: int) -> list[dict]:
        """Insertion order, stopping once the page is full and copying only what is
        returned: mongomock's cursor filters and deep-copies the whole collection first
        (seconds at 100,000 documents, for a page of ten)."""
        page: list[dict] = []
        if query and not self.raw._store._documents:
            filter_applies(query, {})  # as mongomock does: a bad query fails even on no rows
        for doc in self.raw._store._documents.values():
            if query and not filter_applies(query, doc):
                continue
            if skip:
                skip -= 1
                continue
            page.append(_copy(doc))
            if limit and len(page) >= limit:
                break
        return page

    def scan(self):
        """The stored documents themselves, in insertion order, uncopied: for read-only
        passes over a whole collection (filtering and sorting in Python). Never change them."""
        return self.raw._store._documents.values()

    def count(self, query: dict | None = None) -> int:
        documents = self.raw._store._documents
        if not query:
            return len(documents)
        return sum(1 for doc in documents.values() if filter_applies(query, doc))

    def all(self) -> list[dict]:
        return self.find()

    def __len__(self) -> int:
        return self.count()

    # -- writes ------------------------------------------------------------------------
    def insert(self, doc: dict) -> dict:
        """Insert a copy of `doc` (an ObjectId `_id` is added when missing); returns it."""
        doc = dict(doc)
        doc.setdefault("_id", ObjectId())
        self._check_unique(doc)
        check_storable(doc)
        self.raw.insert_one(doc)
        self._index(doc)
        return doc

    def replace(self, _id: Any, doc: dict) -> dict | None:
        """Replace the whole document; returns the new one, or None when `_id` is unknown.
        Everything is checked before the stored document is touched: mongomock empties it
        first and then encodes the new one, so a failed encoding would lose it."""
        old = self.get(_id)
        if old is None:
            return None
        doc = {**doc, "_id": _id}
        self._check_unique(doc)
        check_storable(doc)
        self.raw.replace_one({"_id": _id}, doc)
        self._unindex(old)
        self._index(doc)
        return doc

    def update(self, _id: Any, changes: dict) -> dict | None:
        """Set some fields; returns the new document, or None when `_id` is unknown."""
        old = self.get(_id)
        if old is None:
            return None
        return self.replace(_id, {**old, **changes})

    def delete(self, _id: Any) -> bool:
        old = self.get(_id)
        if old is None:
            return False
        self.raw.delete_one({"_id": _id})
        self._unindex(old)
        return True

    def delete_many(self, query: dict) -> int:
        ids = [doc["_id"] for doc in self.raw.find(query, {"_id": 1})]
        for _id in ids:
            self.delete(_id)
        return len(ids)

    def clear(self) -> None:
        self.raw.drop()
        for index in self._unique.values():
            index.clear()

    # -- unique indexes ----------------------------------------------------------------
    def _check_unique(self, doc: dict) -> None:
        for field, index in self._unique.items():
            value = doc.get(field)
            if value is not None and index.get(value, doc["_id"]) != doc["_id"]:
                raise DuplicateKey(field, value)

    def _index(self, doc: dict) -> None:
        for field, index in self._unique.items():
            if doc.get(field) is not None:
                index[doc[field]] = doc["_id"]

    def _unindex(self, doc: dict) -> None:
        for field, index in self._unique.items():
            if index.get(doc.get(field)) == doc["_id"]:
                del index[doc[field]]


class Store:
    """All collections of one API, in a database of their own."""

    def __init__(self, api: str) -> None:
        self.api = api
        self._db = mongomock.MongoClient()[api]
        self._collections: dict[str, Collection] = {}

    def collection(self, name: str, unique: Iterable[str] = ()) -> Collection:
        """The named collection, created on first use with its unique keys."""
        if name not in self._collections:
            self._collections[name] = Collection(self._db[name], unique)
        return self._collections[name]

    def __getitem__(self, name: str) -> Collection:
        return self.collection(name)

    def reset(self) -> None:
        for coll in self._collections.values():
            coll.clear()

    def dump(self) -> dict[str, list[dict]]:
        return {name: coll.all() for name, coll in sorted(self._collections.items())}
