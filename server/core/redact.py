"""Secrets left out of what the admin API shows: `GET /__apitwin/state` (unless asked for
with `?secrets=true`) and the request journal.

A field is secret by its name (passwords, hashes, tokens, keys, codes) anywhere, or
because the API's backend says so in `SECRET_FIELDS` ({collection: (field, ...)}), for
secrets kept under other names (a token that is its document's `_id`).
"""
from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode

HIDDEN = "<hidden>"
_SECRET_NAME = re.compile(
    r"^(password|hash|token|secret|api_?key|manual_code|verify_url|session_key|verification_secret)$"
    r"|(_hash|_token|_secret|_key|_keys|_key_list|_code)$", re.IGNORECASE)
# Query parameters whose values the journal masks.
_SECRET_PARAMETER = re.compile(r"token|key|secret|password|session|code", re.IGNORECASE)


def is_secret_name(name: str) -> bool:
    return bool(_SECRET_NAME.search(name))


def collections(dump: dict[str, list[dict]], secret_fields: dict[str, tuple]) -> dict[str, list[dict]]:
    """Every document with its secret fields replaced by HIDDEN."""
    return {name: [_document(doc, secret_fields.get(name, ())) for doc in docs] for name, docs in dump.items()}


def _document(doc: dict, extra: tuple) -> dict:
    return {key: HIDDEN if key in extra or is_secret_name(key) else value for key, value in doc.items()}


def query(text: str) -> str:
    """A query string with the values of token/key-like parameters masked."""
    if not text or not _SECRET_PARAMETER.search(text):
        return text
    pairs = parse_qsl(text, keep_blank_values=True)
    return urlencode([(k, HIDDEN if _SECRET_PARAMETER.search(k) else v) for k, v in pairs], safe="<>")
