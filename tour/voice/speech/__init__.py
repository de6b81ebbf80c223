"""The narration voices: Google's online voice (gTTS) and the offline eSpeak NG voice.

Both sit behind one small protocol (`base.Voice`) and return mono MP3 bytes at 32 kbit/s
or less. Synthesis blocks, so callers run it in a worker thread or process, never in a
web request.

Captions need each sentence's time in the audio, taken from the audio itself, not
guessed afterwards. Google answers one request per sentence, and the build joins the
answers frame by frame (`mp3.join_mp3`), timing each by its frames. eSpeak speaks a whole
narration at once and times each sentence by the sample of its first word (`espeak`).
"""

from __future__ import annotations

import io
import socket
from collections.abc import Sequence
from dataclasses import dataclass

from tour.core.errors import TourError
from tour.voice.speech.base import (
    MAX_BITRATE_KBPS,
    SpeechError,
    TimedAudio,
    Voice,
    spans_from_lengths,
)
from tour.voice.speech.espeak import ESPEAK_VOICES, ESpeakVoice
from tour.voice.speech.mp3 import Mp3Frames, encode_mp3, join_mp3, mp3_frames

__all__ = [
    "ENGINES",
    "ESPEAK_VOICES",
    "GTTS_LANGUAGES",
    "MAX_BITRATE_KBPS",
    "ESpeakVoice",
    "GoogleVoice",
    "Mp3Frames",
    "SpeechError",
    "TimedAudio",
    "Voice",
    "choose_voice",
    "encode_mp3",
    "google_reachable",
    "join_mp3",
    "mp3_frames",
    "spans_from_lengths",
]

# --- Google (gTTS) ----------------------------------------------------------------------

# Tour language code → gTTS language code, where they differ.
GTTS_LANGUAGES: dict[str, str] = {"zh": "zh-CN", "he": "iw", "jv": "jw"}
GTTS_HOST = "translate.google.com"


@dataclass(slots=True)
class GoogleVoice:
    """Google Translate's voice through gTTS: natural, but online and rate-limited."""

    tld: str = "com"
    slow: bool = False
    timeout_s: float = 15.0
    name: str = "gtts"
    concurrency: int = 2
    """Two requests at a time, across a whole build: Google answers more with 429."""
    sentence_requests: bool = True
    worker_processes: bool = False

    def gtts_language(self, lang: str) -> str:
        return GTTS_LANGUAGES.get(lang, lang)

    def supports(self, lang: str) -> bool:
        from gtts.lang import tts_langs

        return self.gtts_language(lang) in tts_langs()

    def settings(self, lang: str) -> str:
        return f"gtts lang={self.gtts_language(lang)} tld={self.tld} slow={self.slow}"

    def synthesize(self, text: str, lang: str) -> bytes:
        from gtts import gTTS, gTTSError

        buffer = io.BytesIO()
        try:
            speech = gTTS(
                text,
                lang=self.gtts_language(lang),
                tld=self.tld,
                slow=self.slow,
                lang_check=False,
                timeout=self.timeout_s,
            )
            speech.write_to_fp(buffer)
        except gTTSError as error:
            status = error.rsp.status_code if error.rsp is not None else None
            # No response means the connection failed; 429 and 5xx are passing trouble.
            retriable = status is None or status == 429 or status >= 500
            raise SpeechError(f"Google TTS: {error}", retriable=retriable) from error
        except OSError as error:  # requests' own errors derive from OSError too
            raise SpeechError(f"Google TTS: connection failed ({error})", retriable=True) from error
        audio = buffer.getvalue()
        if not audio:
            raise SpeechError("Google TTS returned no audio", retriable=True)
        return audio

    def synthesize_sentences(self, sentences: Sequence[str], lang: str) -> TimedAudio:
        return join_mp3([self.synthesize(sentence, lang) for sentence in sentences])


def google_reachable(timeout_s: float = 3.0) -> tuple[bool, str]:
    """Probe Google's TTS host with one bounded TCP connection; return (ok, why)."""
    try:
        with socket.create_connection((GTTS_HOST, 443), timeout=timeout_s):
            return True, f"{GTTS_HOST}:443 answered"
    except OSError as error:
        reason = error.strerror or str(error) or type(error).__name__
        return False, f"{GTTS_HOST}:443 not reachable ({reason})"


ENGINES = ("auto", "gtts", "espeak")


def choose_voice(engine: str, probe: bool = True) -> tuple[Voice, str]:
    """Return the voice for `--engine` and a sentence saying why it was chosen."""
    if engine == "gtts":
        return GoogleVoice(), "gtts: chosen with --engine gtts"
    if engine == "espeak":
        return ESpeakVoice(), "espeak: chosen with --engine espeak"
    if engine != "auto":
        raise TourError(f"--engine: '{engine}' is not a voice; use one of {', '.join(ENGINES)}")
    reachable, why = google_reachable() if probe else (False, "probe skipped")
    if reachable:
        return GoogleVoice(), f"gtts: {why}"
    return ESpeakVoice(), f"espeak (offline): {why}"
