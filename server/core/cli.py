"""The `apitwin` command: `serve` the APIs, list their `settings`, `conform` a deployment to its
contract, `proxy` live traffic through the contract's checks, `fixtures import` recorded traffic.

One `add_<command>` function per subcommand registers its options and the function that
runs it. Mistakes are one line on stderr and exit 2 (`UsageError`, argparse's errors).
"""
from __future__ import annotations

import argparse
import sys
import warnings

# Connexion imports Starlette's test client, which warns about httpx on every start.
warnings.filterwarnings("ignore", message=".*httpx.*")

from apitwin import __version__  # noqa: E402

from . import faults  # noqa: E402
from . import settings as settings_module  # noqa: E402
from .api import available, definition  # noqa: E402
from .config import UsageError, port_number, ports_for, read_config, set_items, settings_for  # noqa: E402


class _Parser(argparse.ArgumentParser):
    """argparse, with its mistakes in one line (no usage block)."""

    def error(self, message):
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def _port(text: str) -> int:
    try:
        return port_number(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _known_apis(names: list[str]) -> list[str]:
    known = available()
    unknown = [name for name in names if name not in known]
    if unknown:
        raise UsageError(f"unknown API {', '.join(unknown)} (available: {', '.join(known)})")
    return names or known


def _settings_tables(names: list[str]) -> str:
    return "\n".join(settings_module.table(name, definition(name).settings) for name in names)


# -- apitwin serve ---------------------------------------------------------------------
def add_serve(sub) -> None:
    serve = sub.add_parser(
        "serve", help="serve APIs at their real paths, with fixtures loaded",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="settings (--set API.SETTING=VALUE or a config table; names in any case):\n"
               + _settings_tables(available()))
    serve.add_argument("apis", nargs="*", metavar="API", help=f"APIs to serve (default: all of {', '.join(available())})")
    serve.add_argument("--host", default="127.0.0.1",
                       help="address to listen on (default 127.0.0.1; 0.0.0.0: every interface)")
    serve.add_argument("--port", type=_port, help="port, when serving one API")
    serve.add_argument("--quiet", action="store_true", help="no request log lines")
    serve.add_argument("--no-auth", action="store_true", help="MONARC: API_KEY_AUTHENTICATION = False")
    serve.add_argument("--cors", action="store_true",
                       help="let browser apps of any origin call the APIs (answers preflights, allows cookies)")
    serve.add_argument("--set", action="append", default=[], metavar="API.SETTING=VALUE",
                       help="an API setting, e.g. monarc.api_key_authentication=false (see below)")
    serve.add_argument("--config", help="TOML file: a table per API with its settings and `port`, "
                                        "and [[faults]] tables (fault rules)")
    serve.add_argument("--latency", metavar="DURATION",
                       help="every call this much slower: 150ms, 100ms..300ms (uniform)")
    serve.add_argument("--fault", action="append", metavar="RULE",
                       help="a fault rule, repeatable: e.g. 'GET /api/v2/stats/{id}/ status=503 rate=0.2' "
                            "or 'POST /v2/user/login kind=unauthorized times=1' (see the README)")
    serve.add_argument("--rate-limit", metavar="N/WINDOW",
                       help="at most N calls per window for each key, token or session (e.g. 100/1m), "
                            "then the API's own 429")
    serve.add_argument("--admin-token", metavar="TOKEN",
                       help="the admin API (/__apitwin/) then needs Authorization: Bearer TOKEN; "
                            "off loopback one is generated and printed when not given")
    serve.add_argument("--fixtures", metavar="DIR",
                       help="seed each API from DIR/<api>/ where present (e.g. from `apitwin fixtures import`)")
    serve.add_argument("--tls", action="store_true",
                       help="serve every API over HTTPS, with a certificate for localhost, 127.0.0.1, ::1 "
                            "and --host from a local certificate authority made once (the start-up "
                            "table says where its ca.pem is and how clients trust it)")
    serve.add_argument("--tls-dir", metavar="DIR",
                       help="where --tls keeps its local CA (default: the per-user data folder, "
                            "e.g. ~/.local/share/apitwin/tls); implies --tls")
    serve.add_argument("--tls-cert", metavar="FILE",
                       help="serve over HTTPS with this certificate (PEM, e.g. from mkcert); needs --tls-key")
    serve.add_argument("--tls-key", metavar="FILE", help="the private key (PEM) of --tls-cert")
    serve.set_defaults(run=cmd_serve)


def _switches(args, names: list[str]) -> dict[str, dict]:
    """The settings the command line's switches stand for, per API."""
    switches: dict[str, dict] = {name: {} for name in names}
    if args.no_auth and "monarc" in switches:
        switches["monarc"]["api_key_authentication"] = False
    if args.cors:
        for name in names:
            switches[name]["cors"] = True
    return switches


def _tls(args):
    """The certificate to serve with (--tls, --tls-dir, --tls-cert and --tls-key), or None:
    plain HTTP."""
    from pathlib import Path

    from .tls import TLSError, local, own, state_dir

    try:
        if args.tls_cert or args.tls_key:
            if not (args.tls_cert and args.tls_key):
                raise UsageError("--tls-cert and --tls-key go together (a certificate and its private key)")
            if args.tls_dir:
                raise UsageError("--tls-dir keeps the local CA, which --tls-cert replaces: give one of them")
            return own(args.tls_cert, args.tls_key)
        if args.tls or args.tls_dir:
            return local(Path(args.tls_dir) if args.tls_dir else state_dir(), args.host)
    except TLSError as exc:
        raise UsageError(str(exc)) from None
    return None


def cmd_serve(args) -> int:
    from .admin_access import token_for
    from .app import create
    from .serve import PortError, listen, serve_all

    names = _known_apis(args.apis)
    if args.port is not None and len(names) != 1:
        raise UsageError("--port needs exactly one API (e.g. apitwin serve monarc --port 8080)")
    config = read_config(args.config, available()) if args.config else {}
    settings = settings_for(names, [(f"config {args.config}", config), ("--set", set_items(args.set, names)),
                                    ("switches", _switches(args, names))])
    ports = ports_for(names, config, args.port)
    tls = _tls(args)
    scheme = "https" if tls else "http"
    host = f"[{args.host}]" if ":" in args.host else args.host  # an IPv6 address, as URLs write it
    sockets = {}
    try:
        for name in names:
            sockets[name] = listen(name, args.host, ports[name])
    except PortError as exc:
        for sock in sockets.values():
            sock.close()
        raise UsageError(str(exc)) from None
    admin_token = token_for(args.host, args.admin_token)
    apps, rows, twins = [], [], {}
    for name in names:
        twin, app = create(name, settings=settings[name], quiet=args.quiet, admin_token=admin_token,
                           fixtures=args.fixtures)
        twins[name] = twin
        apps.append((name, app, sockets[name]))
        rows.append((name, f"{scheme}://{host}:{ports[name]}", twin.accounts()))
    try:
        faults.install(twins, faults.startup_rules(args.latency, args.fault, args.rate_limit, config))
    except ValueError as exc:
        for sock in sockets.values():
            sock.close()
        raise UsageError(str(exc)) from None
    for line in faults.summary(twins):
        print(line, file=sys.stderr)
    return serve_all(apps, args.host, rows, admin_token, tls)


# -- apitwin settings ------------------------------------------------------------------
def add_settings(sub) -> None:
    listing = sub.add_parser("settings", help="list the settings of the APIs (type, default, help)")
    listing.add_argument("apis", nargs="*", metavar="API", help="APIs to list (default: all)")
    listing.set_defaults(run=cmd_settings)


def cmd_settings(args) -> int:
    print(_settings_tables(_known_apis(args.apis)))
    return 0


# -- apitwin conform (its own parser: conformance/cli.py) ------------------------------
def add_conform(sub) -> None:
    sub.add_parser("conform", help="check a deployment against its contract (see `apitwin conform --help`)")


# -- apitwin proxy, apitwin fixtures (their own parsers: conformance/proxy_cli.py, fixtures_cli.py)
def add_proxy(sub) -> None:
    sub.add_parser("proxy", help="check live traffic against the contract (see `apitwin proxy --help`)")


def add_fixtures(sub) -> None:
    sub.add_parser("fixtures", help="`fixtures import API DIR`: recorded traffic (apitwin proxy --record) "
                                    "as fixtures (see `apitwin fixtures import --help`)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="apitwin", description=__doc__.split("\n")[0])
    parser.add_argument("--version", action="version", version=f"apitwin {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    add_serve(sub)
    add_settings(sub)
    add_conform(sub)
    add_proxy(sub)
    add_fixtures(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "conform":
        from apitwin.conformance.cli import main as conform

        return conform(argv[1:])
    if argv and argv[0] == "proxy":
        from apitwin.conformance.proxy_cli import main as proxy

        return proxy(argv[1:])
    if argv and argv[0] == "fixtures":
        from apitwin.conformance.fixtures_cli import main as fixtures

        return fixtures(argv[1:])
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except UsageError as exc:
        print(f"apitwin: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
