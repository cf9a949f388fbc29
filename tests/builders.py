"""One way for tests to build what the transcriber hands on: an utterance and its transcript."""

from __future__ import annotations

import numpy as np

from pipeline.events import Transcript, Utterance


def said(text: str, speaker: str = "unknown", uid: int = 0, start: float | None = None, seconds: float = 3.0,
         final: bool = True, revision: int = 0, audio: np.ndarray | None = None) -> Transcript:
    """A transcript of `text` for utterance `uid`, by default starting at `uid * 5` s of audio time.

    `audio`: the samples (default: `seconds` of silence would cost memory; a short zero array stands in).
    """
    begin = uid * 5.0 if start is None else start
    samples = np.zeros(160, np.float32) if audio is None else audio
    return Transcript(Utterance(uid, speaker, begin, begin + seconds, samples, final=final), text, revision=revision)
