"""Incremental narration builds: content-hashed MP3 files and a manifest, written atomically.

Each audio file is named by a hash of what produced it (the spoken text after the
pronunciation rules, the language, the voice and its settings). An unchanged stop
is never synthesised again; a changed one gets a new name, so pages and audio
never disagree and browsers may cache audio forever.

A build killed at any moment leaves only complete files under final names and a
manifest that names only files that exist: files are renamed into place before
the manifest mentions them, and the manifest itself is replaced atomically.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import io
import json
import random
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tour.errors import TourError
from tour.files import TEMP_SUFFIX, write_atomically
from tour.model import Stop, Tour
from tour.speech import SpeechError, Voice

AUDIO_DIR = "audio"
MANIFEST_NAME = "manifest.json"
MANIFEST_VERSION = 1
LOCK_NAME = ".build.lock"
LOCK_WAIT_S = 0.2
LOCK_RETRY_S = 0.01


# --- what is spoken ----------------------------------------------------------------------


def apply_pronunciation(text: str, rules: Mapping[str, str]) -> str:
    """Replace whole words by their spoken forms, in one pass, preferring the longest word."""
    if not rules:
        return text
    words = "|".join(re.escape(word) for word in sorted(rules, key=len, reverse=True))
    return re.sub(rf"(?<!\w)(?:{words})(?!\w)", lambda match: rules[match[0]], text)


def spoken_text(tour: Tour, stop: Stop, lang: str) -> str:
    """Return what the voice reads: the `spoken` text if given, else the text, after rules."""
    source = stop.spoken.get(lang) or stop.text[lang]
    paragraphs = [" ".join(block.split()) for block in source.strip().split("\n\n")]
    text = "\n\n".join(paragraph for paragraph in paragraphs if paragraph)
    return apply_pronunciation(text, tour.pronounce.get(lang, {}))


def audio_hash(text: str, lang: str, voice_settings: str) -> str:
    payload = json.dumps({"text": text, "lang": lang, "voice": voice_settings}, sort_keys=True)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]


def audio_file_name(stop_id: str, lang: str, digest: str) -> str:
    return f"{stop_id}.{lang}.{digest}.mp3"


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


@dataclass(frozen=True, slots=True)
class Manifest:
    """Which audio file belongs to each (stop id, language)."""

    entries: Mapping[tuple[str, str], AudioEntry] = field(default_factory=dict)

    def files(self) -> dict[str, AudioEntry]:
        return {entry.file: entry for entry in self.entries.values()}

    def to_json(self) -> str:
        nested: dict[str, dict[str, dict[str, object]]] = {}
        for (stop_id, lang), entry in sorted(self.entries.items()):
            nested.setdefault(stop_id, {})[lang] = asdict(entry)
        return json.dumps({"version": MANIFEST_VERSION, "entries": nested}, indent=1) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        data = json.loads(text)
        if not isinstance(data, dict) or data.get("version") != MANIFEST_VERSION:
            raise ValueError(f"not a version {MANIFEST_VERSION} narration manifest")
        entries: dict[tuple[str, str], AudioEntry] = {}
        for stop_id, languages in data["entries"].items():
            for lang, values in languages.items():
                entries[(stop_id, lang)] = AudioEntry(**values)
        return cls(entries)


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
    return entry.hash == audio_hash(spoken_text(tour, stop, lang), lang, entry.voice_settings)


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


# --- building ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff for passing failures (HTTP 429, 5xx, lost connections)."""

    attempts: int = 4
    base_delay_s: float = 1.0
    max_delay_s: float = 20.0

    def delay(self, attempt: int) -> float:
        delay = min(self.max_delay_s, self.base_delay_s * 2.0**attempt)
        return delay + random.uniform(0, self.base_delay_s)  # jitter: spread out retries


@dataclass(frozen=True, slots=True)
class Item:
    stop: Stop
    lang: str
    text: str
    hash: str

    @property
    def label(self) -> str:
        return f"{self.stop.id} [{self.lang}]"


@dataclass(slots=True)
class BuildReport:
    voice: str
    built: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed

    def summary(self) -> str:
        return (
            f"narration ({self.voice}): {len(self.built)} built, {len(self.kept)} kept, "
            f"{len(self.failed)} failed, {len(self.removed)} old file(s) removed"
        )


Progress = Callable[[str], None]


