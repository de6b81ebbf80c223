"""One narration build per test run for each set of stop files, shared by the xdist workers.

Building the bundled tour's narration with eSpeak NG takes about 6 s, and a dozen
server fixtures need it. The first build of a set of stop files is kept; later ones
start from a copy of it, so the real `tour audio` (or `build_narration`) still runs
and finds every item built, or builds only what differs. File names hash what made
them, so a copied file is the one the build would have written.

The controlling pytest process makes the cache folder and names it to its workers in
the environment; a lock per set of stop files lets one worker build while the other
waits for the copy, instead of both building the same narration at once.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

CACHE_VARIABLE = "TOUR_TEST_NARRATION_CACHE"
_root: Path | None = None
_owned = False


def open_cache() -> None:
    """Use the run's cache (conftest's pytest_configure): the controller's, or a new one."""
    global _root, _owned
    shared = os.environ.get(CACHE_VARIABLE)
    if shared and Path(shared).is_dir():
        _root = Path(shared)
        return
    _root = Path(tempfile.mkdtemp(prefix="tour-test-narration-"))
    _owned = True
    os.environ[CACHE_VARIABLE] = str(_root)  # inherited by the xdist workers started next


def close_cache() -> None:
    if _root is not None and _owned:
        shutil.rmtree(_root, ignore_errors=True)


def _entry(stops: Path) -> Path | None:
    if _root is None:
        return None
    digest = hashlib.sha256()
    for path in sorted(stops.rglob("*.toml")):
        digest.update(str(path.relative_to(stops)).encode() + b"\0" + path.read_bytes() + b"\0")
    return _root / digest.hexdigest()


@contextlib.contextmanager
def narrated(stops: Path, media: Path) -> Iterator[None]:
    """Around a narration build into `media`: start it from the narration already built
    for these stop files, if any, and keep what it built for the next build of them."""
    entry = _entry(stops)
    if entry is None:
        yield
        return
    audio = media / "audio"
    with open(entry.with_suffix(".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if entry.is_dir() and not audio.exists():
            shutil.copytree(entry, audio)
        yield
        if not entry.exists() and audio.is_dir():
            partial = Path(tempfile.mkdtemp(dir=entry.parent, prefix=".partial-"))
            shutil.copytree(audio, partial, dirs_exist_ok=True)
            os.replace(partial, entry)
