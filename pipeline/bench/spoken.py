"""Spoken questions through the whole audio path: does a spoken compliance question raise its alert?

Every compliance example of the role's bank, and a sample of its lawful questions (the
compliance entries' negative examples and every `LAWFUL_EVERY`-th bank question), are voiced
by several voices (espeak-ng; Festival's kal, ked and slt voices; Piper's neural joe voice; Kokoro-82M's five voices, Japanese-accented
English; see `pipeline.bench.tts`) at normal and fast rates, some mixed with noise at 10-20 dB
SNR, then cut by the segmenter, transcribed and matched like live audio. Synthesised audio
is cached, so a rerun only pays for the pipeline.

    python -m pipeline.bench.spoken              # detection rate per voice, alerts on lawful questions
    python -m pipeline.bench.spoken --engines espeak   # only the voices that are installed / wanted

Voices whose engine is not installed (Festival: tools/install-system-deps.sh; Piper, Kokoro:
`pip install -e '.[spoken-voices]'`) are left out with a note.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipeline.audio import SAMPLE_RATE

CACHE = Path.home() / ".cache" / "s2q" / "spoken"
LAWFUL_EVERY = 4  # one bank question in this many is voiced as a lawful question
SPEAKER = "interviewer"


@dataclass(frozen=True)
class Voice:
    """Attributes:
      name: espeak-ng voice (`en-us`, `en-gb`, `en+f3`, ...), Festival voice (`kal_diphone`, ...),
        Kokoro voice (`jf_alpha`, ...), Piper `joe`.
      rate: words per minute, espeak only (its default is 175).
      snr_db: white noise mixed in at this signal-to-noise ratio; None for clean audio.
      engine: `espeak`, `festival`, `piper` or `kokoro` (`pipeline.bench.tts`).
      speed: the neural voices' speaking rate (1.0 is the voice's own; 1.25 is fast).
    """

    name: str
    rate: int = 175
    snr_db: float | None = None
    engine: str = "espeak"
    speed: float = 1.0

    @property
    def label(self) -> str:
        noise = "" if self.snr_db is None else f"+noise{self.snr_db:g}dB"
        if self.engine == "espeak":
            return f"{self.name}@{self.rate}{noise}"  # the labels recorded before other engines existed
        return f"{self.engine}:{self.name}@{self.speed:g}x{noise}"


VOICES = (
    Voice("en-us"), Voice("en-gb", 230), Voice("en+f3"), Voice("en-us+m3", 230, 15.0),
    Voice("en-gb-scotland"), Voice("en+f2", 230), Voice("en-us", 175, 10.0), Voice("en-gb-x-rp", 175, 20.0),
    Voice("kal_diphone", engine="festival"), Voice("ked_diphone", engine="festival", speed=1.25, snr_db=15.0),
    Voice("cmu_us_slt_arctic_hts", engine="festival"), Voice("cmu_us_slt_arctic_hts", engine="festival", speed=1.25),
    Voice("joe", engine="piper"), Voice("joe", engine="piper", speed=1.25, snr_db=15.0),
    Voice("joe", engine="piper", snr_db=10.0),
    Voice("jf_alpha", engine="kokoro"), Voice("jm_kumo", engine="kokoro", speed=1.25),
    Voice("jf_nezumi", engine="kokoro", snr_db=10.0), Voice("jf_gongitsune", engine="kokoro", speed=1.25, snr_db=20.0),
    Voice("jf_tebukuro", engine="kokoro"),
)


@dataclass
class SpokenItem:
    text: str
    label: str  # the compliance id that must fire, or "" for a lawful question
    voice: Voice


def available_voices(engines: tuple[str, ...] | None = None) -> tuple[tuple[Voice, ...], list[str]]:
    """The voices of VOICES whose engine is wanted and installed, and a note for each one left out."""
    from pipeline.bench import tts

    voices, notes = [], []
    for voice in VOICES:
        if engines is not None and voice.engine not in engines:
            continue
        try:
            tts.synthesize("ready", voice.engine, voice.name)
        except (tts.VoiceUnavailable, FileNotFoundError, OSError) as exc:
            notes.append(f"{voice.label} left out: {exc}")
            continue
        voices.append(voice)
    return tuple(voices), notes


def spoken_items(bank, voices: tuple[Voice, ...] = VOICES) -> list[SpokenItem]:
    """Compliance examples and lawful questions, each given a voice in turn."""
    items: list[SpokenItem] = []
    for alert in bank.compliance:
        items += [SpokenItem(t, alert.id, VOICES[0]) for t in alert.examples]
    lawful = [t for alert in bank.compliance for t in alert.negative_examples]
    lawful += [q.text for q in bank.questions[::LAWFUL_EVERY]]
    items += [SpokenItem(t, "", VOICES[0]) for t in lawful]
    for i, item in enumerate(items):
        item.voice = voices[i % len(voices)]
    return items


def voiced(text: str, voice: Voice) -> np.ndarray:
    """16 kHz float audio of `text` in `voice` with half a second of room tone each side (cached)."""
    key = hashlib.sha1(f"{voice.label}|{text}".encode()).hexdigest()[:16]
    path = CACHE / f"{key}.npy"
    if path.exists():
        return np.load(path)
    from pipeline.bench.tts import synthesize

    speech = synthesize(text, voice.engine, voice.name, voice.rate, voice.speed)
    pad = np.zeros(SAMPLE_RATE // 2, np.float32)
    audio = np.concatenate([pad, speech, pad])
    rng = np.random.default_rng(int(key, 16) % 2**32)
    if voice.snr_db is not None:
        power = float(np.mean(speech**2))
        audio = audio + rng.normal(0, np.sqrt(power / 10 ** (voice.snr_db / 10)), len(audio)).astype(np.float32)
    else:
        audio = audio + rng.normal(0, 1e-4, len(audio)).astype(np.float32)  # a quiet room, not digital zero
    CACHE.mkdir(parents=True, exist_ok=True)
    np.save(path, audio.astype(np.float32))
    return audio


def hear(audio: np.ndarray, transcriber, matcher, segmenter_options=None) -> tuple[str, set[str]]:
    """Text heard and compliance ids alerted, through segmenter -> transcriber -> matcher."""
    from pipeline.audio.segmenter import Segmenter

    seg = Segmenter(SPEAKER, segmenter_options)
    transcriber.reset()  # each question is a session of its own: no context from the last one
    utterances = [*seg.feed(np.concatenate([audio, np.zeros(SAMPLE_RATE, np.float32)])), *seg.flush()]
    texts, alerts = [], set()
    for u in utterances:
        if u.speculative:
            continue
        text = transcriber.transcribe(u).text
        if text:
            texts.append(text)
            alerts |= {h.id for h in matcher.match(text, SPEAKER).compliance}
    return " ".join(texts), alerts


def evaluate(transcriber, stage, segmenter_options=None, items: list[SpokenItem] | None = None) -> dict:
    """Detection rate per voice and overall, alerts on lawful questions, and the misses."""
    items = items if items is not None else spoken_items(stage.bank)
    per_voice: dict[str, list[int]] = {}
    misses, false_alerts, lawful = [], [], 0
    t0 = time.perf_counter()
    for item in items:
        text, alerts = hear(voiced(item.text, item.voice), transcriber, stage.matcher, segmenter_options)
        if item.label:
            hit = item.label in alerts
            per_voice.setdefault(item.voice.label, []).append(int(hit))
            if not hit:
                misses.append({"said": item.text, "heard": text, "voice": item.voice.label, "want": item.label})
        else:
            lawful += 1
            if alerts:
                false_alerts.append({"said": item.text, "heard": text, "voice": item.voice.label,
                                     "alerts": sorted(alerts)})
    hits = [h for v in per_voice.values() for h in v]
    return {
        "detection_rate": round(sum(hits) / max(1, len(hits)), 3),
        "compliance_questions": len(hits),
        "per_voice": {v: round(sum(h) / len(h), 3) for v, h in per_voice.items()},
        "per_voice_n": {v: len(h) for v, h in per_voice.items()},
        "per_engine": _per_engine(per_voice),
        "lawful_questions": lawful,
        "alerts_on_lawful": len(false_alerts),
        "misses": misses,
        "false_alerts": false_alerts,
        "seconds": round(time.perf_counter() - t0, 1),
    }


def _per_engine(per_voice: dict[str, list[int]]) -> dict[str, dict]:
    engines: dict[str, list[int]] = {}
    for label, hits in per_voice.items():
        engine = label.split(":", 1)[0] if ":" in label else "espeak"
        engines.setdefault(engine, []).extend(hits)
    return {e: {"rate": round(sum(h) / len(h), 3), "n": len(h)} for e, h in engines.items()}


def main(argv: list[str] | None = None) -> int:
    from pipeline.audio.transcriber import Transcriber
    from pipeline.bench import BENCHMARKS
    from pipeline.interview import build_interview_stage

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--engines", help="comma-separated subset of espeak,piper,kokoro (default: all installed)")
    ap.add_argument("--json", type=Path, default=BENCHMARKS / "results" / "spoken.json",
                    help="where to write the report (default: %(default)s)")
    args = ap.parse_args(argv)
    voices, notes = available_voices(tuple(args.engines.split(",")) if args.engines else None)
    for note in notes:
        print(note, file=sys.stderr)
    if not voices:
        print("no voice is installed: apt-get install espeak-ng", file=sys.stderr)
        return 2
    transcriber = Transcriber()
    stage = build_interview_stage()
    report = evaluate(transcriber, stage, items=spoken_items(stage.bank, voices))
    report["voices_left_out"] = notes
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n")
    print(f"compliance questions detected: {report['detection_rate']:.1%} of {report['compliance_questions']}; "
          f"alerts on {report['lawful_questions']} lawful questions: {report['alerts_on_lawful']} "
          f"({report['seconds']} s)")
    for engine, e in report["per_engine"].items():
        print(f"  {e['rate']:6.1%}  {engine} (all its voices, {e['n']} questions)")
    for voice, rate in report["per_voice"].items():
        print(f"  {rate:6.1%}  {voice} ({report['per_voice_n'][voice]})")
    for m in report["misses"]:
        print(f"  missed {m['want']} ({m['voice']}): said {m['said']!r}, heard {m['heard']!r}")
    for m in report["false_alerts"]:
        print(f"  false alert {m['alerts']} ({m['voice']}): said {m['said']!r}, heard {m['heard']!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
