"""Atomic file writes: whole files only, unique temporary names, nothing left behind."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest

from tour.core.files import TEMP_SUFFIX, write_atomically, write_if_changed

WRITERS = 8
ROUNDS = 25


def test_threads_writing_one_path_never_mix_payloads(tmp_path: Path) -> None:
    target = tmp_path / "manifest.json"
    # Distinct sizes and bytes, so a mixed or cut file could not pass for a whole one.
    payloads = [bytes([ord("a") + writer]) * (50_000 + writer * 1_000) for writer in range(WRITERS)]
    start = threading.Barrier(WRITERS)
    failures: list[BaseException] = []
    seen: set[bytes] = set()

    def write(payload: bytes) -> None:
        try:
            start.wait()
            for _ in range(ROUNDS):
                write_atomically(target, payload)
                seen.add(target.read_bytes())
        except BaseException as error:  # reported below, with the thread's error
            failures.append(error)

    threads = [threading.Thread(target=write, args=(payload,)) for payload in payloads]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert seen <= set(payloads)
    assert target.read_bytes() in payloads
    assert [path.name for path in tmp_path.iterdir()] == ["manifest.json"]


def test_a_failed_write_leaves_the_old_file_and_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "plaques.pdf"
    target.write_bytes(b"old")

    def full_disk(handle: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(OSError, match="No space left"):
        write_atomically(target, b"new")
    assert target.read_bytes() == b"old"
    assert [path.name for path in tmp_path.iterdir()] == ["plaques.pdf"]


def test_written_files_are_readable_as_a_plain_file_would_be(tmp_path: Path) -> None:
    plain = tmp_path / "plain.mp3"
    plain.write_bytes(b"x")
    written = tmp_path / "written.mp3"
    write_atomically(written, b"x")
    # A web server running as another user reads narration; mkstemp's 0600 would hide it.
    assert written.stat().st_mode == plain.stat().st_mode


@pytest.mark.parametrize("mode", [0o664, 0o640, 0o600], ids=oct)
def test_a_replaced_file_keeps_its_permission_bits(tmp_path: Path, mode: int) -> None:
    target = tmp_path / "masjid-raya.toml"
    target.write_bytes(b"old")
    target.chmod(mode)
    write_atomically(target, b"new")
    assert target.read_bytes() == b"new"
    assert stat.S_IMODE(target.stat().st_mode) == mode


def test_temporary_names_match_what_a_build_cleans_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    names: list[str] = []
    real_replace = os.replace

    def spy(source: str | os.PathLike[str], target: str | os.PathLike[str]) -> None:
        names.append(Path(source).name)
        real_replace(source, target)

    monkeypatch.setattr(os, "replace", spy)
    write_atomically(tmp_path / "a.mp3", b"x")
    write_atomically(tmp_path / "a.mp3", b"y")
    assert len(set(names)) == 2
    assert all(name.startswith(".a.mp3.") and name.endswith(TEMP_SUFFIX) for name in names)


def test_write_if_changed_skips_identical_bytes(tmp_path: Path) -> None:
    target = tmp_path / "qr" / "masjid.svg"
    assert write_if_changed(target, b"<svg/>")
    inode = target.stat().st_ino
    assert not write_if_changed(target, b"<svg/>")
    assert target.stat().st_ino == inode
    assert write_if_changed(target, b"<svg></svg>")
    assert target.read_bytes() == b"<svg></svg>"
