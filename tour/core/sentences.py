"""Split a stop's text into sentences, for timed captions and the read-along transcript.

The same splitter decides what the voice speaks piece by piece, what each caption cue
says and which words each transcript sentence wraps, so the page and the captions agree.

A sentence ends at `.`, `!`, `?` or `…` (with any closing quotes or brackets) followed
by white space and the start of a new sentence, or at the Chinese `。！？` with or
without a space. Not an end: a decimal ("19,8", "19.8", "Rp7.000"), an abbreviation
of the tour's languages ("dr.", "St.", "H." after a Hijri year), "No." before a number,
an initial ("A. Rahman"), or a quotation that carries on in lower case ("'Go!' he said").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Lower-cased, without the full stop. Words that often end a sentence ("etc.", "dll.",
# "BC.") are left out, and so are unit symbols ("km", "m"), which are written without a
# dot: a dot after one ends a sentence ("Walk 210 m. Then turn left.").
ABBREVIATIONS: dict[str, frozenset[str]] = {
    "id": frozenset(
        {"dr", "drs", "ir", "prof", "hj", "jl", "kh", "st", "tgl", "sdr", "bpk", "yth"}
        | {"kab", "kec", "kel", "prov"}
    ),
    "en": frozenset(
        {"dr", "mr", "mrs", "ms", "prof", "st", "nos", "jl", "vol", "pp", "ca"}
        | {"approx", "vs", "fig", "mt", "ft", "jr", "sr"}
    ),
}
# In every language: H. (Hijriah/Hijri) after a year, and Latin ones. "M." (Masehi) is an
# upper-case initial, which never ends a sentence; a lower-case "m." is metres.
COMMON_ABBREVIATIONS = frozenset({"h", "c", "cf"})
# Abbreviations only before a number: "No. 5", "Jl. Raya Km. 5", "hlm. 12"; but "The
# answer is no. Then go." and "sekitar 2 km. Lalu belok kiri." end there.
_BEFORE_A_NUMBER = frozenset({"no", "km", "hlm"})

_CLOSERS = "\"'”’»)]）」』】》〉"
_TERMINATORS = ".!?…。！？"
_OPENERS = "\"'“‘«([（「『【《〈"
# A Latin end: terminators and closers, then white space, then what may start a sentence.
# It starts only where the terminators start, and never gives them back (possessive): a
# long run of dots is read once. A shorter match could never be followed by white space.
_LATIN_END = re.compile(
    rf"(?<![.!?…])[.!?…]++[{re.escape(_CLOSERS)}]*+(?=\s+[{re.escape(_OPENERS)}\w])"
)
# A Chinese end needs no space after it.
_CJK_END = re.compile(rf"[。！？]+[{re.escape(_CLOSERS)}]*")


def has_end(sentence: str) -> bool:
    """Whether a sentence ends with a terminator (before any closing quotes or brackets)."""
    return sentence.rstrip().rstrip(_CLOSERS)[-1:] in tuple(_TERMINATORS)


def _next_visible(text: str, start: int) -> str:
    """The first character after `start` that is not white space ("" when none).

    Read in place: a copy of the rest of the paragraph for every possible end would
    make a long paragraph cost the square of its length.
    """
    for index in range(start, len(text)):
        if not text[index].isspace():
            return text[index]
    return ""


def _word_before_stop(text: str, stop: int) -> str:
    """The word (letters, digits, _ and dots) before the full stop at `stop - 1`, read
    backwards from the stop."""
    start = stop - 1
    while start > 0 and (text[start - 1].isalnum() or text[start - 1] in "._"):
        start -= 1
    return text[start : stop - 1]


def _is_dotted_abbreviation(token: str) -> bool:
    """ "e.g", "a.n", "U.S": runs of one to three letters joined by dots."""
    parts = token.split(".")
    return len(parts) > 1 and all(1 <= len(part) <= 3 and part.isalpha() for part in parts)


@dataclass(frozen=True, slots=True)
class Sentence:
    """A sentence of a paragraph, and the white space written after it (kept for display)."""

    text: str
    space_after: str


def _abbreviations(lang: str) -> frozenset[str]:
    return ABBREVIATIONS.get(lang, frozenset()) | COMMON_ABBREVIATIONS


def _ends_a_sentence(text: str, end: int, lang: str) -> bool:
    """Say whether the Latin terminator ending at `end` closes a sentence."""
    following = _next_visible(text, end)
    if following.islower():
        return False  # "'Go!' he said", "… and then": the sentence carries on
    stop = end
    while stop > 0 and text[stop - 1] in _CLOSERS:
        stop -= 1
    if stop == 0 or text[stop - 1] != ".":
        return True  # ! ? … always end one
    token = _word_before_stop(text, stop)
    if not token:
        return True
    if _is_dotted_abbreviation(token):
        return False  # "e.g.", "a.n.", "U.S.": a dotted abbreviation (not "Rp7.000")
    if len(token) == 1 and token.isupper():
        return False  # an initial: "A. Rahman"
    if token.lower() in _BEFORE_A_NUMBER:
        return not following.isdigit()
    # "1248 H. Then" reads as a date; only a new paragraph would end a sentence there.
    return token.lower() not in _abbreviations(lang)


def _boundaries(paragraph: str, lang: str) -> list[int]:
    """Return the offsets just after each sentence end inside `paragraph`."""
    ends = {match.end() for match in _CJK_END.finditer(paragraph)}
    ends |= {
        match.end()
        for match in _LATIN_END.finditer(paragraph)
        if _ends_a_sentence(paragraph, match.end(), lang)
    }
    return sorted(end for end in ends if _next_visible(paragraph, end))


def split_paragraph(paragraph: str, lang: str) -> list[Sentence]:
    """Split one paragraph into sentences; joined with their spaces they give it back."""
    sentences: list[Sentence] = []
    start = 0
    for end in [*_boundaries(paragraph, lang), len(paragraph)]:
        following = len(paragraph) - len(paragraph[end:].lstrip())
        text = paragraph[start:end].strip()
        if text:
            sentences.append(Sentence(text, paragraph[end:following]))
        start = following
    return sentences


def paragraphs(text: str) -> list[str]:
    """Split a text at blank lines, folding line breaks: as pages show it."""
    blocks = text.strip().split("\n\n")
    return [" ".join(block.split()) for block in blocks if block.strip()]


def split_text(text: str, lang: str) -> list[list[Sentence]]:
    """Return the sentences of each paragraph of `text`."""
    return [split_paragraph(paragraph, lang) for paragraph in paragraphs(text)]


def sentence_texts(text: str, lang: str) -> list[str]:
    """Return every sentence of `text`, in order, across its paragraphs."""
    return [sentence.text for block in split_text(text, lang) for sentence in block]
