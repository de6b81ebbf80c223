"""Measure narration builds for the bundled tour with the offline eSpeak NG voice.

Prints the full build time, the no-op rebuild time (in-process, and as the whole
`tour audio` command), audio seconds per MB, and the audio size per language,
against the targets: no-op under 0.5 s, 32 kbit/s or less, 5 MB or less per language.

Usage: .venv/bin/python scripts/bench_audio.py
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from tour.catalog import load_tour
from tour.core.paths import bundled_stops_dir
from tour.voice.manifest import load_manifest
from tour.voice.narration import build_narration
from tour.voice.speech import ESpeakVoice

MB = 1024 * 1024


def main() -> int:
    tour = load_tour(bundled_stops_dir())
    with tempfile.TemporaryDirectory() as folder:
        media = Path(folder)
        started = time.perf_counter()
        report = build_narration(tour, media, ESpeakVoice())
        full_s = time.perf_counter() - started
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
        size: dict[str, int] = defaultdict(int)
        seconds: dict[str, float] = defaultdict(float)
        bitrates = set()
        for (_, lang), entry in manifest.entries.items():
            size[lang] += entry.size
            seconds[lang] += entry.duration_s
            bitrates.add(entry.bitrate_kbps)

    print(f"items: {len(manifest.entries)} ({len(tour.stops)} stops x {len(tour.languages)})")
    print(f"full build (espeak):          {full_s:6.2f} s")
    print(f"no-op rebuild (library call): {noop_s:6.3f} s   target < 0.5 s")
    print(f"no-op rebuild (tour audio):   {noop_command_s:6.3f} s   (with Python start-up)")
    print(f"bitrates: {sorted(bitrates)} kbit/s          target <= 32")
    total_seconds = sum(seconds.values())
    total_mb = sum(size.values()) / MB
    print(f"audio seconds per MB: {total_seconds / total_mb:.0f}")
    for lang in tour.languages:
        print(
            f"language {lang}: {size[lang] / MB:.2f} MB, {seconds[lang] / 60:.1f} min of audio"
            "   target <= 5 MB"
        )
    within = noop_s < 0.5 and max(bitrates) <= 32 and max(size.values()) <= 5 * MB
    print("targets met" if within else "TARGETS MISSED")
    return 0 if within else 1


if __name__ == "__main__":
    sys.exit(main())
