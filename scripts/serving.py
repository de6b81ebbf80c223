"""Start `tour serve` in the background for the scripts that measure it."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_until_up(url: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


@contextlib.contextmanager
def tour_server(
    media: Path,
    *,
    base_url_is_local: bool = False,
    extra_env: dict[str, str] | None = None,
    serve_options: tuple[str, ...] = (),
) -> Iterator[str]:
    """Build missing narration into `media`, serve the bundled tour, and yield its address."""
    subprocess.run(
        [sys.executable, "-m", "tour", "--media", str(media), "audio", "--engine", "espeak"],
        check=True,
        capture_output=True,
    )
    port = free_port()
    address = f"http://127.0.0.1:{port}"
    env = {**os.environ, **(extra_env or {})}
    if base_url_is_local:
        # Canonical links then point at the server being measured, as in production.
        env["TOUR_BASE_URL"] = address
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tour",
            "--media",
            str(media),
            "--db",
            str(media.parent / f"scans-{port}.db"),
            "serve",
            "--port",
            str(port),
            *serve_options,
        ],
        stdout=subprocess.DEVNULL,
        env=env,
    )
    try:
        wait_until_up(address + "/healthz")
        yield address
    finally:
        server.terminate()
        server.wait(timeout=30)
