"""Who sent a request, and how many requests of a kind each client may send.

Addresses are held in memory only, for as long as a limit needs them; they are
never written anywhere.
"""

from __future__ import annotations

import ipaddress
from collections import deque
from ipaddress import IPv6Address, ip_address, ip_network

from aiohttp import web

LOOPBACK = frozenset({"127.0.0.1", "::1"})
IPV4_MAPPED_PREFIX = "::ffff:"
IPV6_CLIENT_PREFIX = 64
"""An IPv6 subscriber gets at least a /64 and may pick any address in it."""


def client_address(request: web.Request) -> str:
    """Return the address of the client that sent `request`.

    Behind the deploy/ nginx every request comes from loopback; nginx then passes the
    visitor's address in X-Real-IP, which is trusted from loopback only: from anywhere
    else it is whatever the sender chose to write. A dual-stack socket reports an IPv4
    peer as IPv4-mapped IPv6 (::ffff:127.0.0.1): that is read as the IPv4 address.
    """
    remote = request.remote or "unknown"
    if remote.lower().startswith(IPV4_MAPPED_PREFIX):
        remote = _unmapped(remote)
    if remote in LOOPBACK:
        return request.headers.get("X-Real-IP") or remote
    return remote


def _unmapped(address: str) -> str:
    try:
        parsed = ip_address(address)
    except ValueError:
        return address
    mapped = parsed.ipv4_mapped if isinstance(parsed, IPv6Address) else None
    return str(mapped) if mapped is not None else address


def limit_key(address: str) -> str:
    """Return what a per-client limit counts for `address`: an IPv6 client is its /64.

    Anything that is not an IP address (a test name, "unknown") counts as itself.
    """
    if ":" not in address:
        return address  # IPv4, or no address at all: the common case stays a lookup
    plain = _unmapped(address)
    if ":" not in plain:
        return plain
    try:
        return str(ip_network(f"{plain}/{IPV6_CLIENT_PREFIX}", strict=False))
    except ValueError:
        return address


class RateLimit:
    """At most `limit` events per client in any `window_s` seconds, counted in memory.

    Clients are counted by `limit_key`, so an IPv6 client cannot escape its limit by
    changing address within its /64.
    """

    def __init__(self, limit: int, window_s: float, max_clients: int = 10_000) -> None:
        self.limit = limit
        self.window_s = window_s
        self.max_clients = max_clients
        # Client → its latest event times, the least recently active client first.
        self._events: dict[str, deque[float]] = {}

    def exceeded(self, client: str, now: float) -> bool:
        """Say whether `client` has used up its events in the window that ends at `now`."""
        recent = self._events.get(limit_key(client))
        if recent is None:
            return False
        while recent and recent[0] <= now - self.window_s:
            recent.popleft()
        return len(recent) >= self.limit

    def note(self, client: str, now: float) -> None:
        """Count one event of `client`."""
        key = limit_key(client)
        events = self._events
        recent = events.pop(key, None)
        if recent is None:
            if len(events) >= self.max_clients:
                self._forget_oldest(now)
            # At most `limit` times are kept per client: that is all `exceeded` needs.
            recent = deque(maxlen=self.limit)
        recent.append(now)
        events[key] = recent  # re-inserted: the most recently active client is last

    def allow(self, client: str, now: float) -> bool:
        """Count one event of `client` if it is within its limit; say whether it was."""
        if self.exceeded(client, now):
            return False
        self.note(client, now)
        return True

    def take_back(self, client: str, at: float) -> None:
        """Uncount the event of `client` noted at `at`, if it is still counted."""
        recent = self._events.get(limit_key(client))
        if recent is not None and at in recent:
            recent.remove(at)

    def _forget_oldest(self, now: float) -> None:
        """Bound the memory that many addresses can make us use.

        Idle clients go first; when every client is active, only the least recently
        active one goes, so the others (a locked-out guesser among them) are kept.
        """
        events = self._events
        cutoff = now - self.window_s
        while events:
            oldest = next(iter(events))
            recent = events[oldest]
            if recent and recent[-1] > cutoff:
                break  # active; every client after it was active more recently still
            del events[oldest]
        if len(events) >= self.max_clients:
            del events[next(iter(events))]

    def __len__(self) -> int:
        return len(self._events)


def on_this_machine(host: str) -> bool:
    """Say whether a Host header names this machine (loopback), as with `make run`."""
    name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    name = name.removeprefix("[").split("]", 1)[0].rstrip(".").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False
