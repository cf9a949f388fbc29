"""Spoken questions through the whole audio path: does a spoken compliance question raise its alert?

Every compliance example of the role's bank, and a sample of its lawful questions (the
compliance entries' negative examples and every `LAWFUL_EVERY`-th bank question), are voiced
by espeak-ng in several voices at normal and fast rates, some mixed with noise at 10-20 dB
SNR, then cut by the segmenter, transcribed and matched like live audio. Synthesised audio
is cached, so a rerun only pays for the pipeline.

    python -m pipeline.bench.spoken              # detection rate per voice, alerts on lawful questions
"""

from __future__ import annotations

import hashlib
import subprocess
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
      name: espeak-ng voice (`en-us`, `en-gb`, `en+f3`, ...).
      rate: words per minute (espeak's default is 175).
      snr_db: white noise mixed in at this signal-to-noise ratio; None for clean audio.
    """

    name: str
    rate: int = 175
    snr_db: float | None = None

    @property
    def label(self) -> str:
        return f"{self.name}@{self.rate}" + ("" if self.snr_db is None else f"+noise{self.snr_db:g}dB")


VOICES = (
    Voice("en-us"), Voice("en-gb", 230), Voice("en+f3"), Voice("en-us+m3", 230, 15.0),
    Voice("en-gb-scotland"), Voice("en+f2", 230), Voice("en-us", 175, 10.0), Voice("en-gb-x-rp", 175, 20.0),
)


@dataclass
class SpokenItem:
    text: str
    label: str  # the compliance id that must fire, or "" for a lawful question
    voice: Voice


def spoken_items(bank) -> list[SpokenItem]:
    """Compliance examples and lawful questions, each given a voice in turn."""
    items: list[SpokenItem] = []
    for alert in bank.compliance:
        items += [SpokenItem(t, alert.id, VOICES[0]) for t in alert.examples]
    lawful = [t for alert in bank.compliance for t in alert.negative_examples]
    lawful += [q.text for q in bank.questions[::LAWFUL_EVERY]]
    items += [SpokenItem(t, "", VOICES[0]) for t in lawful]
    for i, item in enumerate(items):
        item.voice = VOICES[i % len(VOICES)]
    return items


def voiced(text: str, voice: Voice) -> np.ndarray:
    """16 kHz float audio of `text` in `voice` with half a second of room tone each side (cached)."""
    key = hashlib.sha1(f"{voice.label}|{text}".encode()).hexdigest()[:16]
    path = CACHE / f"{key}.npy"
    if path.exists():
        return np.load(path)
    wav = subprocess.run(["espeak-ng", "-v", voice.name, "-s", str(voice.rate), "--stdout", text],
                         capture_output=True, check=True).stdout
    # espeak-ng writes 22,050 Hz 16-bit mono WAV with a 44-byte header.
    speech = np.frombuffer(wav[44:], "<i2").astype(np.float32) / 32768.0
    speech = np.interp(np.arange(0, len(speech) * SAMPLE_RATE / 22050) * 22050 / SAMPLE_RATE,
                       np.arange(len(speech)), speech).astype(np.float32)
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
        "lawful_questions": lawful,
        "alerts_on_lawful": len(false_alerts),
        "misses": misses,
        "false_alerts": false_alerts,
        "seconds": round(time.perf_counter() - t0, 1),
    }


def main() -> int:
    from pipeline.audio.transcriber import Transcriber
    from pipeline.interview import build_interview_stage

    transcriber = Transcriber()
    report = evaluate(transcriber, build_interview_stage())
    print(f"compliance questions detected: {report['detection_rate']:.1%} of {report['compliance_questions']}; "
          f"alerts on {report['lawful_questions']} lawful questions: {report['alerts_on_lawful']} "
          f"({report['seconds']} s)")
    for voice, rate in report["per_voice"].items():
        print(f"  {rate:6.1%}  {voice}")
    for m in report["misses"]:
        print(f"  missed {m['want']} ({m['voice']}): said {m['said']!r}, heard {m['heard']!r}")
    for m in report["false_alerts"]:
        print(f"  false alert {m['alerts']} ({m['voice']}): said {m['said']!r}, heard {m['heard']!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
