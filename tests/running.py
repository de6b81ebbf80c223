"""Running the tour as its users do: the `tour` command in a subprocess, and waiting, bounded,
for the server's background work to reach a state."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path


def run_tour(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `python -m tour ARGS` with `env` added to this process's environment."""
    return subprocess.run(
        [sys.executable, "-m", "tour", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
        cwd=cwd,
        check=False,
    )


async def until(
    condition: Callable[[], bool], within_s: float = 10.0, poll_s: float = 0.01
) -> None:
    """Return once `condition()` holds; fail the test if it never does within `within_s`."""
    for _ in range(max(1, round(within_s / poll_s))):
        if condition():
            return
        await asyncio.sleep(poll_s)
    raise AssertionError(f"never got there in {within_s} s")
