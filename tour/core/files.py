"""Writing generated files so that a reader never sees half of one."""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path

TEMP_SUFFIX = ".tmp"


def _read_umask() -> int:
    # The umask can only be read by setting it; do it once, at import, before any threads.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_NEW_FILE_MODE = 0o666 & ~_read_umask()
"""mkstemp makes 0600 files; a web server that runs as another user must read ours."""


def write_atomically(path: Path, data: bytes, mode: int | None = None) -> None:
    """Write `data` to a temporary file beside `path`, sync it, then rename it into place.

    The temporary name is unique (mkstemp), so two threads or processes writing the same
    path never share one: the last rename wins, and each result is one whole payload.
    A file that is replaced keeps its permission bits: a stop file made group-writable
    for the staff who edit it by hand stays so after the studio publishes it. `mode`, when
    given, is the file's mode whatever it was.
    """
    if mode is None:
        try:
            mode = stat.S_IMODE(path.stat().st_mode)
        except FileNotFoundError:
            mode = _NEW_FILE_MODE
    descriptor, name = tempfile.mkstemp(
        prefix=f".{path.name}.", suffix=TEMP_SUFFIX, dir=path.parent
    )
    temporary = Path(name)
    try:
        with open(descriptor, "wb") as handle:
            os.fchmod(handle.fileno(), mode)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def write_if_changed(path: Path, data: bytes, mode: int | None = None) -> bool:
    """Write `data` atomically unless the file already holds exactly it; say if it wrote."""
    try:
        if path.read_bytes() == data:
            return False
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, data, mode)
    return True
