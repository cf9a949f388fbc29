"""Whether a decoded stretch carries speech: the gates a line passes before anyone reads it.

Whisper writes text for whatever it is given: silence ("Thank you."), noise, laughter ("He's so
good.", "Hahaha", "LAUGHTER"), a cough ("EH"), and the other side's voice leaking into this side's
microphone (cross-talk bleed, heard and transcribed word for word). Each gate here stops one of
them; `Transcriber` applies them to every decode, first pass and second.
Measured with `python -m benchmarks.nonspeech` (benchmarks/README.md, "Non-speech").
"""

from __future__ import annotations

import collections
import re
from dataclasses import dataclass

import numpy as np

from pipeline.audio import SAMPLE_RATE

# Phrases Whisper was trained on from video captions; said to a silent mic, they are noise.
HALLUCINATIONS = re.compile(
    r"thanks? (you )?for watching|please subscribe|like and subscribe|subscribe to (my|our|the) channel"
    r"|see you in the next video|subtitles by|captions by|transcribed by|amara\.org",
    re.IGNORECASE,
)
# Short fillers Whisper emits for noise; kept only when Whisper is sure speech is there.
FILLERS = {"you", "thank you", "thanks", "bye", "okay", "oh", "so", "uh", "um", "hmm", "the"}
# Laughter and sound tags as Whisper writes them: a line made only of these carries no words.
_SOUND_WORD = re.compile(
    r"^(?:(?:h+[aeou]+h*)+|(?:a+h*)+|e+h+|h+m+|m+(?:h?m+)*|u+h+|u+m+|e+r+m*|o+h+|w+o+|laugh\w*|chuckl\w*|giggl\w*"
    r"|music|applause|noise|silence|sigh\w*|cough\w*|breath\w*|inaudible|crosstalk)$"
)


@dataclass
class SpeechGates:
    """When a decoded segment is not taken as speech (Whisper's own figures, the text, the level).

    Attributes:
      no_speech_threshold, log_prob_threshold: a segment is silence when Whisper's no-speech
        probability is above the first and its mean log-probability below the second (Whisper's
        own rule; also its temperature fallback's thresholds on the 30 s path).
      min_avg_logprob: a segment whose mean token log-probability is below this is dropped
        whatever its no-speech probability: Whisper guessing words. Measured (2026-12-06): first-pass
        lines of real speech (radio_speech, 40 Asterisk clips, the demo; 154 lines) never went below
        -0.57; 15 of 21 lines written on real recorded laughter were below -1.0.
      unsure_languages: the languages `min_avg_logprob` was measured on. Multilingual Whisper base
        is less sure of itself: the Italian test sentence (tests/test_language.py) is dropped at -1.0,
        so other languages keep Whisper's own rule only.
      compression_ratio_threshold: text that compresses better than this is a loop (collapsed,
        and on the 30 s path decoded again warmer).
      min_rms_dbfs: quieter utterances are not sent to Whisper at all.
      sound_words: drop a line made only of laughter, interjections and sound tags ("Hahaha",
        "Heh heh", "Mm-", "LAUGHTER", "[Music]"): no words anyone needs to read or match.
      bleed_db: on a side's own channel (a known speaker, never a mixed source, where two voices
        may differ in level), an utterance whose voice level is this many dB below that speaker's
        usual level (median of their last `level_memory` lines) is the other side leaking into the
        microphone, not them: dropped. 0: off.
      level_memory: lines per speaker the usual level is taken from (at least 2 before it is used).
    """

    no_speech_threshold: float = 0.6
    log_prob_threshold: float = -1.0
    min_avg_logprob: float = -1.0
    unsure_languages: tuple[str, ...] = ("en",)
    compression_ratio_threshold: float = 2.4
    min_rms_dbfs: float = -45.0
    sound_words: bool = True
    bleed_db: float = 15.0
    level_memory: int = 8

    @classmethod
    def before_issue_25(cls) -> SpeechGates:
        """Whisper's own rule and the caption and filler guards only (no unsure-words, sound-words
        or bleed gate): the gates as they were, for side-by-side measurements."""
        return cls(min_avg_logprob=float("-inf"), sound_words=False, bleed_db=0.0)

    def segment_reason(self, text: str, no_speech_prob: float, avg_logprob: float,
                       language: str | None = "en") -> str | None:
        """Why a decoded segment is not speech, or None (it is kept); `language`: the one decoded in."""
        if no_speech_prob > self.no_speech_threshold and avg_logprob < self.log_prob_threshold:
            return "no speech"
        if avg_logprob < self.min_avg_logprob and language in self.unsure_languages:
            return "unsure words"
        if HALLUCINATIONS.search(text):
            return "caption hallucination"
        words = normal_words(text)
        if " ".join(words) in FILLERS and (no_speech_prob > 0.2 or avg_logprob < -0.7):
            return "filler on noise"
        if self.sound_words and is_sound(text):
            return "laughter or sounds"
        return None


def normal_words(text: str) -> list[str]:
    """Lower-case words with letters and apostrophes only (Latin-1 accented letters count)."""
    return re.sub(r"[^a-z\u00e0-\u00f6\u00f8-\u00ff' ]", " ", text.lower().replace("-", " ")).split()


def is_sound(text: str) -> bool:
    """Text made only of laughter, interjections and sound tags (no word of speech)."""
    words = normal_words(text)
    return bool(words) and all(_SOUND_WORD.match(w) for w in words)


def voice_level_dbfs(audio: np.ndarray, frame_s: float = 0.03) -> float:
    """The loud part's level: the 90th percentile of 30 ms frame RMS, in dBFS (pauses don't count)."""
    n = int(frame_s * SAMPLE_RATE)
    if len(audio) < n:
        return -120.0
    frames = audio[: len(audio) // n * n].reshape(-1, n)
    rms = np.sqrt(np.mean(frames * frames, axis=1))
    return float(20 * np.log10(np.percentile(rms, 90) + 1e-9))


class SpeakerLevels:
    """Each side's usual voice level on its own channel, from the lines it said (the bleed gate)."""

    def __init__(self, gates: SpeechGates) -> None:
        self.gates = gates
        self._levels: dict[str, collections.deque[float]] = {}

    def bleed(self, speaker: str, audio: np.ndarray) -> bool:
        """Whether this audio is far quieter than `speaker` usually is: the other side, leaking in."""
        usual = self._levels.get(speaker)
        if not self.gates.bleed_db or usual is None or len(usual) < 2:
            return False
        return voice_level_dbfs(audio) < float(np.median(usual)) - self.gates.bleed_db

    def heard(self, speaker: str, audio: np.ndarray) -> None:
        """A line `speaker` said (a final with text): part of their usual level."""
        self._levels.setdefault(speaker, collections.deque(maxlen=self.gates.level_memory)).append(
            voice_level_dbfs(audio))

    def clear(self) -> None:
        self._levels.clear()
