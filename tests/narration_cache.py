"""One narration build per test session for each set of stop files.

Building the bundled tour's narration with eSpeak NG takes about 6 s, and a dozen
server fixtures need it. The first build of a set of stop files is kept; later ones
start from a copy of it, so the real `tour audio` (or `build_narration`) still runs
and finds every item built, or builds only what differs. File names hash what made
them, so a copied file is the one the build would have written.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path

_root: Path | None = None


def open_cache() -> None:
    """Start an empty cache for this test session (conftest's pytest_configure)."""
    global _root
    _root = Path(tempfile.mkdtemp(prefix="tour-test-narration-"))


def close_cache() -> None:
    if _root is not None:
        shutil.rmtree(_root, ignore_errors=True)


def _entry(stops: Path) -> Path | None:
    if _root is None:
        return None
    digest = hashlib.sha256()
    for path in sorted(stops.rglob("*.toml")):
        digest.update(str(path.relative_to(stops)).encode() + b"\0" + path.read_bytes() + b"\0")
    return _root / digest.hexdigest()


def reuse_narration(stops: Path, media: Path) -> None:
    """Give `media` the narration already built for these stop files, if any."""
    entry = _entry(stops)
    audio = media / "audio"
    if entry is not None and entry.is_dir() and not audio.exists():
        shutil.copytree(entry, audio)


def keep_narration(stops: Path, media: Path) -> None:
    """Keep the narration just built into `media` for the next build of the same files."""
    entry = _entry(stops)
    audio = media / "audio"
    if entry is None or entry.exists() or not audio.is_dir():
        return
    partial = Path(tempfile.mkdtemp(dir=entry.parent, prefix=".partial-"))
    shutil.copytree(audio, partial, dirs_exist_ok=True)
    os.replace(partial, entry)
