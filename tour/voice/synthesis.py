"""A build's way to its voice: worker threads or processes, a limit, retries with backoff.

eSpeak NG speaks a whole narration in one call, in worker processes: it keeps global
state, so one process can speak only one text at a time, and a fault in its C library
ends a worker, not `tour serve`. (Most of the time goes into encoding MP3, which lameenc
does without the GIL: two threads would be about as fast; the processes are for that
isolation.) Processes are spawned, never forked from a threaded asyncio server, and only
once there is something to speak; so a script that builds narration with eSpeak needs
the `if __name__ == "__main__":` guard that spawning asks for.

Google answers one request per sentence: a narration's sentences go out together, the
build's limit keeps it to two requests at once overall, and a passing failure (a 429)
retries that sentence alone.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import random
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from functools import partial
from typing import TypeVar

from tour.core.builds import Progress
from tour.voice.speech import SpeechError, TimedAudio, Voice, join_mp3

Synthesis = TypeVar("Synthesis", bytes, TimedAudio)
PARENT_CHECK_S = 0.5
"""How often a worker process looks whether the build's process still exists."""


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff for passing failures (HTTP 429, 5xx, lost connections)."""

    attempts: int = 4
    base_delay_s: float = 1.0
    max_delay_s: float = 20.0

    def delay(self, attempt: int) -> float:
        delay = min(self.max_delay_s, self.base_delay_s * 2.0**attempt)
        return delay + random.uniform(0, self.base_delay_s)  # jitter: spread out retries


def single(failure: ExceptionGroup) -> BaseException:
    """Return the exception to raise for a group: its one exception; when every one is a
    SpeechError (sentences refused together), the first, so the narration fails and the
    build goes on; else the group, a fault raised as itself."""
    refused, faults = failure.split(SpeechError)
    if refused is not None and faults is None:
        first: BaseException = refused
        while isinstance(first, BaseExceptionGroup):
            first = first.exceptions[0]
        return first
    if len(failure.exceptions) == 1 and not isinstance(failure.exceptions[0], ExceptionGroup):
        return failure.exceptions[0]
    return failure


def voice_workers(voice: Voice, pending: int) -> Executor:
    """Return the executor for a build with `pending` narrations: threads, or processes.

    Both start their threads or processes as work is submitted, up to the voice's
    concurrency. A single narration (a staff member listening to a draft, say) is
    spoken in a thread of this process: a second process would only cost its start.
    """
    count = max(1, voice.concurrency)
    if voice.worker_processes and pending > 1:
        return ProcessPoolExecutor(
            count,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=follow_parent,
            initargs=(os.getpid(),),
        )
    return ThreadPoolExecutor(count)


def follow_parent(parent: int) -> None:
    """In a worker process: exit once the build's process is gone, killed say.

    A spawned worker holds both ends of its task queue, so it would never see the end
    of its work and would wait for ever.
    """

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_CHECK_S)
        os._exit(1)

    threading.Thread(target=watch, name="follow-parent", daemon=True).start()


class Speaker:
    """Speak the narrations of one build through its voice; close it when the build ends."""

    def __init__(self, voice: Voice, pending: int, retry: RetryPolicy, progress: Progress) -> None:
        self.voice = voice
        self.retry = retry
        self.progress = progress
        self._workers = voice_workers(voice, pending)
        self._limit = asyncio.Semaphore(max(1, voice.concurrency))

    async def close(self) -> None:
        """Stop the workers once every synthesis has ended: processes exit at once."""
        await asyncio.to_thread(self._workers.shutdown)

    def abandon(self) -> None:
        """Give the event loop back at once, as when the build is cancelled.

        A synthesis still running in a thread or worker process ends on its own (the
        process then exits), and nothing is left to use its result.
        """
        self._workers.shutdown(wait=False, cancel_futures=True)

    async def speak(self, label: str, sentences: Sequence[str], lang: str) -> TimedAudio:
        """Speak a narration: in one synthesis, or in one per sentence, joined."""
        voice = self.voice
        if not voice.sentence_requests:
            whole = partial(voice.synthesize_sentences, sentences, lang)
            return await self._with_retries(label, whole)
        calls = [partial(voice.synthesize, sentence, lang) for sentence in sentences]
        labels = [f"{label}, sentence {n}" for n in range(1, len(calls) + 1)]
        if len(calls) == 1:
            labels = [label]
        try:
            async with asyncio.TaskGroup() as group:
                answers = [
                    group.create_task(self._with_retries(name, call))
                    for name, call in zip(labels, calls, strict=True)
                ]
        except ExceptionGroup as failure:
            raise single(failure) from None
        return await asyncio.to_thread(join_mp3, [answer.result() for answer in answers])

    async def _with_retries(self, label: str, call: Callable[[], Synthesis]) -> Synthesis:
        """Run one synthesis, trying a passing failure again after a backoff.

        The slot is kept while backing off: the voice asked to slow down, and so does
        the build as a whole.
        """
        loop = asyncio.get_running_loop()
        attempt = 0
        async with self._limit:
            while True:
                try:
                    return await loop.run_in_executor(self._workers, call)
                except BrokenProcessPool as error:
                    raise SpeechError(f"the voice's worker process stopped ({error})") from None
                except SpeechError as error:
                    attempt += 1
                    if not error.retriable or attempt >= self.retry.attempts:
                        raise
                    delay = self.retry.delay(attempt - 1)
                    self.progress(f"retry {label} in {delay:.1f} s: {error}")
                    await asyncio.sleep(delay)
