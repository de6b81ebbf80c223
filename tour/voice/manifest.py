"""The narration folder: its manifest, which MP3 and captions belong to each stop and
language, and the lock that lets one build at a time write there.

`media/audio/manifest.json` is read by the pages and the web server, and written by
narration builds, atomically. MP3s are checked with mutagen before they are listed.
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import json
import re
import time
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tour.core.errors import TourError
from tour.core.files import write_atomically
from tour.core.model import Stop, Tour
from tour.voice.speech import SpeechError
from tour.voice.spoken import (
    audio_hash,
    caption_sentences,
    narration_hash,
    spoken_sentences,
    spoken_text,
)

AUDIO_DIR = "audio"
LOCK_NAME = ".build.lock"
LOCK_WAIT_S = 0.2
LOCK_RETRY_S = 0.01
MANIFEST_NAME = "manifest.json"
MANIFEST_VERSION = 2
"""Version 2 adds each narration's captions; version 1 manifests are still read."""
READABLE_VERSIONS = (1, MANIFEST_VERSION)
# The look-behind starts a match only where a name starts: a search stays linear in the length.
FILE_NAME_PATTERN = re.compile(
    r"(?<![a-z0-9-])[a-z0-9][a-z0-9-]*+\.[a-z]{2}\.[0-9a-f]{16}\.(?:mp3|vtt)"
)
"""`<stop-id>.<lang>.<16 hex digits>.mp3` or `.vtt`, as narration builds name their files."""


# --- the manifest ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AudioEntry:
    file: str
    hash: str
    voice: str
    voice_settings: str
    duration_s: float
    size: int
    bitrate_kbps: int
    built_at: str
    captions: str | None = None
    """The WebVTT file beside the MP3; None in entries of a version 1 manifest."""


@dataclass(frozen=True, slots=True)
class Manifest:
    """Which audio file belongs to each (stop id, language)."""

    entries: Mapping[tuple[str, str], AudioEntry] = field(default_factory=dict)

    def files(self) -> dict[str, AudioEntry]:
        """Every file the manifest names, MP3 and WebVTT, with the entry it belongs to."""
        files = {entry.file: entry for entry in self.entries.values()}
        files.update({entry.captions: entry for entry in self.entries.values() if entry.captions})
        return files

    def to_json(self) -> str:
        nested: dict[str, dict[str, dict[str, object]]] = {}
        for (stop_id, lang), entry in sorted(self.entries.items()):
            nested.setdefault(stop_id, {})[lang] = asdict(entry)
        return json.dumps({"version": MANIFEST_VERSION, "entries": nested}, indent=1) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        data = json.loads(text)
        if not isinstance(data, dict) or data.get("version") not in READABLE_VERSIONS:
            raise ValueError(f"not a version {MANIFEST_VERSION} narration manifest")
        entries: dict[tuple[str, str], AudioEntry] = {}
        for stop_id, languages in data["entries"].items():
            for lang, values in languages.items():
                entry = AudioEntry(**values)
                _check_file_name(stop_id, lang, entry.file, ".mp3")
                if entry.captions is not None:
                    _check_file_name(stop_id, lang, entry.captions, ".vtt")
                entries[(stop_id, lang)] = entry
        return cls(entries)


def _check_file_name(stop_id: str, lang: str, name: object, suffix: str) -> None:
    """Refuse a file name no build writes: it is served and exported as a path under media/."""
    if (
        not isinstance(name, str)
        or not FILE_NAME_PATTERN.fullmatch(name)
        or not name.startswith(f"{stop_id}.{lang}.")
        or not name.endswith(suffix)
    ):
        raise ValueError(f"{stop_id} [{lang}] names the file {name!r}, which no build writes")


def audio_dir(media_dir: Path) -> Path:
    return media_dir / AUDIO_DIR


def manifest_path(media_dir: Path) -> Path:
    return audio_dir(media_dir) / MANIFEST_NAME


def load_manifest(media_dir: Path) -> Manifest:
    """Read the manifest; a missing one is empty, a damaged one raises TourError."""
    path = manifest_path(media_dir)
    try:
        return Manifest.from_json(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return Manifest()
    except (OSError, ValueError, TypeError, KeyError, AttributeError) as error:
        raise TourError(
            f"{path}: the narration manifest cannot be read ({error}); "
            "run 'tour audio' to rebuild it"
        ) from error


def save_manifest(media_dir: Path, manifest: Manifest) -> None:
    write_atomically(manifest_path(media_dir), manifest.to_json().encode("utf-8"))


def is_current(tour: Tour, stop: Stop, lang: str, entry: AudioEntry) -> bool:
    """Say whether `entry` still speaks the stop's current text (not stale)."""
    if entry.captions is None:
        # A narration from before captions: it still plays until `tour audio` replaces it.
        return entry.hash == audio_hash(spoken_text(tour, stop, lang), lang, entry.voice_settings)
    spoken = spoken_sentences(tour, stop, lang)
    return entry.hash == narration_hash(
        spoken, caption_sentences(stop, lang), lang, entry.voice_settings
    )


def narration_status(tour: Tour, stop: Stop, lang: str, entry: AudioEntry | None) -> str:
    """How the stop's narration in `lang` stands, for staff: "missing", "current" or "stale"."""
    if entry is None:
        return "missing"
    return "current" if is_current(tour, stop, lang, entry) else "stale"


# --- MP3 checks --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Mp3Info:
    duration_s: float
    bitrate_kbps: int
    channels: int


def inspect_mp3(data: bytes) -> Mp3Info:
    """Parse MP3 bytes with mutagen; raise SpeechError when they are not a valid MP3."""
    from mutagen.mp3 import MP3, HeaderNotFoundError

    try:
        # mutagen ships no type hints for MP3; `info` is an MPEGInfo once parsing succeeds.
        info: Any = MP3(io.BytesIO(data)).info  # type: ignore[no-untyped-call]
    except (HeaderNotFoundError, OSError, ValueError) as error:
        raise SpeechError(f"the voice returned audio that is not a valid MP3 ({error})") from error
    if info.length <= 0:
        raise SpeechError("the voice returned an MP3 with no sound")
    return Mp3Info(
        duration_s=round(float(info.length), 2),
        bitrate_kbps=round(info.bitrate / 1000),
        channels=int(info.channels),
    )


@contextlib.contextmanager
def build_lock(folder: Path) -> Iterator[None]:
    """Hold an exclusive lock, so two builds never write the same folder at once."""
    with open(folder / LOCK_NAME, "w") as handle:
        # A server checking whether a build runs holds the lock for a moment
        # (build_running): try again briefly before calling it another build.
        deadline = time.monotonic() + LOCK_WAIT_S
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise TourError(
                        f"{folder}: another narration build is running; wait for it to finish"
                    ) from None
                time.sleep(LOCK_RETRY_S)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def build_running(folder: Path) -> bool:
    """Say whether a narration build holds the lock of `folder` now, in any process."""
    try:
        with open(folder / LOCK_NAME, "rb") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            fcntl.flock(handle, fcntl.LOCK_UN)
            return False
    except OSError:
        return False  # no build has run here, or the lock cannot be read: nothing to wait for
