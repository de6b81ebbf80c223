"""A build's syntheses: Google's sentences in parallel within two requests, retried one by
one; eSpeak in worker processes that end with the build, failures reported per item."""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import pickle
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import responses
from requests import PreparedRequest

from tour.catalog import load_tour
from tour.voice.manifest import audio_dir, load_manifest
from tour.voice.narration import NarrationBuilder, build_narration
from tour.voice.speech import ESpeakVoice, GoogleVoice, SpeechError, TimedAudio, mp3_frames
from tour.voice.synthesis import RetryPolicy, single

from .test_narration import assert_consistent, edit
from .test_speech import GTTS_URL, google_response
from .voices import FailingForBeta

NO_WAIT = RetryPolicy(attempts=3, base_delay_s=0.0)
SENTENCES = {
    "alpha": ["One about alpha.", "Two about alpha.", "Three about alpha."],
    "beta": ["One about beta.", "Two about beta.", "Three about beta."],
}
ANSWER_DELAY_S = 0.05
"""Long enough for requests sent together to overlap in the fake Google."""


def three_sentence_tour(stops: Path) -> Path:
    for code, sentences in SENTENCES.items():
        edit(stops / f"{code}.toml", f"Text about {code}.", " ".join(sentences))
    return stops


def asked_text(request: PreparedRequest) -> str:
    """The text of one batchexecute request, as gTTS sends it."""
    return urllib.parse.unquote(str(request.body))


def no_children_left() -> bool:
    for child in multiprocessing.active_children():
        child.join(timeout=30)  # a cancelled synthesis ends on its own, then its process
    return multiprocessing.active_children() == []


def test_google_sentences_go_out_together_two_at_a_time_and_retry_alone(
    small_tour: Path, tmp_path: Path
) -> None:
    tour = load_tour(three_sentence_tour(small_tour))
    voice = ESpeakVoice()
    # Each sentence answered with its own audio, so the join's order shows in the bytes.
    audio = {s: voice.synthesize(s, "en") for sentences in SENTENCES.values() for s in sentences}
    asked: Counter[str] = Counter()
    in_flight: list[str] = []
    most_in_flight = 0
    one_narration_together = False
    lock = threading.Lock()

    def answer(request: PreparedRequest) -> tuple[int, dict[str, str], str]:
        nonlocal most_in_flight, one_narration_together
        sentence = next(s for s in audio if s.removesuffix(".") in asked_text(request))
        stop = sentence.split()[-1]
        with lock:
            asked[sentence] += 1
            one_narration_together |= any(other.endswith(stop) for other in in_flight)
            in_flight.append(sentence)
            most_in_flight = max(most_in_flight, len(in_flight))
            first_ask = asked[sentence] == 1
        time.sleep(ANSWER_DELAY_S)
        with lock:
            in_flight.remove(sentence)
        if sentence == "Two about alpha." and first_ask:
            return 429, {}, "slow down"
        return 200, {}, google_response(audio[sentence])

    lines: list[str] = []
    with responses.RequestsMock() as google:
        google.add_callback(responses.POST, GTTS_URL, callback=answer)
        report = build_narration(
            tour, tmp_path, GoogleVoice(), langs=["en"], retry=NO_WAIT, progress=lines.append
        )
    assert report.ok, report.failed
    assert sorted(report.built) == ["alpha [en]", "beta [en]"]
    # Only the sentence answered 429 was asked again; the narration was not.
    assert asked == {s: 2 if s == "Two about alpha." else 1 for s in audio}
    assert "retry alpha [en], sentence 2 in 0.0 s: Google TTS: 429 (Too Many Requests)" in (
        line.split(" from TTS API")[0] for line in lines
    )
    assert most_in_flight == 2  # never more than two requests at once, over the build
    assert one_narration_together  # two sentences of one narration were asked at once
    manifest = load_manifest(tmp_path)
    for code, sentences in SENTENCES.items():
        joined = (audio_dir(tmp_path) / manifest.entries[(code, "en")].file).read_bytes()
        assert joined == b"".join(mp3_frames(audio[s]).data for s in sentences)
    assert_consistent(tmp_path)


def test_a_google_sentence_that_keeps_failing_fails_its_narration_only(
    small_tour: Path, tmp_path: Path
) -> None:
    tour = load_tour(three_sentence_tour(small_tour))
    mp3 = ESpeakVoice().synthesize("Halo.", "en")

    def answer(request: PreparedRequest) -> tuple[int, dict[str, str], str]:
        if "Three about beta" in asked_text(request):
            return 503, {}, "unavailable"
        return 200, {}, google_response(mp3)

    with responses.RequestsMock() as google:
        google.add_callback(responses.POST, GTTS_URL, callback=answer)
        report = build_narration(tour, tmp_path, GoogleVoice(), langs=["en"], retry=NO_WAIT)
        beta_three = [c for c in google.calls if "Three about beta" in asked_text(c.request)]
    assert report.built == ["alpha [en]"]
    [(label, reason)] = report.failed
    assert label == "beta [en]"
    assert reason.startswith("Google TTS: 503 (Service Unavailable)")
    assert len(beta_three) == NO_WAIT.attempts


