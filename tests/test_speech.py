"""The voices: real eSpeak NG audio, and the gTTS path against responses in Google's format."""

from __future__ import annotations

import base64
import json
import urllib.parse
from collections.abc import Iterator

import pytest
import requests
import responses

from tour.voice.manifest import inspect_mp3
from tour.voice.speech import (
    ESpeakVoice,
    GoogleVoice,
    SpeechError,
    choose_voice,
    google_reachable,
)

GTTS_URL = "https://translate.google.com/_/TranslateWebserverUi/data/batchexecute"
# A normal speaking pace, in characters per second (about 150 English words a minute).
NORMAL_CHARS_PER_SECOND = 13.0
# Each Chinese character is a spoken syllable: about four a second, read slowly.
CHINESE_CHARS_PER_SECOND = 4.0
CHINESE_SAMPLE = "欢迎来到廖内群岛。这座小岛曾是副王的驻地，如今是国家级文化遗产保护区。"

SAMPLES = {
    "id": (
        "Selamat datang di Pulau Penyengat. Pulau kecil ini pernah menjadi pusat "
        "pemerintahan Yang Dipertuan Muda Riau-Lingga, dan kini menjadi kawasan cagar budaya."
    ),
    "en": (
        "Welcome to Pulau Penyengat. This small island was once the seat of the "
        "viceroys of the Riau-Lingga sultanate, and is now a national heritage area."
    ),
}


def google_response(audio: bytes) -> str:
    """Build a batchexecute answer the way gTTS parses it: base64 audio after jQ1olc."""
    encoded = base64.b64encode(audio).decode("ascii")
    return ")]}'\n\n" + f'[["wrb.fr","jQ1olc","[\\"{encoded}\\"]",null,null,null,"generic"]]\n'


@pytest.fixture(scope="module")
def short_mp3() -> bytes:
    return ESpeakVoice().synthesize("Selamat datang.", "id")


@pytest.fixture
def google() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.mark.parametrize("lang", ["id", "en"])
def test_espeak_makes_valid_small_mp3(lang: str) -> None:
    text = SAMPLES[lang]
    audio = ESpeakVoice().synthesize(text, lang)
    info = inspect_mp3(audio)
    expected = len(text) / NORMAL_CHARS_PER_SECOND
    assert 0.7 * expected <= info.duration_s <= 1.3 * expected, (info.duration_s, expected)
    assert info.channels == 1
    assert info.bitrate_kbps <= 32
    assert audio[:2] in (b"\xff\xf3", b"\xff\xf2", b"\xff\xfb") or audio[:3] == b"ID3"


def test_espeak_speaks_chinese_with_its_mandarin_voice() -> None:
    voice = ESpeakVoice()
    assert voice.supports("zh")
    assert voice.settings("zh") == "espeak voice=cmn wpm=150 mp3=24k one-pass"
    audio = voice.synthesize(CHINESE_SAMPLE, "zh")
    info = inspect_mp3(audio)
    expected = len(CHINESE_SAMPLE) / CHINESE_CHARS_PER_SECOND
    assert 0.7 * expected <= info.duration_s <= 1.3 * expected, (info.duration_s, expected)
    assert info.channels == 1
    assert info.bitrate_kbps <= 32
    # Read as English letters, the same sentence would last a fraction of that.
    assert info.duration_s > 3 * inspect_mp3(voice.synthesize("Welcome.", "en")).duration_s


def test_espeak_voices_differ_by_language() -> None:
    voice = ESpeakVoice()
    assert voice.supports("id")
    assert voice.supports("en")
    assert voice.settings("id") != voice.settings("en")


def test_espeak_unknown_voice_is_an_error() -> None:
    with pytest.raises(SpeechError, match="eSpeak NG has no voice 'zz'"):
        ESpeakVoice().synthesize("hello", "zz")


def test_gtts_success(google: responses.RequestsMock, short_mp3: bytes) -> None:
    google.add(responses.POST, GTTS_URL, body=google_response(short_mp3), status=200)
    audio = GoogleVoice().synthesize("Selamat datang di Penyengat.", "id")
    assert audio == short_mp3
    [call] = google.calls
    body = urllib.parse.unquote(str(call.request.body))
    rpc = json.loads(body.removeprefix("f.req=").rstrip("&"))
    assert json.loads(rpc[0][0][1])[:2] == ["Selamat datang di Penyengat.", "id"]


def test_gtts_asks_google_for_mainland_chinese(
    google: responses.RequestsMock, short_mp3: bytes
) -> None:
    google.add(responses.POST, GTTS_URL, body=google_response(short_mp3), status=200)
    assert GoogleVoice().settings("zh") == "gtts lang=zh-CN tld=com slow=False"
    audio = GoogleVoice().synthesize("欢迎来到廖内群岛。", "zh")
    assert audio == short_mp3
    [call] = google.calls
    body = urllib.parse.unquote(str(call.request.body))
    rpc = json.loads(body.removeprefix("f.req=").rstrip("&"))
    assert json.loads(rpc[0][0][1])[:2] == ["欢迎来到廖内群岛。", "zh-CN"]


def test_gtts_long_text_is_sent_in_parts(google: responses.RequestsMock, short_mp3: bytes) -> None:
    google.add(responses.POST, GTTS_URL, body=google_response(short_mp3), status=200)
    audio = GoogleVoice().synthesize(SAMPLES["en"], "en")
    assert len(google.calls) >= 2  # gTTS splits text into pieces of at most 100 characters
    assert audio == short_mp3 * len(google.calls)
    assert inspect_mp3(audio).duration_s > inspect_mp3(short_mp3).duration_s


@pytest.mark.parametrize(("status", "retriable"), [(429, True), (503, True), (403, False)])
def test_gtts_http_errors(google: responses.RequestsMock, status: int, retriable: bool) -> None:
    google.add(responses.POST, GTTS_URL, body="nope", status=status)
    with pytest.raises(SpeechError) as raised:
        GoogleVoice().synthesize("Halo.", "id")
    assert raised.value.retriable is retriable
    assert str(status) in str(raised.value)


def test_gtts_connection_error_is_retriable(google: responses.RequestsMock) -> None:
    error = requests.exceptions.ConnectionError("no route to host")
    google.add(responses.POST, GTTS_URL, body=error)
    with pytest.raises(SpeechError) as raised:
        GoogleVoice().synthesize("Halo.", "id")
    assert raised.value.retriable


def test_gtts_language_mapping() -> None:
    voice = GoogleVoice()
    assert voice.gtts_language("id") == "id"
    assert voice.gtts_language("zh") == "zh-CN"
    assert voice.supports("id")
    assert voice.supports("en")
    assert not voice.supports("xx")


def test_auto_falls_back_to_espeak_and_says_why() -> None:
    reachable, why = google_reachable(timeout_s=2.0)
    voice, reason = choose_voice("auto")
    if reachable:  # a machine with internet: auto must pick Google
        assert voice.name == "gtts"
    else:
        assert voice.name == "espeak"
        assert reason.startswith("espeak (offline): translate.google.com:443 not reachable")
    assert why in reason


def test_explicit_engines() -> None:
    assert choose_voice("gtts")[0].name == "gtts"
    assert choose_voice("espeak")[0].name == "espeak"