def select_items(
    tour: Tour,
    voice: Voice,
    stops: Sequence[str] = (),
    langs: Sequence[str] = (),
) -> list[Item]:
    """Return the (stop, language) items to consider, checking --stop and --lang values."""
    chosen_stops = list(tour.stops)
    if stops:
        chosen_stops = []
        for wanted in stops:
            stop = tour.stop_by_id(wanted) or tour.stop_by_code(wanted)
            if stop is None:
                known = ", ".join(stop.id for stop in tour.stops)
                raise TourError(f"--stop: no stop '{wanted}'; use one of {known}")
            chosen_stops.append(stop)
    for lang in langs:
        if lang not in tour.languages:
            raise TourError(
                f"--lang: '{lang}' is not a language of this tour; use one of "
                f"{', '.join(tour.languages)}"
            )
    chosen_langs = [lang for lang in tour.languages if not langs or lang in langs]
    items = []
    for stop in chosen_stops:
        for lang in chosen_langs:
            text = spoken_text(tour, stop, lang)
            items.append(Item(stop, lang, text, audio_hash(text, lang, voice.settings(lang))))
    return items


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


class NarrationBuilder:
    def __init__(
        self,
        tour: Tour,
        media_dir: Path,
        voice: Voice,
        *,
        retry: RetryPolicy | None = None,
        progress: Progress | None = None,
    ) -> None:
        self.tour = tour
        self.media_dir = media_dir
        self.folder = audio_dir(media_dir)
        self.voice = voice
        self.retry = retry or RetryPolicy()
        self.progress = progress or (lambda _: None)
        self.entries: dict[tuple[str, str], AudioEntry] = {}
        self._manifest_lock = asyncio.Lock()
        self.report = BuildReport(voice=voice.name)
        """The running build's report, for progress shown while it runs."""
        self.pending_count = 0
        """How many items this build has to synthesise."""
        self._manifest_read = False

    async def build(
        self, stops: Sequence[str] = (), langs: Sequence[str] = (), force: bool = False
    ) -> BuildReport:
        items = select_items(self.tour, self.voice, stops, langs)
        self.folder.mkdir(parents=True, exist_ok=True)
        with build_lock(self.folder):
            self._remove_temporary_files()
            previous = self._previous_manifest()
            self.entries = dict(previous.entries)
            report = self.report = BuildReport(voice=self.voice.name)
            pending: list[Item] = []
            for item in items:
                if not force and self._is_built(item):
                    report.kept.append(item.label)
                else:
                    pending.append(item)
            self.pending_count = len(pending)
            languages = sorted({item.lang for item in pending})
            unsupported = [lang for lang in languages if not self.voice.supports(lang)]
            await self._build_all(pending, report, unsupported)
            if report.ok:
                if not stops and not langs and self._manifest_read:
                    # A full build knows every file that belongs: clear out the rest.
                    await self._forget_removed_stops()
                    report.removed = self._remove_unlisted_files()
                else:
                    # A partial build (or one after a damaged manifest) removes only the
                    # files it replaced: the others may be another stop's narration.
                    report.removed = self._remove_replaced(previous)
            return report

    async def _build_all(
        self, pending: list[Item], report: BuildReport, unsupported: list[str]
    ) -> None:
        """Build every pending item; no task outlives this call, whatever stops it."""
        workers = ThreadPoolExecutor(max_workers=max(1, self.voice.concurrency))
        limit = asyncio.Semaphore(max(1, self.voice.concurrency))
        try:
            async with asyncio.TaskGroup() as group:
                for item in pending:
                    group.create_task(self._build_one(item, report, workers, limit, unsupported))
        except ExceptionGroup as failure:
            # A fault of this program stopped the build: raise it as itself, not as a group.
            if len(failure.exceptions) == 1:
                raise failure.exceptions[0] from None
            raise
        finally:
            # Give the event loop back at once: a voice call still running in a thread
            # ends on its own, and nothing is left to use its result.
            workers.shutdown(wait=False, cancel_futures=True)

    def _previous_manifest(self) -> Manifest:
        """Read the last build's manifest; a damaged one is rebuilt rather than fatal."""
        try:
            manifest = load_manifest(self.media_dir)
        except TourError as error:
            self.progress(f"warning: {error}; starting a fresh manifest")
            self._manifest_read = False
            return Manifest()
        self._manifest_read = True
        return manifest

    def _remove_replaced(self, previous: Manifest) -> list[str]:
        listed = {entry.file for entry in self.entries.values()}
        removed = []
        for key, entry in previous.entries.items():
            current = self.entries.get(key)
            if current is not None and current.file != entry.file and entry.file not in listed:
                (self.folder / entry.file).unlink(missing_ok=True)
                removed.append(entry.file)
        return sorted(removed)

    def _is_built(self, item: Item) -> bool:
        entry = self.entries.get((item.stop.id, item.lang))
        return (
            entry is not None and entry.hash == item.hash and (self.folder / entry.file).is_file()
        )

    async def _build_one(
        self,
        item: Item,
        report: BuildReport,
        workers: ThreadPoolExecutor,
        limit: asyncio.Semaphore,
        unsupported: list[str],
    ) -> None:
        if item.lang in unsupported:
            reason = f"{self.voice.name} has no '{item.lang}' voice"
            self._record_failure(report, item, reason, kept=False)
            return
        async with limit:
            loop = asyncio.get_running_loop()
            try:
                audio = await self._synthesize_with_retries(item, workers, loop)
                info = inspect_mp3(audio)
            except SpeechError as error:
                self._record_failure(report, item, str(error))
                return
            name = audio_file_name(item.stop.id, item.lang, item.hash)
            try:
                await loop.run_in_executor(None, write_atomically, self.folder / name, audio)
            except OSError as error:  # a full disk, say: this item fails, the others go on
                self._record_failure(report, item, f"cannot write {name} ({error})")
                return
            entry = AudioEntry(
                file=name,
                hash=item.hash,
                voice=self.voice.name,
                voice_settings=self.voice.settings(item.lang),
                duration_s=info.duration_s,
                size=len(audio),
                bitrate_kbps=info.bitrate_kbps,
                built_at=datetime.now(UTC).isoformat(timespec="seconds"),
            )
            key = (item.stop.id, item.lang)
            async with self._manifest_lock:
                previous = self.entries.get(key)
                self.entries[key] = entry
                try:
                    await loop.run_in_executor(None, self._save)
                except OSError as error:
                    # The manifest on disk still names the previous audio: so must the next save.
                    if previous is None:
                        del self.entries[key]
                    else:
                        self.entries[key] = previous
                    reason = f"cannot save the manifest ({error})"
                    self._record_failure(report, item, reason)
                    return
            report.built.append(item.label)
            self.progress(
                f"built {item.label}: {info.duration_s:.1f} s, {len(audio) / 1024:.0f} KB"
            )

    def _record_failure(
        self, report: BuildReport, item: Item, reason: str, kept: bool = True
    ) -> None:
        report.failed.append((item.label, reason))
        note = " (previous audio kept)" if kept else ""
        self.progress(f"failed {item.label}: {reason}{note}")

    async def _synthesize_with_retries(
        self, item: Item, workers: ThreadPoolExecutor, loop: asyncio.AbstractEventLoop
    ) -> bytes:
        attempt = 0
        while True:
            try:
                return await loop.run_in_executor(
                    workers, self.voice.synthesize, item.text, item.lang
                )
            except SpeechError as error:
                attempt += 1
                if not error.retriable or attempt >= self.retry.attempts:
                    raise
                delay = self.retry.delay(attempt - 1)
                self.progress(f"retry {item.label} in {delay:.1f} s: {error}")
                await asyncio.sleep(delay)

    def _save(self) -> None:
        save_manifest(self.media_dir, Manifest(dict(self.entries)))

    async def _forget_removed_stops(self) -> None:
        wanted = {(stop.id, lang) for stop in self.tour.stops for lang in self.tour.languages}
        if set(self.entries) - wanted:
            self.entries = {key: entry for key, entry in self.entries.items() if key in wanted}
            await asyncio.get_running_loop().run_in_executor(None, self._save)

    def _remove_unlisted_files(self) -> list[str]:
        listed = {entry.file for entry in self.entries.values()}
        removed = []
        for path in sorted(self.folder.glob("*.mp3")):
            if path.name not in listed:
                path.unlink(missing_ok=True)
                removed.append(path.name)
        return removed

    def _remove_temporary_files(self) -> None:
        """Remove what a killed build left half-written; it was never under a final name."""
        for path in self.folder.glob(f".*{TEMP_SUFFIX}"):
            path.unlink(missing_ok=True)


def build_narration(
    tour: Tour,
    media_dir: Path,
    voice: Voice,
    *,
    stops: Sequence[str] = (),
    langs: Sequence[str] = (),
    force: bool = False,
    retry: RetryPolicy | None = None,
    progress: Progress | None = None,
) -> BuildReport:
    """Build the narration that is missing or out of date, and report what happened."""
    builder = NarrationBuilder(tour, media_dir, voice, retry=retry, progress=progress)
    return asyncio.run(builder.build(stops, langs, force))
