"""The narration voices: Google's online voice (gTTS) and the offline eSpeak NG voice.

Both sit behind one small protocol and return mono MP3 bytes at 32 kbit/s or less.
Synthesis blocks, so callers run it in a worker thread, never in a web request.

For timed captions a voice speaks a text sentence by sentence and joins the pieces into
one MP3, noting where each sentence starts and ends: eSpeak by counting its PCM samples
(encoded once, so the joins are gapless), Google by counting the MP3 frames of each
answer. The timings come from the audio itself, not from a guess afterwards.
"""

from __future__ import annotations

import ctypes
import io
import socket
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from tour.core.errors import TourError

MAX_BITRATE_KBPS = 32


class SpeechError(TourError):
    """Synthesis failed; `retriable` says whether trying again may help."""

    def __init__(self, message: str, *, retriable: bool = False) -> None:
        super().__init__(message)
        self.retriable = retriable


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
    """How many syntheses may run at once."""

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


# --- joining MP3 pieces ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Mp3Frames:
    """The audio frames of an MP3, without ID3 tags or a Xing/LAME/VBRI header frame."""

    data: bytes
    count: int
    samples_per_frame: int
    sample_rate: int

    @property
    def samples(self) -> int:
        return self.count * self.samples_per_frame


ID3V1_SIZE = 128
"""An ID3v1 tag: "TAG" and 125 bytes of fields, at the end of an MP3 stream."""


def mp3_frames(mp3: bytes) -> Mp3Frames:
    """Walk an MP3's frames with mutagen's frame parser; raise SpeechError on anything else.

    A Google answer may be several MP3 streams one after another (gTTS fetches a long
    sentence in parts), each perhaps with its own tags (ID3v2 before, ID3v1 after) and
    header frame.
    """
    from mutagen.mp3 import HeaderNotFoundError, MPEGFrame, skip_id3

    stream = io.BytesIO(mp3)
    kept: list[bytes] = []
    layout: set[tuple[int, int]] = set()
    while stream.tell() < len(mp3):
        skip_id3(stream)  # type: ignore[no-untyped-call]
        offset = stream.tell()
        if offset >= len(mp3):
            break
        if mp3[offset : offset + 3] == b"TAG" and len(mp3) - offset >= ID3V1_SIZE:
            # An ID3v1 tag closing one of the streams; no frame starts with "TAG".
            stream.seek(offset + ID3V1_SIZE)
            continue
        try:
            frame: Any = MPEGFrame(stream)  # type: ignore[no-untyped-call]
        except HeaderNotFoundError as error:
            raise SpeechError(
                f"the voice returned audio that is not a valid MP3 at byte {offset} ({error})"
            ) from error
        end = stream.tell()
        if end > len(mp3):
            raise SpeechError(f"the voice returned an MP3 cut off at byte {len(mp3)}")
        if not frame.sketchy:
            continue  # a Xing, Info or VBRI header frame: silent, and it describes one file
        layout.add((_samples_per_frame(frame.version, frame.layer), frame.sample_rate))
        kept.append(mp3[offset:end])
    if not kept:
        raise SpeechError("the voice returned an MP3 with no sound")
    if len(layout) > 1:
        raise SpeechError("the voice returned MP3 pieces of different sample rates")
    [(samples_per_frame, sample_rate)] = layout
    return Mp3Frames(b"".join(kept), len(kept), samples_per_frame, sample_rate)


def _samples_per_frame(version: float, layer: int) -> int:
    if layer == 1:
        return 384
    if layer == 3 and version >= 2:
        return 576  # MPEG-2 and 2.5 layer III: half-size frames
    return 1152


def join_mp3(pieces: Sequence[bytes]) -> TimedAudio:
    """Join MP3 pieces frame by frame into one stream, timing each piece by its frames."""
    frames = [mp3_frames(piece) for piece in pieces]
    if len({(part.samples_per_frame, part.sample_rate) for part in frames}) > 1:
        raise SpeechError("the voice returned MP3 pieces of different sample rates")
    rate = frames[0].sample_rate if frames else 1
    return TimedAudio(
        mp3=b"".join(part.data for part in frames),
        spans=spans_from_lengths([part.samples for part in frames], rate),
    )


# --- Google (gTTS) ----------------------------------------------------------------------

# Tour language code → gTTS language code, where they differ.
GTTS_LANGUAGES: dict[str, str] = {"zh": "zh-CN", "he": "iw", "jv": "jw"}
# Tour language code → eSpeak NG voice, where they differ: eSpeak names Mandarin `cmn`.
ESPEAK_VOICES: dict[str, str] = {"zh": "cmn"}
GTTS_HOST = "translate.google.com"


@dataclass(slots=True)
class GoogleVoice:
    """Google Translate's voice through gTTS: natural, but online and rate-limited."""

    tld: str = "com"
    slow: bool = False
    timeout_s: float = 15.0
    name: str = "gtts"
    concurrency: int = 2

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


# --- eSpeak NG (offline) -----------------------------------------------------------------

_AUDIO_OUTPUT_SYNCHRONOUS = 0x02
_ESPEAK_RATE = 1
_ESPEAK_CHARS_UTF8 = 1
_SYNTH_CALLBACK = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p
)


