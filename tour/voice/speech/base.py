"""What every voice shares: the protocol, its error, and timed audio."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from tour.core.errors import TourError

MAX_BITRATE_KBPS = 32


class SpeechError(TourError):
    """Synthesis failed; `retriable` says whether trying again may help."""

    def __init__(self, message: str, *, retriable: bool = False) -> None:
        super().__init__(message)
        self.retriable = retriable

    def __reduce__(self) -> tuple[object, ...]:
        # Raised in a worker process and pickled back: keep `retriable` on the way.
        return (_speech_error, (str(self), self.retriable))


def _speech_error(message: str, retriable: bool) -> SpeechError:
    return SpeechError(message, retriable=retriable)


@dataclass(frozen=True, slots=True)
class TimedAudio:
    """One MP3 of several sentences, and where each sentence lies in it."""

    mp3: bytes
    spans: tuple[tuple[float, float], ...]
    """(start, end) in seconds of each sentence, in order, end to start: no gaps."""


def spans_from_lengths(lengths: Sequence[int], rate: int) -> tuple[tuple[float, float], ...]:
    """Turn piece lengths in samples into (start, end) seconds, exact to the sample."""
    spans = []
    start = 0
    for length in lengths:
        spans.append((start / rate, (start + length) / rate))
        start += length
    return tuple(spans)


class Voice(Protocol):
    name: str
    """Short name, as given to `tour audio --engine`."""
    concurrency: int
    """How many syntheses may run at once, across a whole build."""
    sentence_requests: bool
    """True: each sentence is its own synthesis (`synthesize`), retried on its own and
    joined with `join_mp3`, as Google's requests are; False: `synthesize_sentences` speaks
    a whole narration in one call."""
    worker_processes: bool
    """True: builds run syntheses in worker processes, one library each (eSpeak NG keeps
    global state, so one process speaks one text at a time); False: in threads."""

    def settings(self, lang: str) -> str:
        """Describe everything that shapes the sound, for the audio file's hash."""
        ...

    def supports(self, lang: str) -> bool: ...

    def synthesize(self, text: str, lang: str) -> bytes:
        """Speak `text` in `lang` and return MP3 bytes (blocking)."""
        ...

    def synthesize_sentences(self, sentences: Sequence[str], lang: str) -> TimedAudio:
        """Speak each sentence in turn, as one MP3 with the span of each (blocking)."""
        ...
