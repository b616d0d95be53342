"""MONARC Stats v1: clients and their tokens, the stats they send, the processors. No HTTP.

Rules as the real service (stats-service, Flask-RESTX over PostgreSQL) applies them; where
it crashes (a 500), a clear refusal in its own shape instead, and nothing stored.
"""
from __future__ import annotations

import json
import uuid
from datetime import date, timedelta

from packaging.version import InvalidVersion, Version

from apitwin import FIXTURES_DIR
from apitwin.server.core.errors import BadRequest, Conflict, Forbidden, Invalid, Unauthorized
from apitwin.server.core.store import DuplicateKey

from . import arguments, processors
from .errors import NotAdmin, Refused, UpgradeRequired
from .reqparse import parse_args
from .values import jsonb, months_before, pg_date, pg_timestamp, pg_uuid, pg_varchar, unstorable

ROLE_USER, ROLE_ADMIN = 1, 2
MINIMUM_MONARC = Version("2.10.2")
TOO_OLD = "This service requires use of MONARC version >= 2.10.2."
STAT_KEYS = ("uuid", "anr", "type", "date", "data", "created_at")
REQUIRED_STAT_KEYS = ("anr", "type", "date")
MAX_NAME = 100
PG_BIGINT = 2**63 - 1


def _decoded(rows: list[dict]) -> list[dict]:
    """Stored stats with their `data` read back from its JSON text."""
    return [{**row, "data": json.loads(row["data"])} for row in rows]


