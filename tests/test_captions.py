"""Timed captions: the sentence splitter, the timings of both voices, the WebVTT files and
how they are checked, served and exported."""

from __future__ import annotations

import io
import itertools
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import responses
from aiohttp.test_utils import TestClient
from mutagen.mp3 import MP3
from playwright.sync_api import Page, expect

from tour.catalog import bundled_stops_dir, check_tour, load_tour
from tour.catalog.fields import display_path
from tour.core.languages import word_space
from tour.core.sentences import sentence_texts, split_paragraph
from tour.core.settings import Settings
from tour.export import export_site
from tour.render.links import PATH_LINKS
from tour.render.pages import AudioLink, render_pages
from tour.voice.captions import Cue, parse_webvtt, to_webvtt
from tour.voice.manifest import audio_dir, load_manifest, manifest_path
from tour.voice.narration import NarrationBuilder, build_narration
from tour.voice.speech import ESpeakVoice, GoogleVoice, join_mp3, mp3_frames
from tour.voice.speech.espeak import _ESpeakLibrary, ended, sentence_starts
from tour.voice.spoken import audio_file_name, audio_hash, spoken_text
from tour.web import create_app

from .browsing import Watched, browser, phone, server
from .conftest import AiohttpClient
from .narration_cache import narrated
from .test_speech import GTTS_URL, google, google_response
from .voices import CountingVoice

__all__ = ["browser", "google", "phone", "server"]  # fixtures: Google's format, Chromium

TOUR = load_tour(bundled_stops_dir())


def mp3_length(data: bytes) -> float:
    info: Any = MP3(io.BytesIO(data)).info  # type: ignore[no-untyped-call]
    return float(info.length)


# --- splitting ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "text", "expected"),
    [
        # Decimals with a comma and with a point, from the mosque's texts.
        (
            "id",
            "Ruang utama masjid berukuran sekitar 19,8 kali 18 meter, dengan dinding setebal "
            "50 sentimeter. Masjid ini memiliki 13 kubah dan 4 menara setinggi 18,9 meter.",
            [
                "Ruang utama masjid berukuran sekitar 19,8 kali 18 meter, dengan dinding "
                "setebal 50 sentimeter.",
                "Masjid ini memiliki 13 kubah dan 4 menara setinggi 18,9 meter.",
            ],
        ),
        (
            "en",
            "The main hall measures roughly 19.8 by 18 metres, with walls 50 centimetres "
            "thick. There are 13 domes and 4 minarets, each minaret 18.9 metres tall.",
            [
                "The main hall measures roughly 19.8 by 18 metres, with walls 50 centimetres "
                "thick.",
                "There are 13 domes and 4 minarets, each minaret 18.9 metres tall.",
            ],
        ),
        # A thousands point and a question, from the jetty notes and the palace.
        (
            "id",
            "Ongkosnya sekitar Rp7.000 pada 2019. Kapan istana ini dibangun? Di sini sumber "
            "berbeda.",
            [
                "Ongkosnya sekitar Rp7.000 pada 2019.",
                "Kapan istana ini dibangun?",
                "Di sini sumber berbeda.",
            ],
        ),
        # Abbreviations: a Hijri date, a title, a street and a number.
        (
            "id",
            "Dibangun pada 1248 H. oleh Raja Abdurrahman. Dr. Ahmad meneliti Jl. Engku Putri "
            "No. 5 ini.",
            [
                "Dibangun pada 1248 H. oleh Raja Abdurrahman.",
                "Dr. Ahmad meneliti Jl. Engku Putri No. 5 ini.",
            ],
        ),
        (
            "en",
            "Begun in 1248 H. Abdurrahman led the work. St. Helena is far, e.g. A. Rahman "
            "wrote. It ended.",
            [
                "Begun in 1248 H. Abdurrahman led the work.",
                "St. Helena is far, e.g. A. Rahman wrote.",
                "It ended.",
            ],
        ),
        # A unit symbol takes no dot, and "etc." or "BC." often end a sentence: these split.
        ("en", "Walk 210 m. Then turn left.", ["Walk 210 m.", "Then turn left."]),
        ("id", "sekitar 2 km. Lalu belok kiri.", ["sekitar 2 km.", "Lalu belok kiri."]),
        (
            "id",
            "Letaknya di Jl. Raya Km. 5 dekat pasar. Lalu belok kiri.",
            ["Letaknya di Jl. Raya Km. 5 dekat pasar.", "Lalu belok kiri."],
        ),
        (
            "id",
            "Ada makam, masjid, dll. Semua dekat dari 100 SM. Sampai kini.",
            ["Ada makam, masjid, dll.", "Semua dekat dari 100 SM.", "Sampai kini."],
        ),
        (
            "en",
            "It was built in 200 BC. Later it fell.",
            ["It was built in 200 BC.", "Later it fell."],
        ),
        # "No." is a number only before one.
        ("en", "The answer is no. Then go.", ["The answer is no.", "Then go."]),
        (
            "en",
            "Ask at No. 12 by the jetty. No. Not there.",
            ["Ask at No. 12 by the jetty.", "No.", "Not there."],
        ),
        # Quotes: a closing quote goes with its sentence; a quote carrying on does not end one.
        (
            "en",
            'It was called "Dalam Besar." Then came "the great one!" she said. Done.',
            ['It was called "Dalam Besar."', 'Then came "the great one!" she said.', "Done."],
        ),
        # Chinese ends need no space; decimals and brackets inside a sentence stay whole.
        (
            "zh",
            "大殿约19.8米×18米，墙厚50厘米。寺顶有13座圆顶，各高18.9米，合计17座，"
            "据说正好对应每日礼拜的17拜（rakaat）。人称“Dalam Besar。”Selamat jalan，一路平安！",
            [
                "大殿约19.8米×18米，墙厚50厘米。",
                "寺顶有13座圆顶，各高18.9米，合计17座，据说正好对应每日礼拜的17拜（rakaat）。",
                "人称“Dalam Besar。”",
                "Selamat jalan，一路平安！",
            ],
        ),
    ],
)
def test_sentences_split_as_the_tour_writes(lang: str, text: str, expected: list[str]) -> None:
    assert [sentence.text for sentence in split_paragraph(text, lang)] == expected


