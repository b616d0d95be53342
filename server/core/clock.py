"""The server clock: every time-dependent rule of every API reads it.

The admin API can freeze it or move it forward, so token expiry and retention can be
tested without waiting.
"""
from __future__ import annotations

import re
import time
from datetime import datetime, timedelta, timezone

_DURATION = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*([smhd])\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> timedelta:
    """'90s', '5m', '5h', '2d' -> timedelta. Raises ValueError on anything else."""
    match = _DURATION.match(str(text))
    if not match:
        raise ValueError(f"invalid duration {text!r}: use a number and one of s, m, h, d (e.g. '5h')")
    return timedelta(seconds=float(match.group(1)) * _UNIT_SECONDS[match.group(2)])


def parse_iso(text: str) -> datetime:
    """ISO 8601 -> aware datetime (UTC when no offset is given)."""
    value = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


class Clock:
    """Wall time plus an offset, or a frozen instant."""

    def __init__(self) -> None:
        self._offset = timedelta(0)
        self._frozen: datetime | None = None

    def now(self) -> datetime:
        """Aware UTC datetime."""
        if self._frozen is not None:
            return self._frozen
        return datetime.now(timezone.utc) + self._offset

    def timestamp(self) -> float:
        return self.now().timestamp()

    def advance(self, delta: timedelta) -> None:
        if self._frozen is not None:
            self._frozen += delta
        else:
            self._offset += delta

    def freeze(self, at: datetime) -> None:
        self._frozen = at.astimezone(timezone.utc)

    def reset(self) -> None:
        self._offset = timedelta(0)
        self._frozen = None

    @property
    def frozen(self) -> bool:
        return self._frozen is not None


def monotonic_ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000
