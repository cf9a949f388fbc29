"""Which language Whisper hears: a fixed one (`en`, `it`) or `auto`, detected once per speaker.

One rule, one place: the languages s2q hears, the Whisper model each one needs by default
(English: the bundled tiny.en; Italian and auto: multilingual Whisper base, the `base` extra)
and how `auto` decides. Detection reads the speaker's first utterance of at least
`min_detect_s` seconds (a shorter one is decoded in its best guess, which is not kept), over a
window fitted to the utterance, and chooses among `LANGUAGES` only: an Italian espeak voice
that Whisper finds "Spanish-like" is still Italian, the one of the two it can be.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from pipeline.audio import SAMPLE_RATE
from pipeline.errors import S2QError

if TYPE_CHECKING:  # numpy only when audio is decoded: the command line imports CHOICES
    import numpy as np

LANGUAGES = ("en", "it")  # what the banks and the models cover
AUTO = "auto"
CHOICES = (*LANGUAGES, AUTO)
DEFAULT_MODEL = {"en": "tiny.en", "it": "base", AUTO: "base"}  # the `base` extra: multilingual Whisper base


def check_language(language: str) -> str:
    """The language, or one readable error line."""
    if language not in CHOICES:
        raise S2QError(f"unknown language {language!r}: expected one of {', '.join(CHOICES)}")
    return language


def model_for(language: str, model: str = "") -> str:
    """The Whisper model to use: the one asked for, else the language's default."""
    return model or DEFAULT_MODEL[check_language(language)]


def check_model_hears(language: str, model_name: str, multilingual: bool) -> None:
    """An English-only model (tiny.en, base.en) cannot hear another language or detect one."""
    if language != "en" and not multilingual:
        raise S2QError(f"Whisper model {model_name!r} hears English only; --language {language} needs a "
                       f"multilingual model, e.g. --model {DEFAULT_MODEL[language]} (pip install -e '.[base]')")


@dataclass(frozen=True)
class Detected:
    """`auto`: the language heard for a speaker, and Whisper's probability for it among `LANGUAGES`."""

    speaker: str
    language: str
    probability: float


class SpeakerLanguages:
    """Each speaker's language under `auto`, detected once from their first seconds of speech."""

    def __init__(self, min_detect_s: float = 1.5, candidates: tuple[str, ...] = LANGUAGES) -> None:
        self.min_detect_s = min_detect_s
        self.candidates = candidates
        self.known: dict[str, Detected] = {}

    def language(self, model, speaker: str, audio: np.ndarray, commit: bool) -> tuple[str, Detected | None]:
        """The speaker's language, and the detection when this call made it (to be recorded once).

        `commit`: the utterance is a final one (not a partial or a guess), so a detection from
        enough audio is kept for the speaker."""
        if speaker in self.known:
            return self.known[speaker].language, None
        detected = Detected(speaker, *detect(model, audio, self.candidates))
        if commit and len(audio) / SAMPLE_RATE >= self.min_detect_s:
            self.known[speaker] = detected
            return detected.language, detected
        return detected.language, None

    def clear(self) -> None:
        self.known.clear()


def detect(model, audio: np.ndarray, candidates: tuple[str, ...] = LANGUAGES, pad_s: float = 1.0,
           min_window_s: float = 3.0) -> tuple[str, float]:
    """The most likely of `candidates` for `audio` (16 kHz mono) and its probability among them,
    from one encoder pass over a window fitted to the audio (faster-whisper's own detection always
    encodes 30 s). `model`: a faster-whisper WhisperModel with a multilingual model."""
    import ctranslate2
    import numpy as np

    window = max(len(audio) / SAMPLE_RATE + pad_s, min_window_s)
    padded = np.zeros(int(window * SAMPLE_RATE), np.float32)
    padded[: len(audio)] = audio[: len(padded)]
    features = model.feature_extractor(padded, padding=0)
    frames = features.shape[-1] - (features.shape[-1] % 2)
    encoded = model.model.encode(ctranslate2.StorageView.from_array(
        np.ascontiguousarray(features[None, :, :frames])))
    scores = {token[2:-2]: p for token, p in model.model.detect_language(encoded)[0]}
    probs = {c: float(scores.get(c, 0.0)) for c in candidates}
    best = max(probs, key=probs.get)
    total = sum(probs.values()) or 1.0
    return best, round(probs[best] / total, 3)


def mismatch(role_id: str, role_language: str, language: str) -> str | None:
    """A one-line note when the bank is written in another language than the one Whisper is told to
    hear (`auto` matches any): the session runs, but nothing it hears will match the bank."""
    if language in (AUTO, role_language):
        return None
    return (f"role {role_id} is written in {role_language} but Whisper is told to hear {language}: "
            f"nothing said will match its questions or alerts; use --language {role_language} or auto")
