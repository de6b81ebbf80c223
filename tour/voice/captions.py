"""Timed captions: WebVTT cues, one per written sentence, timed by the narration build."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

VTT_CONTENT_TYPE = "text/vtt; charset=utf-8"


@dataclass(frozen=True, slots=True)
class Cue:
    """One sentence of the transcript and when the narration says it."""

    number: int
    """1-based, as the transcript's `data-cue` numbers its sentences."""
    start_s: float
    end_s: float
    text: str


def make_cues(texts: Sequence[str], spans: Sequence[tuple[float, float]]) -> list[Cue]:
    """Pair each written sentence with the span of its spoken counterpart."""
    if len(texts) != len(spans):
        raise ValueError(f"{len(texts)} sentences but {len(spans)} spoken pieces")
    return [
        Cue(number, start, end, text)
        for number, (text, (start, end)) in enumerate(zip(texts, spans, strict=True), start=1)
    ]


def vtt_time(seconds: float) -> str:
    """Format seconds as WebVTT's hh:mm:ss.ttt, rounded to the millisecond."""
    millis = round(seconds * 1000)
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    return f"{hours:02d}:{minutes:02d}:{rest // 1000:02d}.{rest % 1000:03d}"


def vtt_text(text: str) -> str:
    """Escape a cue's text: `&`, `<` and `>` are markup in WebVTT (and `-->` ends a timing)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def to_webvtt(cues: Sequence[Cue]) -> str:
    """Write the cues as a WebVTT file; each cue's identifier is its sentence number."""
    blocks = ["WEBVTT"]
    for cue in cues:
        timing = f"{vtt_time(cue.start_s)} --> {vtt_time(cue.end_s)}"
        blocks.append(f"{cue.number}\n{timing}\n{vtt_text(' '.join(cue.text.split()))}")
    return "\n\n".join(blocks) + "\n"


def parse_time(text: str) -> float:
    hours, minutes, seconds = text.split(":")
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


def parse_webvtt(text: str) -> list[Cue]:
    """Read back a WebVTT file written by `to_webvtt` (for checks and tools)."""
    cues = []
    for block in text.strip().split("\n\n")[1:]:
        identifier, timing, *lines = block.split("\n")
        start, end = timing.split(" --> ")
        body = "\n".join(lines).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
        cues.append(Cue(int(identifier), parse_time(start), parse_time(end), body))
    return cues
