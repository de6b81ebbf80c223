"""Language codes the tour accepts: ISO 639-1, two lowercase letters."""

import re

ISO_639_1 = frozenset(
    """
    aa ab ae af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca ce ch co cr cs cu
    cv cy da de dv dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi
    ho hr ht hu hy hz ia id ie ig ii ik io is it iu ja jv ka kg ki kj kk kl km kn ko kr ks
    ku kv kw ky la lb lg li ln lo lt lu lv mg mh mi mk ml mn mr ms mt my na nb nd ne ng nl
    nn no nr nv ny oc oj om or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk sl
    sm sn so sq sr ss st su sv sw ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve
    vi vo wa wo xh yi yo za zh zu
    """.split()  # noqa: SIM905 - one code per word reads and edits better here
)


def is_known_language(code: str) -> bool:
    return code in ISO_639_1


# How each language is written, where its two-letter code alone does not say it.
# Pages declare these BCP 47 tags: the tour's Chinese is Simplified, so `zh-Hans`.
LANGUAGE_TAGS: dict[str, str] = {"zh": "zh-Hans"}

# Languages written without spaces between words: interface words run together, and
# lengths are better counted in characters than in words.
UNSPACED_LANGUAGES = frozenset({"zh", "ja", "th", "lo", "km", "my", "bo", "dz"})


_CHARACTER_UNIT = re.compile(r"[0-9A-Za-z\u00C0-\u024F'’.-]+|\S")


def language_tag(code: str) -> str:
    """Return the BCP 47 tag that pages in `code` declare (`lang`, `hreflang`)."""
    return LANGUAGE_TAGS.get(code, code)


def length_unit(code: str) -> str:
    """Return how a text in `code` is measured: "characters" when written without spaces."""
    return "characters" if code in UNSPACED_LANGUAGES else "words"


def text_length(text: str, code: str) -> int:
    """Count `text` in its language's unit: words, or characters.

    In a language written without spaces, a word in Latin letters (a Malay name in
    Chinese text, a year) counts as one character: it is read as one unit, and mostly
    read out as its gloss.
    """
    if length_unit(code) == "characters":
        return len(_CHARACTER_UNIT.findall(text))
    return len(text.split())


def word_space(code: str) -> str:
    """Return what separates two interface words in `code`: a space, or nothing."""
    return "" if code in UNSPACED_LANGUAGES else " "
