"""One visit, one scan: the same client at the same stop within half an hour counts once.

A reload, a second scan of the same plaque a minute later or a burst of requests
from one phone is one visit. A client is its address and user agent, hashed
(keyed BLAKE2b) with a random salt that lives only in this process's memory and
is replaced every day (UTC), so the hashes cannot be linked from one day to the
next. Neither the salt nor the hashes are ever written: the scan log keeps
counts per hour only.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable

VISIT_WINDOW_S = 30 * 60.0
MAX_RECENT_VISITS = 50_000
"""About 10 MB; far more visitors than the island sees in half an hour."""
DAY_S = 86_400
SALT_BYTES = 32


class VisitLog:
    """Recent visits by hashed client and stop, oldest first, in bounded memory."""

    def __init__(
        self,
        window_s: float = VISIT_WINDOW_S,
        max_recent: int = MAX_RECENT_VISITS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.window_s = window_s
        self.max_recent = max_recent
        self._clock = clock
        # Visit key → when the visit was counted. Keys are added in time order, so the
        # oldest visits are at the front: expiring them never scans the whole map.
        self._recent: OrderedDict[bytes, float] = OrderedDict()
        self._salt_day = -1
        self._salt = b""
        # Yesterday's salt, kept for one window after midnight, so a visit that spans
        # midnight still counts once.
        self._previous_salt: bytes | None = None
        self._previous_until = 0.0
        self._rotate_salt(clock())

    def is_new(self, address: str, agent: str, stop: str) -> bool:
        """Say whether this request starts a visit, and remember it if so.

        Constant time on average, no I/O: it runs on every QR scan.
        """
        now = self._clock()
        self._rotate_salt(now)
        recent = self._recent
        cutoff = now - self.window_s
        while recent:
            oldest = next(iter(recent))
            if recent[oldest] > cutoff:
                break
            del recent[oldest]
        key = _hash(self._salt, address, agent, stop)
        if key in recent:
            return False
        previous = self._previous_salt
        if previous is not None:
            if now >= self._previous_until:
                self._previous_salt = None  # every visit hashed with it has expired
            elif _hash(previous, address, agent, stop) in recent:
                return False
        recent[key] = now
        if len(recent) > self.max_recent:
            recent.popitem(last=False)  # the oldest visit may then count again: memory first
        return True

    def visit_key(self, address: str, agent: str, stop: str) -> bytes:
        """Return what is remembered of one client at one stop: a hash with today's salt."""
        self._rotate_salt(self._clock())
        return _hash(self._salt, address, agent, stop)

    def _rotate_salt(self, now: float) -> None:
        day = int(now // DAY_S)
        if day == self._salt_day:
            return
        self._previous_salt = self._salt if day == self._salt_day + 1 else None
        self._previous_until = day * DAY_S + self.window_s
        self._salt = secrets.token_bytes(SALT_BYTES)
        self._salt_day = day

    def __len__(self) -> int:
        return len(self._recent)


def _hash(salt: bytes, address: str, agent: str, stop: str) -> bytes:
    # surrogatepass: header text aiohttp could not decode must still hash, not raise.
    data = f"{address}\n{agent}\n{stop}".encode("utf-8", "surrogatepass")
    return hashlib.blake2b(data, key=salt, digest_size=16).digest()
