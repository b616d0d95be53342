"""Flask-RESTX's RequestParser, as the real service uses it: arguments read from the JSON
body only, converted by a type, checked against choices, the first failure reported.

The messages are Flask-RESTX's: `"<help> <reason>"` under the argument's name. With
`strict`, any key no argument consumed (in the body, then the query string) is refused as
`Unknown arguments: a, b`. No HTTP here: the caller passes the parsed body and the query keys.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from apitwin.server.core.errors import BadRequest, Invalid

MISSING = "Missing required parameter in the JSON body"


@dataclass(frozen=True)
class Argument:
    name: str
    type: Callable[[Any], Any]
    help: str
    required: bool = False
    default: Any = None
    choices: tuple | None = None

    def parse(self, source: dict, unparsed: dict) -> Any:
        if self.name in source:
            value = source[self.name]
            # Flask-RESTX does not convert None (arguments are nullable).
            if value is not None:
                try:
                    value = self.type(value)
                except Exception as error:  # the type's own message is the reason shown
                    self.fail(str(error))
            if self.choices is not None and value not in self.choices:
                self.fail(f"The value '{value}' is not a valid choice for '{self.name}'.")
            unparsed.pop(self.name, None)
            return value
        if self.required:
            self.fail(MISSING)
        return self.default

    def fail(self, reason: str):
        raise Invalid("invalid argument", {self.name: f"{self.help} {reason}"})


def parse_args(arguments: tuple[Argument, ...], body, query_keys: list[str], strict: bool = True) -> dict:
    """The values of `arguments` from `body` (a dict, or None when there is no JSON body)."""
    source = body if isinstance(body, dict) else {}
    # dict.fromkeys keeps the order: body keys first, then the query string's.
    unparsed = dict.fromkeys([*source, *query_keys]) if strict else {}
    values = {arg.name: arg.parse(source, unparsed) for arg in arguments}
    if unparsed:
        raise BadRequest("Unknown arguments: " + ", ".join(unparsed))
    return values
