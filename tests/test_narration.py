"""Incremental narration builds: hashes, manifest, retries, failures, kills and cleanup."""

from __future__ import annotations

import asyncio
import errno
import json
import math
import os
import re
import signal
import struct
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
import responses
from requests import PreparedRequest

from tour.catalog import bundled_stops_dir, load_tour
from tour.cli import main
from tour.core.errors import TourError
from tour.core.files import write_atomically
from tour.core.settings import Settings
from tour.export import export_site
from tour.voice.manifest import (
    Manifest,
    audio_dir,
    build_running,
    inspect_mp3,
    load_manifest,
    manifest_path,
    save_manifest,
)
from tour.voice.narration import NarrationBuilder, build_narration
from tour.voice.speech import ESpeakVoice, GoogleVoice, TimedAudio, encode_mp3, mp3_frames
from tour.voice.spoken import apply_pronunciation, audio_hash, spoken_text
from tour.voice.synthesis import RetryPolicy

from .test_speech import GTTS_URL, google_response
from .voices import CountingVoice

NO_WAIT = RetryPolicy(attempts=3, base_delay_s=0.0)


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def assert_consistent(media: Path) -> dict[tuple[str, str], str]:
    """Every manifest entry names a complete MP3, and every final-name MP3 is complete."""
    manifest = load_manifest(media)
    for entry in manifest.entries.values():
        path = audio_dir(media) / entry.file
        assert path.is_file(), entry.file
        assert path.stat().st_size == entry.size
        # The manifest times the spoken samples; an MP3 adds the encoder's delay and padding.
        assert 0 <= inspect_mp3(path.read_bytes()).duration_s - entry.duration_s < 0.15
        assert entry.captions == entry.file.replace(".mp3", ".vtt")
        assert (audio_dir(media) / entry.captions).read_text("utf-8").startswith("WEBVTT\n")
    for path in audio_dir(media).glob("*.mp3"):
        inspect_mp3(path.read_bytes())  # raises on a truncated or broken file
    return {key: entry.file for key, entry in manifest.entries.items()}


def test_build_then_noop_then_one_change(small_tour: Path, tmp_path: Path) -> None:
    media = tmp_path / "media"
    voice = CountingVoice()
    report = build_narration(load_tour(small_tour), media, voice)
    assert report.ok
    assert sorted(report.built) == ["alpha [en]", "alpha [id]", "beta [en]", "beta [id]"]
    assert len(voice.calls) == 4
    first = assert_consistent(media)

    again = build_narration(load_tour(small_tour), media, voice)
    assert again.built == []
    assert len(again.kept) == 4
    assert len(voice.calls) == 4  # nothing synthesised

    edit(small_tour / "alpha.toml", "Text about alpha.", "New text about alpha.")
    changed = build_narration(load_tour(small_tour), media, voice)
    assert changed.built == ["alpha [en]"]
    assert voice.calls[-1] == ("New text about alpha.", "en")
    second = assert_consistent(media)
    assert second[("alpha", "en")] != first[("alpha", "en")]
    assert second[("alpha", "id")] == first[("alpha", "id")]
    # the old English narration and its captions are gone, and nothing else is in the folder
    old = first[("alpha", "en")]
    assert changed.removed == [old, old.replace(".mp3", ".vtt")]
    names = sorted(path.name for path in audio_dir(media).glob("*.mp3"))
    assert names == sorted(second.values())
    captions = sorted(path.name for path in audio_dir(media).glob("*.vtt"))
    assert captions == sorted(name.replace(".mp3", ".vtt") for name in second.values())


