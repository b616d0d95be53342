"""How deep JSON text nests, measured without parsing it (so before any recursive parser).

Every API's parsers (Python's json, orjson, the BSON encoder, Connexion's validators)
recurse, and fail on deep enough input with errors no API expects. The middleware
measures every JSON body and query string first and refuses what nests deeper than the
store could keep anyway (`store.MAX_DEPTH`).
"""
from __future__ import annotations

import re
from array import array
from itertools import accumulate

# A JSON string once its escaped backslashes and quotes are gone: brackets inside do not nest.
_STRING = re.compile(rb'"[^"]*"')
# Openers become 1 and closers -1 (as signed bytes); everything else goes.
_STEPS = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_CHUNK = 1 << 16


def nests_deeper_than(text: bytes, limit: int) -> bool:
    """True when some bracket of `text` opens more than `limit` levels deep, counting the
    unclosed brackets of malformed text too (a recursive parser descends into them
    before it finds out). Linear: about 25 ms per million brackets."""
    if text.count(b"[") + text.count(b"{") <= limit:
        return False
    # Escape pairs first, left to right as a parser reads them: `\\` then `\"`.
    text = text.replace(b"\\\\", b"").replace(b'\\"', b"")
    steps = _STRING.sub(b"", text).translate(_STEPS, _NOT_BRACKETS)
    depth = 0
    for start in range(0, len(steps), _CHUNK):  # chunks, to stop early on deep text
        chunk = accumulate(array("b", steps[start:start + _CHUNK]), initial=depth)
        depths = list(chunk)
        if max(depths) > limit:
            return True
        depth = depths[-1]
    return False
