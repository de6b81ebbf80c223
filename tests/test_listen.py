"""Listening to a draft: eSpeak narration into media/drafts, failures as one line."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mutagen.mp3 import MP3

from tests.voices import CountingVoice
from tour.catalog import bundled_stops_dir
from tour.core.model import Tour
from tour.staff.editing import apply_form, draft_tour
from tour.staff.listen import DraftListen, drafts_media_dir
from tour.voice.manifest import audio_dir, load_manifest
from tour.voice.speech import SpeechError, TimedAudio

DRAFT_SENTENCE = "Penyengat is an island of poets."


def short_draft() -> Tour:
    stops = bundled_stops_dir()
    text = (stops / "jetty.toml").read_text(encoding="utf-8")
    draft = apply_form(text, {"text.en": DRAFT_SENTENCE}, ("id", "en", "zh"))
    tour = draft_tour(stops, "jetty", draft)
    assert tour is not None
    return tour


async def test_draft_narration_is_built_into_the_drafts_folder(tmp_path: Path) -> None:
    media = tmp_path / "media"
    voice = CountingVoice()
    lines: list[str] = []
    job = DraftListen(short_draft(), "jetty", ["en"], media, voice, lines.append)
    report = await job.run()
    assert report.ok, report.failed
    assert report.built == ["jetty [en]"]
    entry = load_manifest(drafts_media_dir(media)).entries[("jetty", "en")]
    mp3 = (audio_dir(drafts_media_dir(media)) / entry.file).read_bytes()
    info: Any = MP3(io.BytesIO(mp3)).info  # type: ignore[no-untyped-call]
    assert info.length > 1.0
    assert not audio_dir(media).exists()  # the live narration is untouched
    status = job.status()
    assert status["running"] is False
    assert (status["done"], status["total"], status["failed"]) == (1, 1, [])
    assert status["summary"] == report.summary()
    assert lines == status["lines"]
    assert lines[-1] == report.summary()
    # Forced: listening again says it again, even though nothing changed.
    calls = len(voice.calls)
    again = await DraftListen(short_draft(), "jetty", ["en"], media, voice, lines.append).run()
    assert again.built == ["jetty [en]"]
    assert len(voice.calls) > calls


class BrokenVoice(CountingVoice):
    def synthesize_sentences(self, sentences: Sequence[str], lang: str) -> TimedAudio:
        raise SpeechError("espeak-ng is not installed; install it with apt")


async def test_a_failing_voice_is_a_failed_status_not_an_exception(tmp_path: Path) -> None:
    job = DraftListen(short_draft(), "jetty", ["en"], tmp_path / "media", BrokenVoice(), print)
    report = await job.run()
    assert not report.ok
    status = job.status()
    assert status["running"] is False
    assert status["failed"] == ["jetty [en]: espeak-ng is not installed; install it with apt"]


async def test_an_unknown_stop_is_a_failed_status(tmp_path: Path) -> None:
    job = DraftListen(short_draft(), "nowhere", ["en"], tmp_path / "media", CountingVoice(), print)
    report = await job.run()
    assert len(report.failed) == 1
    assert job.status()["failed"][0].startswith("nowhere [en]: ")
