"""Voices for tests: the real eSpeak NG voice, with a count of what it was asked to say."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from tour.voice.speech import ESpeakVoice, SpeechError, TimedAudio


@dataclass
class CountingVoice:
    """The real offline voice, recording each sentence it says so tests can count them."""

    inner: ESpeakVoice = field(default_factory=ESpeakVoice)
    calls: list[tuple[str, str]] = field(default_factory=list)
    name: str = "espeak"
    concurrency: int = 1
    sentence_requests: bool = False
    worker_processes: bool = False  # counted here, so spoken in this process

    def settings(self, lang: str) -> str:
        return self.inner.settings(lang)

    def supports(self, lang: str) -> bool:
        return self.inner.supports(lang)

    def synthesize(self, text: str, lang: str) -> bytes:
        self.calls.append((text, lang))
        return self.inner.synthesize(text, lang)

    def synthesize_sentences(self, sentences: Sequence[str], lang: str) -> TimedAudio:
        self.calls.extend((sentence, lang) for sentence in sentences)
        return self.inner.synthesize_sentences(sentences, lang)


@dataclass(slots=True)
class FailingForBeta(ESpeakVoice):
    """The real eSpeak voice, in worker processes, refusing (retriably) any text of beta."""

    def synthesize_sentences(self, sentences: Sequence[str], lang: str) -> TimedAudio:
        if any("beta" in sentence for sentence in sentences):
            raise SpeechError("eSpeak NG refused beta's text", retriable=True)
        return ESpeakVoice.synthesize_sentences(self, sentences, lang)