@pytest.mark.parametrize("lang", TOUR.languages)
def test_every_bundled_text_splits_back_into_itself(lang: str) -> None:
    for stop in TOUR.stops:
        for paragraph in stop.paragraphs(lang):
            sentences = split_paragraph(paragraph, lang)
            assert "".join(s.text + s.space_after for s in sentences) == paragraph
            assert all(sentence.text[-1] in ".!?。！？”\"')）" for sentence in sentences)


# --- the voices' timings -----------------------------------------------------------------


def test_espeak_spans_are_sample_exact_and_the_joined_mp3_is_one_stream() -> None:
    sentences = ["Selamat datang.", "Ini Pulau Penyengat.", "Mari berjalan."]
    timed = ESpeakVoice().synthesize_sentences(sentences, "id")
    assert len(timed.spans) == 3
    assert timed.spans[0][0] == 0
    # Whole samples at eSpeak's 22050 Hz: the span ends are exact, not rounded guesses.
    # (a quotient of whole numbers: multiplied back it may be off in the last float bit)
    assert all(abs(end * 22050 - round(end * 22050)) < 1e-6 for _, end in timed.spans)
    assert all(a[1] == b[0] for a, b in zip(timed.spans, timed.spans[1:], strict=False))
    # One encode: the MP3 lasts the spoken samples plus the encoder's delay and last frame.
    assert 0 <= mp3_length(timed.mp3) - timed.spans[-1][1] < 0.15


# Two sentences each, as the tour writes them; the second of each spoken alone has no
# pause after it, the first has eSpeak's pause between sentences.
SENTENCE_PAIRS = {
    "id": ("Selamat datang di Pulau Penyengat.", "Pulau ini pusat kerajaan Riau-Lingga."),
    "en": ("Welcome to Pulau Penyengat.", "The mosque was built in 1832, with egg whites!"),
    "zh": ("欢迎来到廖内群岛。", "这座小岛曾是副王的驻地，如今是文化遗产保护区。"),
}
SAME_LENGTH_S = 0.05
"""How close a sentence's span is to that sentence spoken alone. eSpeak's pitch flutter
varies one synthesis from the next by a few hundred samples; the pause eSpeak puts
between two sentences is about 0.38 s, so a span without it would be far off."""


