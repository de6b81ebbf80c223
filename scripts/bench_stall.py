"""How long one large staff form stalls the whole service: `/healthz` polled every 50 ms.

Starts a real `tour serve` on a copy of the bundled tour with one publisher account, logs
in, and posts the stop form to `/admin/stops/<stop>/check` with one field (the code, by
default) set to a long value, once per size. While each post runs, another client asks
for `/healthz` every 50 ms. Prints, per size: the post's status and time, and the slowest
`/healthz` answer meanwhile. A post still running after `--limit` seconds is given up,
and the server is restarted for the next size.

    .venv/bin/python scripts/bench_stall.py --sizes 40000,1000000
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
from html.parser import HTMLParser
from pathlib import Path

import aiohttp
from serving import free_port, wait_until_up

PASSWORD = "kata sandi panjang 2026"
POLL_S = 0.05


class FormFields(HTMLParser):
    """The named inputs, selects and textareas of a page's first POST form, with their values."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, str] = {}
        self._textarea: str | None = None
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        name = named.get("name")
        if tag == "input" and name and named.get("type") not in ("submit", "button"):
            self.fields.setdefault(name, named.get("value") or "")
        elif tag == "textarea" and name:
            self._textarea = name
            self.fields.setdefault(name, "")
        elif tag == "select" and name:
            self._select = name
        elif tag == "option" and self._select and "selected" in named:
            self.fields[self._select] = named.get("value") or ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "textarea":
            self._textarea = None
        elif tag == "select":
            self._select = None

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self.fields[self._textarea] += data


def tour_command(folder: Path, *args: str) -> list[str]:
    places = ("--stops", folder / "stops", "--media", folder / "media", "--db", folder / "db")
    return [sys.executable, "-m", "tour", *map(str, places), *args]


def start_server(folder: Path, port: int) -> subprocess.Popen[bytes]:
    server = subprocess.Popen(
        tour_command(folder, "serve", "--port", str(port)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "TOUR_BASE_URL": "http://tour.example"},
    )
    wait_until_up(f"http://127.0.0.1:{port}/healthz")
    return server


async def poll_health(
    address: str, slowest: list[float], stop: asyncio.Event, limit: float
) -> None:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=limit)) as session:
        while not stop.is_set():
            started = time.perf_counter()
            try:
                async with session.get(f"{address}/healthz") as response:
                    await response.read()
            except (aiohttp.ClientError, TimeoutError):
                pass
            slowest.append(time.perf_counter() - started)
            await asyncio.sleep(POLL_S)


async def post_once(address: str, stop_id: str, field: str, size: int, limit: float) -> str:
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(address, cookie_jar=jar) as session:
        login = FormFields()
        login.feed(await (await session.get("/admin/login")).text())
        data = {"csrf": login.fields["csrf"], "user": "bench", "password": PASSWORD}
        await session.post("/admin/login", data=data)
        form = FormFields()
        form.feed(await (await session.get(f"/admin/stops/{stop_id}")).text())
        fields = {**form.fields, field: "a" * size}
        slowest: list[float] = []
        stop = asyncio.Event()
        poller = asyncio.create_task(poll_health(address, slowest, stop, limit))
        await asyncio.sleep(0.2)
        started = time.perf_counter()
        try:
            async with asyncio.timeout(limit):
                async with session.post(f"/admin/stops/{stop_id}/check", data=fields) as answer:
                    await answer.read()
                    outcome = f"status {answer.status}"
        except TimeoutError:
            outcome = f"no answer after {limit:.0f} s"
        took = time.perf_counter() - started
        await asyncio.sleep(0.3)
        stop.set()
        await poller
    return (
        f"{field} of {size:>9,} characters: {outcome} in {took:6.2f} s; "
        f"slowest /healthz meanwhile {max(slowest):6.2f} s ({len(slowest)} polls)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="40000,1000000", help="comma-separated lengths")
    parser.add_argument("--field", default="code", help="the stop form field to fill")
    parser.add_argument("--stop", default="masjid-raya", help="the stop whose form is posted")
    parser.add_argument("--limit", type=float, default=60, help="seconds to wait for a post")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        shutil.copytree(Path(__file__).resolve().parent.parent / "tour" / "stops", folder / "stops")
        subprocess.run(
            tour_command(folder, "staff", "add", "bench", "--role", "publisher"),
            input=PASSWORD + "\n",
            text=True,
            check=True,
            capture_output=True,
        )
        for size in (int(size) for size in options.sizes.split(",")):
            port = free_port()
            server = start_server(folder, port)
            try:
                address = f"http://127.0.0.1:{port}"
                line = asyncio.run(
                    post_once(address, options.stop, options.field, size, options.limit)
                )
                print(line, flush=True)
            finally:
                server.kill()
                server.wait()


if __name__ == "__main__":
    main()
