"""Qore resources as the fixtures define them: fields, tables with tabs, actions.

Nothing here names a resource: `fixtures/qore/resources.json` does, and a resource added
there is served with no code change (rows for it can be added to `data.json`). The
definitions are checked when they are loaded, so a mistake in them fails at start-up
rather than on a request. One resource:

    "contacts": {
      "model": "App\\Models\\Contact",        # named in 404s and activity logs
      "label": "Contacten", "singular_label": "Contact",
      "title": "name", "subtitle": "email",   # how a row is named in options and search
      "scope": "tenant",                      # field holding the tenant (BelongsTo tenants,
                                              # or BelongsToMany); "id" for tenants; none:
                                              # shared by every tenant
      "global_search": true,
      "abilities": {"delete": ["admin"]},     # roles allowed to create / update / delete
      "fields": [
        {"name": "name", "type": "Text", "label": "Naam", "rules": ["required", "string", "max:255"]},
        {"name": "organization", "type": "BelongsTo", "resource": "organizations",
         "rules": ["nullable", "exists:organizations"]},
        {"name": "kind", "type": "Select", "rules": ["required", "in:a,b"], "default": "a",
         "options": [{"label": "A", "value": "a"}, {"label": "B", "value": "b"}]},
        ...
      ],
      "tables": {"contacts": {"label": "Contacten", "columns": ["name", "organization"],
                              "sort": ["name", "ascending"], "where": {},
                              "tabs": [{"name": "Alle"}, {"name": "Mijn", "where": {"created_by": "$user"}}]}},
      "actions": [{"name": "delete_resource", "type": "delete"},
                  {"name": "archive", "label": "Archiveren", "type": "update", "set": {"kind": "b"}}]
    }

Field types: Text, Textarea, Email, Number, Boolean, Date, Select, BelongsTo, BelongsToMany,
File. Rules: required, nullable, string, max:N, min:N, email, integer, numeric, boolean,
date, in:a,b, exists:<resource>, unique, array, file. A relation may also carry
`depends_on` ({related field: form field}: its choices and accepted values follow the
form, e.g. an issue's milestone must belong to the issue's project), `group_by` and
`empty_group` (how `reloadRelatedOptions` groups the choices) and `description` (a
related field shown under each choice). `"$user"` stands for the caller's id in defaults,
tab filters and action values.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

FIELD_TYPES = ("Text", "Textarea", "Email", "Number", "Boolean", "Date", "Select",
               "BelongsTo", "BelongsToMany", "File")
RELATION_TYPES = ("BelongsTo", "BelongsToMany")
ACTION_TYPES = ("delete", "update")
ABILITIES = ("create", "update", "delete")
KNOWN_RULES = ("required", "nullable", "string", "max", "min", "email", "integer", "numeric",
               "boolean", "date", "in", "exists", "unique", "array", "file")


class DefinitionError(ValueError):
    """The fixtures define a resource the server cannot serve."""


@dataclass(frozen=True)
class Field:
    name: str
    type: str
    label: str
    rules: tuple[str, ...] = ()
    resource: str | None = None  # related resource of a BelongsTo / BelongsToMany
    options: tuple[dict, ...] = ()  # choices of a Select
    default: object = None
    depends_on: dict = field(default_factory=dict)  # related field -> form state field
    group_by: str | None = None  # related field whose label groups the options
    empty_group: str | None = None
    description: str | None = None  # related field shown under an option's label

    @property
    def is_relation(self) -> bool:
        return self.type in RELATION_TYPES

    @property
    def has_options(self) -> bool:
        return self.is_relation or self.type == "Select"

    @property
    def required(self) -> bool:
        return "required" in self.rules

    def rule(self, name: str) -> str | None:
        """The argument of rule `name` (`max:255` -> "255"), "" when it has none, None when absent."""
        for rule in self.rules:
            key, _, arg = rule.partition(":")
            if key == name:
                return arg
        return None


@dataclass(frozen=True)
class Tab:
    name: str
    label: str
    where: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Table:
    name: str
    label: str
    columns: tuple[str, ...]
    tabs: tuple[Tab, ...]
    sort: tuple[str, str]
    where: dict = field(default_factory=dict)

    def tab(self, name: str | None) -> Tab | None:
        if name is None:
            return self.tabs[0]
        return next((t for t in self.tabs if t.name == name), None)


@dataclass(frozen=True)
class Action:
    name: str
    label: str
    type: str
    set: dict = field(default_factory=dict)
    confirm: str | None = None


@dataclass(frozen=True)
class Resource:
    name: str
    model: str
    label: str
    singular_label: str
    title: str
    subtitle: str | None
    scope: str | None  # the field holding the tenant(s), "id" for the tenants themselves
    global_search: bool
    abilities: dict
    fields: dict[str, Field]
    tables: dict[str, Table]
    actions: dict[str, Action]

    @property
    def unique_fields(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields.values() if f.rule("unique") is not None)


def _field(resource: str, raw: dict) -> Field:
    name = raw["name"]
    kind = raw.get("type", "Text")
    if kind not in FIELD_TYPES:
        raise DefinitionError(f"{resource}.{name}: unknown field type {kind}")
    rules = tuple(raw.get("rules", ()))
    for rule in rules:
        if rule.partition(":")[0] not in KNOWN_RULES:
            raise DefinitionError(f"{resource}.{name}: unknown rule {rule}")
    if "unique" in [r.partition(":")[0] for r in rules] and kind in ("BelongsToMany", "File"):
        raise DefinitionError(f"{resource}.{name}: a {kind} cannot be unique")
    if kind in RELATION_TYPES and not raw.get("resource"):
        raise DefinitionError(f"{resource}.{name}: a {kind} needs a resource")
    return Field(
        name=name, type=kind, label=raw.get("label", name.replace("_", " ").capitalize()),
        rules=rules, resource=raw.get("resource"), options=tuple(raw.get("options", ())),
        default=raw.get("default"), depends_on=dict(raw.get("depends_on", {})),
        group_by=raw.get("group_by"), empty_group=raw.get("empty_group"),
        description=raw.get("description"),
    )


def _resource(name: str, raw: dict) -> Resource:
    fields = {f["name"]: _field(name, f) for f in raw["fields"]}
    tables = {}
    for table_name, table in raw.get("tables", {name: {}}).items():
        columns = tuple(table.get("columns", list(fields)[:5]))
        for column in columns:
            if column not in fields:
                raise DefinitionError(f"{name} table {table_name}: unknown column {column}")
        tabs = tuple(Tab(t["name"], t.get("label", t["name"]), dict(t.get("where", {})))
                     for t in table.get("tabs", [{"name": "Alle"}]))
        sort = tuple(table.get("sort", [columns[0], "ascending"]))
        tables[table_name] = Table(table_name, table.get("label", raw.get("label", name)), columns,
                                   tabs, sort, dict(table.get("where", {})))
    actions = {}
    for action in raw.get("actions", [{"name": "delete_resource", "type": "delete"}]):
        if action.get("type", "update") not in ACTION_TYPES:
            raise DefinitionError(f"{name} action {action['name']}: unknown type")
        for key in action.get("set", {}):
            if key not in fields:
                raise DefinitionError(f"{name} action {action['name']}: unknown field {key}")
        actions[action["name"]] = Action(action["name"], action.get("label", action["name"]),
                                         action.get("type", "update"), dict(action.get("set", {})),
                                         action.get("confirm"))
    title = raw.get("title", next(iter(fields)))
    return Resource(
        name=name, model=raw.get("model", f"App\\Models\\{name.capitalize()}"),
        label=raw.get("label", name.capitalize()), singular_label=raw.get("singular_label", name),
        title=title, subtitle=raw.get("subtitle"), scope=raw.get("scope"),
        global_search=bool(raw.get("global_search", False)), abilities=dict(raw.get("abilities", {})),
        fields=fields, tables=tables, actions=actions,
    )


def load(path: Path) -> dict[str, Resource]:
    raw = json.loads(path.read_text(encoding="utf-8"))
    resources = {name: _resource(name, body) for name, body in raw.items()}
    for resource in resources.values():
        for f in resource.fields.values():
            if f.is_relation and f.resource not in resources:
                raise DefinitionError(f"{resource.name}.{f.name}: unknown resource {f.resource}")
            target = resources.get(f.resource) if f.is_relation else None
            for key, form_field in f.depends_on.items():
                if target is None or key not in target.fields or form_field not in resource.fields:
                    raise DefinitionError(f"{resource.name}.{f.name}: cannot depend on {key}")
        if resource.scope not in (None, "id") and resource.scope not in resource.fields:
            raise DefinitionError(f"{resource.name}: unknown scope field {resource.scope}")
    return resources
