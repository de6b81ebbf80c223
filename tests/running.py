"""Running the tour as its users do: the `tour` command, and waiting, bounded, for the
server's background work to reach a state."""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

from tour.cli import main


@contextlib.contextmanager
def environment(added: dict[str, str]) -> Iterator[None]:
    """os.environ with `added`, as a child process would get it; restored afterwards."""
    before = dict(os.environ)
    os.environ.update(added)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(before)


def run_tour(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `tour ARGS` in this process, as `python -m tour ARGS` would run: what it prints,
    and its exit status (argparse's exits included). `tests/test_cli.py` starts the real
    process where the process itself matters (serving, signals)."""
    stdout, stderr = io.StringIO(), io.StringIO()
    tour_log = logging.getLogger("tour")
    handlers, level = list(tour_log.handlers), tour_log.level
    with (
        environment(env or {}),
        contextlib.chdir(cwd or Path.cwd()),
        contextlib.redirect_stdout(stdout),
        contextlib.redirect_stderr(stderr),
    ):
        try:
            status = main(list(args))
        except SystemExit as exited:
            status = exited.code if isinstance(exited.code, int) else 1
        finally:
            # `tour serve` adds its log handler before it loads the tour.
            tour_log.handlers[:] = handlers
            tour_log.setLevel(level)
    return subprocess.CompletedProcess(
        ["tour", *args], status, stdout.getvalue(), stderr.getvalue()
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