@pytest.mark.parametrize("lang", sorted(SENTENCE_PAIRS))
def test_espeak_spans_come_from_its_word_events_in_one_synthesis(lang: str) -> None:
    voice = ESpeakVoice()
    library = _ESpeakLibrary.get()
    name, wpm, rate = voice.espeak_voice(lang), voice.words_per_minute, library.sample_rate
    first, second = SENTENCE_PAIRS[lang]
    timed = voice.synthesize_sentences([first, second], lang)

    def seconds(text: str, end_pause: bool = False) -> float:
        return len(library.speak(text, name, wpm, end_pause=end_pause).pcm) / 2 / rate

    lengths = [end - start for start, end in timed.spans]
    assert lengths == pytest.approx(
        [seconds(first, end_pause=True), seconds(second)], abs=SAME_LENGTH_S
    )
    # Contiguous from 0, and the last ends with the MP3 (plus the encoder's delay).
    assert timed.spans[0][0] == 0
    assert timed.spans[0][1] == timed.spans[1][0]
    assert 0 <= mp3_length(timed.mp3) - timed.spans[-1][1] < 0.15
    # One synthesis of the whole text, with eSpeak's pause between the sentences: longer
    # than the two sentences spoken apart and joined.
    assert timed.spans[-1][1] == pytest.approx(seconds(f"{first} {second}"), abs=SAME_LENGTH_S)
    assert timed.spans[-1][1] > seconds(first) + seconds(second) + 0.2


def test_a_sentence_without_an_end_keeps_its_pause_before_the_next() -> None:
    voice = ESpeakVoice()
    library = _ESpeakLibrary.get()
    name, wpm, rate = voice.espeak_voice("id"), voice.words_per_minute, library.sample_rate
    heading, sentence = "Selamat datang di Pulau Penyengat", "Masjid ini dibina pada 1832."
    assert ended(heading) == heading + "."
    assert ended(sentence) == sentence
    assert ended("“Sudah?”") == "“Sudah?”"
    timed = voice.synthesize_sentences([heading, sentence], "id")
    alone = len(library.speak(heading + ".", name, wpm, end_pause=True).pcm) / 2 / rate
    # Read into the next sentence, the heading's span would be about 0.4 s short.
    assert timed.spans[0][1] == pytest.approx(alone, abs=SAME_LENGTH_S)


def test_a_sentence_espeak_says_no_word_of_is_timed_apart() -> None:
    words = [(0, 0), (8, 9000), (20, 30000)]  # (character, sample): no word in "---"
    sentences = ["Halo semua.", "---", "Mari berjalan."]
    assert sentence_starts(["Halo semua.", "Mari, kita berjalan."], words, 50000) == [0, 30000]
    assert sentence_starts(sentences, [(0, 0), (16, 30000)], 50000) is None
    timed = ESpeakVoice().synthesize_sentences(["Halo semua.", "…", "Mari berjalan."], "id")
    assert len(timed.spans) == 3
    assert all(a[1] == b[0] for a, b in itertools.pairwise(timed.spans))
    assert 0 <= mp3_length(timed.mp3) - timed.spans[-1][1] < 0.15


def test_gtts_pieces_are_joined_frame_by_frame_and_timed_by_their_frames(
    google: responses.RequestsMock,
) -> None:
    voice = ESpeakVoice()
    first = voice.synthesize("Selamat datang.", "id")
    second = voice.synthesize("Ini Pulau Penyengat, pulau kecil di depan Tanjungpinang.", "id")
    # Google answers may carry an ID3 tag; a tag must not end up inside the joined stream.
    tagged = b"ID3\x04\x00\x00\x00\x00\x00\x05" + b"\x00" * 5 + second
    google.add(responses.POST, GTTS_URL, body=google_response(first))
    google.add(responses.POST, GTTS_URL, body=google_response(tagged))
    timed = GoogleVoice().synthesize_sentences(["Selamat datang.", "Ini Pulau Penyengat."], "id")
    assert len(google.calls) == 2
    frames = [mp3_frames(first), mp3_frames(second)]
    assert timed.mp3 == first + second
    assert b"ID3" not in timed.mp3
    rate = frames[0].sample_rate
    assert timed.spans == (
        (0.0, frames[0].samples / rate),
        (frames[0].samples / rate, (frames[0].samples + frames[1].samples) / rate),
    )
    # Exact by construction: mutagen reads the joined file's length as the last span's end.
    assert mp3_length(timed.mp3) == pytest.approx(timed.spans[-1][1], abs=1e-6)


