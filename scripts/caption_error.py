"""Print how far each narration's last caption ends from the end of its MP3 (mutagen).

Usage: .venv/bin/python scripts/caption_error.py [--stops DIR] [--media DIR]

Build the narration first (`tour audio`). Exits 1 when a narration's captions are
missing, or end more than 0.3 s away from its MP3's end.
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path
from typing import Any

from mutagen.mp3 import MP3

from tour.catalog import CatalogError, load_tour
from tour.core.paths import bundled_stops_dir
from tour.voice.captions import parse_webvtt
from tour.voice.manifest import audio_dir, is_current, load_manifest

LIMIT_S = 0.3


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stops", type=Path, default=bundled_stops_dir())
    parser.add_argument("--media", type=Path, default=Path("media"))
    args = parser.parse_args()
    try:
        tour = load_tour(args.stops)
    except CatalogError as error:
        print(error, file=sys.stderr)
        return 1
    manifest = load_manifest(args.media)
    folder = audio_dir(args.media)
    print(f"{'narration':<30} {'cues':>5} {'mp3 s':>8} {'last cue s':>10} {'error s':>8}")
    worst = 0.0
    missing = []
    for stop in tour.stops:
        for lang in tour.languages:
            entry = manifest.entries.get((stop.id, lang))
            if entry is None or entry.captions is None or not is_current(tour, stop, lang, entry):
                missing.append(f"{stop.id} [{lang}]")
                continue
            data = (folder / entry.file).read_bytes()
            # mutagen ships no type hints for MP3.
            info: Any = MP3(io.BytesIO(data)).info  # type: ignore[no-untyped-call]
            cues = parse_webvtt((folder / entry.captions).read_text("utf-8"))
            end = cues[-1].end_s
            gap = abs(float(info.length) - end)
            worst = max(worst, gap)
            label = f"{stop.id} [{lang}]"
            print(f"{label:<30} {len(cues):>5} {info.length:>8.3f} {end:>10.3f} {gap:>8.3f}")
    if missing:
        print(f"no current captions for: {', '.join(missing)}; run 'tour audio'")
    print(f"largest caption error: {worst:.3f} s (limit {LIMIT_S} s)")
    return 1 if missing or worst > LIMIT_S else 0


if __name__ == "__main__":
    sys.exit(main())
