"""`apitwin fixtures import <api> DIR [--out OUT]`: recorded traffic as the stand-in's fixtures.

DIR holds the HAR files of `apitwin proxy <api> --record DIR` (or is one HAR file). The
import writes OUT/<api>/ (default OUT: ./apitwin-fixtures) in the format of the bundled
fixtures: the bundled data plus every object the recorded answers showed. Then
`apitwin serve <api> --fixtures OUT` starts the stand-in with them. Supported: monarc,
opengrid. Exit 0 written, 2 not (bad arguments, nothing readable).
"""
from __future__ import annotations

import argparse
import sys

from .fixtures_import import IMPORTERS, import_fixtures
from .har import read_entries


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = argparse.ArgumentParser(prog="apitwin fixtures", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    importing = sub.add_parser("import", help="HAR files -> OUT/<api>/ fixtures", description=__doc__,
                               formatter_class=argparse.RawDescriptionHelpFormatter)
    importing.add_argument("api", help=f"the API ({', '.join(IMPORTERS)})")
    importing.add_argument("dir", help="a folder of .har files, or one .har file")
    importing.add_argument("--out", default="apitwin-fixtures", help="where OUT/<api>/ goes (default ./apitwin-fixtures)")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return 0 if exc.code == 0 else 2
    if args.api not in IMPORTERS:
        print(f"apitwin fixtures import: no importer for {args.api!r} (supported: {', '.join(IMPORTERS)})",
              file=sys.stderr)
        return 2
    try:
        entries = read_entries(args.dir)
    except (OSError, ValueError) as exc:
        print(f"apitwin fixtures import: cannot read {args.dir}: {exc}", file=sys.stderr)
        return 2
    if not entries:
        print(f"apitwin fixtures import: no recorded exchanges in {args.dir}", file=sys.stderr)
        return 2
    folder, notes = import_fixtures(args.api, entries, args.out)
    print(f"{len(entries)} recorded exchange(s) -> {folder}/")
    for note in notes:
        print(f"  {note}")
    print(f"serve them: apitwin serve {args.api} --fixtures {args.out}")
    return 0
