"""`apitwin proxy <api> --target URL [--port P] ...`: check an app's live traffic against the contract.

Point the app at the proxy instead of the deployment. Each request goes to the target
unchanged and each answer comes back unchanged; both are checked against
openapi/<api>.yaml and the API's conventions (the checks of `apitwin conform`). Every
violation is logged on stderr at once, one line: [undocumented], [request] (the app's
fault) or [answer] (the deployment's fault). `GET /__apitwin/violations` on the proxy
answers the summary so far as JSON. Ctrl-C prints the table per operation and writes the
reports; the exit code is 0 without violations, 1 with some, 2 when it could not start.
"""
from __future__ import annotations

import argparse
import os
import sys

from . import profiles
from .trust import BadCAFile, ca_context

EXIT_CLEAN, EXIT_VIOLATIONS, EXIT_NOT_RUN = 0, 1, 2


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="apitwin proxy", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("api", help=f"the API ({', '.join(profiles.names())})")
    p.add_argument("--target", required=True, help="the deployment to forward to, e.g. https://stats.example.org")
    p.add_argument("--ca-file", metavar="PEM",
                   help="trust the CA certificates in this PEM file (not the default ones) for an https:// target, "
                        "e.g. the ca.pem of `apitwin serve --tls` (also APITWIN_<API>_CA_FILE)")
    p.add_argument("--host", default="127.0.0.1", help="address the proxy listens on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8090, help="port the proxy listens on (default 8090)")
    p.add_argument("--report-dir", metavar="DIR", help="at the end: report.html, junit.xml, summary.txt there")
    p.add_argument("--junit", metavar="PATH", help="at the end: a JUnit XML report")
    p.add_argument("--record", metavar="DIR",
                   help="record the traffic as HAR files (secrets masked), for `apitwin fixtures import`")
    p.add_argument("--strict", action="store_true", help="report the known deviations the profile waives too")
    return p


def main(argv: list[str] | None = None) -> int:
    import uvicorn

    from .cli import env_prefix
    from .har import HarRecorder
    from .proxy import Proxy, server_config

    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        args = parser().parse_args(argv)
    except SystemExit as exc:
        return EXIT_CLEAN if exc.code == 0 else EXIT_NOT_RUN
    if args.api not in profiles.names():
        print(f"apitwin proxy: unknown API {args.api!r} (known: {', '.join(profiles.names())})", file=sys.stderr)
        return EXIT_NOT_RUN
    if not args.target.startswith(("http://", "https://")):
        print(f"apitwin proxy: --target must be an http:// or https:// URL, got {args.target!r}", file=sys.stderr)
        return EXIT_NOT_RUN
    if not 0 < args.port < 65536:
        print(f"apitwin proxy: --port must be 1-65535, got {args.port}", file=sys.stderr)
        return EXIT_NOT_RUN
    ca_file = args.ca_file or os.environ.get(f"{env_prefix(args.api)}_CA_FILE")
    try:
        trusted = ca_context(ca_file) if ca_file else None
    except BadCAFile as exc:
        print(f"apitwin proxy: {exc}", file=sys.stderr)
        return EXIT_NOT_RUN
    recorder = HarRecorder(args.record, args.api) if args.record else None
    proxy = Proxy(args.api, args.target, strict=args.strict, recorder=recorder, trust=trusted)
    print(f"apitwin proxy: {args.api} on http://{args.host}:{args.port} -> {proxy.target}"
          + (f", recording to {recorder.path}" if recorder else "")
          + f"; summary at http://{args.host}:{args.port}/__apitwin/violations; Ctrl-C ends", file=sys.stderr)
    server = uvicorn.Server(server_config(proxy, args.host, args.port))
    try:
        server.run()
    except KeyboardInterrupt:  # uvicorn re-raises Ctrl-C once it has shut down: the summary follows
        pass
    except SystemExit:  # uvicorn exits when it cannot listen (port in use); said below
        pass
    if not server.started:
        print(f"apitwin proxy: could not listen on {args.host}:{args.port}", file=sys.stderr)
        return EXIT_NOT_RUN
    print(proxy.tally.render_text())
    proxy.tally.write_reports(args.report_dir, args.junit)
    return EXIT_VIOLATIONS if proxy.tally.violations else EXIT_CLEAN
