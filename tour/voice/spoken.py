"""What a narration says: the spoken sentences after the pronunciation rules, the written
sentences its captions show, and the content hash that names its files."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence

from tour.core.languages import length_unit
from tour.core.model import Stop, Tour
from tour.core.sentences import sentence_texts

# A word of the rules ends where Latin letters and digits end: Chinese characters are
# letters too (`\w`), but "Penyengat岛" still holds the word "Penyengat".
_LATIN = r"0-9A-Za-z\u00C0-\u024F"
# In Chinese text a Malay name is written in Latin letters with a gloss on first mention,
# "Raja Ali Haji（拉惹阿里·哈吉）", or a Chinese word with the Malay one beside it,
# "聘礼（mas kawin）". A listener understands the Chinese: the voice reads only that.
_LATIN_RUN = rf"[A-Za-z\u00C0-\u024F][{_LATIN}'’ .·-]*"
"""A name in Latin letters: it starts with a letter, so "1803（嘉庆八年）" is left alone."""
_GLOSS = re.compile(r"（([^（）]*+)）")
"""A gloss in full-width brackets; the name before it is found by walking back from it,
so a long run of Latin letters with no gloss is read once, not once per letter."""
_NAME_LETTERS = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    + "".join(chr(code) for code in range(0xC0, 0x250))
)
_NAME_CHARACTERS = _NAME_LETTERS | frozenset("0123456789'’ .·-")
_LATIN_ASIDE = re.compile(rf"（{_LATIN_RUN}）")


def apply_pronunciation(text: str, rules: Mapping[str, str]) -> str:
    """Replace whole words by their spoken forms, in one pass, preferring the longest word."""
    if not rules:
        return text
    words = "|".join(re.escape(word) for word in sorted(rules, key=len, reverse=True))
    pattern = rf"(?<![{_LATIN}])(?:{words})(?![{_LATIN}])"
    return re.sub(pattern, lambda match: rules[match[0]], text)


def speak_glosses(text: str, lang: str) -> str:
    """In a language written without spaces, read a glossed Latin name as its gloss."""
    if length_unit(lang) != "characters":
        return text
    return _LATIN_ASIDE.sub("", _glosses_for_names(text))


def _glosses_for_names(text: str) -> str:
    """Put each gloss in place of the Latin name written just before it.

    A name starts with a letter and runs on in letters, digits, spaces, apostrophes,
    dots and hyphens up to the gloss (or to a closing 》 before it); the gloss must hold
    something that is not ASCII, so "1803（1804）" and "Datang”（欢迎光临）" stay as written.
    """
    parts: list[str] = []
    done = 0  # everything before `done` is in `parts`
    floor = 0  # a name cannot start before the end of the previous gloss
    for gloss in _GLOSS.finditer(text):
        end = gloss.start()
        close = ""
        if end > floor and text[end - 1] == "》":
            close, end = "》", end - 1
        start = end
        while start > floor and text[start - 1] in _NAME_CHARACTERS:
            start -= 1
        while start < end and text[start] not in _NAME_LETTERS:
            start += 1
        glossed = gloss[1]
        if start < end and not glossed.isascii():
            opening = "《" if start > floor and text[start - 1] == "《" else ""
            parts.append(text[done : start - len(opening)])
            parts.append(f"{opening}{glossed}{close}")
            done = gloss.end()
        floor = gloss.end()
    parts.append(text[done:])
    return "".join(parts)


def _spoken_form(sentence: str, tour: Tour, lang: str) -> str:
    return apply_pronunciation(speak_glosses(sentence, lang), tour.pronounce.get(lang, {}))


def spoken_text(tour: Tour, stop: Stop, lang: str) -> str:
    """Return what the voice reads: the `spoken` text if given, else the text, after rules."""
    source = stop.spoken.get(lang) or stop.text[lang]
    paragraphs = [" ".join(block.split()) for block in source.strip().split("\n\n")]
    text = "\n\n".join(paragraph for paragraph in paragraphs if paragraph)
    return _spoken_form(text, tour, lang)


def spoken_sentences(tour: Tour, stop: Stop, lang: str) -> list[str]:
    """Return what the voice reads, sentence by sentence, after the pronunciation rules.

    Split before the rules apply, so a rule can never add or remove a sentence.
    """
    source = stop.spoken.get(lang) or stop.text[lang]
    return [_spoken_form(sentence, tour, lang) for sentence in sentence_texts(source, lang)]


def caption_sentences(stop: Stop, lang: str) -> list[str]:
    """Return the written sentences, one caption cue each."""
    return sentence_texts(stop.text[lang], lang)


def audio_hash(text: str, lang: str, voice_settings: str) -> str:
    """Hash a narration spoken in one piece, as version 1 manifests name their files."""
    payload = json.dumps({"text": text, "lang": lang, "voice": voice_settings}, sort_keys=True)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]


def narration_hash(
    spoken: Sequence[str], captions: Sequence[str], lang: str, voice_settings: str
) -> str:
    """Hash what shapes a narration and its captions: each spoken and each written sentence."""
    payload = json.dumps(
        {
            "sentences": list(spoken),
            "captions": list(captions),
            "lang": lang,
            "voice": voice_settings,
        },
        sort_keys=True,
        ensure_ascii=False,
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]


def audio_file_name(stop_id: str, lang: str, digest: str) -> str:
    return f"{stop_id}.{lang}.{digest}.mp3"


def captions_file_name(stop_id: str, lang: str, digest: str) -> str:
    return f"{stop_id}.{lang}.{digest}.vtt"
