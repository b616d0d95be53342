"""The `apitwin` command: `serve` the APIs, `conform` a deployment to its contract."""
from __future__ import annotations

import argparse
import sys
import tomllib
import warnings

# Connexion imports Starlette's test client, which warns about httpx on every start.
warnings.filterwarnings("ignore", message=".*httpx.*")

from .api import available, definition


def _value(text: str):
    lowered = text.strip().lower()
    if lowered in ("true", "yes", "on"):
        return True
    if lowered in ("false", "no", "off"):
        return False
    try:
        return int(text)
    except ValueError:
        return text


def _settings(args, names: list[str]) -> dict[str, dict]:
    """Per-API settings from the config file, then `--set`, then `--no-auth`."""
    settings: dict[str, dict] = {name: {} for name in names}
    if args.config:
        with open(args.config, "rb") as f:
            config = tomllib.load(f)
        for name in names:
            settings[name].update({k: v for k, v in config.get(name, {}).items() if k != "port"})
    for item in args.set or []:
        key, _, value = item.partition("=")
        api, _, option = key.partition(".")
        if api not in settings or not option or not _:
            raise SystemExit(f"apitwin: --set takes API.OPTION=VALUE for a served API, got {item!r}")
        settings[api][option] = _value(value)
    if args.no_auth and "monarc" in settings:
        settings["monarc"]["api_key_authentication"] = False
    if args.cors:
        for name in names:
            settings[name]["cors"] = True
    return settings


def _ports(args, names: list[str]) -> dict[str, int]:
    ports = {name: definition(name).default_port for name in names}
    if args.config:
        with open(args.config, "rb") as f:
            config = tomllib.load(f)
        ports.update({n: config[n]["port"] for n in names if "port" in config.get(n, {})})
    if args.port is not None:
        ports[names[0]] = args.port
    return ports


def cmd_serve(args) -> int:
    from .admin_access import token_for
    from .app import create
    from .serve import serve_all

    known = available()
    names = args.apis or known
    unknown = [name for name in names if name not in known]
    if unknown:
        print(f"apitwin: unknown API {', '.join(unknown)} (available: {', '.join(known)})", file=sys.stderr)
        return 2
    if args.port is not None and len(names) != 1:
        print("apitwin: --port needs exactly one API (e.g. apitwin serve monarc --port 8080)", file=sys.stderr)
        return 2
    settings, ports = _settings(args, names), _ports(args, names)
    admin_token = token_for(args.host, args.admin_token)
    apps, rows = [], []
    for name in names:
        twin, app = create(name, settings=settings[name], quiet=args.quiet, admin_token=admin_token)
        apps.append((name, app, ports[name]))
        rows.append((name, f"http://{args.host}:{ports[name]}", twin.accounts()))
    return serve_all(apps, args.host, rows, admin_token)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "conform":
        from apitwin.conformance.cli import main as conform

        return conform(argv[1:])

    parser = argparse.ArgumentParser(prog="apitwin", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve APIs at their real paths, with fixtures loaded")
    serve.add_argument("apis", nargs="*", metavar="API", help=f"APIs to serve (default: all of {', '.join(available())})")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, help="port, when serving one API")
    serve.add_argument("--quiet", action="store_true", help="no request log lines")
    serve.add_argument("--no-auth", action="store_true", help="MONARC: API_KEY_AUTHENTICATION = False")
    serve.add_argument("--cors", action="store_true",
                       help="let browser apps of any origin call the APIs (answers preflights, allows cookies)")
    serve.add_argument("--set", action="append", metavar="API.OPTION=VALUE",
                       help="an API setting, e.g. monarc.api_key_authentication=false")
    serve.add_argument("--config", help="TOML file: a table per API with its settings and `port`")
    serve.add_argument("--admin-token", metavar="TOKEN",
                       help="the admin API (/__apitwin/) then needs Authorization: Bearer TOKEN; "
                            "off loopback one is generated and printed when not given")
    sub.add_parser("conform", help="check a deployment against its contract (see `apitwin conform --help`)")
    args = parser.parse_args(argv)
    return cmd_serve(args)


if __name__ == "__main__":
    sys.exit(main())
