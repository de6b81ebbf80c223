"""Who sent a request, and how many requests of a kind each client may send.

Addresses are held in memory only, for as long as a limit needs them; they are
never written anywhere.
"""

from __future__ import annotations

from collections import deque

from aiohttp import web

LOOPBACK = frozenset({"127.0.0.1", "::1"})


def client_address(request: web.Request) -> str:
    """Return the address of the client that sent `request`.

    Behind the deploy/ nginx every request comes from loopback; nginx then passes the
    visitor's address in X-Real-IP, which is trusted from loopback only: from anywhere
    else it is whatever the sender chose to write.
    """
    remote = request.remote or "unknown"
    if remote in LOOPBACK:
        return request.headers.get("X-Real-IP") or remote
    return remote


class RateLimit:
    """At most `limit` events per client in any `window_s` seconds, counted in memory."""

    def __init__(self, limit: int, window_s: float, max_clients: int = 10_000) -> None:
        self.limit = limit
        self.window_s = window_s
        self.max_clients = max_clients
        self._events: dict[str, deque[float]] = {}

    def exceeded(self, client: str, now: float) -> bool:
        """Say whether `client` has used up its events in the window that ends at `now`."""
        recent = self._events.get(client)
        if recent is None:
            return False
        while recent and recent[0] <= now - self.window_s:
            recent.popleft()
        return len(recent) >= self.limit

    def note(self, client: str, now: float) -> None:
        """Count one event of `client`."""
        if client not in self._events and len(self._events) >= self.max_clients:
            self._forget_idle(now)
        # At most `limit` times are kept per client: that is all `exceeded` needs.
        self._events.setdefault(client, deque(maxlen=self.limit)).append(now)

    def allow(self, client: str, now: float) -> bool:
        """Count one event of `client` if it is within its limit; say whether it was."""
        if self.exceeded(client, now):
            return False
        self.note(client, now)
        return True

    def _forget_idle(self, now: float) -> None:
        """Bound the memory that many addresses can make us use."""
        cutoff = now - self.window_s
        self._events = {
            client: recent
            for client, recent in self._events.items()
            if recent and recent[-1] > cutoff
        }
        if len(self._events) >= self.max_clients:
            # Every client is active: forgetting them all is the only bound left.
            self._events.clear()

    def __len__(self) -> int:
        return len(self._events)
