"""What the engine remembers between utterances: speculative guesses made during a pause, and
the last final transcript of each utterance (what a revision builds on)."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from pipeline.events import Speaker, Transcript, Utterance


@dataclass
class Guess:
    """A transcript made during the end-of-utterance pause, before the utterance was declared over."""

    text: str
    asr_ms: float | None = None
    audio_at: float = 0.0  # audio time at which the guess was offered (the benchmark's clock)


class Speculation:
    """Guesses keyed by (utterance id, audio length): a final utterance with the same audio reuses its text."""

    def __init__(self, keep_last: int = 8) -> None:
        self.keep_last = keep_last
        self._guesses: dict[tuple[int, int], Guess] = {}
        self.hits = 0

    def remember(self, utterance: Utterance, guess: Guess) -> None:
        self._guesses = {k: v for k, v in self._guesses.items() if k[0] >= utterance.id - self.keep_last}
        self._guesses[(utterance.id, len(utterance.audio))] = guess

    def take(self, utterance: Utterance) -> Guess | None:
        guess = self._guesses.pop((utterance.id, len(utterance.audio)), None)
        if guess is not None:
            self.hits += 1
        return guess


class Finals:
    """The last final transcript of each utterance, so a revision (better text, settled speaker)
    carries everything else over and gets the next revision number. Audio is kept only for the
    last `keep_audio` utterances (what a second pass may decode again)."""

    def __init__(self, keep_audio: int = 8) -> None:
        self.keep_audio = keep_audio
        self._latest: dict[int, Transcript] = {}

    def keep(self, transcript: Transcript) -> Transcript:
        """A final as first emitted, or again with a higher revision if the utterance was seen."""
        uid = transcript.utterance.id
        if uid in self._latest:
            transcript = replace(transcript, revision=self._latest[uid].revision + 1)
        self._latest[uid] = transcript
        old = uid - self.keep_audio
        if old in self._latest and len(self._latest[old].utterance.audio):
            self._latest[old] = replace(self._latest[old],
                                        utterance=replace(self._latest[old].utterance, audio=_NO_AUDIO))
        return transcript

    def get(self, utterance_id: int) -> Transcript | None:
        return self._latest.get(utterance_id)

    def revise(self, utterance_id: int, text: str | None = None, speaker: Speaker | None = None) -> Transcript | None:
        """The utterance again with new text and/or speaker; None if unknown or nothing changed."""
        last = self._latest.get(utterance_id)
        if last is None:
            return None
        text = last.text if text is None else text
        speaker = last.utterance.speaker if speaker is None else speaker
        if text == last.text and speaker == last.utterance.speaker:
            return None
        return self.keep(Transcript(utterance=replace(last.utterance, speaker=speaker), text=text,
                                    dropped_reason=last.dropped_reason))


_NO_AUDIO = np.zeros(0, np.float32)