def test_manifest_records_each_entry(small_tour: Path, tmp_path: Path) -> None:
    media = tmp_path / "media"
    build_narration(load_tour(small_tour), media, CountingVoice(), stops=["alpha"], langs=["id"])
    data = json.loads(manifest_path(media).read_text("utf-8"))
    entry = data["entries"]["alpha"]["id"]
    assert set(entry) == {
        "file",
        "hash",
        "voice",
        "voice_settings",
        "duration_s",
        "size",
        "bitrate_kbps",
        "built_at",
        "captions",
    }
    assert entry["voice"] == "espeak"
    assert entry["file"] == f"alpha.id.{entry['hash']}.mp3"
    assert entry["captions"] == f"alpha.id.{entry['hash']}.vtt"
    assert data["version"] == 2
    assert entry["size"] == (audio_dir(media) / entry["file"]).stat().st_size
    assert entry["duration_s"] > 0.5
    assert entry["bitrate_kbps"] <= 32
    assert list(data["entries"]) == ["alpha"]


def test_force_stop_and_lang_filters(small_tour: Path, tmp_path: Path) -> None:
    media = tmp_path / "media"
    voice = CountingVoice()
    tour = load_tour(small_tour)
    build_narration(tour, media, voice)
    report = build_narration(tour, media, voice, stops=["beta"], langs=["en"], force=True)
    assert report.built == ["beta [en]"]
    assert report.kept == []
    report = build_narration(tour, media, voice, force=True)
    assert len(report.built) == 4
    assert report.removed == []  # the same hashes: files were replaced in place


@pytest.mark.parametrize(
    ("stops", "langs", "message"),
    [
        (["gamma"], [], "--stop: no stop 'gamma'; use one of alpha, beta"),
        ([], ["fr"], "--lang: 'fr' is not a language of this tour; use one of id, en"),
    ],
)
def test_bad_selection_is_one_clear_error(
    small_tour: Path, tmp_path: Path, stops: list[str], langs: list[str], message: str
) -> None:
    with pytest.raises(TourError) as raised:
        build_narration(load_tour(small_tour), tmp_path, CountingVoice(), stops=stops, langs=langs)
    assert str(raised.value) == message


def test_pronunciation_rule_changes_spoken_text_and_hash(small_tour: Path) -> None:
    tour = load_tour(small_tour)
    stop = tour.stops[0]
    before = spoken_text(tour, stop, "en")
    tour_toml = small_tour / "tour.toml"
    tour_toml.write_text(
        tour_toml.read_text("utf-8").replace(
            "[pronounce.en]\n", '[pronounce.en]\nalpha = "ALL-fah"\n'
        ),
        "utf-8",
    )
    ruled = load_tour(small_tour)
    after = spoken_text(ruled, ruled.stops[0], "en")
    assert before == "Text about alpha."
    assert after == "Text about ALL-fah."
    settings = ESpeakVoice().settings("en")
    assert audio_hash(before, "en", settings) != audio_hash(after, "en", settings)


def test_pronunciation_is_whole_words_in_one_pass() -> None:
    rules = {"Raja": "Rah-jah", "Raja Haji": "Rah-jah Hah-jee", "Haji": "X"}
    text = "Raja Haji and Rajawali met Raja."
    assert apply_pronunciation(text, rules) == "Rah-jah Hah-jee and Rajawali met Rah-jah."
    assert apply_pronunciation("Ja'far", {"Ja'far": "Jah-far"}) == "Jah-far"


def test_spoken_text_overrides_written_text(small_tour: Path) -> None:
    edit(small_tour / "alpha.toml", "[text]", '[spoken]\nen = "Spoken alpha."\n\n[text]')
    tour = load_tour(small_tour)
    assert spoken_text(tour, tour.stops[0], "en") == "Spoken alpha."
    assert spoken_text(tour, tour.stops[0], "id") == "Teks tentang alpha."


def test_gtts_build_success(small_tour: Path, tmp_path: Path) -> None:
    mp3 = ESpeakVoice().synthesize("Halo.", "id")
    with responses.RequestsMock() as google:
        google.add(responses.POST, GTTS_URL, body=google_response(mp3))
        report = build_narration(load_tour(small_tour), tmp_path, GoogleVoice(), retry=NO_WAIT)
    assert report.ok
    assert len(report.built) == 4
    manifest = load_manifest(tmp_path)
    assert {entry.voice for entry in manifest.entries.values()} == {"gtts"}
    assert assert_consistent(tmp_path)