class StatsBackend:
    def __init__(self, twin) -> None:
        self.clock = twin.clock
        self.settings = twin.settings
        self.clients = twin.store.collection("clients", unique=("token", "name", "uuid"))
        self.stats = twin.store.collection("stats")

    def today(self) -> date:
        return self.clock.now().date()

    # -- the gates every request passes ----------------------------------------------------
    @staticmethod
    def check_user_agent(user_agent: str) -> None:
        """A MONARC client must be 2.10.2 or newer. The version is what follows the first `/`
        of the whole header, as the real check reads it."""
        if "MONARC/" not in user_agent:
            return
        try:
            too_old = Version(user_agent.split("/")[1]) < MINIMUM_MONARC
        except InvalidVersion:
            too_old = True
        if too_old:
            raise UpgradeRequired(TOO_OLD)

    def authenticate(self, key: str | None) -> dict:
        """The client whose token is `key` (the X-API-KEY header, None when absent)."""
        if not key:
            raise Unauthorized("Unauthorized - Authentication required.")
        client = self.clients.get_by("token", key)
        if client is None:
            raise Forbidden("Forbidden - Authentication failed.")
        self.clients.update(client["_id"], {"last_seen": self.clock.now()})
        return client

    # -- stats -----------------------------------------------------------------------------
    def list_stats(self, caller: dict, body, query_keys: list[str]) -> tuple[list[dict], dict]:
        """The caller's stats (everyone's for the admin) of one type, and the metadata."""
        args = parse_args(arguments.LIST_STATS, body, query_keys)
        offset, limit = args["offset"], args["limit"]
        for name, value in (("offset", offset), ("limit", limit)):
            if value is not None and not 0 <= value <= PG_BIGINT:
                help_text = "Start position" if name == "offset" else "Limit of records"
                raise Invalid("negative", {name: f"{help_text} must be a non-negative integer (PostgreSQL refuses {value})."})
        query = {"type": args["type"]}
        if caller["role"] != ROLE_ADMIN:
            query["client_id"] = caller["_id"]
        anrs = self._anr_filter(args["anrs"])
        if anrs is not None:
            query["anr"] = {"$in": anrs}
        if args["get_last"]:
            rows = self._last_per_anr(self.stats.find(query))
            return _decoded(rows), {"count": len(rows), "offset": 0, "limit": 0}
        today = self.today()
        date_from = args["date_from"] or months_before(today, 3)
        date_to = args["date_to"] or today
        query["date"] = {"$gte": date_from.isoformat(), "$lte": date_to.isoformat()}
        if limit or offset:
            # PostgreSQL's LIMIT 0 is no row at all.
            rows = [] if not limit else self.stats.find(query, skip=offset or 0, limit=limit)
        else:
            rows = self.stats.find(query)
        return _decoded(rows), {"count": len(rows), "offset": offset, "limit": limit}

    @staticmethod
    def _anr_filter(anrs) -> list[str] | None:
        """`anrs` as UUID texts, or None for no filter (absent or empty)."""
        if not anrs:
            return None
        try:
            return [pg_uuid(item) for item in anrs]
        except ValueError:
            raise Invalid("anrs", {"anrs": f"{arguments.ANRS} This is not a list of UUIDs."}) from None

    @staticmethod
    def _last_per_anr(rows: list[dict]) -> list[dict]:
        """Each ANR's stat with the greatest date (the first such, in insertion order)."""
        best: dict[str, dict] = {}
        for row in rows:
            if row["anr"] not in best or row["date"] > best[row["anr"]]["date"]:
                best[row["anr"]] = row
        return list(best.values())

    def create_stats(self, caller: dict, items) -> tuple[list[dict], bool]:
        """Stores each item in order; returns the stored ones and whether some failed.

        An item the database refuses (a missing column, a uuid already taken) is skipped
        when it names a `uuid`, as the real service then counts it as failed (207). Every
        other problem (a bad date, UUID or key, or a missing column without a `uuid`) is
        refused before anything is stored: the real service crashes there."""
        rows = [self._stat_row(caller, item, index) for index, item in enumerate(self._batch(items))]
        created, failed, taken = [], False, set()
        for row in rows:
            if row is None or row["_id"] in taken or self.stats.exists(row["_id"]):
                failed = True
                continue
            taken.add(row["_id"])
            created.append(row)
        for row in created:
            self.stats.insert(row)
        return _decoded(created), failed

    @staticmethod
    def _batch(items) -> list:
        if not isinstance(items, list):
            raise BadRequest("The body must be a JSON array of stats objects.")
        return items

    def _stat_row(self, caller: dict, item, index: int) -> dict | None:
        """The stored form of one batch item; None when the database would refuse it in the
        handled way (a missing required column, with a `uuid` key present)."""
        if not isinstance(item, dict):
            raise Invalid("item", {str(index): "Each stats must be a JSON object."})
        unknown = [key for key in item if key not in STAT_KEYS]
        if unknown:
            raise Invalid("item", {f"{index}.{unknown[0]}": "Unknown field: a stats has uuid, anr, type, date, data and created_at."})
        missing = [key for key in REQUIRED_STAT_KEYS if item.get(key) is None]
        if missing and "uuid" not in item:
            raise Invalid("item", {f"{index}.{missing[0]}": "Missing required field (the real service answers 500)."})
        row = {"client_id": caller["_id"], "created_at": self.clock.now()}
        readers = {"uuid": pg_uuid, "anr": pg_uuid, "type": pg_varchar,
                   "date": lambda v: pg_date(v, self.today()).isoformat(), "created_at": pg_timestamp}
        for key, read in readers.items():
            if item.get(key) is not None:
                try:
                    row[key] = read(item[key])
                except ValueError as exc:
                    raise Invalid("item", {f"{index}.{key}": str(exc)}) from None
        data = item.get("data", {})
        for key in ("type", "data"):
            why = unstorable(row.get(key) if key == "type" else data)
            if why:
                raise Invalid("item", {f"{index}.{key}": f"PostgreSQL refuses it: {why}."})
        # Kept as JSON text: JSONB holds numbers of any size, which the store's BSON cannot.
        row["data"] = json.dumps(jsonb(data))
        row["_id"] = row.pop("uuid", None) or str(uuid.uuid4())
        return None if missing else row

    def stats_of_anr(self, anr: str) -> list[dict]:
        """Every client's stats of one ANR, all types and dates."""
        return _decoded(self.stats.find({"anr": self._path_anr(anr, "The ANR must be a UUID.")}))

    def delete_anr(self, anr: str) -> int:
        """Deletes every client's stats of one ANR."""
        return self.stats.delete_many({"anr": self._path_anr(anr, "Impossible to delete the stats: the ANR must be a UUID.")})

    @staticmethod
    def _path_anr(anr: str, message: str) -> str:
        try:
            return pg_uuid(anr)
        except ValueError:
            raise Refused(message) from None

    # -- processors ------------------------------------------------------------------------
    def processed(self, body, query_keys: list[str]) -> dict:
        args = parse_args(arguments.PROCESSED, body, query_keys)
        stat_type, processor = args["type"], args["processor"]
        if not processor.startswith(stat_type + "_"):
            raise Refused(f"Processor '{processor}' can not be used with type '{stat_type}'.")
        query = {"type": stat_type}
        if args["date_from"] is not None:
            query.setdefault("date", {})["$gte"] = args["date_from"].isoformat()
        if args["date_to"] is not None:
            query.setdefault("date", {})["$lte"] = args["date_to"].isoformat()
        anrs = self._anr_filter(args["anrs"])
        if anrs is not None:
            query["anr"] = {"$in": anrs}
        # `local_stats_only` keeps the stats of local clients: every client here is local.
        rows = [{"date": date.fromisoformat(row["date"]), "data": row["data"]} for row in _decoded(self.stats.find(query))]
        data = []
        if rows:
            try:
                data = processors.run(processor, rows, args["processor_params"])
            except processors.ProcessingError as exc:
                raise Refused(f"The stored stats cannot be processed by '{processor}' ({exc}).") from None
        return {"type": stat_type, "processor": processor, "data": data}

    @staticmethod
    def processor_list() -> list[dict]:
        return [{"name": name, "description": doc} for name, (_, doc) in processors.PROCESSORS.items()]

    # -- clients ---------------------------------------------------------------------------
    def update_sharing(self, caller: dict, payload) -> dict:
        """PATCH client/me: only `is_sharing_enabled` is read; a boolean, 0/1 or null."""
        if not isinstance(payload, dict) or "is_sharing_enabled" not in payload:
            raise Invalid("missing", {"is_sharing_enabled": "If the statistics sharing is enabled or not. "
                                                            "Missing required parameter in the JSON body"})
        value = payload["is_sharing_enabled"]
        # The database's boolean takes what equals None, True or False (0, 1, 1.0 too).
        if isinstance(value, (list, dict, str)) or value not in (None, True, False):
            raise Invalid("not_bool", {"is_sharing_enabled": f"If the statistics sharing is enabled or not. "
                                                             f"Not a boolean value: {value!r}"})
        if caller["is_sharing_enabled"] != value:
            caller = self.clients.update(caller["_id"], {"is_sharing_enabled": None if value is None else bool(value)})
        return caller

    def create_client(self, caller: dict, body, query_keys: list[str]) -> dict | None:
        """POST client/: the new client, or None when registration is closed.
        Raises Conflict for a name or token already taken."""
        args = parse_args(arguments.CREATE_CLIENT, body, query_keys)
        if caller["role"] != ROLE_ADMIN:
            raise NotAdmin("not admin")
        if not self.settings.get("client_registration_open", False):
            return None
        for name in ("name", "token"):
            if args[name] is not None and len(args[name]) > MAX_NAME:
                raise Invalid("too_long", {name: f"{'The name' if name == 'name' else 'The token'} of the client "
                                                 f"to create. At most {MAX_NAME} characters (the real service answers 500)."})
        return self.add_client(args["name"], args["token"], args["is_sharing_enabled"])

    def add_client(self, name, token, is_sharing_enabled, role: int = ROLE_USER, _id: int | None = None,
                   _uuid: str | None = None) -> dict:
        doc = {"_id": _id or self._next_client_id(), "uuid": _uuid or str(uuid.uuid4()), "name": name, "token": token,
               "role": role, "local": True, "is_sharing_enabled": is_sharing_enabled, "is_active": True,
               "created_at": self.clock.now(), "last_seen": self.clock.now()}
        try:
            return self.clients.insert(doc)
        except DuplicateKey:
            raise Conflict("Duplicate object.") from None

    def _next_client_id(self) -> int:
        return max((doc["_id"] for doc in self.clients.scan()), default=0) + 1

    # -- fixtures and figures --------------------------------------------------------------
    def load_fixtures(self) -> None:
        folder = FIXTURES_DIR / "monarc_v1"
        clients = {}
        for client in json.loads((folder / "clients.json").read_text()):
            role = ROLE_ADMIN if client["role"] == "admin" else ROLE_USER
            clients[client["name"]] = self.add_client(client["name"], client["token"], client["is_sharing_enabled"],
                                                      role, _id=client["id"], _uuid=client["uuid"])
        today = self.today()
        batches: dict[str, list] = {}
        for stat in json.loads((folder / "stats.json").read_text()):
            # Dated by days before the server's today, so the default window always shows data.
            item = {key: stat[key] for key in ("uuid", "anr", "type", "data")}
            item["date"] = (today - timedelta(days=stat["days_ago"])).isoformat()
            batches.setdefault(stat["client"], []).append(item)
        for name, items in batches.items():
            self.create_stats(clients[name], items)

    def accounts(self) -> list[str]:
        rows = sorted(self.clients.scan(), key=lambda c: c["_id"])
        return [f"X-API-KEY {c['token']} ({c['name']}{': admin role' if c['role'] == ROLE_ADMIN else ''})" for c in rows]

    def summary(self) -> dict:
        counts: dict = {}
        for stat in self.stats.scan():
            counts[stat["client_id"]] = counts.get(stat["client_id"], 0) + 1
        return {"stats_per_client_id": counts}
