"""The turn-end set as audio: each line of benchmarks/data/turn_end/turns.tsv spoken by several voices,
with the pause of an unfinished sentence put inside the sentence's own audio.

A line with `|` is spoken whole; Whisper's word timestamps (tiny.en, or multilingual base for
Italian) find where the bar's word ends, the cut moves to the quietest 10 ms nearby, and silence
of the pause length goes in there. The words before the pause keep the intonation of a sentence
that goes on; speaking the fragment alone would close it like a finished sentence. Clips are
cached under .cache/turn_end/ (the voices are deterministic, so a rerun hears the same audio).
"""

from __future__ import annotations

import csv
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipeline.audio import SAMPLE_RATE

ROOT = Path(__file__).resolve().parent
SET = ROOT / "data" / "turn_end" / "turns.tsv"
CACHE = ROOT.parent / ".cache" / "turn_end"
LEAD_S, TAIL_S = 0.5, 2.0  # silence before the speech and after it (the turn's end)
LOUD = 0.01  # |sample| above this is speech, for the clip's true speech bounds
# label -> (tts engine, voice name); English voices hear English lines, Italian voices Italian ones.
VOICES = {
    "en": {"espeak-en-us": ("espeak", "en-us"), "piper-joe": ("piper", ""), "kokoro-jf_alpha": ("kokoro", "jf_alpha"),
           "kokoro-jm_kumo": ("kokoro", "jm_kumo"), "festival-kal": ("festival", "kal_diphone")},
    "it": {"espeak-it+m3": ("espeak", "it+m3"), "espeak-it+f2": ("espeak", "it+f2"),
           "festival-lp": ("festival", "lp_diphone"), "festival-pc": ("festival", "pc_diphone")},
}


@dataclass
class Line:
    id: str
    lang: str
    before: str  # the words before the pause (all of a complete line)
    after: str  # the words after it ("" for a complete line)

    @property
    def complete(self) -> bool:
        return not self.after

    @property
    def text(self) -> str:
        return f"{self.before} {self.after}".strip()


@dataclass
class Clip:
    line: Line
    voice: str
    pause_s: float  # 0 for a complete line
    audio: np.ndarray  # 16 kHz float32: lead silence, speech (with the pause), tail silence
    speech_end_s: float  # last loud sample of the speech
    pause_at_s: float  # where the pause starts (the last loud sample before it); = speech_end_s if complete
    resume_s: float  # where speech resumes after the pause; = speech_end_s if complete


def read_set(path: Path = SET) -> list[Line]:
    with path.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    return [Line(r["id"], r["lang"], *(part.strip() for part in (r["text"].split("|") + [""])[:2])) for r in rows]


def _words(text: str) -> list[str]:
    return re.findall(r"[\w']+", text.lower())


class Cutter:
    """Where a line's pause goes in its whole-sentence audio, from Whisper's word timestamps."""

    def __init__(self) -> None:
        self._models: dict[str, object] = {}

    def _model(self, lang: str):
        if lang not in self._models:
            from faster_whisper import WhisperModel

            from pipeline.models import resolve_model

            name = "tiny.en" if lang == "en" else "base"
            self._models[lang] = WhisperModel(str(resolve_model(name)), device="cpu", compute_type="int8")
        return self._models[lang]

    def cut(self, audio: np.ndarray, line: Line) -> int | None:
        """The sample after the last word before the bar, or None when Whisper's words do not line up."""
        segments, _ = self._model(line.lang).transcribe(audio, language=line.lang, word_timestamps=True, beam_size=1,
                                                        condition_on_previous_text=False)
        heard = [(w, word.end) for s in segments for word in s.words or () for w in _words(word.word)[-1:]]
        k = len(_words(line.before))
        target = _words(line.before)[-1]
        near = [end for i, (w, end) in enumerate(heard) if w == target and abs(i - (k - 1)) <= 2]
        if not near:
            return None
        return _quietest(audio, int(near[0] * SAMPLE_RATE))


