"""Qore's domain: resources defined by data, their rows, rules, actions and activity log.

No HTTP here. Every resource of `fixtures/qore/resources.json` gets a collection
`rows_<name>` with integer ids (Laravel's auto-increment) and unique indexes for its
`unique` fields. Rows of a resource with a `scope` belong to tenants: a user sees (and can
refer to) only the rows of their own tenants.
"""
from __future__ import annotations

import hashlib
import json
from datetime import datetime

from apitwin import FIXTURES_DIR
from apitwin.server.core.errors import Conflict, Forbidden, Invalid, NotFound
from apitwin.server.core.store import DuplicateKey

from . import definitions, queries
from .accounts import USERS, Accounts
from .definitions import Field, Resource
from .rules import Upload, check, is_empty, message, parse_datetime, summary, to_id

FOLDER = FIXTURES_DIR / "qore"
NOT_FOUND = "Not Found"


def timestamp(moment: datetime | None) -> str | None:
    """Laravel's JSON dates: `2025-01-06T08:24:00.000000Z`."""
    return None if moment is None else moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class QoreBackend(Accounts):
    def __init__(self, twin) -> None:
        self.clock = twin.clock
        self.store = twin.store
        self.resources: dict[str, Resource] = definitions.load(FOLDER / "resources.json")
        if USERS not in self.resources or "email" not in self.resources[USERS].fields:
            raise definitions.DefinitionError("the fixtures must define a users resource with an email field")
        self.rows = {
            name: twin.store.collection(f"rows_{name}", unique=resource.unique_fields + (
                ("email",) if name == USERS and "email" not in resource.unique_fields else ()))
            for name, resource in self.resources.items()
        }
        self.tokens = twin.store.collection("personal_access_tokens", unique=("token",))
        self.log = twin.store.collection("activity_log")
        self.files = twin.store.collection("files")
        self._ids: dict[str, int] = {}
        self._log_index: dict[tuple[str, int], list[int]] = {}  # (resource, row id) -> log ids

    def now(self) -> datetime:
        """The server clock to the second, as Laravel's timestamps columns keep it."""
        return self.clock.now().replace(microsecond=0)

    # -- ids ---------------------------------------------------------------------------
    def _next_id(self, key: str) -> int:
        return self._ids.get(key, 0) + 1

    def _bump(self, key: str, used: int) -> None:
        self._ids[key] = max(self._ids.get(key, 0), used)

    # -- lookups -----------------------------------------------------------------------
    def resource(self, name: str) -> Resource:
        resource = self.resources.get(name)
        if resource is None:
            raise NotFound(NOT_FOUND)
        return resource

    def table_of(self, resource: Resource, name: str):
        table = resource.tables.get(name)
        if table is None:
            raise NotFound(NOT_FOUND)
        return table

    def field_of(self, resource: Resource, name: str) -> Field:
        f = resource.fields.get(name)
        if f is None:
            raise NotFound(NOT_FOUND)
        return f

    def visible(self, resource: Resource, row: dict, user: dict | None) -> bool:
        if user is None or resource.scope is None:
            return True
        value = row["_id"] if resource.scope == "id" else row.get(resource.scope)
        tenants = set(self.tenants_of(user))
        if isinstance(value, list):
            return bool(tenants.intersection(value))
        return value in tenants

    def get_row(self, name: str, row_id, user: dict | None) -> tuple[Resource, dict]:
        resource = self.resource(name)
        row = self.rows[name].get(to_id(row_id))
        if row is None or not self.visible(resource, row, user):
            raise NotFound(f"No query results for model [{resource.model}] {row_id}")
        return resource, row

    def visible_rows(self, resource: Resource, user: dict | None) -> list[dict]:
        """The stored rows `user` may see, in id (insertion) order.

        These are the store's own documents, not copies (copying every row of a large
        resource for each table page was most of its time): callers only read them, and
        copy (`Collection.get`) what they hand on to be changed.
        """
        documents = self.rows[resource.name].scan()
        if user is None or resource.scope is None:
            return list(documents)
        tenants = set(self.tenants_of(user))
        if resource.scope == "id":
            return [doc for doc in documents if doc["_id"] in tenants]
        key = resource.scope
        rows = []
        for doc in documents:
            value = doc.get(key)
            if isinstance(value, list):
                if tenants.intersection(value):
                    rows.append(doc)
            elif value in tenants:
                rows.append(doc)
        return rows

    def label(self, resource_name: str, row_id) -> str | None:
        resource = self.resources[resource_name]
        row = self.rows[resource_name].get(row_id)
        if row is None:
            return None
        return self.title(resource, row)

    @staticmethod
    def title(resource: Resource, row: dict) -> str:
        value = row.get(resource.title)
        return "" if value is None else str(value)

    # -- presentation (plain values; the handlers add URLs) ----------------------------
    def view(self, resource: Resource, row: dict) -> dict:
        out = {"id": row["_id"]}
        for f in resource.fields.values():
            out[f.name] = self.view_value(f, row.get(f.name))
        out["created_at"] = timestamp(row.get("created_at"))
        out["updated_at"] = timestamp(row.get("updated_at"))
        return out

    def view_value(self, f: Field, value):
        if f.type == "BelongsTo":
            return None if value is None else {"value": value, "label": self.label(f.resource, value)}
        if f.type == "BelongsToMany":
            return [{"value": v, "label": self.label(f.resource, v)} for v in value or []]
        if f.type == "File":
            doc = None if value is None else self.files.get(value)
            if doc is None:
                return None
            return {"id": doc["_id"], "name": doc["name"], "mime_type": doc["mime_type"], "size": doc["size"]}
        return value

    # -- rules -------------------------------------------------------------------------
    def authorize(self, resource: Resource, ability: str, user: dict | None) -> None:
        roles = resource.abilities.get(ability)
        if user is not None and roles and user.get("role") not in roles:
            raise Forbidden("This action is unauthorized.")

    def _default(self, resource: Resource, f: Field, user: dict | None):
        if f.default == "$user":
            return None if user is None else user["_id"]
        if f.name == resource.scope and f.type == "BelongsTo" and user is not None:
            tenants = self.tenants_of(user)
            return tenants[0] if tenants else None
        return f.default

    def validate(self, resource: Resource, payload: dict, user: dict | None,
                 existing: dict | None = None) -> dict:
        """The payload's values converted by each field's rules, or Invalid (Laravel's 422).

        On create every field is read (missing ones take their default); on update only
        the fields present in the payload are, the others keep their values.
        """
        errors: dict[str, list[str]] = {}
        values: dict = {}
        for f in resource.fields.values():
            if f.name in payload:
                raw = payload[f.name]
            elif existing is None:
                raw = self._default(resource, f, user)
            else:
                continue
            if isinstance(raw, str):
                raw = raw.strip()  # Laravel's TrimStrings, then ConvertEmptyStringsToNull
            if is_empty(raw):
                if f.required or (f.name == resource.scope and user is not None and f.type == "BelongsTo"):
                    errors[f.name] = [message("required", f.name)]
                values[f.name] = [] if f.type == "BelongsToMany" else None
                continue
            value, problems = check(f, raw)
            if problems:
                errors[f.name] = problems
            else:
                values[f.name] = value
        state = {**(existing or {}), **values}
        for name, value in values.items():
            if name in errors or value is None or value == []:
                continue
            f = resource.fields[name]
            if f.is_relation and not self._related_ok(f, value, state, user):
                errors[name] = [message("exists", name)]
            elif f.rule("unique") is not None and isinstance(value, (str, int, float)):
                other = self.rows[resource.name].get_by(name, value)
                if other is not None and (existing is None or other["_id"] != existing["_id"]):
                    errors[name] = [message("unique", name)]
        if errors:
            raise Invalid(summary(errors), errors)
        return values

    def _related_ok(self, f: Field, value, state: dict, user: dict | None) -> bool:
        target = self.resources[f.resource]
        for row_id in value if isinstance(value, list) else [value]:
            row = self.rows[f.resource].get(row_id)
            if row is None or not self.visible(target, row, user):
                return False
            for key, state_key in f.depends_on.items():
                if state.get(state_key) is not None and row.get(key) != state.get(state_key):
                    return False
        return True

    # -- files -------------------------------------------------------------------------
    def _store_files(self, resource: Resource, row_id: int, values: dict, old: dict | None) -> None:
        for name, value in list(values.items()):
            if resource.fields[name].type != "File":
                continue
            if old is not None and old.get(name) is not None and old.get(name) != value:
                self.files.delete(old[name])
            if isinstance(value, Upload):
                file_id = self._next_id("files")
                self.files.insert({"_id": file_id, "name": value.name, "mime_type": value.mime_type,
                                   "size": value.size, "content": value.content,
                                   "sha256": hashlib.sha256(value.content).hexdigest(),
                                   "resource": resource.name, "row": row_id, "field": name})
                self._bump("files", file_id)
                values[name] = file_id

    def file(self, name: str, row_id, field_name: str, user: dict | None) -> dict:
        resource, row = self.get_row(name, row_id, user)
        f = self.field_of(resource, field_name)
        doc = self.files.get(row.get(f.name)) if f.type == "File" and row.get(f.name) is not None else None
        if doc is None:
            raise NotFound(NOT_FOUND)
        return doc

    # -- activity log ------------------------------------------------------------------
    def _tenants_value(self, resource: Resource, row: dict):
        if resource.scope is None:
            return None
        value = row["_id"] if resource.scope == "id" else row.get(resource.scope)
        return value if isinstance(value, list) else [value]

    def _log(self, resource: Resource, row: dict, event: str, description: str, user: dict | None,
             attributes: dict, old: dict | None = None, at: datetime | None = None) -> None:
        log_id = self._next_id("activity_log")
        moment = at or self.now()
        properties = {"attributes": attributes}
        if old is not None:
            properties["old"] = old
        self.log.insert({
            "_id": log_id, "log_name": "default", "description": description, "event": event,
            "subject_type": resource.model, "subject_id": row["_id"], "resource": resource.name,
            "causer_id": None if user is None else user["_id"], "properties": properties,
            "tenants": self._tenants_value(resource, row), "created_at": moment, "updated_at": moment,
        })
        self._bump("activity_log", log_id)
        self._log_index.setdefault((resource.name, row["_id"]), []).append(log_id)

    def logs(self, name: str, row_id, user: dict | None) -> list[dict]:
        resource = self.resource(name)
        subject = to_id(row_id)
        row = self.rows[name].get(subject)
        ids = self._log_index.get((name, subject), [])
        entries = [entry for entry in (self.log.get(i) for i in reversed(ids)) if entry is not None]
        if row is not None:
            allowed = self.visible(resource, row, user)
        else:
            tenants = set(self.tenants_of(user))
            allowed = bool(entries) and (user is None or all(
                e["tenants"] is None or tenants.intersection(e["tenants"]) for e in entries))
        if not allowed:
            raise NotFound(f"No query results for model [{resource.model}] {row_id}")
        return entries

    def causer(self, user_id) -> dict | None:
        user = None if user_id is None else self.users.get(user_id)
        if user is None:
            return None
        return {"id": user["_id"], "name": user.get("name"), "email": user.get("email")}

    def _loggable(self, resource: Resource, values: dict) -> dict:
        """Values as the log shows them (a file by its name)."""
        out = {}
        for name, value in values.items():
            if resource.fields[name].type == "File" and value is not None:
                doc = self.files.get(value)
                value = None if doc is None else doc["name"]
            out[name] = value
        return out

    @staticmethod
    def _is_self(name: str, row: dict, user: dict | None) -> bool:
        return name == USERS and user is not None and row["_id"] == user["_id"]

    def _guarded_own_fields(self) -> set[str]:
        """What a user may not change of their own account: their role and tenants
        (as they may not delete it), so nobody locks themselves out."""
        return {"role", self.resources[USERS].scope} - {None, "id"}

    # -- create, update, delete, actions -----------------------------------------------
    def create(self, name: str, payload, user: dict | None, *, at: datetime | None = None,
               causer: dict | None = None) -> tuple[Resource, dict]:
        """A new row. `user` is whose rules apply (None: no tenant limits, for fixtures)."""
        resource = self.resource(name)
        self.authorize(resource, "create", user)
        if not isinstance(payload, dict):
            payload = {}
        values = self.validate(resource, payload, user)
        row_id = self._next_id(name)
        self._store_files(resource, row_id, values, None)
        moment = at or self.now()
        author = causer or user
        row = {"_id": row_id, **values, "created_by": None if author is None else author["_id"],
               "created_at": moment, "updated_at": moment}
        try:
            self.rows[name].insert(row)
        except DuplicateKey as exc:  # validated above; kept for safety
            errors = {exc.field: [message("unique", exc.field)]}
            raise Invalid(summary(errors), errors) from None
        self._bump(name, row_id)
        if resource.scope == "id" and user is not None:
            # The creator of a tenant joins it, or they could not see what they made.
            scope = self.resources[USERS].scope
            if scope and self.resources[USERS].fields[scope].type == "BelongsToMany":
                self.users.update(user["_id"], {scope: [*self.tenants_of(user), row_id]})
        self._log(resource, row, "created", "created", author, self._loggable(resource, values), at=moment)
        return resource, row

    def update(self, name: str, row_id, payload, user: dict | None, *, description: str = "updated",
               ability: str = "update") -> tuple[Resource, dict]:
        resource, row = self.get_row(name, row_id, user)
        self.authorize(resource, ability, user)
        if not isinstance(payload, dict):
            payload = {}
        values = self.validate(resource, payload, user, existing=row)
        changed = {k: v for k, v in values.items() if row.get(k) != v or isinstance(v, Upload)}
        if self._is_self(name, row, user) and set(changed) & self._guarded_own_fields():
            raise Forbidden("This action is unauthorized.")
        if not changed and description == "updated":
            return resource, row
        self._store_files(resource, row["_id"], changed, row)
        changed["updated_at"] = self.now()
        new = self.rows[name].update(row["_id"], changed)
        del changed["updated_at"]
        self._log(resource, new, "updated", description, user, self._loggable(resource, changed),
                  old=self._loggable(resource, {k: row.get(k) for k in changed}))
        return resource, new

    def update_inline(self, name: str, row_id, field_name: str, payload, user: dict | None):
        resource = self.resource(name)
        f = self.field_of(resource, field_name)
        value = payload.get(f.name) if isinstance(payload, dict) else None
        return self.update(name, row_id, {f.name: value}, user)

    def run_action(self, name: str, action_name: str, row_id, user: dict | None) -> tuple[Resource, dict | None]:
        resource = self.resource(name)
        action = resource.actions.get(action_name)
        if action is None:
            raise NotFound(NOT_FOUND)
        if action.type == "delete":
            return resource, self.delete(name, row_id, user)
        changes = {k: (None if user is None else user["_id"]) if v == "$user" else v
                   for k, v in action.set.items()}
        return self.update(name, row_id, changes, user, description=action.name)

    def delete(self, name: str, row_id, user: dict | None) -> None:
        resource, row = self.get_row(name, row_id, user)
        self.authorize(resource, "delete", user)
        if self._is_self(name, row, user):
            raise Forbidden("This action is unauthorized.")
        referring = self._references(resource, row["_id"])
        blocking = [(r, f, rows) for r, f, rows in referring
                    if f.required or f.name == r.scope]
        if blocking:
            r, f, rows = blocking[0]
            noun = r.singular_label if len(rows) == 1 else r.label
            raise Conflict(f"This {resource.singular_label.lower()} cannot be deleted: "
                           f"{len(rows)} {noun.lower()} still refer to it ({f.name}).")
        for r, f, rows in referring:
            for other in rows:
                new = [v for v in other[f.name] if v != row["_id"]] if f.type == "BelongsToMany" else None
                self.rows[r.name].update(other["_id"], {f.name: new, "updated_at": self.now()})
                self._log(r, other, "updated", "updated", user, {f.name: new}, old={f.name: other[f.name]})
        for f in resource.fields.values():
            if f.type == "File" and row.get(f.name) is not None:
                self.files.delete(row[f.name])
        self.rows[name].delete(row["_id"])
        if name == USERS:
            self.tokens.delete_many({"tokenable_id": row["_id"]})
        old = {f: row.get(f) for f in resource.fields}
        self._log(resource, row, "deleted", "deleted", user, {}, old=old)
        return None

    def _references(self, resource: Resource, row_id: int):
        found = []
        for other in self.resources.values():
            for f in other.fields.values():
                if f.is_relation and f.resource == resource.name:
                    rows = self.rows[other.name].find({f.name: row_id})
                    if rows:
                        found.append((other, f, rows))
        return found

    # -- reading -----------------------------------------------------------------------
    def table(self, name: str, table_name: str, params: dict, user: dict | None,
              query: dict | None = None) -> dict:
        """A table page by `params` (the query overlaid by the body); the query's own
        values must be valid too, even where the body replaces them."""
        resource = self.resource(name)
        table = self.table_of(resource, table_name)
        if query:
            queries.table_params(resource, table, query)
        return queries.table_page(self, resource, table, params, user)

    def options(self, name: str, field_name: str, user: dict | None, state: dict | None = None,
                query: str | None = None, grouped: bool = False) -> list[dict]:
        resource = self.resource(name)
        f = self.field_of(resource, field_name)
        if not f.has_options:
            raise NotFound(NOT_FOUND)
        return queries.options(self, f, user, state or {}, query, grouped)

    def form(self, name: str, params, user: dict | None, row_id=None, query: dict | None = None) -> dict:
        resource = self.resource(name)
        if query:
            queries.form_params(resource, query)
        row = None
        if row_id is not None:
            resource, row = self.get_row(name, row_id, user)
            self.authorize(resource, "update", user)
        else:
            self.authorize(resource, "create", user)
        return queries.form(self, resource, params, user, row)

    def search(self, params: dict, user: dict | None) -> list[dict]:
        return queries.global_search(self, params, user)

    # -- fixtures and figures ----------------------------------------------------------
    def load_fixtures(self) -> None:
        self._ids = {}
        self._log_index = {}
        for item in json.loads((FOLDER / "data.json").read_text(encoding="utf-8")):
            creator = self.users.get(item["created_by"]) if item.get("created_by") else None
            self.create(item["resource"], item["values"], None, causer=creator,
                        at=parse_datetime(item["created_at"]))
        for account in json.loads((FOLDER / "accounts.json").read_text(encoding="utf-8")):
            salt = hashlib.sha256(account["email"].encode()).digest()[:16]
            self.set_password(account["email"], account["password"], salt=salt)
            user = self.users.get_by("email", account["email"])
            for token in account.get("tokens", []):
                expiry = parse_datetime(token["expiration_date"]) if token.get("expiration_date") else None
                self.issue_token(user["_id"], token["name"], expiry, token=token["token"], token_id=token["id"])
        self._seeded = json.loads((FOLDER / "accounts.json").read_text(encoding="utf-8"))

    def accounts(self) -> list[str]:
        lines = []
        for account in getattr(self, "_seeded", []):
            user = self.users.get_by("email", account["email"])
            tenants = ", ".join(self.label("tenants", t) or str(t) for t in self.tenants_of(user)) \
                if "tenants" in self.resources else ""
            who = f"{account['email']} / {account['password']} ({user.get('role', '')}, tenant {tenants})"
            for token in account.get("tokens", []):
                lines.append(f"Authorization: Bearer {token['token']}  {who}")
            if not account.get("tokens"):
                lines.append(f"(login only) {who}")
        return lines

    def summary(self) -> dict:
        return {"rows": {name: coll.count() for name, coll in self.rows.items()},
                "tokens": self.tokens.count(), "activity_log": self.log.count(), "files": self.files.count()}