def test_joining_a_damaged_piece_is_one_clear_error() -> None:
    good = ESpeakVoice().synthesize("Halo.", "id")
    with pytest.raises(Exception, match=r"not a valid MP3 at byte \d+"):
        join_mp3([good, good[:100] + b"garbage" * 10])


# --- captions of the bundled tour --------------------------------------------------------


@pytest.fixture(scope="module")
def bundled_media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The whole bundled tour narrated by the real offline voice, once for this module."""
    media = tmp_path_factory.mktemp("captions") / "media"
    with narrated(bundled_stops_dir(), media):
        report = build_narration(TOUR, media, ESpeakVoice())
        assert report.ok, report.failed
    return media


def test_bundled_captions_are_ordered_whole_and_end_with_the_mp3(bundled_media: Path) -> None:
    manifest = load_manifest(bundled_media)
    folder = audio_dir(bundled_media)
    errors = []
    for stop in TOUR.stops:
        for lang in TOUR.languages:
            entry = manifest.entries[(stop.id, lang)]
            assert entry.captions == entry.file.removesuffix(".mp3") + ".vtt"
            cues = parse_webvtt((folder / entry.captions).read_text("utf-8"))
            assert [cue.number for cue in cues] == list(range(1, len(cues) + 1))
            assert cues[0].start_s == 0
            for cue, following in itertools.pairwise(cues):
                assert cue.start_s < cue.end_s <= following.start_s  # in order, no overlap
            # The cue text, joined, is the written transcript.
            space = word_space(lang)
            written = space.join(stop.paragraphs(lang))
            assert space.join(cue.text for cue in cues) == written
            error = abs(mp3_length((folder / entry.file).read_bytes()) - cues[-1].end_s)
            errors.append(error)
    assert len(errors) == len(TOUR.stops) * len(TOUR.languages)
    assert max(errors) <= 0.3


def test_spoken_text_is_spoken_and_written_text_is_captioned(
    small_tour: Path, tmp_path: Path
) -> None:
    # Two written sentences, and a [spoken] text of two sentences in other words.
    path = small_tour / "alpha.toml"
    path.write_text(
        path.read_text("utf-8").replace(
            "Text about alpha.", "Text about alpha. It has a second sentence."
        )
        + '\n[spoken]\nen = "Words said for alpha. Then more words are said."\n',
        "utf-8",
    )
    tour = load_tour(small_tour)
    stop = tour.stop_by_id("alpha")
    assert stop is not None
    voice = CountingVoice()
    media = tmp_path / "media"
    build_narration(tour, media, voice, stops=["alpha"], langs=["en"])
    assert voice.calls == [
        ("Words said for alpha.", "en"),
        ("Then more words are said.", "en"),
    ]
    entry = load_manifest(media).entries[("alpha", "en")]
    cues = parse_webvtt((audio_dir(media) / str(entry.captions)).read_text("utf-8"))
    assert [cue.text for cue in cues] == sentence_texts(stop.text["en"], "en")
    assert [cue.text for cue in cues] == ["Text about alpha.", "It has a second sentence."]


async def test_captions_are_served_like_the_audio_and_on_the_page(
    aiohttp_client: AiohttpClient, bundled_media: Path, tmp_path: Path
) -> None:
    settings = Settings(
        stops_dir=bundled_stops_dir(), media_dir=bundled_media, db_path=tmp_path / "t.db"
    )
    client: TestClient[Any, Any] = await aiohttp_client(create_app(settings))
    entry = load_manifest(bundled_media).entries[("masjid-raya", "zh")]
    url = f"/media/audio/{entry.captions}"
    response = await client.get(url)
    assert response.status == 200
    assert response.headers["Content-Type"] == "text/vtt; charset=utf-8"
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    body = await response.read()
    assert body == (audio_dir(bundled_media) / str(entry.captions)).read_bytes()
    # Only names the manifest lists: not another .vtt, not the manifest by a detour.
    for wrong in ("masjid-raya.zh.0000000000000000.vtt", "..%2Fmanifest.json"):
        assert (await client.get(f"/media/audio/{wrong}")).status == 404

    page = await (await client.get("/zh/masjid")).text()
    assert f'<track kind="captions" srclang="zh-Hans" label="字幕" src="{url}">' in page
    assert '<span data-cue="1">这就是Masjid Raya Sultan Riau（廖内苏丹大清真寺）。</span>' in page
    assert '<span data-cue="12">' in page
    assert '<span data-cue="13">' not in page
    tour = await (await client.get("/api/tour.json")).json()
    masjid = next(stop for stop in tour["stops"] if stop["id"] == "masjid-raya")
    assert masjid["audio"]["zh"]["captions"] == url
    worker = await (await client.get("/sw.js")).text()
    assert json.dumps(url) in worker  # the service worker keeps it with the narration


def test_captions_are_exported_byte_identical(bundled_media: Path, tmp_path: Path) -> None:
    out = tmp_path / "site"
    settings = Settings(stops_dir=bundled_stops_dir(), media_dir=bundled_media)
    export_site(settings, out)
    for entry in load_manifest(bundled_media).entries.values():
        assert entry.captions is not None
        exported = out / "media" / "audio" / entry.captions
        assert exported.read_bytes() == (audio_dir(bundled_media) / entry.captions).read_bytes()


# --- old manifests, and [spoken] texts that cannot be paired -----------------------------


@pytest.fixture
def version_1_media(small_tour: Path, tmp_path: Path) -> Path:
    """A build as a version 1 manifest describes it: one MP3 each, no captions."""
    media = tmp_path / "media"
    build_narration(load_tour(small_tour), media, CountingVoice())
    data = json.loads(manifest_path(media).read_text("utf-8"))
    data["version"] = 1
    tour = load_tour(small_tour)
    for stop_id, languages in data["entries"].items():
        for lang, values in languages.items():
            stop = tour.stop_by_id(stop_id)
            assert stop is not None
            digest = audio_hash(spoken_text(tour, stop, lang), lang, values["voice_settings"])
            old_name = audio_file_name(stop_id, lang, digest)
            shutil.move(audio_dir(media) / values["file"], audio_dir(media) / old_name)
            (audio_dir(media) / values.pop("captions")).unlink()
            values.update(file=old_name, hash=digest)
    manifest_path(media).write_text(json.dumps(data), "utf-8")
    return media


async def test_a_version_1_manifest_still_serves_then_is_rebuilt_with_captions(
    aiohttp_client: AiohttpClient, small_tour: Path, version_1_media: Path, tmp_path: Path
) -> None:
    old = load_manifest(version_1_media).entries[("alpha", "en")]
    assert old.captions is None
    settings = Settings(stops_dir=small_tour, media_dir=version_1_media, db_path=tmp_path / "d")
    client: TestClient[Any, Any] = await aiohttp_client(create_app(settings))
    page = await (await client.get("/en/alpha")).text()
    assert f'src="/media/audio/{old.file}"' in page  # still played, without captions
    assert "<track" not in page
    assert "<span data-cue" not in page

    builder = NarrationBuilder(load_tour(small_tour), version_1_media, CountingVoice())
    report = await builder.build()
    assert sorted(report.built) == ["alpha [en]", "alpha [id]", "beta [en]", "beta [id]"]
    assert old.file in report.removed
    rebuilt = load_manifest(version_1_media).entries[("alpha", "en")]
    assert rebuilt.captions is not None
    assert (audio_dir(version_1_media) / rebuilt.captions).is_file()


def test_check_flags_a_spoken_text_with_another_sentence_count(small_tour: Path) -> None:
    path = small_tour / "alpha.toml"
    path.write_text(
        path.read_text("utf-8") + '\n[spoken]\nen = "Spoken alpha. In two sentences."\n', "utf-8"
    )
    tour, problems = check_tour(small_tour)
    assert tour is None
    assert [str(problem) for problem in problems] == [
        f"{display_path(path)}:21: spoken.en: 2 sentences, but text.en has 1; the captions "
        "pair them in order, so split or join spoken sentences until it has 1 too"
    ]


def test_webvtt_escapes_markup_and_round_trips() -> None:
    cues = [Cue(1, 0.0, 1.5, "A & B <c> --> d"), Cue(2, 1.5, 3661.0, "Dua.")]
    text = to_webvtt(cues)
    assert text == (
        "WEBVTT\n\n1\n00:00:00.000 --> 00:00:01.500\nA &amp; B &lt;c&gt; --&gt; d\n\n"
        "2\n00:00:01.500 --> 01:01:01.000\nDua.\n"
    )
    assert parse_webvtt(text) == cues


# --- the read-along in Chromium ----------------------------------------------------------


def tab_stops(page: Page) -> list[str]:
    """The numbers of the transcript's sentences that are in the tab order."""
    stops: list[str] = page.evaluate(
        "[...document.querySelectorAll('.transcript [data-cue]')]"
        ".filter(s => s.tabIndex === 0).map(s => s.dataset.cue)"
    )
    return stops


