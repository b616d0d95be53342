"""Reading the OpenAPI documents: with libyaml, once per process.

The pure-Python YAML parser takes about a second for each large document, most of the
start-up time; PyYAML's C loader (in its wheels) takes a tenth of that.
"""
from __future__ import annotations

import copy
import functools
from pathlib import Path

import yaml

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@functools.lru_cache(maxsize=None)
def _parsed(path: Path, mtime: float) -> dict:
    with open(path, encoding="utf-8") as f:
        return yaml.load(f, Loader=_Loader)


def load_document(path) -> dict:
    """The document as a fresh dict (callers may change their copy)."""
    path = Path(path)
    return copy.deepcopy(_parsed(path, path.stat().st_mtime))
