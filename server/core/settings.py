"""The settings an API declares (type, default, one line of help), and reading user values.

Values come typed from a TOML config or as text from `--set API.NAME=VALUE`; both go
through `Setting.parse`, so a mistake is refused with one line before anything starts.
Names are case-insensitive (`monarc.API_KEY_AUTHENTICATION=False` as the service's own
configuration spells it).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

_TRUE = ("true", "yes", "on", "1")
_FALSE = ("false", "no", "off", "0")
_TYPE_NAMES = {bool: "true or false", int: "an integer", float: "a number", str: "text"}


class SettingError(ValueError):
    """A setting that does not exist or a value it cannot take; the message is one line."""


@dataclass(frozen=True)
class Setting:
    name: str
    type: type  # bool, int, float or str
    default: Any  # None: the API decides at start (e.g. a random key); its help says how
    help: str

    def parse(self, value: Any) -> Any:
        """`value` (TOML-typed or text) as this setting's type; SettingError if it is not one."""
        if isinstance(value, str) and self.type is not str:
            return self._from_text(value.strip())
        if self.type is float and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        if type(value) is not self.type or (self.type is float and not math.isfinite(value)):
            raise SettingError(f"takes {_TYPE_NAMES[self.type]}, got {value!r}")
        return value

    def _from_text(self, text: str) -> Any:
        if self.type is bool:
            if text.lower() in _TRUE:
                return True
            if text.lower() in _FALSE:
                return False
        else:
            try:
                number = self.type(text)
            except ValueError:
                pass
            else:
                if math.isfinite(number):
                    return number
        raise SettingError(f"takes {_TYPE_NAMES[self.type]}, got {text!r}")


# Settings of every API, handled by the core.
COMMON = (
    Setting("cors", bool, False, "let browser apps of any origin call the API (preflights, cookies)"),
)


def declared(settings) -> tuple[Setting, ...]:
    """An API's own settings, then the common ones. A plain {name: default} dict (an API
    not yet declaring types and help) is read as settings of the defaults' types."""
    if isinstance(settings, dict):
        settings = tuple(Setting(name, str if default is None else type(default), default, "")
                         for name, default in settings.items())
    return (*settings, *COMMON)


def defaults(settings) -> dict:
    return {s.name: s.default for s in declared(settings)}


def resolve(api: str, settings, values: dict) -> dict:
    """`values` (any case of names) checked and typed against the API's settings."""
    known = {s.name.lower(): s for s in declared(settings)}
    typed = {}
    for name, value in values.items():
        setting = known.get(str(name).lower())
        if setting is None:
            raise SettingError(f"unknown setting {api}.{name} (settings of {api}: {', '.join(known)}; "
                               f"see apitwin settings {api})")
        try:
            typed[setting.name] = setting.parse(value)
        except SettingError as exc:
            raise SettingError(f"bad value for {api}.{setting.name}: it {exc}") from None
    return typed


def table(api: str, settings) -> str:
    """The settings of one API, a line each: name, type, default, help."""
    lines = []
    for s in declared(settings):
        default = "-" if s.default is None else str(s.default).lower() if s.type is bool \
            else repr(s.default) if s.type is str else s.default
        lines.append(f"  {api + '.' + s.name:<32} {s.type.__name__:<5} default {default!s:<8} {s.help}")
    return "\n".join(lines)
