"""A weak mobile link on loopback: a TCP proxy that adds latency and shares a slow downlink.

The browser talks to the proxy, the proxy to the real server. Every chunk waits half the
round trip in each direction, a new connection waits one round trip (the handshake), and
all bytes sent to the browser, on every connection, pass through one downlink of fixed
speed, as on a phone. Unlike DevTools throttling it also slows the service worker's own
fetches, which is where narration on a weak link goes wrong.

The proxy also notes each HTTP request it forwards (method, path, headers), so tests can
count what the browser, or its service worker, really asked the network for.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

# Small enough slices that connections sharing the downlink take turns finely.
SLICE_BYTES = 4096
HEAD_END = b"\r\n\r\n"


@dataclass(frozen=True, slots=True)
class SeenRequest:
    method: str
    path: str
    headers: dict[str, str]
    """Header names in lower case."""
    at: float = 0.0
    """When the request head reached the proxy, on time.monotonic()'s clock."""
    connection: int = 0
    """Which of the proxy's connections carried it, counted from 1 in order of arrival."""


@dataclass
class RequestLog:
    """Requests seen on the proxy, in the order they arrived."""

    requests: list[SeenRequest] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, request: SeenRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def to(self, path: str) -> list[SeenRequest]:
        with self._lock:
            return [request for request in self.requests if request.path == path]

    def clear(self) -> None:
        with self._lock:
            self.requests.clear()