class _ESpeakLibrary:
    """The eSpeak NG shared library from the espeakng-loader wheel, set up once.

    eSpeak keeps global state, so every call goes through one lock: it is not
    thread-safe, and the voice also declares a concurrency of one.
    """

    _instance: _ESpeakLibrary | None = None
    _create_lock = threading.Lock()

    def __init__(self) -> None:
        import espeakng_loader

        self.lock = threading.Lock()
        self.lib = ctypes.CDLL(espeakng_loader.get_library_path())
        self.lib.espeak_Initialize.argtypes = [
            ctypes.c_int,
            ctypes.c_int,
            ctypes.c_char_p,
            ctypes.c_int,
        ]
        self.lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        self.lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        self.lib.espeak_Synth.argtypes = [
            ctypes.c_char_p,
            ctypes.c_size_t,
            ctypes.c_uint,
            ctypes.c_int,
            ctypes.c_uint,
            ctypes.c_uint,
            ctypes.c_void_p,
            ctypes.c_void_p,
        ]
        data_path = espeakng_loader.get_data_path().encode()
        self.sample_rate = self.lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, data_path, 0)
        if self.sample_rate <= 0:
            raise SpeechError("eSpeak NG could not start: its data folder was not found")
        self._chunks: list[bytes] = []
        # Keep a reference: ctypes callbacks must outlive every call into the library.
        self._callback = _SYNTH_CALLBACK(self._collect)
        self.lib.espeak_SetSynthCallback(self._callback)

    @classmethod
    def get(cls) -> _ESpeakLibrary:
        with cls._create_lock:
            if cls._instance is None:
                cls._instance = cls()
            return cls._instance

    def _collect(self, samples: ctypes._Pointer[ctypes.c_short], count: int, _: object) -> int:
        if count > 0:
            self._chunks.append(ctypes.string_at(samples, count * 2))
        return 0

    def has_voice(self, voice: str) -> bool:
        with self.lock:
            return bool(self.lib.espeak_SetVoiceByName(voice.encode()) == 0)

    def speak(self, text: str, voice: str, words_per_minute: int) -> bytes:
        """Return 16-bit mono PCM at `sample_rate` for `text`."""
        with self.lock:
            if self.lib.espeak_SetVoiceByName(voice.encode()) != 0:
                raise SpeechError(f"eSpeak NG has no voice '{voice}'")
            self.lib.espeak_SetParameter(_ESPEAK_RATE, words_per_minute, 0)
            self._chunks = []
            encoded = text.encode("utf-8") + b"\0"
            status = self.lib.espeak_Synth(
                encoded, len(encoded), 0, 0, 0, _ESPEAK_CHARS_UTF8, None, None
            )
            self.lib.espeak_Synchronize()
            pcm = b"".join(self._chunks)
            self._chunks = []
        if status != 0 or not pcm:
            raise SpeechError(f"eSpeak NG failed to speak (status {status})")
        return pcm


def encode_mp3(pcm: bytes, sample_rate: int, bitrate_kbps: int) -> bytes:
    """Encode 16-bit mono PCM as a constant-bitrate MP3."""
    import lameenc

    encoder = lameenc.Encoder()
    encoder.set_bit_rate(bitrate_kbps)
    encoder.set_in_sample_rate(sample_rate)
    encoder.set_channels(1)
    encoder.set_quality(2)
    return bytes(encoder.encode(pcm) + encoder.flush())


@dataclass(slots=True)
class ESpeakVoice:
    """eSpeak NG: robotic but offline, so narration can always be built."""

    words_per_minute: int = 150
    """Slower than eSpeak's 175, for listeners hearing a second language outdoors."""
    bitrate_kbps: int = 24
    name: str = "espeak"
    concurrency: int = 1

    def espeak_voice(self, lang: str) -> str:
        return ESPEAK_VOICES.get(lang, lang)

    def settings(self, lang: str) -> str:
        return (
            f"espeak voice={self.espeak_voice(lang)} wpm={self.words_per_minute} "
            f"mp3={self.bitrate_kbps}k"
        )

    def supports(self, lang: str) -> bool:
        return _ESpeakLibrary.get().has_voice(self.espeak_voice(lang))

    def synthesize(self, text: str, lang: str) -> bytes:
        library = _ESpeakLibrary.get()
        pcm = library.speak(text, self.espeak_voice(lang), self.words_per_minute)
        return encode_mp3(pcm, library.sample_rate, self.bitrate_kbps)

    def synthesize_sentences(self, sentences: Sequence[str], lang: str) -> TimedAudio:
        library = _ESpeakLibrary.get()
        voice = self.espeak_voice(lang)
        pieces = [library.speak(sentence, voice, self.words_per_minute) for sentence in sentences]
        # One encode of the joined samples: no gap or click between the sentences.
        return TimedAudio(
            mp3=encode_mp3(b"".join(pieces), library.sample_rate, self.bitrate_kbps),
            spans=spans_from_lengths([len(piece) // 2 for piece in pieces], library.sample_rate),
        )


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
