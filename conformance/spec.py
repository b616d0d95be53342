"""The contract of an API (openapi/<api>.yaml) and its routes, to name what a request hit."""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import unquote

import yaml

from apitwin import OPENAPI_DIR

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def spec_path(api: str):
    return OPENAPI_DIR / f"{api}.yaml"


def load_spec(api: str) -> dict:
    with spec_path(api).open(encoding="utf-8") as f:
        return yaml.safe_load(f)


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    operation_id: str
    pattern: re.Pattern
    stand_in_only: bool = False  # `x-apitwin-only: true`: the real service has no such operation

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def parameter_names(self) -> list[str]:
        return re.findall(r"\{([^}]+)\}", self.path)

    def parameters(self, path: str) -> dict[str, str]:
        """The path parameters of a request path this route serves (percent-decoded)."""
        match = self.pattern.match(path)
        if not match:
            return {}
        return dict(zip(self.parameter_names, (unquote(v) for v in match.groups())))


class Routes:
    """Every operation of a spec; `find(method, path)` names the one a request hit."""

    def __init__(self, spec: dict) -> None:
        routes = []
        for path, item in (spec.get("paths") or {}).items():
            parts = re.split(r"(\{[^}]+\})", path)
            regex = "".join("([^/]+)" if p.startswith("{") else re.escape(p) for p in parts)
            for method in METHODS:
                if method in item:
                    op = item[method]
                    routes.append(Route(method.upper(), path, op.get("operationId", ""), re.compile(f"^{regex}$"),
                                        bool(op.get("x-apitwin-only"))))
        # Literal segments win over templated ones, as routers prefer them.
        routes.sort(key=lambda r: (r.path.count("{"), -len(r.path)))
        self.routes = routes
        self.by_id = {r.operation_id: r for r in routes}
        self.by_label = {r.label: r for r in routes}

    def find(self, method: str, path: str) -> Route | None:
        for route in self.routes:
            if route.method == method.upper() and route.pattern.match(path):
                return route
        return None

    @property
    def stand_in_only(self) -> dict[str, str]:
        """Operations only apitwin's stand-in has (operationId -> label)."""
        return {r.operation_id: r.label for r in self.routes if r.stand_in_only}

    def label(self, method: str, path: str) -> str:
        route = self.find(method, path)
        return route.label if route else f"{method.upper()} {path} (not in the contract)"


@lru_cache(maxsize=None)
def routes_for(api: str) -> Routes:
    return Routes(load_spec(api))
