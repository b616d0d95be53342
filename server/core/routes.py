"""The routes of a spec: the allowed methods of a path (405's `Allow`, slash redirects), the
operations open to every origin (`cors.MARKER`) and the operation a request reaches (fault
rules match on operationIds).

Connexion 3.3.0 sends a wrong `Allow` header on 405 (the methods of another route), so
the allowed methods are read from the spec itself.
"""
from __future__ import annotations

import re
from typing import NamedTuple

from . import cors

_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


class _Route(NamedTuple):
    pattern: re.Pattern
    path: str
    methods: list[str]
    any_origin: frozenset[str]  # the methods whose operation is open to every origin
    operations: dict[str, str | None]  # METHOD -> operationId


def path_pattern(path: str) -> re.Pattern:
    """A path template (`/stats/{id}/`) as a regex matching the paths it routes."""
    parts = re.split(r"(\{[^}]+\})", path)
    regex = "".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts)
    return re.compile(f"^{regex}$", re.DOTALL)


class RouteTable:
    def __init__(self, *specs: dict, allow=None) -> None:
        """`allow(methods)`: the Allow header's methods for a route serving `methods`."""
        self._allow = allow
        self._routes: list[_Route] = []
        for spec in specs:
            for path, item in (spec.get("paths") or {}).items():
                methods = [m.upper() for m in _METHODS if m in item]
                open_to_all = frozenset(m.upper() for m in _METHODS if m in item
                                        and (item[m] or {}).get(cors.MARKER) == cors.ANY_ORIGIN)
                operations = {m.upper(): (item[m] or {}).get("operationId") for m in _METHODS if m in item}
                self._routes.append(_Route(path_pattern(path), path, methods, open_to_all, operations))
        # Literal segments before templated ones, as the router itself prefers them.
        self._routes.sort(key=lambda r: (r.path.count("{"), -len(r.path)))
        self._any_open = any(route.any_origin for route in self._routes)

    def _route(self, path: str) -> _Route | None:
        return next((route for route in self._routes if route.pattern.match(path)), None)

    def match(self, path: str) -> list[str] | None:
        route = self._route(path)
        return None if route is None else route.methods

    def any_origin(self, path: str, method: str) -> bool:
        """Whether the operation `method path` is marked open to every origin."""
        if not self._any_open:
            return False
        route = self._route(path)
        return route is not None and method in route.any_origin

    def allowed(self, path: str) -> list[str]:
        """The methods the `Allow` header of `path` names (none for an unknown path)."""
        methods = self.match(path)
        if not methods:
            return []
        return self._allow(methods) if self._allow else methods

    def route(self, method: str, path: str) -> tuple[str, str | None] | None:
        """(template, operationId) of the route `method path` reaches, if any."""
        for route in self._routes:
            if method in route.operations and route.pattern.match(path):
                return route.path, route.operations[method]
        return None

    def operations(self) -> dict[str, tuple[str, str]]:
        """operationId -> (METHOD, template)."""
        return {op: (method, route.path) for route in self._routes
                for method, op in route.operations.items() if op}

    def templates(self) -> list[str]:
        return [route.path for route in self._routes]
