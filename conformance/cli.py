"""`apitwin conform <api> --base-url URL [auth options] ...`: exit 0 pass, 1 fail, 2 not run.

Every option can also come from the environment (`APITWIN_<API>_<OPTION>`, e.g.
`APITWIN_MONARC_API_KEY`, `APITWIN_MONARC_BASE_URL`) or a TOML config file
(`--config FILE`, a table per API: `[monarc] base_url = "..."  api_key = "..."`).
The command line wins over the environment, which wins over the file.
"""
from __future__ import annotations

import argparse
import os
import sys
import tomllib
import warnings

warnings.filterwarnings("ignore", message=".*httpx.*")

from . import profiles  # noqa: E402
from .runner import EXIT_NOT_RUN, Options, run  # noqa: E402
from .trust import BadCAFile, ca_context  # noqa: E402


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one clear line, exit 2
        raise _BadArgs(message)


class _BadArgs(Exception):
    pass


def _parser(api: str | None) -> argparse.ArgumentParser:
    parser = _Parser(prog="apitwin conform", description=__doc__, epilog=_credentials_help(),
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("api", help=f"the API ({', '.join(profiles.names())})")
    parser.add_argument("--base-url", help="the deployment, e.g. http://127.0.0.1:5000")
    parser.add_argument("--config", help="TOML file with a table per API (base_url and auth options)")
    parser.add_argument("--ca-file", metavar="PEM",
                        help="trust the CA certificates in this PEM file (not the default ones) for an https:// "
                             "deployment, e.g. the ca.pem of `apitwin serve --tls`")
    parser.add_argument("--read-only", action="store_true", default=None,
                        help="only safe methods (GET/HEAD/OPTIONS), for production deployments")
    parser.add_argument("--max-examples", type=int, help="examples per operation and phase (default 20)")
    parser.add_argument("--seed", type=int, help="seed of the generated cases (default 0: same run every time)")
    parser.add_argument("--stateful-steps", type=int, help="steps of each stateful sequence (default 10)")
    parser.add_argument("--strict", action="store_true", default=None,
                        help="fail on every answer accepted as documented behaviour and every waived deviation")
    parser.add_argument("--show-secrets", action="store_true", default=None,
                        help="write the real credentials into the reproduction (curl) lines (default: ***)")
    parser.add_argument("--operation", action="append", metavar="OPERATION_ID",
                        help="only this operation (operationId; repeatable): its Schemathesis phases, no scenarios")
    parser.add_argument("--scenarios-only", action="store_true", default=None,
                        help="skip the Schemathesis phases: conventions and scenarios only")
    parser.add_argument("--junit", metavar="PATH", help="write a JUnit XML report")
    parser.add_argument("--report-dir", metavar="DIR", help="write report.html, junit.xml, summary.txt there")
    if api in profiles.names():
        group = parser.add_argument_group(f"{api} credentials")
        for option in profiles.get(api).auth_options:
            group.add_argument(option.flag, dest=option.name, help=option.help)
    return parser


def env_prefix(api: str) -> str:
    """APITWIN_<API>: `monarc-v1` reads APITWIN_MONARC_V1_... (a dash is no shell name)."""
    return "APITWIN_" + api.upper().replace("-", "_")


def _credentials_help() -> str:
    """Every API's credential options, for `apitwin conform --help`."""
    lines = ["credentials of each API (also APITWIN_<API>_<OPTION> or --config):"]
    for name in profiles.names():
        options = profiles.get(name).auth_options
        lines.append(f"  {name}:")
        lines += [f"    {o.flag:<16} {o.help}" for o in options] or ["    (none)"]
    return "\n".join(lines)


def _settings(args, api: str, names: list[str]) -> dict:
    """Option values: command line, then APITWIN_<API>_<NAME>, then the config file."""
    file_values: dict = {}
    prefix = env_prefix(api)
    config_path = args.config or os.environ.get(f"{prefix}_CONFIG")
    if config_path:
        try:
            with open(config_path, "rb") as f:
                file_values = tomllib.load(f).get(api, {})
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise _BadArgs(f"cannot read config file {config_path}: {exc}") from None
    values = {}
    for name in names:
        value = getattr(args, name, None)
        if value is None:
            value = os.environ.get(f"{prefix}_{name.upper()}")
        if value is None:
            value = file_values.get(name, file_values.get(name.replace("_", "-")))
        values[name] = value
    return values


def _int(value, name: str, default: int, minimum: int = 0) -> int:
    if value is None:
        return default
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise _BadArgs(f"{name} must be an integer, got {value!r}") from None
    if number < minimum:
        raise _BadArgs(f"{name} must be at least {minimum}, got {number}")
    return number


def _flag(value) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def parse(argv: list[str]) -> Options:
    first = next((a for a in argv if not a.startswith("-")), None)
    args = _parser(first).parse_args(argv)
    api = args.api
    if api not in profiles.names():
        raise _BadArgs(f"unknown API {api!r} (profiles: {', '.join(profiles.names())})")
    profile = profiles.get(api)
    cred_names = [o.name for o in profile.auth_options]
    values = _settings(args, api, ["base_url", "read_only", "max_examples", "seed", "stateful_steps", "strict",
                                   "scenarios_only", "junit", "report_dir", "show_secrets", "ca_file", *cred_names])
    base_url = values["base_url"]
    if not base_url:
        raise _BadArgs(f"--base-url is required (or {env_prefix(api)}_BASE_URL)")
    if not str(base_url).startswith(("http://", "https://")):
        raise _BadArgs(f"--base-url must be an http:// or https:// URL, got {base_url!r}")
    ca_file = values["ca_file"]
    if ca_file:
        try:
            ca_context(str(ca_file))  # checked now: a bad file is a bad argument, not a failed run
        except BadCAFile as exc:
            raise _BadArgs(str(exc)) from None
    creds = {name: values[name] for name in cred_names}
    missing = profile.missing_credentials(creds)
    if missing:
        raise _BadArgs(f"{api}: {missing} (options, {env_prefix(api)}_* variables or --config)")
    return Options(
        api=api, base_url=str(base_url).rstrip("/"), creds=creds,
        read_only=_flag(values["read_only"]), strict=_flag(values["strict"]),
        schemathesis=not _flag(values["scenarios_only"]),
        max_examples=_int(values["max_examples"], "--max-examples", 20, 1),
        seed=_int(values["seed"], "--seed", 0), stateful_steps=_int(values["stateful_steps"], "--stateful-steps", 10, 1),
        junit=values["junit"], report_dir=values["report_dir"], show_secrets=_flag(values["show_secrets"]),
        operations=tuple(args.operation or ()), ca_file=str(ca_file) if ca_file else None,
    )


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if any(a in ("-h", "--help") for a in argv):
        first = next((a for a in argv if not a.startswith("-")), None)
        _parser(first).print_help()
        return 0
    try:
        options = parse(argv)
    except _BadArgs as exc:
        print(f"apitwin conform: bad arguments: {exc}", file=sys.stderr)
        return EXIT_NOT_RUN
    code, _ = run(options)
    return code


if __name__ == "__main__":
    sys.exit(main())
