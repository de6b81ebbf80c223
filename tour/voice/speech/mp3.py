"""MP3 pieces: walk their frames, join them into one stream timed by its frames, encode PCM."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tour.voice.speech.base import SpeechError, TimedAudio, spans_from_lengths


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


def encode_mp3(pcm: bytes, sample_rate: int, bitrate_kbps: int) -> bytes:
    """Encode 16-bit mono PCM as a constant-bitrate MP3."""
    import lameenc

    encoder = lameenc.Encoder()
    encoder.set_bit_rate(bitrate_kbps)
    encoder.set_in_sample_rate(sample_rate)
    encoder.set_channels(1)
    encoder.set_quality(2)
    return bytes(encoder.encode(pcm) + encoder.flush())