def focused_cue(page: Page) -> str | None:
    cue: str | None = page.evaluate("document.activeElement.dataset.cue ?? null")
    return cue


def test_the_transcript_is_one_tab_stop_with_a_hint_before_any_play(
    phone: Watched, server: str
) -> None:
    page = phone.page()
    page.goto(f"{server}/en/masjid")
    page.wait_for_load_state("networkidle")
    captions = page.locator("audio track").get_attribute("src")
    assert captions is not None
    assert tab_stops(page) == ["1"]
    first = page.locator('.transcript [data-cue="1"]')
    expect(first).to_have_accessible_description(TOUR.ui["en"]["read_along_hint"])
    assert not [url for url in phone.requests if url.endswith(captions)]

    # Tab from the top of the page reaches the first sentence; focus there fetches the timings.
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("!!document.activeElement.closest('.transcript')"):
            break
    assert focused_cue(page) == "1"
    page.wait_for_function(
        "() => document.querySelectorAll('.transcript [data-start]').length === 13"
    )
    assert [url for url in phone.requests if url.endswith(captions)]

    # Arrows move the one tab stop; Enter plays from the sentence focused.
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    assert focused_cue(page) == "3"
    assert tab_stops(page) == ["3"]
    page.keyboard.press("Enter")
    start = float(page.locator('.transcript [data-cue="3"]').get_attribute("data-start") or "")
    page.wait_for_function(
        "(start) => document.querySelector('audio').currentTime >= start"
        " && document.querySelector(\"[data-cue='3'][aria-current=true]\")",
        arg=start,
    )
    page.evaluate("document.querySelector('audio').pause()")

    # The narration lighting another sentence leaves the focused one the tab stop...
    seek = "(cue) => { const a = document.querySelector('audio'); a.currentTime ="
    seek += " Number(document.querySelector(`[data-cue='${cue}']`).dataset.start); }"
    lit = "(cue) => document.querySelector(`[data-cue='${cue}'][aria-current=true]`)"
    page.evaluate(seek, "5")
    page.wait_for_function(lit, arg="5")
    assert tab_stops(page) == ["3"]
    # ...and once focus has left the transcript, the lit sentence is.
    page.keyboard.press("Tab")
    assert focused_cue(page) is None
    page.evaluate(seek, "6")
    page.wait_for_function(lit, arg="6")
    assert tab_stops(page) == ["6"]


def test_the_save_button_counts_narration_and_captions() -> None:
    tour = load_tour(bundled_stops_dir())
    audio = {
        (stop.id, "en"): AudioLink(
            url=f"/media/audio/{stop.id}.en.0123456789abcdef.mp3",
            duration="1:00",
            size=100_000,
            captions=f"/media/audio/{stop.id}.en.0123456789abcdef.vtt",
            captions_size=50_000,
        )
        for stop in tour.stops
    }
    pages = render_pages(tour, PATH_LINKS, audio)
    index = pages.indexes["en"].body.decode("utf-8")
    total = len(tour.stops) * 150_000  # each narration and its captions
    assert f"({total / 1_000_000:.1f} MB)</button>" in index
