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
DIGEST_BYTES = 16
TIDY_INTERVAL_S = 1.0


class VisitLog:
    """Recent visits by hashed client and stop, oldest first, in bounded memory.

    Ages are measured on the monotonic clock, so a step of the wall clock (NTP)
    neither stretches nor shortens the window; the wall clock only says which
    day's salt is in use.
    """

    def __init__(
        self,
        window_s: float = VISIT_WINDOW_S,
        max_recent: int = MAX_RECENT_VISITS,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.window_s = window_s
        self.max_recent = max_recent
        self._clock = clock
        self._monotonic = monotonic
        # Visit key → when the visit was counted (monotonic). Keys are added in time
        # order, so the oldest visits are at the front: expiring them never scans the map.
        # The salt is the key of a BLAKE2b object kept ready; each visit hashes a copy.
        self._recent: OrderedDict[bytes, float] = OrderedDict()
        self._salt_day = -1
        self._hasher = hashlib.blake2b(digest_size=DIGEST_BYTES)
        # Yesterday's salt, kept for one window after the day changed, so a visit that
        # spans midnight still counts once; then dropped, so nothing links the two days.
        self._previous_hasher: hashlib.blake2b | None = None
        self._previous_until = 0.0
        self._next_tidy = 0.0
        self._tidy(monotonic())

    def is_new(self, address: str, agent: str, stop: str) -> bool:
        """Say whether this request starts a visit, and remember it if so."""
        visit = self.new_visit(address, agent, stop)
        if visit is None:
            return False
        self.remember(visit)
        return True

    def new_visit(self, address: str, agent: str, stop: str) -> bytes | None:
        """Return the key of the visit this request starts, or None if it continues one.

        Nothing is remembered until `remember(key)`: a caller may still decide not to
        count the visit (an address past its budget). Constant time on average, no I/O:
        it runs on every QR scan.
        """
        now = self._monotonic()
        if now >= self._next_tidy:
            self._tidy(now)
        data = f"{address}\n{agent}\n{stop}".encode("utf-8", "surrogatepass")
        key = _visit_key(self._hasher, data)
        recent = self._recent
        seen = recent.get(key)
        if seen is not None and now - seen < self.window_s:
            return None
        if self._previous_hasher is not None:
            before = recent.get(_visit_key(self._previous_hasher, data))
            if before is not None and now - before < self.window_s:
                return None
        return key

    def remember(self, key: bytes) -> None:
        """Remember the visit `key` (from `new_visit`) as starting now."""
        recent = self._recent
        # A key still here expired since the last tidy: re-add it at the newest end.
        recent.pop(key, None)
        recent[key] = self._monotonic()
        if len(recent) > self.max_recent:
            recent.popitem(last=False)  # the oldest visit may then count again: memory first

    def _tidy(self, now: float) -> None:
        """Change the salt when the day changes and forget expired visits; once a second."""
        day = int(self._clock() // DAY_S)
        if day != self._salt_day:
            yesterday = self._salt_day >= 0 and day == self._salt_day + 1
            self._previous_hasher = self._hasher if yesterday else None
            self._previous_until = now + self.window_s
            salt = secrets.token_bytes(SALT_BYTES)
            self._hasher = hashlib.blake2b(key=salt, digest_size=DIGEST_BYTES)
            self._salt_day = day
        elif self._previous_hasher is not None and now >= self._previous_until:
            self._previous_hasher = None
        recent = self._recent
        cutoff = now - self.window_s
        while recent:
            oldest = next(iter(recent))
            if recent[oldest] > cutoff:
                break
            del recent[oldest]
        self._next_tidy = now + TIDY_INTERVAL_S

    def __len__(self) -> int:
        return len(self._recent)


def _visit_key(hasher: hashlib.blake2b, data: bytes) -> bytes:
    """Return what is remembered of one client at one stop: its hash under one salt."""
    salted = hasher.copy()
    salted.update(data)
    return salted.digest()
