"""eSpeak NG, the offline voice: the shared library from the espeakng-loader wheel, via ctypes.

A narration is spoken in ONE synthesis. eSpeak reports a word event for every word it
says, with the character where the word starts in the text and the output sample where
its sound starts; each of our sentences starts at the sample of its first word. So the
captions are exact to the sample, and eSpeak speaks the sentences as one text, with its
own pauses between them, in a fraction of the calls.
"""

from __future__ import annotations

import ctypes
import threading
from collections.abc import Sequence
from dataclasses import dataclass

from tour.core.sentences import has_end
from tour.voice.speech.base import SpeechError, TimedAudio, spans_from_lengths
from tour.voice.speech.mp3 import encode_mp3

# Tour language code → eSpeak NG voice, where they differ: eSpeak names Mandarin `cmn`.
ESPEAK_VOICES: dict[str, str] = {"zh": "cmn"}

_AUDIO_OUTPUT_SYNCHRONOUS = 0x02
_ESPEAK_RATE = 1
_ESPEAK_CHARS_UTF8 = 1
_ESPEAK_ENDPAUSE = 0x1000
_EVENT_LIST_TERMINATED = 0
_EVENT_WORD = 1
_SENTENCE_SEPARATOR = " "


class _Event(ctypes.Structure):
    """espeak_EVENT from espeak-ng's speak_lib.h."""

    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),  # characters (code points) from the start, from 1
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),  # milliseconds: too coarse, `sample` is exact
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", ctypes.c_void_p),  # a union of an int and pointers; unused here
    ]


_SYNTH_CALLBACK = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event)
)


@dataclass(frozen=True, slots=True)
class Spoken:
    """16-bit mono PCM and the words in it: (character from 0, first sample) each."""

    pcm: bytes
    words: tuple[tuple[int, int], ...]


class _ESpeakLibrary:
    """The eSpeak NG shared library, set up once per process.

    eSpeak keeps global state, so every call goes through one lock: it is not
    thread-safe. Builds speak in worker processes, each with its own library.
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
        self.sample_rate: int = self.lib.espeak_Initialize(
            _AUDIO_OUTPUT_SYNCHRONOUS, 0, data_path, 0
        )
        if self.sample_rate <= 0:
            raise SpeechError("eSpeak NG could not start: its data folder was not found")
        self._chunks: list[bytes] = []
        self._words: list[tuple[int, int]] = []
        self._voice = ""
        # Keep a reference: ctypes callbacks must outlive every call into the library.
        self._callback = _SYNTH_CALLBACK(self._collect)
        self.lib.espeak_SetSynthCallback(self._callback)

    @classmethod
    def get(cls) -> _ESpeakLibrary:
        with cls._create_lock:
            if cls._instance is None:
                cls._instance = cls()
            return cls._instance

    def _collect(
        self, samples: ctypes._Pointer[ctypes.c_short], count: int, events: ctypes.Array[_Event]
    ) -> int:
        if count > 0:
            self._chunks.append(ctypes.string_at(samples, count * 2))
        index = 0
        while events[index].type != _EVENT_LIST_TERMINATED:
            event = events[index]
            if event.type == _EVENT_WORD:
                self._words.append((event.text_position - 1, event.sample))
            index += 1
        return 0

    def _set_voice(self, voice: str) -> bool:
        # Setting the voice it already has may reload its dictionary: skip that.
        if voice != self._voice:
            if self.lib.espeak_SetVoiceByName(voice.encode()) != 0:
                return False
            self._voice = voice
        return True

    def has_voice(self, voice: str) -> bool:
        with self.lock:
            return self._set_voice(voice)

    def speak(
        self, text: str, voice: str, words_per_minute: int, *, end_pause: bool = False
    ) -> Spoken:
        """Speak `text` in one synthesis; `end_pause` keeps eSpeak's pause after the end."""
        with self.lock:
            if not self._set_voice(voice):
                raise SpeechError(f"eSpeak NG has no voice '{voice}'")
            self.lib.espeak_SetParameter(_ESPEAK_RATE, words_per_minute, 0)
            self._chunks, self._words = [], []
            encoded = text.encode("utf-8") + b"\0"
            flags = _ESPEAK_CHARS_UTF8 | (_ESPEAK_ENDPAUSE if end_pause else 0)
            status = self.lib.espeak_Synth(encoded, len(encoded), 0, 0, 0, flags, None, None)
            self.lib.espeak_Synchronize()
            spoken = Spoken(b"".join(self._chunks), tuple(self._words))
            self._chunks, self._words = [], []
        if status != 0 or not spoken.pcm:
            raise SpeechError(f"eSpeak NG failed to speak (status {status})")
        return spoken


