"""Incremental narration builds: content-hashed MP3 files and a manifest, written atomically.

Each audio file is named by a hash of what produced it (the spoken text after the
pronunciation rules, the language, the voice and its settings). An unchanged stop
is never synthesised again; a changed one gets a new name, so pages and audio
never disagree and browsers may cache audio forever.

The voice times each spoken sentence (see tour.speech and tour.synthesis, which runs the
syntheses in worker threads or processes), and beside each MP3 lies a WebVTT file of the
same name and hash: one cue per written sentence. Files are written here, in the build's
own process, never by a worker.

A build killed at any moment leaves only complete files under final names and a
manifest that names only files that exist: files are renamed into place before
the manifest mentions them, and the manifest itself is replaced atomically.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from tour.core.builds import BuildReport, Progress, run_writes
from tour.core.errors import TourError
from tour.core.files import TEMP_SUFFIX, write_atomically
from tour.core.model import Stop, Tour
from tour.voice.captions import make_cues, to_webvtt
from tour.voice.manifest import (
    AudioEntry,
    Manifest,
    audio_dir,
    build_lock,
    inspect_mp3,
    load_manifest,
    save_manifest,
)
from tour.voice.speech import SpeechError, TimedAudio, Voice
from tour.voice.spoken import (
    audio_file_name,
    caption_sentences,
    captions_file_name,
    narration_hash,
    spoken_sentences,
)
from tour.voice.synthesis import RetryPolicy, Speaker, single

# --- building ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Item:
    stop: Stop
    lang: str
    sentences: tuple[str, ...]
    """What the voice says, one piece per sentence."""
    captions: tuple[str, ...]
    """The written sentences, paired with the spoken ones by their order."""
    hash: str

    @property
    def label(self) -> str:
        return f"{self.stop.id} [{self.lang}]"


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
            items.append(make_item(tour, stop, lang, voice))
    return items


def make_item(tour: Tour, stop: Stop, lang: str, voice: Voice) -> Item:
    spoken = tuple(spoken_sentences(tour, stop, lang))
    captions = tuple(caption_sentences(stop, lang))
    return Item(
        stop, lang, spoken, captions, narration_hash(spoken, captions, lang, voice.settings(lang))
    )


def sentence_count_problem(item: Item) -> str | None:
    """Say why the spoken sentences cannot time the written ones, or None when they can."""
    if len(item.sentences) == len(item.captions):
        return None
    return (
        f"spoken.{item.lang} has {len(item.sentences)} sentences but text.{item.lang} has "
        f"{len(item.captions)}; the captions pair them in order (run 'tour check')"
    )


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
        self.report = BuildReport(f"narration ({voice.name})")
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
            report = self.report = BuildReport(f"narration ({self.voice.name})")
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
        speaker = Speaker(self.voice, len(pending), self.retry, self.progress)
        try:
            async with asyncio.TaskGroup() as group:
                for item in pending:
                    group.create_task(self._build_one(item, report, speaker, unsupported))
        except ExceptionGroup as failure:
            # A fault of this program stopped the build: raise it as itself, not as a group.
            speaker.abandon()
            raise single(failure) from None
        except BaseException:  # cancelled: let the event loop go at once
            speaker.abandon()
            raise
        await speaker.close()

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
        listed = set(Manifest(self.entries).files())
        removed = []
        for key, entry in previous.entries.items():
            current = self.entries.get(key)
            if current is None or current.file == entry.file:
                continue
            for name in (entry.file, entry.captions):
                if name is not None and name not in listed:
                    (self.folder / name).unlink(missing_ok=True)
                    removed.append(name)
        return sorted(removed)

    def _is_built(self, item: Item) -> bool:
        entry = self.entries.get((item.stop.id, item.lang))
        return (
            entry is not None
            and entry.hash == item.hash
            and entry.captions is not None
            and (self.folder / entry.file).is_file()
            and (self.folder / entry.captions).is_file()
        )

    async def _build_one(
        self,
        item: Item,
        report: BuildReport,
        speaker: Speaker,
        unsupported: list[str],
    ) -> None:
        if item.lang in unsupported:
            reason = f"{self.voice.name} has no '{item.lang}' voice"
            self._record_failure(report, item, reason, kept=False)
            return
        try:
            problem = sentence_count_problem(item)
            if problem is not None:
                raise SpeechError(problem)
            timed = await speaker.speak(item.label, item.sentences, item.lang)
            audio = timed.mp3
            info = inspect_mp3(audio)
        except SpeechError as error:
            self._record_failure(report, item, str(error))
            return
        name = audio_file_name(item.stop.id, item.lang, item.hash)
        try:
            captions = await run_writes(self._write_narration, item, timed)
        except OSError as error:  # a full disk, say: this item fails, the others go on
            self._record_failure(report, item, f"cannot write {name} ({error})")
            return
        entry = AudioEntry(
            file=name,
            hash=item.hash,
            voice=self.voice.name,
            voice_settings=self.voice.settings(item.lang),
            # The frames' samples: joined gTTS pieces have no Info header, and mutagen
            # would guess a VBR stream's length from its first frame's bitrate.
            duration_s=round(timed.spans[-1][1], 2) if timed.spans else info.duration_s,
            size=len(audio),
            bitrate_kbps=info.bitrate_kbps,
            built_at=datetime.now(UTC).isoformat(timespec="seconds"),
            captions=captions,
        )
        key = (item.stop.id, item.lang)
        async with self._manifest_lock:
            previous = self.entries.get(key)
            self.entries[key] = entry
            try:
                await run_writes(self._save)
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
        self.progress(f"built {item.label}: {info.duration_s:.1f} s, {len(audio) / 1024:.0f} KB")

    def _record_failure(
        self, report: BuildReport, item: Item, reason: str, kept: bool = True
    ) -> None:
        report.failed.append((item.label, reason))
        note = " (previous audio kept)" if kept else ""
        self.progress(f"failed {item.label}: {reason}{note}")

    def _write_narration(self, item: Item, timed: TimedAudio) -> str:
        """Write the captions, then the MP3, each atomically; return the captions' name.

        The captions go first: a build killed in between leaves a WebVTT file no
        manifest names (removed by the next full build), never an MP3 without captions.
        """
        captions = captions_file_name(item.stop.id, item.lang, item.hash)
        webvtt = to_webvtt(make_cues(item.captions, timed.spans))
        write_atomically(self.folder / captions, webvtt.encode("utf-8"))
        write_atomically(
            self.folder / audio_file_name(item.stop.id, item.lang, item.hash), timed.mp3
        )
        return captions

    def _save(self) -> None:
        save_manifest(self.media_dir, Manifest(dict(self.entries)))

    async def _forget_removed_stops(self) -> None:
        wanted = {(stop.id, lang) for stop in self.tour.stops for lang in self.tour.languages}
        if set(self.entries) - wanted:
            self.entries = {key: entry for key, entry in self.entries.items() if key in wanted}
            await run_writes(self._save)

    def _remove_unlisted_files(self) -> list[str]:
        listed = set(Manifest(self.entries).files())
        removed = []
        for path in sorted([*self.folder.glob("*.mp3"), *self.folder.glob("*.vtt")]):
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
    """Build the narration that is missing or out of date, and report what happened.

    eSpeak speaks in spawned worker processes: a script calling this needs the
    `if __name__ == "__main__":` guard (`tour audio` and the tests have it).
    """
    builder = NarrationBuilder(tour, media_dir, voice, retry=retry, progress=progress)
    return asyncio.run(builder.build(stops, langs, force))
