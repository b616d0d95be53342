"""The routes of a spec, to answer 405 with the right `Allow` and to redirect slashes.

Connexion 3.3.0 sends a wrong `Allow` header on 405 (the methods of another route), so
the allowed methods are read from the spec itself.
"""
from __future__ import annotations

import re

_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def _pattern(path: str) -> re.Pattern:
    parts = re.split(r"(\{[^}]+\})", path)
    regex = "".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts)
    return re.compile(f"^{regex}$")


class RouteTable:
    def __init__(self, *specs: dict) -> None:
        self._routes: list[tuple[re.Pattern, str, list[str]]] = []
        for spec in specs:
            for path, item in (spec.get("paths") or {}).items():
                methods = [m.upper() for m in _METHODS if m in item]
                self._routes.append((_pattern(path), path, methods))
        # Literal segments before templated ones, as the router itself prefers them.
        self._routes.sort(key=lambda r: (r[1].count("{"), -len(r[1])))

    def match(self, path: str) -> list[str] | None:
        for pattern, _, methods in self._routes:
            if pattern.match(path):
                return methods
        return None

    def allowed(self, path: str) -> list[str]:
        return self.match(path) or []