def ended(sentence: str) -> str:
    """The sentence as eSpeak should read it: with a full stop if it has no end of its own
    (a heading-like line), so it gets the pause it had when spoken alone."""
    if not sentence.strip() or has_end(sentence):
        return sentence
    return sentence.rstrip() + "."


def sentence_starts(
    sentences: Sequence[str], words: Sequence[tuple[int, int]], samples: int
) -> list[int] | None:
    """Return the sample where each sentence's first word starts, or None if one has none.

    `words` are eSpeak's (character, sample) word events for the sentences joined by one
    space. The first sentence starts at sample 0, so the spans cover the whole audio.
    """
    starts = [0]
    offset = len(sentences[0]) + len(_SENTENCE_SEPARATOR) if sentences else 0
    for sentence in sentences[1:]:
        end = offset + len(sentence)
        first = next((sample for char, sample in words if offset <= char < end), None)
        if first is None or not starts[-1] < first <= samples:
            return None  # a sentence eSpeak said no word of: time it apart instead
        starts.append(first)
        offset = end + len(_SENTENCE_SEPARATOR)
    return starts


@dataclass(slots=True)
class ESpeakVoice:
    """eSpeak NG: robotic but offline, so narration can always be built."""

    words_per_minute: int = 150
    """Slower than eSpeak's 175, for listeners hearing a second language outdoors."""
    bitrate_kbps: int = 24
    name: str = "espeak"
    concurrency: int = 2
    """Two at once, one per core: each narration in its own worker process."""
    sentence_requests: bool = False
    worker_processes: bool = True

    def espeak_voice(self, lang: str) -> str:
        return ESPEAK_VOICES.get(lang, lang)

    def settings(self, lang: str) -> str:
        # "one-pass": the sentences are one synthesis, with eSpeak's pauses between them.
        return (
            f"espeak voice={self.espeak_voice(lang)} wpm={self.words_per_minute} "
            f"mp3={self.bitrate_kbps}k one-pass"
        )

    def supports(self, lang: str) -> bool:
        return _ESpeakLibrary.get().has_voice(self.espeak_voice(lang))

    def synthesize(self, text: str, lang: str) -> bytes:
        library = _ESpeakLibrary.get()
        spoken = library.speak(text, self.espeak_voice(lang), self.words_per_minute)
        return encode_mp3(spoken.pcm, library.sample_rate, self.bitrate_kbps)

    def synthesize_sentences(self, sentences: Sequence[str], lang: str) -> TimedAudio:
        library = _ESpeakLibrary.get()
        voice = self.espeak_voice(lang)
        sentences = [ended(sentence) for sentence in sentences]
        text = _SENTENCE_SEPARATOR.join(sentences)
        spoken = library.speak(text, voice, self.words_per_minute)
        samples = len(spoken.pcm) // 2
        starts = sentence_starts(sentences, spoken.words, samples)
        if starts is None:
            pieces = [
                library.speak(sentence, voice, self.words_per_minute, end_pause=True).pcm
                for sentence in sentences
            ]
            pcm = b"".join(pieces)
            lengths = [len(piece) // 2 for piece in pieces]
        else:
            pcm = spoken.pcm
            ends = [*starts[1:], samples]
            lengths = [end - start for start, end in zip(starts, ends, strict=True)]
        # One encode of all the samples: no gap or click between the sentences.
        return TimedAudio(
            mp3=encode_mp3(pcm, library.sample_rate, self.bitrate_kbps),
            spans=spans_from_lengths(lengths, library.sample_rate),
        )
