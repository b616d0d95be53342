"""Recorded traffic (HAR, from `apitwin proxy --record`) as fixtures for the stand-in.

`import_fixtures(api, entries, out)` writes `<out>/<api>/`, every file the API's backend
loads (the format of the bundled fixtures/<api>/): the bundled data, with every object the
recorded answers showed added or replaced (matched by its id), and removed where a recorded
DELETE succeeded. The bundled accounts stay, so the stand-in can be logged in to as before;
recorded accounts get a credential the import prints (the real ones were masked when the
traffic was recorded). `apitwin serve <api> --fixtures <out>` loads them.
"""
from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

from apitwin import FIXTURES_DIR

from .har import response_json

# Recorded users' password in the imported OpenGrid fixtures (recorded passwords are masked).
OPENGRID_PASSWORD = "apitwin"
STAT_FIELDS = ("id", "uuid", "organization", "anr", "type", "day", "week", "month", "quarter", "year", "data",
               "created_at")


def _bundled(api: str, name: str):
    return json.loads((FIXTURES_DIR / api / f"{name}.json").read_text(encoding="utf-8"))


def _calls(entries: list[dict]):
    """(method, path, request JSON, status, answer JSON) of each recorded exchange, oldest first."""
    for entry in entries:
        request, response = entry.get("request", {}), entry.get("response", {})
        try:
            sent = json.loads(request.get("postData", {}).get("text") or "null")
        except ValueError:
            sent = None
        yield (request.get("method", "").upper(), unquote(urlsplit(request.get("url", "")).path), sent,
               response.get("status"), response_json(entry))


def _oid(value) -> str | None:
    if isinstance(value, dict):
        value = value.get("$oid")
    return value if isinstance(value, str) and re.fullmatch(r"[0-9a-f]{24}", value) else None


# -- MONARC Stats v2 ---------------------------------------------------------------------
def monarc_token(name: str) -> str:
    """The X-API-KEY of a recorded organization in the imported fixtures (deterministic)."""
    return "imported-" + hashlib.sha256(name.encode()).hexdigest()[:40]


def import_monarc(entries: list[dict]) -> tuple[dict[str, list], list[str]]:
    orgs = {org["name"]: org for org in _bundled("monarc", "organizations")}
    stats = {stat["id"]: stat for stat in _bundled("monarc", "stats")}
    recorded_orgs: set[str] = set()

    def org(name) -> None:
        if isinstance(name, str) and name and name not in orgs:
            orgs[name] = {"name": name, "token": monarc_token(name)}
            recorded_orgs.add(name)

    def stat(doc) -> None:
        if isinstance(doc, dict) and isinstance(doc.get("id"), str) and doc.get("organization"):
            stats[doc["id"]] = {k: doc[k] for k in STAT_FIELDS if k in doc}
            org(doc["organization"])

    for method, path, _, status, body in _calls(entries):
        if status != 200 or not isinstance(body, dict) or method not in ("GET", "POST"):
            continue
        # A listing answers {"data": [...], "has_more"}; one object (got or created) itself.
        listing = method == "GET" and path in ("/api/v2/stats/", "/api/v2/organizations/")
        docs = body.get("data") if listing and isinstance(body.get("data"), list) else [body]
        for doc in docs:
            if path.startswith("/api/v2/stats/"):
                stat(doc)
            elif path.startswith("/api/v2/organizations/") and isinstance(doc, dict):
                org(doc.get("name"))
    notes = [f"organization {name}: X-API-KEY {orgs[name]['token']}" for name in sorted(recorded_orgs)]
    files = {"organizations": list(orgs.values()),
             "stats": sorted(stats.values(), key=lambda s: (s.get("created_at", ""), s["id"]))}
    return files, notes


# -- OpenGrid ------------------------------------------------------------------------------
def _opengrid_doc(doc: dict) -> dict:
    """An answered document in the fixtures' form: `_id` as 24 hex digits."""
    out = dict(doc)
    out["_id"] = _oid(doc.get("_id"))
    return out


