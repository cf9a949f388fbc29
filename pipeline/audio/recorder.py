"""Keeps the audio of a session, only when asked (`--save-audio`): one WAV per speaker.

Written as it arrives, so a crash keeps what was heard; the header is fixed
up on every flush, so the file is readable even if the process dies.
"""

from __future__ import annotations

import os
import wave
from pathlib import Path
from typing import Iterator

import numpy as np

from pipeline.audio import SAMPLE_RATE
from pipeline.audio.sources import AudioChunk, AudioSource


class WavTee:
    """Passes chunks through unchanged, writing each speaker's audio to `<stem>.<speaker>.wav`."""

    def __init__(self, source: AudioSource, stem: Path, flush_every_s: float = 5.0) -> None:
        self.source = source
        self.stem = Path(stem)
        self.flush_every = int(flush_every_s * SAMPLE_RATE)
        self.writers: dict[str, wave.Wave_write] = {}
        self.unflushed: dict[str, int] = {}

    @property
    def speakers(self) -> list[str]:
        return self.source.speakers

    def stop(self) -> None:
        self.source.stop()

    def _writer(self, speaker: str) -> wave.Wave_write:
        if speaker not in self.writers:
            path = self.stem.parent / f"{self.stem.name}.{speaker}.wav"
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            w = wave.open(os.fdopen(fd, "wb"), "wb")
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(SAMPLE_RATE)
            self.writers[speaker] = w
            self.unflushed[speaker] = 0
        return self.writers[speaker]

    def __iter__(self) -> Iterator[AudioChunk]:
        try:
            for chunk in self.source:
                w = self._writer(chunk.speaker)
                w.writeframes((np.clip(chunk.samples, -1, 1) * 32767).astype("<i2").tobytes())
                self.unflushed[chunk.speaker] += len(chunk.samples)
                if self.unflushed[chunk.speaker] >= self.flush_every:
                    w._patchheader()  # keep the header's length current
                    w._file.flush()
                    self.unflushed[chunk.speaker] = 0
                yield chunk
        finally:
            for w in self.writers.values():
                w.close()