class RequestReader:
    """Reads HTTP/1.1 request heads out of the bytes one connection sends upstream."""

    def __init__(self, log: RequestLog, connection: int = 0) -> None:
        self.log = log
        self.connection = connection
        self.buffer = b""
        self.body_left = 0

    def feed(self, data: bytes) -> None:
        self.buffer += data
        while True:
            if self.body_left:
                skipped = min(self.body_left, len(self.buffer))
                self.buffer = self.buffer[skipped:]
                self.body_left -= skipped
                if self.body_left:
                    return
            end = self.buffer.find(HEAD_END)
            if end < 0:
                return
            head = self.buffer[:end].decode("latin-1").split("\r\n")
            self.buffer = self.buffer[end + len(HEAD_END) :]
            method, target, _ = [*head[0].split(" ", 2), "", ""][:3]
            headers = {}
            for line in head[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            path = target.split("?", 1)[0]
            self.log.add(SeenRequest(method, path, headers, time.monotonic(), self.connection))
            self.body_left = int(headers.get("content-length", "0") or "0")


class Downlink:
    """One downlink of fixed speed, shared in turn by every connection of the proxy."""

    def __init__(self, bits_per_second: float) -> None:
        self.bytes_per_second = bits_per_second / 8
        self.free_at = 0.0

    async def send(self, size: int) -> None:
        """Wait until `size` bytes have gone down the link after everything queued before."""
        loop = asyncio.get_running_loop()
        start = max(loop.time(), self.free_at)
        self.free_at = start + size / self.bytes_per_second
        await asyncio.sleep(self.free_at - loop.time())


class ThrottlingProxy:
    """A proxy on 127.0.0.1 in front of `upstream_port`, run on a thread of its own.

    The tests drive the browser with Playwright's synchronous API, which keeps an event
    loop of its own in the calling thread; the proxy's loop lives beside it.
    """

    def __init__(
        self,
        upstream_port: int,
        *,
        round_trip_s: float = 0.3,
        down_bits_per_second: float = 750_000,
    ) -> None:
        self.upstream_port = upstream_port
        self.one_way_s = round_trip_s / 2
        self.round_trip_s = round_trip_s
        self.down_bits_per_second = down_bits_per_second
        self.log = RequestLog()
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self._downlink: Downlink | None = None
        self._connections: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()
        self.connections_opened = 0
        # Bytes handed to the browser: (time.monotonic(), connection, size), in order.
        self.delivered: list[tuple[float, int, int]] = []

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_until_idle(self, quiet_s: float = 1.0, timeout_s: float = 30) -> None:
        """Block until nothing has gone down the link for `quiet_s`, so one measurement does
        not share the link with what a browser context closed before it still fetches."""
        deadline = time.monotonic() + timeout_s
        while True:
            # The loop's clock is time.monotonic(); free_at is a float, read atomically.
            free_at = self._downlink.free_at if self._downlink is not None else 0.0
            if time.monotonic() - free_at >= quiet_s:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"the throttled link stayed busy for {timeout_s} s")
            time.sleep(0.1)

    def start(self) -> None:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._listen(), self._loop).result(timeout=10)

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._close(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    async def _listen(self) -> None:
        self._downlink = Downlink(self.down_bits_per_second)
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _close(self) -> None:
        assert self._server is not None
        self._server.close()
        # Closing both ends lets each relay run out on its own, as when a peer hangs up.
        for writer in list(self._writers):
            writer.close()
        if self._connections:
            await asyncio.wait(self._connections, timeout=5)
        await self._server.wait_closed()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        self._writers.add(writer)
        try:
            await self._relay(reader, writer)
        finally:
            self._connections.discard(task)
            self._writers.discard(writer)

    async def _relay(
        self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter
    ) -> None:
        assert self._downlink is not None
        try:
            # The handshake: a round trip before the first request can leave the phone.
            await asyncio.sleep(self.round_trip_s)
            server_reader, server_writer = await asyncio.open_connection(
                "127.0.0.1", self.upstream_port
            )
        except OSError:
            client_writer.close()
            return
        self._writers.add(server_writer)
        self.connections_opened += 1
        requests = RequestReader(self.log, self.connections_opened)
        try:
            async with asyncio.TaskGroup() as group:
                up = group.create_task(self._pipe(client_reader, server_writer, None, requests))
                down = group.create_task(
                    self._pipe(
                        server_reader, client_writer, self._downlink, None, requests.connection
                    )
                )
                # The browser has hung up (an aborted download): once that reaches the server
                # the sending stops, rather than spending the shared downlink on nobody.
                up.add_done_callback(lambda _: down.cancel())
        except* (OSError, asyncio.IncompleteReadError):
            pass  # either end went away: so does the other
        finally:
            self._writers.discard(server_writer)
            for writer in (client_writer, server_writer):
                writer.close()

    async def _pipe(
        self,
        source: asyncio.StreamReader,
        sink: asyncio.StreamWriter,
        downlink: Downlink | None,
        requests: RequestReader | None,
        connection: int = 0,
    ) -> None:
        """Copy one direction: through the shared downlink if given, then half a round trip.

        Reading and delivering are separate tasks, so the latency delays each chunk
        without limiting how many are on their way at once.
        """
        in_flight: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()
        loop = asyncio.get_running_loop()

        async def deliver() -> None:
            while True:
                due, data = await in_flight.get()
                await asyncio.sleep(due - loop.time())
                if not data:
                    if sink.can_write_eof():
                        sink.write_eof()
                    return
                sink.write(data)
                if downlink is not None:
                    self.delivered.append((time.monotonic(), connection, len(data)))
                await sink.drain()

        delivering = asyncio.create_task(deliver())
        try:
            while not delivering.done():  # the receiver is gone: stop sending
                data = await source.read(SLICE_BYTES)
                if requests is not None and data:
                    requests.feed(data)
                if downlink is not None and data:
                    await downlink.send(len(data))
                in_flight.put_nowait((loop.time() + self.one_way_s, data))
                if not data:
                    break
            await delivering
        finally:
            delivering.cancel()


@contextlib.contextmanager
def throttled(upstream_port: int, *, round_trip_s: float = 0.3) -> Iterator[ThrottlingProxy]:
    """A ThrottlingProxy for the length of a `with` block (750 kbit/s down)."""
    proxy = ThrottlingProxy(upstream_port, round_trip_s=round_trip_s)
    proxy.start()
    try:
        yield proxy
    finally:
        proxy.stop()
