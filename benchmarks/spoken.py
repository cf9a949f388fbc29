"""Spoken questions through the whole audio path: does a spoken compliance question raise its alert?

Every compliance example of the role's bank, and a sample of its lawful questions (the
compliance entries' negative examples and every `LAWFUL_EVERY`-th bank question), are voiced
by several voices (espeak-ng; Festival's kal, ked and slt voices; Piper's neural joe voice; Kokoro-82M's five voices, Japanese-accented
English; see `benchmarks.tts`) at normal and fast rates, some mixed with noise at 10-20 dB
SNR, then cut by the segmenter, transcribed and matched like live audio. Synthesised audio
is cached, so a rerun only pays for the pipeline.

    python -m benchmarks.spoken              # detection rate per voice, alerts on lawful questions
    python -m benchmarks.spoken --engines espeak   # only the voices that are installed / wanted
    python -m benchmarks.spoken --rematch benchmarks/results/spoken.json --json /tmp/re.json
                                                 # no audio: today's matcher on the texts heard last time

Each item is scored as the user sees it: its finals' first texts (first shown), then the same
finals once the engine's second pass (`pipeline.audio.second_pass`, beam 5) has revised them
(settled; the headline figures). The report keeps every item's heard texts (`heard`).

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

from benchmarks import RESULTS
from pipeline.audio import SAMPLE_RATE
from pipeline.audio.second_pass import SecondPassOptions

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
      engine: `espeak`, `festival`, `piper` or `kokoro` (`benchmarks.tts`).
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
    from benchmarks import tts

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
    from benchmarks.tts import synthesize

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


@dataclass
class Heard:
    """What the steps were given for one spoken item: each final's first text, and its text once
    the second pass has revised it (the same list when nothing was revised)."""

    first: list[str]
    settled: list[str]


def hear(audio: np.ndarray, transcriber, segmenter_options=None,
         second_pass: SecondPassOptions | None = None) -> Heard:
    """Segmenter -> transcriber -> pieced turns, as live: the finals' first texts, then each revised by the
    engine's second pass (`SecondPassOptions`, the engine's defaults unless given; disabled: none)."""
    from pipeline.audio.second_pass import SecondPass
    from pipeline.audio.segmenter import Segmenter
    from pipeline.memory import PiecedTurns

    second_pass = second_pass or SecondPassOptions()
    seg = Segmenter(SPEAKER, segmenter_options)
    transcriber.reset()  # each question is a session of its own: no context from the last one
    pieced, revisions = PiecedTurns(), SecondPass(transcriber, second_pass)
    utterances = [*seg.feed(np.concatenate([audio, np.zeros(SAMPLE_RATE, np.float32)])), *seg.flush()]
    finals: dict[int, str] = {}
    for u in utterances:
        if u.speculative:
            continue
        transcript = transcriber.transcribe(u)
        finals |= {t.utterance.id: t.text for t in pieced.add(transcript) if t.utterance.final}
        if second_pass.enabled:
            revisions.offer(transcript)
    finals |= {t.utterance.id: t.text for t in pieced.close_all()}
    settled = dict(finals)
    while revisions.waiting:  # after every first text: what the user saw first, then what stands
        revision = revisions.run_one()
        if revision is not None:
            uid, text = pieced.revise(revision.utterance_id, revision.text, revision.whole_turn)
            settled[uid] = text
    return Heard([t for t in finals.values() if t], [t for t in settled.values() if t])


def alerted(texts: list[str], matcher) -> set[str]:
    """Compliance ids alerted on any of these final texts (each matched as the step matches it)."""
    return {h.id for text in texts for h in matcher.match(text, SPEAKER).compliance}


def evaluate(transcriber, step, segmenter_options=None, items: list[SpokenItem] | None = None,
             second_pass: SecondPassOptions | None = None) -> dict:
    """Hears every item, then scores it (`score`): detection and lawful alerts, first shown and settled."""
    items = items if items is not None else spoken_items(step.bank)
    t0 = time.perf_counter()
    heard = []
    for item in items:
        h = hear(voiced(item.text, item.voice), transcriber, segmenter_options, second_pass)
        heard.append({"said": item.text, "want": item.label, "voice": item.voice.label,
                      "first": h.first, "settled": h.settled})
    report = score(heard, step.matcher)
    report["seconds"] = round(time.perf_counter() - t0, 1)
    return report


def score(heard: list[dict], matcher) -> dict:
    """Detection per voice and alerts on lawful questions from the heard texts, for what was shown
    first (the first pass) and for what stands once revised (`settled`, the headline figures).

    `false_alerts` lists every lawful question that showed an alert at any time; `alerts_on_lawful`
    counts those whose alert stands at the end, `alerts_on_lawful_first_shown` those the first pass
    alerted on (what the bench measured before it heard revisions).
    """
    per_voice: dict[str, list[int]] = {}
    per_voice_first: dict[str, list[int]] = {}
    misses, false_alerts, lawful, stood, shown_first = [], [], 0, 0, 0
    for row in heard:
        first, settled = alerted(row["first"], matcher), alerted(row["settled"], matcher)
        text = " ".join(row["settled"])
        if row["want"]:
            hit = row["want"] in settled
            per_voice_first.setdefault(row["voice"], []).append(int(row["want"] in first))
            per_voice.setdefault(row["voice"], []).append(int(hit))
            if not hit:
                misses.append({"said": row["said"], "heard": text, "voice": row["voice"], "want": row["want"]})
        else:
            lawful += 1
            stood, shown_first = stood + bool(settled), shown_first + bool(first)
            if first | settled:
                false_alerts.append({"said": row["said"], "heard": text, "voice": row["voice"],
                                     "alerts": sorted(first | settled), "settled": sorted(settled),
                                     "heard_first": " ".join(row["first"])})
    hits = [h for v in per_voice.values() for h in v]
    first_hits = [h for v in per_voice_first.values() for h in v]
    return {
        "detection_rate": round(sum(hits) / max(1, len(hits)), 3),
        "detection_rate_first_shown": round(sum(first_hits) / max(1, len(first_hits)), 3),
        "compliance_questions": len(hits),
        "per_voice": {v: round(sum(h) / len(h), 3) for v, h in per_voice.items()},
        "per_voice_n": {v: len(h) for v, h in per_voice.items()},
        "per_engine": _per_engine(per_voice),
        "per_engine_first_shown": _per_engine(per_voice_first),
        "lawful_questions": lawful,
        "alerts_on_lawful": stood,
        "alerts_on_lawful_first_shown": shown_first,
        "alerts_on_lawful_any_time": len(false_alerts),
        "misses": misses,
        "false_alerts": false_alerts,
        "heard": heard,
    }


def _per_engine(per_voice: dict[str, list[int]]) -> dict[str, dict]:
    engines: dict[str, list[int]] = {}
    for label, hits in per_voice.items():
        engine = label.split(":", 1)[0] if ":" in label else "espeak"
        engines.setdefault(engine, []).extend(hits)
    return {e: {"rate": round(sum(h) / len(h), 3), "n": len(h)} for e, h in engines.items()}


def main(argv: list[str] | None = None) -> int:
    from pipeline.interview import build_interview_step

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--engines", help="comma-separated subset of espeak,festival,piper,kokoro (default: all installed)")
    ap.add_argument("--no-second-pass", action="store_true", help="score the first pass only (no revisions)")
    ap.add_argument("--second-pass-model", default="", metavar="MODEL",
                    help="Whisper model of the second pass (manifest name or folder; default: the engine's)")
    ap.add_argument("--rematch", type=Path, metavar="JSON",
                    help="no audio: score the texts heard in an earlier report again with today's bank and matcher")
    ap.add_argument("--json", type=Path, default=RESULTS / "spoken.json",
                    help="where to write the report (default: %(default)s)")
    args = ap.parse_args(argv)
    step = build_interview_step()
    if args.rematch:
        earlier = json.loads(args.rematch.read_text())
        report = score(earlier["heard"], step.matcher) | {"rematched_from": str(args.rematch)}
    else:
        voices, notes = available_voices(tuple(args.engines.split(",")) if args.engines else None)
        for note in notes:
            print(note, file=sys.stderr)
        if not voices:
            print("no voice is installed: apt-get install espeak-ng", file=sys.stderr)
            return 2
        from pipeline.audio.transcriber import Transcriber

        report = evaluate(Transcriber(), step, items=spoken_items(step.bank, voices),
                          second_pass=SecondPassOptions(enabled=not args.no_second_pass,
                                                         model=args.second_pass_model))
        report["voices_left_out"] = notes
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n")
    print_report(report)
    return 0


def print_report(report: dict) -> None:
    print(f"compliance questions detected: {report['detection_rate']:.1%} of {report['compliance_questions']} "
          f"once revised ({report['detection_rate_first_shown']:.1%} first shown); alerts on "
          f"{report['lawful_questions']} lawful questions: {report['alerts_on_lawful']} once revised, "
          f"{report['alerts_on_lawful_first_shown']} first shown, {report['alerts_on_lawful_any_time']} at any time"
          + (f" ({report['seconds']} s)" if "seconds" in report else ""))
    for engine, e in report["per_engine"].items():
        first = report["per_engine_first_shown"][engine]["rate"]
        print(f"  {e['rate']:6.1%}  {engine} (all its voices, {e['n']} questions; first shown {first:.1%})")
    for voice, rate in report["per_voice"].items():
        print(f"  {rate:6.1%}  {voice} ({report['per_voice_n'][voice]})")
    for m in report["misses"]:
        print(f"  missed {m['want']} ({m['voice']}): said {m['said']!r}, heard {m['heard']!r}")
    for m in report["false_alerts"]:
        print(f"  false alert {m['alerts']} (standing: {m['settled']}) ({m['voice']}): said {m['said']!r}, "
              f"heard first {m['heard_first']!r}, settled {m['heard']!r}")


if __name__ == "__main__":
    sys.exit(main())