def test_gtts_duration_is_the_frames_length_across_bitrates_and_id3v1_tags(
    small_tour: Path, tmp_path: Path
) -> None:
    # One answer of two streams at different bitrates, as a VBR narration, the first
    # closed by an ID3v1 tag: joined without an Info header, mutagen can only guess.
    rate = 22050
    tone = b"".join(
        struct.pack("<h", round(8000 * math.sin(2 * math.pi * 440 * n / rate))) for n in range(rate)
    )
    slow, fast = encode_mp3(tone, rate, 32), encode_mp3(tone * 2, rate, 128)
    id3v1 = b"TAG" + b"Penyengat".ljust(125, b"\0")
    with responses.RequestsMock() as google:
        google.add(responses.POST, GTTS_URL, body=google_response(slow + id3v1 + fast))
        report = build_narration(
            load_tour(small_tour), tmp_path, GoogleVoice(), stops=["alpha"], langs=["en"]
        )
    assert report.ok, report.failed
    entry = load_manifest(tmp_path).entries[("alpha", "en")]
    audio = (audio_dir(tmp_path) / entry.file).read_bytes()
    assert audio == mp3_frames(slow).data + mp3_frames(fast).data
    frames_s = (mp3_frames(slow).samples + mp3_frames(fast).samples) / rate
    assert entry.duration_s == round(frames_s, 2)
    assert 3 <= entry.duration_s < 3.2  # three seconds of tone, and the encoders' padding
    assert abs(inspect_mp3(audio).duration_s - frames_s) > 0.5  # the first frame's guess


def test_gtts_429_then_success_retries(small_tour: Path, tmp_path: Path) -> None:
    mp3 = ESpeakVoice().synthesize("Halo.", "id")
    lines: list[str] = []
    with responses.RequestsMock() as google:
        google.add(responses.POST, GTTS_URL, body="slow down", status=429)
        google.add(responses.POST, GTTS_URL, body=google_response(mp3))
        report = build_narration(
            load_tour(small_tour),
            tmp_path,
            GoogleVoice(),
            stops=["alpha"],
            langs=["en"],
            retry=NO_WAIT,
            progress=lines.append,
        )
        assert len(google.calls) == 2
    assert report.built == ["alpha [en]"]
    assert report.failed == []
    assert any(line.startswith("retry alpha [en] in 0.0 s: Google TTS: 429") for line in lines)


