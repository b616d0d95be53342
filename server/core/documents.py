"""Reading the OpenAPI documents: with libyaml, once per process.

The pure-Python YAML parser takes about a second for each large document, most of the
start-up time; PyYAML's C loader (in its wheels) takes a tenth of that.
"""
from __future__ import annotations

import copy
import functools
from importlib.resources.abc import Traversable
from pathlib import Path

import yaml

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@functools.lru_cache(maxsize=None)
def _parsed(resource: Traversable, mtime: float | None) -> dict:
    with resource.open(encoding="utf-8") as f:
        return yaml.load(f, Loader=_Loader)


def load_document(resource: Traversable) -> dict:
    """The document (a package resource or a path) as a fresh dict (callers may change
    their copy). A file on disk is read again when it changes (an edited contract)."""
    resource = Path(resource) if isinstance(resource, str) else resource
    mtime = resource.stat().st_mtime if isinstance(resource, Path) else None
    return copy.deepcopy(_parsed(resource, mtime))
