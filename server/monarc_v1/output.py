"""How Flask-RESTX writes an answer: its models, `X-Fields` masks and JSON text.

Flask-RESTX marshals a resource's return value through a model (keys in model order,
`fields.String` turning numbers into strings), narrows it by the `X-Fields` mask, then
writes it with Python's `json.dumps` defaults (", " and ": ", non-ASCII escaped) and a
trailing newline.
"""
from __future__ import annotations

import json
import re
from datetime import date

_MASK_TOKENS = re.compile(r"\{|\}|\,|[\w_:\-\*]+")


def restx_json(data) -> bytes:
    return (json.dumps(data) + "\n").encode("ascii")


class MaskError(ValueError):
    """A mask that cannot be read or applied; `prefix` is Flask-RESTX's message head."""

    def __init__(self, prefix: str, reason: str) -> None:
        super().__init__(f"{prefix}: {reason}")


# -- models: (name, kind) pairs, kind one of "string", "boolean", "date", "raw", or a nested
# model (a tuple) or a list of one ("list", model)
STATS = (("uuid", "string"), ("anr", "string"), ("type", "string"), ("date", "date"), ("data", "raw"))
METADATA = (("count", "string"), ("offset", "string"), ("limit", "string"))
STATS_LIST = (("metadata", METADATA), ("data", ("list", STATS)))
CLIENT = (("name", "string"), ("token", "string"), ("role", "string"), ("is_sharing_enabled", "boolean"))
RESULT = (("type", "string"), ("processor", "string"), ("data", "raw"))


def parse_mask(text: str | None) -> dict | None:
    """The `X-Fields` header as Flask-RESTX's Mask reads it: {field: True | submask}."""
    if not text:
        return None
    text = text.replace("\n", "").strip()
    if not text:
        return None  # Flask-RESTX fails on a blank mask: see the contract
    if text[0] == "{":
        if text[-1] != "}":
            raise MaskError("Mask parse error", "Missing closing bracket")
        text = text[1:-1]
    root: dict = {}
    fields, previous, stack = root, None, []
    for token in _MASK_TOKENS.findall(text):
        if token == "{":
            if previous not in fields:
                raise MaskError("Mask parse error", "Unexpected opening bracket")
            fields[previous] = {}
            stack.append(fields)
            fields = fields[previous]
        elif token == "}":
            if not stack:
                raise MaskError("Mask parse error", "Unexpected closing bracket")
            fields = stack.pop()
        elif token == ",":
            if previous in (",", "{", None):
                raise MaskError("Mask parse error", "Unexpected comma")
        else:
            fields[token] = True
        previous = token
    if stack:
        raise MaskError("Mask parse error", "Missing closing bracket")
    return root


def marshal(value, model, mask: dict | None = None):
    """`value` (a dict or a list of dicts) through `model`, narrowed by `mask`."""
    if isinstance(value, list):
        return [marshal(item, model, mask) for item in value]
    out = {}
    for name, kind in _masked(model, mask):
        sub = mask.get(name) if mask else None
        out[name] = _field(value.get(name), kind, sub if isinstance(sub, dict) else None)
    return out


def _masked(model, mask):
    """The model's fields the mask keeps, in the mask's order (then the rest for `*`)."""
    if not mask:
        return model
    fields = dict(model)
    kept = [(name, fields[name]) for name in mask if name != "*" and name in fields]
    if "*" in mask:
        kept += [(name, kind) for name, kind in model if name not in mask]
    for name, kind in kept:
        if isinstance(mask.get(name), dict) and kind in ("string", "boolean", "date"):
            raise MaskError("Mask error", "Mask is inconsistent with model")
    return kept


def _field(value, kind, mask):
    if isinstance(kind, tuple) and kind and kind[0] == "list":
        return None if value is None else [_field(item, kind[1], mask) for item in value]
    if isinstance(kind, tuple):
        return None if value is None else marshal(value, kind, mask)
    if value is None:
        return None
    if kind == "string":
        return str(value)
    if kind == "boolean":
        return bool(value)
    if kind == "date":
        return value.isoformat() if isinstance(value, date) else str(value)[:10]
    return _mask_raw(value, mask) if mask else value


def _mask_raw(value, mask: dict):
    """A mask on a raw JSON value keeps the keys it names (missing ones skipped)."""
    if isinstance(value, list):
        return [_mask_raw(item, mask) for item in value]
    if not isinstance(value, dict):
        raise MaskError("Mask error", "Mask is inconsistent with model")
    out = {}
    for name, sub in mask.items():
        if name == "*" or name not in value:
            continue
        out[name] = _mask_raw(value[name], sub) if isinstance(sub, dict) and value[name] is not None else value[name]
    if "*" in mask:
        out.update({k: v for k, v in value.items() if k not in out})
    return out
