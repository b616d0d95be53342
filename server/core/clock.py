"""The server clock: every time-dependent rule of every API reads it.

The admin API can freeze it or move it forward, so token expiry and retention can be
tested without waiting.
"""
from __future__ import annotations

import re
import time
from datetime import datetime, timedelta, timezone

_DURATION = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*(ms|[smhd])\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> timedelta:
    """'150ms', '90s', '5m', '5h', '2d' -> timedelta. Raises ValueError on anything else."""
    match = _DURATION.match(str(text))
    if not match:
        raise ValueError(f"invalid duration {text!r}: use a number and one of ms, s, m, h, d (e.g. '5h')")
    return timedelta(seconds=float(match.group(1)) * _UNIT_SECONDS[match.group(2)])


def parse_iso(text: str) -> datetime:
    """ISO 8601 -> aware datetime (UTC when no offset is given)."""
    value = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


class Clock:
    """Wall time plus an offset, or a frozen instant.

    The clock may be moved backwards (an earlier freeze, a negative advance, a reset to
    the wall clock from ahead of it), but that never brings an expired token back: each
    move backwards starts a new *era* and remembers how far the clock had gone. A token
    records the era it was issued in (`era`), and `reached(expiry, era)` is true once
    the clock is past the expiry now or was in any era since the token's.
    """

    def __init__(self) -> None:
        self._offset = timedelta(0)
        self._frozen: datetime | None = None
        self._peaks: list[datetime] = []  # how far each earlier era went

    def now(self) -> datetime:
        """Aware UTC datetime."""
        if self._frozen is not None:
            return self._frozen
        return datetime.now(timezone.utc) + self._offset

    def timestamp(self) -> float:
        return self.now().timestamp()

    @property
    def era(self) -> int:
        """The number of moves backwards so far: tokens issued now record it."""
        return len(self._peaks)

    def reached(self, instant: datetime, since_era: int = 0) -> bool:
        """Whether the clock is at or past `instant`, or was so in an era since `since_era`
        (a token's expiry, once passed, stays passed)."""
        if instant.tzinfo is None:
            instant = instant.replace(tzinfo=timezone.utc)
        if instant <= self.now():
            return True
        since = since_era if isinstance(since_era, int) and since_era >= 0 else 0
        return any(instant <= peak for peak in self._peaks[since:])

    def _moving_to(self, target: datetime) -> None:
        current = self.now()
        if target < current:
            self._peaks.append(current)

    def advance(self, delta: timedelta) -> None:
        self._moving_to(self.now() + delta)
        if self._frozen is not None:
            self._frozen += delta
        else:
            self._offset += delta

    def freeze(self, at: datetime) -> None:
        at = at.astimezone(timezone.utc)
        self._moving_to(at)
        self._frozen = at

    def reset(self) -> None:
        self._moving_to(datetime.now(timezone.utc))
        self._offset = timedelta(0)
        self._frozen = None

    @property
    def frozen(self) -> bool:
        return self._frozen is not None


def jwt_expired(clock: Clock, claims: dict) -> bool:
    """Whether a JWT's `exp` has passed by the server clock, in the era it records (`era`,
    from `clock.era` at issue), so moving the clock back does not revive it."""
    exp = claims.get("exp")
    if not isinstance(exp, (int, float)) or isinstance(exp, bool):
        return True
    try:
        instant = datetime.fromtimestamp(exp, timezone.utc)
    except (OverflowError, OSError, ValueError):
        return True
    return clock.reached(instant, claims.get("era", 0))


def monotonic_ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000
