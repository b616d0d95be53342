"""What a run may write: only objects it created itself, under names no one else has.

A deployment may hold real data. Writes that could hit an existing object (a create with a
caller-chosen name or id, an upsert, a PUT/PATCH/DELETE, a POST to an object's path) are
made safe before they are sent:

- a path parameter of a write names an object the run created, or a value no object has
  (the profile's `absent_value`); the contract's examples and names seen in listings never
  reach a write;
- a body field that names what a create makes (`Profile.named_fields`) is a fresh
  run-unique name `apitwin-<run id>-...`;
- a field that names an existing object a write changes (`Profile.target_fields`) names one
  the run created, or nothing.

Schemathesis' cases are rewritten (`make_safe`); the kit's own scenarios are checked
(`violations`) and a scenario that would write elsewhere stops with a failure.
"""
from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .spec import SAFE_METHODS

if TYPE_CHECKING:
    from .profiles import Created, Profile
    from .spec import Route


@dataclass
class Ledger:
    """The run's id, the names it made, and the objects it created and deleted."""

    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    created: list["Created"] = field(default_factory=list)
    deleted: list["Created"] = field(default_factory=list)
    owned: set[str] = field(default_factory=set)
    # Field -> one of the run's own objects that writes naming that field are aimed at
    # (e.g. a user the run registered, to share with), set by `Profile.prepare`.
    aims: dict[str, str] = field(default_factory=dict)
    # The values the guard put in a write's path to aim it at no object (see `make_safe`).
    nowhere: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self._numbers = itertools.count(1)

    @property
    def prefix(self) -> str:
        return f"apitwin-{self.run_id}"

    def unique(self, label: str = "x") -> str:
        """A name no deployment holds yet: `apitwin-<run id>-<label>-<n>`."""
        return f"{self.prefix}-{label}-{next(self._numbers)}"

    def unique_as(self, kind: str, label: str = "x") -> str:
        """A run-unique value of a kind: "name", "email" or "uuid"."""
        if kind == "email":
            return f"{self.unique(label)}@example.invalid"
        if kind == "uuid":
            value = str(uuid.uuid5(uuid.NAMESPACE_URL, self.unique(label)))
            self.owned.add(value)
            return value
        return self.unique(label)

    def owns(self, value: Any) -> bool:
        text = str(value)
        # .lower(): a UUID in upper case names the same object (the run's UUIDs are lower case).
        return text in self.owned or text.lower() in self.owned or text.startswith(self.prefix)

    def add(self, item: "Created") -> None:
        if all(str(known) != str(item) for known in self.created):
            self.created.append(item)
        self.owned.add(str(item.ident))
        self.owned.update(str(i) for i in item.targets)


def is_write(profile: "Profile", method: str, operation: str | None, query: dict | None = None) -> bool:
    """Whether a request may change the deployment (a GET can, where the profile says so)."""
    if operation in profile.reads_by_post:
        return False
    if method.upper() in SAFE_METHODS:
        param = profile.writing_gets.get(operation or "")
        return bool(param and query and param in query)
    return True


def _get(body: Any, dotted: str) -> tuple[bool, Any]:
    node = body
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return False, None
        node = node[part]
    return True, node


def _holders(query: Any, body: Any) -> list[tuple[dict, str]]:
    """The dicts whose fields a write names: the query, the body, or each object of a body that
    is an array (a batch of creates)."""
    items = body if isinstance(body, list) else [body]
    return [(h, where) for h, where in ((query, "query"), *((item, "body") for item in items)) if isinstance(h, dict)]


def _set(body: dict, dotted: str, value: Any) -> None:
    *parents, last = dotted.split(".")
    node = body
    for part in parents:
        node = node[part]
    node[last] = value


def make_safe(profile: "Profile", ledger: Ledger, route: "Route | None", method: str,
              path_parameters: dict | None, query: dict | None, body: Any, read_only: bool = False) -> list[str]:
    """Rewrite a write in place so that it can only touch what the run owns; returns what changed.

    With `read_only`, a GET that would write (a create by GET) loses the parameter that makes it one."""
    if route is None or not is_write(profile, method, route.operation_id, query):
        return []
    op = route.operation_id
    if read_only and method.upper() in SAFE_METHODS:
        query.pop(profile.writing_gets[op], None)
        return [f"query parameter {profile.writing_gets[op]} (read-only)"]
    changes = []
    for name, value in list((path_parameters or {}).items()):
        if name in profile.namespace_params or ledger.owns(value):
            continue
        path_parameters[name] = profile.absent_value(name, ledger)
        ledger.nowhere.add(path_parameters[name])
        changes.append(f"path parameter {name}")
    for holder, where in _holders(query, body):
        for dotted in profile.target_fields.get(op, ()):
            found, value = _get(holder, dotted)
            if found and not ledger.owns(value):
                _set(holder, dotted, ledger.aims.get(dotted) or profile.absent_value(dotted, ledger))
                changes.append(f"{where} field {dotted}")
        for dotted, kind in profile.named_fields.get(op, {}).items():
            # Always a fresh one: a create never lands on an existing object, the run's own
            # included (a repeated case would otherwise be refused as a duplicate).
            found, _ = _get(holder, dotted)
            if found:
                _set(holder, dotted, ledger.unique_as(kind, dotted.rsplit(".", 1)[-1].lower()))
                changes.append(f"{where} field {dotted}")
    return changes


def violations(profile: "Profile", ledger: Ledger, route: "Route | None", method: str, path: str,
               query: dict | None, body: Any) -> list[str]:
    """Why a write the kit itself is about to send could touch what the run does not own."""
    if route is None:
        return []
    if not is_write(profile, method, route.operation_id, query):
        return []
    problems = []
    for name, value in route.parameters(path).items():
        if name not in profile.namespace_params and not ledger.owns(value) \
                and value != profile.absent_value(name, ledger):
            problems.append(f"path parameter {name}={value!r} is not an object this run created")
    for holder, _ in _holders(query, body):
        for dotted in profile.target_fields.get(route.operation_id, ()):
            found, value = _get(holder, dotted)
            if found and not ledger.owns(value):
                problems.append(f"{dotted}={value!r} is not an object this run created")
        for dotted in profile.named_fields.get(route.operation_id, {}):
            found, value = _get(holder, dotted)
            if found and not ledger.owns(value):
                problems.append(f"{dotted}={value!r} is not a name this run made (apitwin-<run id>-...)")
    return problems