def test_gtts_permanent_failure_keeps_previous_audio(
    small_tour: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    media = tmp_path / "media"
    build_narration(load_tour(small_tour), media, CountingVoice())
    before = assert_consistent(media)
    mp3 = ESpeakVoice().synthesize("Halo.", "id")

    def answer(request: PreparedRequest) -> tuple[int, dict[str, str], str]:
        # alpha's text keeps failing with a server error; beta's goes through
        if "alpha" in urllib.parse.unquote(str(request.body)):
            return 500, {}, "broken"
        return 200, {}, google_response(mp3)

    monkeypatch.setattr(RetryPolicy, "delay", lambda self, attempt: 0.0)
    with responses.RequestsMock() as google:
        google.add_callback(responses.POST, GTTS_URL, callback=answer)
        argv = ["--stops", str(small_tour), "--media", str(media), "audio", "--engine", "gtts"]
        exit_code = main(argv)
        alpha_calls = [
            c for c in google.calls if "alpha" in urllib.parse.unquote(str(c.request.body))
        ]
    output = capsys.readouterr()
    assert exit_code == 1, output.out
    assert "2 built, 0 kept, 2 failed, 0 old file(s) removed" in output.out
    assert "failed: alpha [en]: Google TTS: 500 (Internal Server Error)" in output.err
    assert len(alpha_calls) == 2 * RetryPolicy().attempts  # each language tried, then given up
    after = assert_consistent(media)
    # the previous audio is kept for the failed items; the others moved to the new voice
    assert after[("alpha", "en")] == before[("alpha", "en")]
    assert after[("alpha", "id")] == before[("alpha", "id")]
    assert after[("beta", "en")] != before[("beta", "en")]
    manifest = load_manifest(media)
    assert manifest.entries[("beta", "en")].voice == "gtts"
    assert manifest.entries[("alpha", "en")].voice == "espeak"
    # nothing was cleaned up after a failed build
    assert (audio_dir(media) / before[("beta", "en")]).exists()


def test_damaged_manifest_is_rebuilt(small_tour: Path, tmp_path: Path) -> None:
    media = tmp_path / "media"
    audio_dir(media).mkdir(parents=True)
    manifest_path(media).write_text("{not json", "utf-8")
    lines: list[str] = []
    report = build_narration(load_tour(small_tour), media, CountingVoice(), progress=lines.append)
    assert report.ok
    assert len(report.built) == 4
    assert lines[0].startswith("warning: ")
    assert "the narration manifest cannot be read" in lines[0]


def test_a_manifest_naming_a_file_outside_the_audio_folder_is_damaged(
    small_tour: Path, tmp_path: Path
) -> None:
    media = tmp_path / "media"
    build_narration(load_tour(small_tour), media, CountingVoice())
    data = json.loads(manifest_path(media).read_text("utf-8"))
    data["entries"]["alpha"]["en"]["file"] = "../evil.mp3"
    manifest_path(media).write_text(json.dumps(data), "utf-8")
    with pytest.raises(TourError) as caught:
        load_manifest(media)
    assert str(caught.value) == (
        f"{manifest_path(media)}: the narration manifest cannot be read (alpha [en] names the "
        "file '../evil.mp3', which no build writes); run 'tour audio' to rebuild it"
    )
    # The export goes on without narration, and writes nothing beside its folder.
    (audio_dir(media).parent / "evil.mp3").write_bytes(b"evil")
    out = tmp_path / "site" / "build"
    export_site(Settings(stops_dir=small_tour, media_dir=media), out)
    assert not (out.parent / "evil.mp3").exists()
    assert not (out / "media" / "audio").exists()
    assert sorted(path.name for path in tmp_path.iterdir()) == ["media", "site", "stops"]


@pytest.mark.parametrize(
    "captions", ["alpha.en.0123456789abcdef.mp3", "beta.en.0123456789abcdef.vtt", "x.vtt"]
)
def test_a_manifest_naming_captions_no_build_writes_is_damaged(
    small_tour: Path, tmp_path: Path, captions: str
) -> None:
    media = tmp_path / "media"
    build_narration(load_tour(small_tour), media, CountingVoice())
    data = json.loads(manifest_path(media).read_text("utf-8"))
    data["entries"]["alpha"]["en"]["captions"] = captions
    manifest_path(media).write_text(json.dumps(data), "utf-8")
    with pytest.raises(TourError, match=f"alpha \\[en\\] names the file '{re.escape(captions)}'"):
        load_manifest(media)


def test_leftover_temporary_files_are_removed(small_tour: Path, tmp_path: Path) -> None:
    media = tmp_path / "media"
    audio_dir(media).mkdir(parents=True)
    leftover = audio_dir(media) / ".alpha.en.0123.mp3.999.tmp"
    leftover.write_bytes(b"\xff\xf3 half a file")
    build_narration(load_tour(small_tour), media, CountingVoice())
    assert not leftover.exists()


def children_of(parent: int) -> list[int]:
    """The processes whose parent is `parent`, from Linux's /proc."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            # "pid (name) state ppid ...": the name may hold spaces, so split after it.
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended while we looked
        if int(fields[1]) == parent:
            children.append(int(stat.parent.name))
    return children


def test_build_killed_mid_run_is_consistent_and_rerun_finishes(tmp_path: Path) -> None:
    media = tmp_path / "media"
    bundled = load_tour(bundled_stops_dir())
    stops = [stop.id for stop in bundled.stops[:3]]  # nine narrations: enough to land inside
    command = [
        sys.executable, "-m", "tour", "--media", str(media), "audio", "--engine", "espeak",
        *(option for stop in stops for option in ("--stop", stop)),
    ]  # fmt: skip
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as process:
        assert process.stdout is not None
        built = 0
        deadline = time.monotonic() + 120
        while built < 3 and time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            built += line.startswith("built ")
        time.sleep(0.05)  # land somewhere inside the next synthesis or write
        workers = children_of(process.pid)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL
    # eSpeak's worker processes follow the build: none is left waiting for ever.
    assert workers
    deadline = time.monotonic() + 30
    while any(Path(f"/proc/{pid}").exists() for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in workers if Path(f"/proc/{pid}").exists()]
    partial = assert_consistent(media)
    narrations = len(stops) * len(bundled.languages)
    assert 3 <= len(partial) < narrations

    rerun = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert rerun.returncode == 0, rerun.stderr
    assert f"{narrations - len(partial)} built, {len(partial)} kept, 0 failed" in rerun.stdout
    complete = assert_consistent(media)
    assert len(complete) == narrations
    assert not list(audio_dir(media).glob(".*.tmp"))
    assert os.listdir(audio_dir(media)).count("manifest.json") == 1


def test_partial_build_after_a_damaged_manifest_keeps_other_audio(
    small_tour: Path, tmp_path: Path
) -> None:
    media = tmp_path / "media"
    build_narration(load_tour(small_tour), media, CountingVoice())
    before = sorted(path.name for path in audio_dir(media).glob("*.mp3"))
    manifest_path(media).write_text("{damaged", "utf-8")
    report = build_narration(
        load_tour(small_tour), media, CountingVoice(), stops=["alpha"], langs=["en"], force=True
    )
    assert report.built == ["alpha [en]"]
    assert report.removed == []
    assert sorted(path.name for path in audio_dir(media).glob("*.mp3")) == before


def test_partial_build_removes_only_the_file_it_replaced(small_tour: Path, tmp_path: Path) -> None:
    media = tmp_path / "media"
    first = build_narration(load_tour(small_tour), media, CountingVoice())
    assert first.ok
    old = load_manifest(media).entries[("beta", "en")].file
    edit(small_tour / "beta.toml", "Text about beta.", "Changed beta.")
    edit(small_tour / "alpha.toml", "Text about alpha.", "Changed alpha.")
    report = build_narration(load_tour(small_tour), media, CountingVoice(), stops=["beta"])
    assert report.built == ["beta [en]"]
    assert report.removed == [old, old.replace(".mp3", ".vtt")]
    # alpha's English audio is stale but kept: only a build of alpha replaces it
    assert load_manifest(media).entries[("alpha", "en")].file in {
        path.name for path in audio_dir(media).glob("*.mp3")
    }


def full_disk_on(matches: Callable[[Path], bool]) -> Callable[[Path, bytes], None]:
    """Return write_atomically as it behaves when the disk is full for paths that match."""

    def write(path: Path, data: bytes) -> None:
        if matches(path):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        write_atomically(path, data)

    return write


def test_full_disk_fails_the_item_and_keeps_its_previous_audio(
    small_tour: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    media = tmp_path / "media"
    build_narration(load_tour(small_tour), media, CountingVoice())
    before = assert_consistent(media)
    edit(small_tour / "alpha.toml", "Text about alpha.", "New text about alpha.")
    edit(small_tour / "alpha.toml", "Teks tentang alpha.", "Teks baru tentang alpha.")
    monkeypatch.setattr(
        "tour.voice.narration.write_atomically",
        full_disk_on(lambda path: path.name.startswith("alpha.en.")),
    )
    lines: list[str] = []
    report = build_narration(load_tour(small_tour), media, CountingVoice(), progress=lines.append)
    [(label, reason)] = report.failed
    assert label == "alpha [en]"
    assert re.fullmatch(
        r"cannot write alpha\.en\.[0-9a-f]{16}\.mp3 \(\[Errno 28\] No space left on device: '.+'\)",
        reason,
    )
    assert f"failed alpha [en]: {reason} (previous audio kept)" in lines
    assert report.built == ["alpha [id]"]
    after = assert_consistent(media)
    assert after[("alpha", "en")] == before[("alpha", "en")]
    assert after[("alpha", "id")] != before[("alpha", "id")]
    assert (audio_dir(media) / before[("alpha", "id")]).exists()  # a failed build removes nothing


def test_full_disk_on_the_manifest_keeps_the_previous_audio_listed(
    small_tour: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    media = tmp_path / "media"
    build_narration(load_tour(small_tour), media, CountingVoice())
    before = assert_consistent(media)
    saves: list[Path] = []

    def first_manifest_save(path: Path) -> bool:
        if path.name != "manifest.json":
            return False
        saves.append(path)
        return len(saves) == 1

    monkeypatch.setattr("tour.voice.manifest.write_atomically", full_disk_on(first_manifest_save))
    report = build_narration(load_tour(small_tour), media, CountingVoice(), force=True)
    [(label, reason)] = report.failed
    assert reason.startswith("cannot save the manifest ([Errno 28] No space left on device")
    assert len(report.built) == 3
    stop, lang = label.removesuffix("]").split(" [")
    after = assert_consistent(media)
    assert after[(stop, lang)] == before[(stop, lang)]  # the manifest never lost its audio


def test_an_unexpected_error_leaves_no_task_behind(small_tour: Path, tmp_path: Path) -> None:
    @dataclass
    class BrokenForBeta(CountingVoice):
        def synthesize_sentences(self, sentences: Sequence[str], lang: str) -> TimedAudio:
            if any("beta" in sentence for sentence in sentences):
                raise RuntimeError("a fault in the voice")
            return super().synthesize_sentences(sentences, lang)

    async def build() -> set[asyncio.Task[object]]:
        builder = NarrationBuilder(load_tour(small_tour), tmp_path / "media", BrokenForBeta())
        with pytest.raises(RuntimeError, match="a fault in the voice"):
            await builder.build()
        return asyncio.all_tasks() - {asyncio.current_task()}

    assert asyncio.run(build()) == set()  # nothing left to write a manifest later


def test_a_cancelled_build_keeps_its_lock_until_its_last_write_ends(
    small_tour: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    media = tmp_path / "media"
    saving, release = threading.Event(), threading.Event()

    def slow_save(media_dir: Path, manifest: Manifest) -> None:
        saving.set()
        assert release.wait(timeout=30), "the test never released the save"
        save_manifest(media_dir, manifest)

    monkeypatch.setattr("tour.voice.narration.save_manifest", slow_save)

    async def cancel_while_saving() -> None:
        builder = NarrationBuilder(load_tour(small_tour), media, CountingVoice())
        build = asyncio.create_task(builder.build())
        try:
            assert await asyncio.to_thread(saving.wait, 30)
            build.cancel()
            await asyncio.wait([build], timeout=0.2)  # what the cancellation alone would do
            assert not build.done()
            assert build_running(audio_dir(media))  # the save still writes: no build may start
        finally:
            release.set()
        with pytest.raises(asyncio.CancelledError):
            await build
        assert not build_running(audio_dir(media))
        assert len(load_manifest(media).entries) == 1  # the one save that ran, whole

    asyncio.run(cancel_while_saving())
