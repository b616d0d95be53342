"""The request journal (`GET /__apitwin/requests`) and the one-line request log."""
from __future__ import annotations

import re
import sys
from collections import deque
from datetime import datetime

from .redact import query as masked

# C0 and C1 controls, DEL, and the Unicode line and paragraph separators: a path may hold
# any of them (percent-decoded), and printed raw they would split or forge log lines.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def one_line(text: str) -> str:
    """`text` with its control characters escaped (\\n, \\x1b, \\u2028), for a log line."""
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


class Journal:
    def __init__(self, api: str, size: int = 500, quiet: bool = False) -> None:
        self.api = api
        self.quiet = quiet
        self._entries: deque[dict] = deque(maxlen=size)

    def record(self, at: datetime, method: str, path: str, query: str, status: int, ms: float,
               keep: bool = True, fault: dict | None = None) -> None:
        """Log the request; keep it in the journal unless `keep` is false (admin calls).
        Tokens and keys in the query are masked in both. `fault` marks an answer that
        injected faults made (status 0: no answer at all)."""
        query = masked(query)
        if keep:
            entry = {
                "time": at.isoformat(),
                "method": method,
                "path": path,
                "query": query,
                "status": status,
                "ms": round(ms, 2),
            }
            if fault:
                entry["fault"] = fault
            self._entries.append(entry)
        if not self.quiet:
            target = one_line(path + ("?" + query if query else ""))
            mark = f" [injected: {'; '.join(fault['actions'])}]" if fault else ""
            print(f"[{self.api}] {one_line(method)} {target} {status} {ms:.1f}ms{mark}",
                  file=sys.stderr, flush=True)

    def entries(self, limit: int | None = None) -> list[dict]:
        items = list(self._entries)
        return items[-limit:] if limit else items

    def clear(self) -> None:
        self._entries.clear()
