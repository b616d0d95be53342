"""Path parameters may hold any character, a line feed included.

Starlette compiles route and mount patterns without re.DOTALL, so the catch-all `.*` of
the mount Connexion puts every API under stops at a newline, and `/groups/a%0Ab` matched
no route at all (a 404 in place of the operation's own answer). Route patterns are
compiled with DOTALL instead; applied once by the app factory, before routes are built.
"""
from __future__ import annotations

import re

import starlette.routing

_compile_path = starlette.routing.compile_path


def _compile_path_dotall(path: str):
    regex, path_format, convertors = _compile_path(path)
    return re.compile(regex.pattern, re.DOTALL), path_format, convertors


def install() -> None:
    starlette.routing.compile_path = _compile_path_dotall