def test_espeak_speaks_in_worker_processes_that_end_with_the_build(
    small_tour: Path, tmp_path: Path
) -> None:
    children_while_building: list[int] = []

    def note(line: str) -> None:
        if line.startswith("built "):
            children_while_building.append(len(multiprocessing.active_children()))

    assert multiprocessing.active_children() == []
    report = build_narration(load_tour(small_tour), tmp_path, ESpeakVoice(), progress=note)
    assert report.ok, report.failed
    assert len(report.built) == 4
    assert children_while_building
    assert min(children_while_building) >= 1
    assert max(children_while_building) <= 2  # the voice's concurrency: two processes
    assert multiprocessing.active_children() == []  # shut down, not left to the exit
    assert_consistent(tmp_path)
    # Nothing to do: no process is started at all.
    again = build_narration(load_tour(small_tour), tmp_path, ESpeakVoice(), progress=note)
    assert again.built == []
    assert len(again.kept) == 4
    assert len(children_while_building) == 4
    # One narration: spoken in a thread of this process, as a draft one listens to.
    one = build_narration(
        load_tour(small_tour), tmp_path, ESpeakVoice(), stops=["beta"], langs=["id"],
        force=True, progress=note,
    )  # fmt: skip
    assert one.built == ["beta [id]"]
    assert children_while_building[4:] == [0]


def test_a_synthesis_failing_in_a_worker_process_fails_its_item_only(
    small_tour: Path, tmp_path: Path
) -> None:
    lines: list[str] = []
    report = build_narration(
        load_tour(small_tour), tmp_path, FailingForBeta(), retry=NO_WAIT, progress=lines.append
    )
    assert sorted(report.built) == ["alpha [en]", "alpha [id]"]
    assert sorted(report.failed) == [
        ("beta [en]", "eSpeak NG refused beta's text"),
        ("beta [id]", "eSpeak NG refused beta's text"),
    ]
    # Raised in the worker, the error kept its retriable flag: it was tried again.
    assert sum(line.startswith("retry beta [en] in 0.0 s") for line in lines) == 2
    assert no_children_left()


def test_a_speech_error_crosses_processes_whole() -> None:
    error = pickle.loads(pickle.dumps(SpeechError("busy", retriable=True)))
    assert isinstance(error, SpeechError)
    assert (str(error), error.retriable) == ("busy", True)


def test_a_cancelled_espeak_build_leaves_no_process(small_tour: Path, tmp_path: Path) -> None:
    async def cancel_after_the_first_item() -> None:
        built = asyncio.Event()
        builder = NarrationBuilder(
            load_tour(small_tour), tmp_path, ESpeakVoice(), progress=lambda _: built.set()
        )
        build = asyncio.create_task(builder.build())
        await built.wait()
        build.cancel()
        await asyncio.wait([build])
        assert build.cancelled()

    asyncio.run(cancel_after_the_first_item())
    assert no_children_left()
    assert_consistent(tmp_path)


def test_sentences_refused_together_fail_their_narration_not_the_build() -> None:
    refused = [SpeechError("Google TTS: 403 (Forbidden)"), SpeechError("Google TTS: 400")]
    assert single(ExceptionGroup("sentences", refused)) is refused[0]
    nested = ExceptionGroup("sentences", [ExceptionGroup("inner", refused)])
    assert single(nested) is refused[0]
    fault = ValueError("a bug")
    mixed = ExceptionGroup("sentences", [refused[0], fault])
    assert single(mixed) is mixed  # a fault among them is raised as itself


@dataclass
class RefusingGoogle:
    """A Google voice refusing every sentence, two at once (both wait for each other)."""

    name: str = "gtts"
    concurrency: int = 2
    sentence_requests: bool = True
    worker_processes: bool = False
    together: threading.Barrier = field(default_factory=lambda: threading.Barrier(2, timeout=1))

    def settings(self, lang: str) -> str:
        return "refusing"

    def supports(self, lang: str) -> bool:
        return True

    def synthesize(self, text: str, lang: str) -> bytes:
        with contextlib.suppress(threading.BrokenBarrierError):
            self.together.wait()
        raise SpeechError("Google TTS: 403 (Forbidden)", retriable=False)

    def synthesize_sentences(self, sentences: Sequence[str], lang: str) -> TimedAudio:
        raise AssertionError("a Google voice is asked sentence by sentence")


def test_two_sentences_refused_at_once_fail_their_items_and_the_build_ends(
    small_tour: Path, tmp_path: Path
) -> None:
    tour = load_tour(three_sentence_tour(small_tour))
    once = RetryPolicy(attempts=1, base_delay_s=0.0)
    report = build_narration(tour, tmp_path, RefusingGoogle(), langs=["en"], retry=once)
    assert sorted(label for label, _ in report.failed) == ["alpha [en]", "beta [en]"]
    assert all(reason.startswith("Google TTS: 403") for _, reason in report.failed)