def import_opengrid(entries: list[dict]) -> tuple[dict[str, list], list[str]]:
    kinds = {"users": "userId", "groups": "groupId", "queries": "_id"}
    docs = {kind: {doc[key]: doc for doc in _bundled("opengrid", kind)} for kind, key in kinds.items()}
    bundled_users = set(docs["users"])
    datasets = {d["id"]: d for d in _bundled("opengrid", "datasets")}
    lists = {item["listId"]: item for item in _bundled("opengrid", "lists")}
    rows: dict[str, dict[str, dict]] = {}
    for method, path, _, status, body in _calls(entries):
        parts = path.strip("/").split("/")
        if status == 204 and method == "DELETE" and len(parts) == 2 and parts[0] in kinds:
            for key, doc in list(docs[parts[0]].items()):
                if _oid(doc.get("_id")) == parts[1]:
                    del docs[parts[0]][key]
            continue
        if status != 200 or body is None or (isinstance(body, dict) and "error" in body):
            continue
        if parts[0] in kinds and method in ("GET", "POST", "PUT"):
            for doc in body if isinstance(body, list) else [body]:
                key = kinds[parts[0]]
                if isinstance(doc, dict) and _oid(doc.get("_id")) and doc.get(key):
                    doc = _opengrid_doc(doc)
                    ident = doc[key]
                    # Over what was known: a bundled user keeps its password (answers never show it).
                    docs[parts[0]][ident] = {**docs[parts[0]].get(ident, {}), **doc}
        elif parts[0] == "datasets" and len(parts) <= 2 and method == "GET":
            for doc in body if isinstance(body, list) else [body]:
                if isinstance(doc, dict) and isinstance(doc.get("id"), str):
                    datasets[doc["id"]] = doc
        elif parts[0] == "datasets" and len(parts) == 3 and parts[2] == "query" and isinstance(body, dict):
            for feature in body.get("features") or []:
                row = _opengrid_doc((feature or {}).get("properties") or {})
                if row["_id"]:
                    rows.setdefault(parts[1], {})[row["_id"]] = row
        elif parts[0] == "autocomplete" and len(parts) == 2 and method == "GET" and isinstance(body, list):
            lists[parts[1]] = {"listId": parts[1], "values": body}
    notes = []
    for user_id, user in docs["users"].items():
        if user_id not in bundled_users:
            user["password"] = OPENGRID_PASSWORD
            notes.append(f"user {user_id}: password {OPENGRID_PASSWORD}")
    # The backend loads a query through its owner: one whose owner is unknown here is left out.
    for key, query in list(docs["queries"].items()):
        if query.get("owner") not in docs["users"]:
            del docs["queries"][key]
            notes.append(f"query {key} left out: its owner {query.get('owner')!r} was not recorded")
    files = {kind: list(items.values()) for kind, items in docs.items()}
    files["datasets"] = list(datasets.values())
    files["lists"] = list(lists.values())
    for dataset_id in datasets:
        bundled = FIXTURES_DIR / "opengrid" / f"{dataset_id}.json"
        merged = {row["_id"]: row for row in (_bundled("opengrid", dataset_id) if bundled.is_file() else [])}
        merged.update(rows.get(dataset_id, {}))
        files[dataset_id] = list(merged.values())
    return files, notes


IMPORTERS = {"monarc": import_monarc, "opengrid": import_opengrid}


def import_fixtures(api: str, entries: list[dict], out: str | Path) -> tuple[Path, list[str]]:
    """Write `<out>/<api>/*.json` from recorded entries; returns the folder and notes to print."""
    files, notes = IMPORTERS[api](entries)
    folder = Path(out) / api
    folder.mkdir(parents=True, exist_ok=True)
    for name, items in files.items():
        (folder / f"{name}.json").write_text(json.dumps(items, ensure_ascii=False, indent=1) + "\n",
                                              encoding="utf-8")
    return folder, notes