def _quietest(audio: np.ndarray, at: int, before_s: float = 0.06, after_s: float = 0.10) -> int:
    """The start of the quietest 10 ms stretch around `at` (a word's end as Whisper times it)."""
    step = SAMPLE_RATE // 100
    lo, hi = max(0, at - int(before_s * SAMPLE_RATE)), min(len(audio) - step, at + int(after_s * SAMPLE_RATE))
    starts = list(range(lo, max(lo + 1, hi), step // 2))
    return min(starts, key=lambda s: float(np.mean(audio[s:s + step] ** 2)))


def _loud_bounds(audio: np.ndarray) -> tuple[int, int]:
    loud = np.nonzero(np.abs(audio) > LOUD)[0]
    return int(loud[0]), int(loud[-1]) + 1


def speak(line: Line, engine: str, name: str) -> np.ndarray:
    """The whole line, trimmed to its loud part."""
    if engine == "festival" and line.lang == "it":
        from benchmarks.italian import voice  # Festival's Italian voices read Latin-1

        audio = voice(engine, name, line.text)
    else:
        from benchmarks.tts import synthesize

        audio = synthesize(line.text, engine, name)
    a, b = _loud_bounds(audio)
    return audio[a:b].astype(np.float32)


def make_clip(line: Line, voice: str, pause_s: float, cutter: Cutter) -> Clip | None:
    """One clip (cached); None when the pause cannot be placed (Whisper misheard the words around it)."""
    engine, name = VOICES[line.lang][voice]
    key = hashlib.sha1(f"{line.text}|{voice}|{pause_s}".encode()).hexdigest()[:16]
    cached = CACHE / f"{line.id}-{voice}-{int(pause_s * 1000)}-{key}.npz"
    if cached.exists():
        data = np.load(cached)
        return Clip(line, voice, pause_s, data["audio"], *map(float, data["marks"]))
    speech = speak(line, engine, name)
    lead, tail = np.zeros(int(LEAD_S * SAMPLE_RATE), np.float32), np.zeros(int(TAIL_S * SAMPLE_RATE), np.float32)
    if line.complete:
        audio = np.concatenate([lead, speech, tail])
        end = (len(lead) + len(speech)) / SAMPLE_RATE
        marks = (end, end, end)
    else:
        at = cutter.cut(speech, line)
        if at is None:
            return None
        first, rest = speech[:at], speech[at:]
        gap = np.zeros(int(pause_s * SAMPLE_RATE), np.float32)
        audio = np.concatenate([lead, first, gap, rest, tail])
        pause_at = (len(lead) + _loud_bounds(first)[1]) / SAMPLE_RATE
        resume = (len(lead) + len(first) + len(gap) + _loud_bounds(rest)[0]) / SAMPLE_RATE
        marks = ((len(lead) + len(speech) + len(gap)) / SAMPLE_RATE, pause_at, resume)
    CACHE.mkdir(parents=True, exist_ok=True)
    np.savez(cached, audio=audio, marks=np.array(marks))
    return Clip(line, voice, pause_s, audio, *marks)


def clips(pauses: tuple[float, ...], voices: list[str] | None = None, langs: tuple[str, ...] = ("en", "it"),
          log=print) -> tuple[list[Clip], list[str]]:
    """Every line by every voice of its language (incomplete lines once per pause), and what was skipped."""
    from benchmarks.tts import VoiceUnavailable

    cutter, out, skipped = Cutter(), [], []
    for line in read_set():
        if line.lang not in langs:
            continue
        for voice in VOICES[line.lang]:
            if voices and voice not in voices:
                continue
            for pause in ((0.0,) if line.complete else pauses):
                try:
                    clip = make_clip(line, voice, pause, cutter)
                except (VoiceUnavailable, OSError) as exc:
                    skipped.append(f"{voice}: {str(exc).splitlines()[0]}")
                    break
                if clip is None:
                    skipped.append(f"{line.id} {voice}: Whisper's words did not line up with the text")
                    break
                out.append(clip)
        log(f"  {line.id}: {sum(c.line is line for c in out)} clips")
    return out, sorted(set(skipped))
