"""Measure narration builds for the bundled tour with the offline eSpeak NG voice.

Prints the full build time, the no-op rebuild time (in-process, and as the whole
`tour audio` command), the worst caption error over every narration (how far the last
cue ends from the end of its MP3, by mutagen), audio seconds per MB, and the audio size
per language, against the targets: a full build within 10 s, no-op under 0.5 s, captions
within 0.3 s, 32 kbit/s or less, 5 MB or less per language.

Usage: .venv/bin/python scripts/bench_audio.py
"""

from __future__ import annotations

import io
import resource
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from mutagen.mp3 import MP3

from tour.catalog import load_tour
from tour.core.paths import bundled_stops_dir
from tour.voice.captions import parse_webvtt
from tour.voice.manifest import Manifest, audio_dir, load_manifest
from tour.voice.narration import build_narration
from tour.voice.speech import ESpeakVoice

MB = 1024 * 1024
FULL_BUILD_TARGET_S = 10.0
CAPTION_LIMIT_S = 0.3


def cpu_seconds() -> float:
    """CPU time of this process and of its ended children (the build's worker processes)."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total


def worst_caption_error(media: Path, manifest: Manifest) -> tuple[float, str]:
    """Return the largest gap between a last cue's end and its MP3's end, and where."""
    worst, where = 0.0, ""
    for (stop, lang), entry in manifest.entries.items():
        assert entry.captions is not None, f"{stop} [{lang}] has no captions"
        # mutagen ships no type hints for MP3.
        mp3: Any = MP3(io.BytesIO((audio_dir(media) / entry.file).read_bytes()))  # type: ignore[no-untyped-call]
        cues = parse_webvtt((audio_dir(media) / entry.captions).read_text("utf-8"))
        gap = abs(float(mp3.info.length) - cues[-1].end_s)
        if gap >= worst:
            worst, where = gap, f"{stop} [{lang}]"
    return worst, where


def main() -> int:
    tour = load_tour(bundled_stops_dir())
    with tempfile.TemporaryDirectory() as folder:
        media = Path(folder)
        started, cpu_before = time.perf_counter(), cpu_seconds()
        report = build_narration(tour, media, ESpeakVoice())
        full_s = time.perf_counter() - started
        full_cpu_s = cpu_seconds() - cpu_before
        if not report.ok:
            print(report.summary(), file=sys.stderr)
            return 1

        started = time.perf_counter()
        noop = build_narration(tour, media, ESpeakVoice())
        noop_s = time.perf_counter() - started
        assert not noop.built, noop.summary()

        command = [sys.executable, "-m", "tour", "--media", folder, "audio", "--engine", "espeak"]
        started = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        noop_command_s = time.perf_counter() - started

        manifest = load_manifest(media)
        caption_error_s, caption_where = worst_caption_error(media, manifest)
        size: dict[str, int] = defaultdict(int)
        seconds: dict[str, float] = defaultdict(float)
        bitrates = set()
        for (_, lang), entry in manifest.entries.items():
            size[lang] += entry.size
            seconds[lang] += entry.duration_s
            bitrates.add(entry.bitrate_kbps)

    print(f"items: {len(manifest.entries)} ({len(tour.stops)} stops x {len(tour.languages)})")
    print(f"full build (espeak):          {full_s:6.2f} s   target <= {FULL_BUILD_TARGET_S:.0f} s")
    # On a busy machine the wall time cannot drop below the CPU time over free cores.
    print(f"full build CPU (with workers): {full_cpu_s:5.2f} s")
    print(f"no-op rebuild (library call): {noop_s:6.3f} s   target < 0.5 s")
    print(f"no-op rebuild (tour audio):   {noop_command_s:6.3f} s   (with Python start-up)")
    print(
        f"worst caption error:          {caption_error_s:6.3f} s   ({caption_where}, "
        f"over {len(manifest.entries)})   target <= {CAPTION_LIMIT_S} s"
    )
    print(f"bitrates: {sorted(bitrates)} kbit/s          target <= 32")
    total_seconds = sum(seconds.values())
    total_mb = sum(size.values()) / MB
    print(f"audio seconds per MB: {total_seconds / total_mb:.0f}")
    for lang in tour.languages:
        print(
            f"language {lang}: {size[lang] / MB:.2f} MB, {seconds[lang] / 60:.1f} min of audio"
            "   target <= 5 MB"
        )
    within = (
        full_s <= FULL_BUILD_TARGET_S
        and noop_s < 0.5
        and caption_error_s <= CAPTION_LIMIT_S
        and max(bitrates) <= 32
        and max(size.values()) <= 5 * MB
    )
    print("targets met" if within else "TARGETS MISSED")
    return 0 if within else 1


if __name__ == "__main__":
    sys.exit(main())
