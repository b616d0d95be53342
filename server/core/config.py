"""What `apitwin serve` is asked for: the config file, `--set` items and ports, checked.

Every mistake is a `UsageError` with a one-line message, raised before anything starts.
"""
from __future__ import annotations

import tomllib

from .api import definition
from .faults.startup import CONFIG_KEY as FAULTS_KEY
from .settings import SettingError, resolve

PORTS = range(1, 65536)


class UsageError(Exception):
    """A mistake in the command line or the config file; the message is one line."""


def port_number(text: str) -> int:
    """A TCP port from the command line (argparse `type`)."""
    try:
        port = int(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a port number") from None
    if port not in PORTS:
        raise ValueError(f"{port} is out of range (1-65535)")
    return port


def read_config(path: str, known: list[str]) -> dict[str, dict]:
    """The config file: a table per API (any of `known`) with its settings and `port`, and
    `[[faults]]` tables."""
    try:
        with open(path, "rb") as f:
            config = tomllib.load(f)
    except OSError as exc:
        raise UsageError(f"cannot read config {path}: {exc.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"invalid config {path}: {exc}") from None
    for name, table in config.items():
        if name == FAULTS_KEY:  # [[faults]]: fault rules, checked as they are installed
            continue
        if name not in known:
            raise UsageError(f"config {path}: unknown API [{name}] (available: {', '.join(known)})")
        if not isinstance(table, dict):
            raise UsageError(f"config {path}: {name} must be a table ([{name}]) of settings and port")
        port = table.get("port")
        if port is not None and (type(port) is not int or port not in PORTS):
            raise UsageError(f"config {path}: {name}.port must be a port number (1-65535), got {port!r}")
        try:  # every table, served or not: a mistake waits in it for the next run
            resolve(name, definition(name).settings, {k: v for k, v in table.items() if k != "port"})
        except SettingError as exc:
            raise UsageError(f"config {path}: {exc}") from None
    return config


def set_items(items: list[str], names: list[str]) -> dict[str, dict]:
    """`--set API.NAME=VALUE` items, grouped by API (values still text)."""
    values: dict[str, dict] = {name: {} for name in names}
    for item in items:
        key, equals, value = item.partition("=")
        api, _, option = key.strip().partition(".")
        if not equals or not option:
            raise UsageError(f"--set takes API.SETTING=VALUE, got {item!r}")
        if api.lower() not in values:
            raise UsageError(f"--set {key}: {api} is not served here (serving {', '.join(names)})")
        values[api.lower()][option] = value
    return values


def settings_for(names: list[str], sources: list[tuple[str, dict]]) -> dict[str, dict]:
    """Each API's typed settings from `sources`, (label, {API: {name: value}}) pairs in
    increasing precedence (config file, `--set`, switches). Raises UsageError on a bad one."""
    settings = {}
    for name in names:
        declared = definition(name).settings
        settings[name] = {}
        for label, values in sources:
            given = {k: v for k, v in values.get(name, {}).items() if k != "port"}
            try:
                settings[name].update(resolve(name, declared, given))
            except SettingError as exc:
                raise UsageError(f"{label}: {exc}") from None
    return settings


def ports_for(names: list[str], config: dict, port: int | None) -> dict[str, int]:
    """Each API's port: its default, the config's `port`, or `--port` (one API)."""
    ports = {name: config.get(name, {}).get("port") or definition(name).default_port for name in names}
    if port is not None:
        ports[names[0]] = port
    return ports
