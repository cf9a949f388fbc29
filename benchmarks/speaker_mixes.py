"""The speaker benchmark's evaluation set: mono mixes of two (or three) voices, with where each turn is.

- espeak-ng dialogs: the demo's script spoken by pairs of espeak voices (other voices than the
  demo's), with pauses between turns or back to back (`NO_PAUSE_S`: the turns arrive merged).
- a panel: the same, with every third interviewer turn in a third voice (`extra`: it must be kept
  apart as `speaker-3` / `interviewer-2`, not folded into the candidate).
- the demo recording re-timed: its turns cut out of the mono mix and joined back to back.
- real speakers: Debian's codec2-examples (amateur-radio recordings of real people, 8 kHz) and the
  Asterisk prompts (one real female voice), cut into turns at their quietest points and
  interleaved. They say nothing an interview bank knows, so their roles cannot come from text:
  they are scored by voice alone (see `benchmarks.speakers.voice_only`).
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import numpy as np

from pipeline.audio.voice_split import quietest
from pipeline.audio.voices import SAMPLE_RATE

GAP_S = 0.8  # pause between turns (the segmenter's hangover is 0.6 s)
NO_PAUSE_S = 0.15  # a turn change without a pause: below the segmenter's hangover, so turns merge
CODEC2 = Path("/usr/share/codec2")
ASTERISK = Path("/usr/share/asterisk/sounds/en")
# Real speakers, as (interviewer, candidate): a woman and a man; two men.
REAL_PAIRS = [("asterisk-allison", "codec2-ve9qrp"), ("codec2-david4", "codec2-vk2tpm_004")]


def read_mono(path: Path) -> np.ndarray:
    """Any file PyAV reads, mixed to mono 16 kHz float32 (what `replay` without `--channels` hears)."""
    import av

    with av.open(str(path)) as container:
        resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
        parts = [g.to_ndarray().reshape(-1) for f in container.decode(audio=0) for g in resampler.resample(f)]
    return np.concatenate(parts).astype(np.float32)


def speak(text: str, voice: str) -> np.ndarray:
    """One line by espeak-ng, at 16 kHz mono."""
    with tempfile.NamedTemporaryFile(suffix=".wav") as f:
        subprocess.run(["espeak-ng", "-v", voice, "-w", f.name, text], check=True, capture_output=True)
        return read_mono(Path(f.name))


def join_turns(turns: list[dict], audios: list[np.ndarray], gap_s: float) -> tuple[np.ndarray, list[dict]]:
    """Turns' audio joined with `gap_s` between them (0.5 s of silence first, 1 s last: the engine
    does not split the utterance still open when a file ends); turns with their spans."""
    parts, timed, t = [np.zeros(int(0.5 * SAMPLE_RATE), np.float32)], [], 0.5
    for turn, audio in zip(turns, audios):
        audio = _trim(audio)
        timed.append({**turn, "start": round(t, 3), "end": round(t + len(audio) / SAMPLE_RATE, 3)})
        parts += [audio, np.zeros(int(gap_s * SAMPLE_RATE), np.float32)]
        t += len(audio) / SAMPLE_RATE + gap_s
    parts.append(np.zeros(SAMPLE_RATE, np.float32))
    return 0.7 * np.concatenate(parts), timed


def _trim(audio: np.ndarray, floor_dbfs: float = -45.0) -> np.ndarray:
    """Leading and trailing silence cut (so a "no pause" gap is the only pause)."""
    frame = int(0.01 * SAMPLE_RATE)
    n = len(audio) // frame
    if n == 0:
        return audio
    level = 10 * np.log10(np.mean(audio[:n * frame].reshape(n, frame) ** 2, axis=1) + 1e-12)
    loud = np.flatnonzero(level > floor_dbfs + 20 * np.log10(max(float(np.abs(audio).max()), 1e-6)))
    if len(loud) == 0:
        return audio
    return audio[max(0, loud[0] - 2) * frame:(loud[-1] + 3) * frame]


def espeak_dialog(turns: list[dict], voices: dict[str, str], gap_s: float = GAP_S) -> tuple[np.ndarray, list[dict]]:
    """Each turn spoken by its speaker's espeak voice (`extra`: a third voice), joined into one mono track."""
    return join_turns(turns, [speak(t["text"], voices[t["speaker"]]) for t in turns], gap_s)


def panel_turns(turns: list[dict]) -> list[dict]:
    """The script with every third interviewer turn given to a second interviewer (`extra`)."""
    out, asked = [], 0
    for turn in turns:
        if turn["speaker"] == "interviewer":
            asked += 1
            if asked % 3 == 0:
                turn = {**turn, "speaker": "extra"}
        out.append(turn)
    return out


def retimed(audio: np.ndarray, turns: list[dict], gap_s: float) -> tuple[np.ndarray, list[dict]]:
    """A recording's turns (with spans) cut out and joined again `gap_s` apart."""
    clips = [audio[int(t["start"] * SAMPLE_RATE):int(t["end"] * SAMPLE_RATE)] for t in turns]
    return join_turns(turns, clips, gap_s)


def real_voice(name: str) -> np.ndarray:
    """All the speech of one real voice: a codec2 example file, or the Asterisk prompts joined."""
    if name.startswith("codec2-"):
        return read_mono(CODEC2 / "wav" / f"{name[len('codec2-'):]}.wav")
    clips = [_trim(read_mono(p)) for p in sorted(ASTERISK.glob("*.wav"))[:120]]
    gap = np.zeros(int(0.3 * SAMPLE_RATE), np.float32)
    return np.concatenate([np.concatenate([c, gap]) for c in clips if len(c) > 0.8 * SAMPLE_RATE])


def turns_of(audio: np.ndarray, lengths_s: list[float]) -> list[np.ndarray]:
    """Consecutive turns of about the given lengths, each cut at the quietest frame near its end."""
    out, at = [], 0
    for length in lengths_s:
        end = int(at + length * SAMPLE_RATE)
        if end >= len(audio) - SAMPLE_RATE:
            break
        cut = quietest(audio, end, 0.6, at, len(audio))
        out.append(audio[at:cut])
        at = cut
    return out


def real_dialog(interviewer: str, candidate: str, gap_s: float, seconds: float = 60.0, seed: int = 0,
                extra: str | None = None) -> tuple[np.ndarray, list[dict]]:
    """Two real voices taking turns of 2.5-8 s (volume levelled), about `seconds` of speech in all;
    with `extra`, a third voice takes every third interviewer turn (a panel)."""
    rng = np.random.default_rng(seed)
    lengths = list(rng.uniform(2.5, 8.0, 40))
    a = turns_of(real_voice(interviewer), lengths[0::2])
    b = turns_of(real_voice(candidate), lengths[1::2])
    c = iter(turns_of(real_voice(extra), lengths[0::2])) if extra else None
    turns, audios, total = [], [], 0.0
    for k, (x, y) in enumerate(zip(a, b)):
        first = ("extra", next(c)) if c is not None and k % 3 == 2 else ("interviewer", x)
        for speaker, clip in (first, ("candidate", y)):
            turns.append({"speaker": speaker, "text": ""})
            audios.append(clip / max(float(np.sqrt(np.mean(clip ** 2))), 1e-6) * 0.1)
            total += len(clip) / SAMPLE_RATE
        if total >= seconds:
            break
    audio, timed = join_turns(turns, audios, gap_s)
    return audio / max(1.0, float(np.abs(audio).max())), timed
