"""End of turn, text rules vs the end-of-turn model, on the same audio in one run (issue 25).

    python -m benchmarks.turn_end [--pauses 0.4,0.8] [--langs en,it] [--voices piper-joe,...] [--text-ms N] [--out DIR]

The turn-end set (benchmarks/data/turn_end/, made into audio by `benchmarks.turn_end_set`): complete
turns, and unfinished sentences with a pause inside, spoken by espeak-ng, Piper, Kokoro and Festival
voices in English, espeak-ng and Festival in Italian. Each clip goes through the real segmenter
(speculation on, as live) once per mode:
- `rules`: today's rule; every speculative guess is transcribed by the real transcriber (tiny.en;
  multilingual base for Italian) and a complete sentence ends the turn when its text is ready (the
  audio clock moves on meanwhile, as live), `Segmenter.end_early`.
- `model`: the end-of-turn model is asked after a 200 ms pause, in the segmenter (its time counts:
  nothing ends before its answer); the text rule as above, and a short closed text ("That's all.")
  ends the turn too when the model heard the end (`pipeline/audio/end_of_turn.py`).
  After a no, the turn waits 1,000 ms of silence (`hold_ms`), not the 600 ms hangover.
- `model-hold0`: the same, but after a no the turn waits the hangover, as today.
Scored per mode: false cuts (a turn ended while the speaker still had words to say: in the pause of an
unfinished sentence, or elsewhere inside a line), the wait from the last word to the turn's end
(`end`), and to its final text (`text`: what the guess's transcription had left, else a decode), and
the model's time per call. Writes DIR/turn_end.json and .md (default benchmarks/results/turn_end);
with `--text-ms N`, DIR/turn_end-textNms.*.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from benchmarks.turn_end_set import Clip, clips
from pipeline.audio import SAMPLE_RATE
from pipeline.audio.end_of_turn import EndOfTurnOptions, end_point, turn_judge
from pipeline.audio.segmenter import Segmenter, SegmenterOptions
from pipeline.audio.turn_end_model import TurnEndModelOptions
from pipeline.bench.latency import percentiles

OUT = Path(__file__).resolve().parent / "results" / "turn_end"
MODES = {"rules": EndOfTurnOptions(mode="rules"), "model": EndOfTurnOptions(mode="model"),
         "model-hold0": EndOfTurnOptions(mode="model", model=TurnEndModelOptions(hold_ms=0))}


class TimedJudge:
    """The model as the segmenter's judge, keeping each call's time and answer."""

    def __init__(self, model) -> None:
        self.model, self.pause_ms, self.hold_ms, self.window_s = model, model.pause_ms, model.hold_ms, model.window_s
        self.calls: list[tuple[bool, float]] = []

    def __call__(self, audio: np.ndarray) -> bool:
        done = self.model(audio)
        self.calls.append((done, self.model.last_ms))
        return done


@dataclass
class ClipResult:
    mode: str
    line: str
    lang: str
    voice: str
    complete: bool
    pause_s: float
    cut_in_pause: bool  # the turn ended in the pause of an unfinished sentence
    cut_elsewhere: bool  # the turn ended elsewhere before the speaker was done
    end_ms: float | None  # last word -> the turn's end (None: no final after the last word)
    text_ms: float | None  # last word -> its final text
    ended_early: bool  # the turn ended before the hangover
    judge_ms: list[float] = field(default_factory=list)


class Transcribers:
    """One transcriber per language; guesses decoded once per audio (both modes hear the same guesses).
    `text_ms`: the text counts as ready this long after its audio instead of the measured decode time
    (0: a machine fast enough that text never waits, the most cuts the text rule can make)."""

    def __init__(self, text_ms: float | None = None) -> None:
        self.text_ms = text_ms
        self._by_lang: dict = {}
        self._decoded: dict[tuple[str, int], tuple[str, float]] = {}

    def text(self, clip_key: str, lang: str, utterance) -> tuple[str, float]:
        key = (clip_key, len(utterance.audio))
        if key not in self._decoded:
            from pipeline.audio.transcriber import Transcriber, TranscriberOptions

            if lang not in self._by_lang:
                self._by_lang[lang] = Transcriber(TranscriberOptions(language=lang))
                self._by_lang[lang].warm_up()
            transcriber = self._by_lang[lang]
            transcriber.reset()
            transcript = transcriber.transcribe(replace(utterance))
            self._decoded[key] = (transcript.text, transcript.utterance.timeline.ms("asr_start", "asr_done") / 1000)
        text, asr_s = self._decoded[key]
        return text, asr_s if self.text_ms is None else self.text_ms / 1000


def run_clip(clip: Clip, mode: str, judge: TimedJudge | None, asr: Transcribers) -> ClipResult:
    """The clip through a segmenter frame by frame on the audio clock, as the engine would end its turns."""
    options = SegmenterOptions()
    rules = MODES[mode]
    seg = Segmenter("candidate", options, speculate=True, turn_end=judge)
    key = f"{clip.line.id}|{clip.voice}|{clip.pause_s}"
    frame = SAMPLE_RATE * options.frame_ms // 1000
    guesses: dict[tuple[int, int], tuple[float, float]] = {}  # (id, samples) -> (audio time offered, asr s)
    finals: list[tuple[float, float, float]] = []  # (audio time, time emitted, text ready); + the judge's time
    due: tuple[int, int, float] | None = None
    calls_before = len(judge.calls) if judge else 0
    feeding = [calls_before]  # judge calls before the frame being fed
    heard_at = [0.0]  # when the judge's last answer came (audio clock + its time): nothing ends before

    def handle(u, at: float) -> None:
        nonlocal due
        text, asr_s = asr.text(key, clip.line.lang, u)
        if u.speculative:
            guesses[(u.id, len(u.audio))] = (at, asr_s)
            if end := end_point(u, text, rules):
                due = (end[0], end[1], at + asr_s, end[2])
            return
        emitted = max(at, heard_at[0])
        guess = guesses.get((u.id, len(u.audio)))
        ready = max(emitted, guess[0] + guess[1]) if guess else emitted + asr_s
        finals.append((at, emitted, ready))

    for start in range(0, len(clip.audio), frame):
        at = (start + frame) / SAMPLE_RATE
        feeding[0] = len(judge.calls) if judge else 0
        for u in seg.feed(clip.audio[start:start + frame]):
            handle(u, at)
        if judge and len(judge.calls) > feeding[0]:
            heard_at[0] = at + judge.calls[-1][1] / 1000
        if due is not None and at >= due[2]:
            u, due = seg.end_early(due[0], due[1], due[3]), None
            if u is not None:
                handle(u, at)
    for u in seg.flush():
        handle(u, len(clip.audio) / SAMPLE_RATE)
    early = [at for at, _, _ in finals if at < clip.speech_end_s]  # the turn ended before the speaker was done
    in_pause = not clip.line.complete and any(clip.pause_at_s <= at < clip.resume_s for at in early)
    last = [(t - clip.speech_end_s, ready - clip.speech_end_s) for at, t, ready in finals if at >= clip.speech_end_s]
    end_ms, text_ms = (last[0][0] * 1000, last[0][1] * 1000) if last else (None, None)
    return ClipResult(mode, clip.line.id, clip.line.lang, clip.voice, clip.line.complete, clip.pause_s, in_pause,
                      len(early) > int(in_pause), end_ms, text_ms,
                      end_ms is not None and end_ms < options.hangover_ms - 50,
                      [ms for _, ms in (judge.calls[calls_before:] if judge else [])])


def summary(results: list[ClipResult]) -> dict:
    incomplete = [r for r in results if not r.complete]
    by_pause = {}
    for pause in sorted({r.pause_s for r in incomplete}):
        rows = [r for r in incomplete if r.pause_s == pause]
        by_pause[f"{int(pause * 1000)}ms"] = {"false_cuts": sum(r.cut_in_pause for r in rows), "n": len(rows)}
    complete = [r for r in results if r.complete]
    return {
        "clips": len(results),
        "false_cuts_in_pause": sum(r.cut_in_pause for r in incomplete), "incomplete_clips": len(incomplete),
        "false_cuts_by_pause": by_pause,
        "cuts_elsewhere": sum(r.cut_elsewhere for r in results),
        "complete_ended_early": sum(r.ended_early for r in complete), "complete_clips": len(complete),
        "end_wait": percentiles([r.end_ms for r in results if r.end_ms is not None]),
        "text_wait": percentiles([r.text_ms for r in results if r.text_ms is not None]),
        "end_wait_complete": percentiles([r.end_ms for r in complete if r.end_ms is not None]),
        "no_end": sum(r.end_ms is None for r in results),
    }


def markdown(report: dict) -> str:
    lines = [f"# Turn-end set: rules vs model ({report['date']})", "",
             f"{report['clips']} clips ({', '.join(report['voices'])}); pauses inside unfinished sentences: "
             f"{', '.join(str(p) + ' s' for p in report['pauses'])}. Guess text ready "
             f"{'as measured' if report['text_ms'] is None else str(report['text_ms']) + ' ms'} after its audio. "
             f"Load average {report['load']} on "
             f"{os.cpu_count()} cores (shared machine: the waits include the model's time under that load).", "",
             "| mode | lang | false cuts in the pause | by pause | other cuts | complete ended early | "
             "end wait mean / p50 / p95 ms | text wait mean / p95 ms |", "|---|---|---|---|---|---|---|---|"]
    for mode, langs in report["modes"].items():
        for lang, s in langs.items():
            pauses = ", ".join(f"{k}: {v['false_cuts']}/{v['n']}" for k, v in s["false_cuts_by_pause"].items())
            e, t = s["end_wait"], s["text_wait"]
            lines.append(f"| {mode} | {lang} | {s['false_cuts_in_pause']}/{s['incomplete_clips']} | {pauses} | "
                         f"{s['cuts_elsewhere']} | {s['complete_ended_early']}/{s['complete_clips']} | "
                         f"{e['mean_ms']:.0f} / {e['p50_ms']:.0f} / {e['p95_ms']:.0f} | {t['mean_ms']:.0f} / {t['p95_ms']:.0f} |")
    lines += ["", "By voice (all languages): false cuts in the pause, mean end wait (ms)", "",
              "| voice | " + " | ".join(report["modes"]) + " |", "|---|" + "---|" * len(report["modes"])]
    for voice, modes in report["by_voice"].items():
        lines.append(f"| {voice} | " + " | ".join(f"{m['false_cuts_in_pause']}/{m['incomplete_clips']}, "
                                                   f"{m['end_wait']['mean_ms']:.0f}" for m in modes.values()) + " |")
    m = report["model_ms"]
    lines += ["", f"Model per call (features + ONNX, 1 thread): p50 {m['p50_ms']:.0f} ms, p95 {m['p95_ms']:.0f} ms "
              f"over {m['n']} calls, load {report['load']}."]
    if report["skipped"]:
        lines += ["", "Skipped: " + "; ".join(report["skipped"])]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pauses", default="0.4,0.8", help="pause lengths inside unfinished sentences, seconds")
    parser.add_argument("--langs", default="en,it")
    parser.add_argument("--voices", default="", help="comma-separated voice labels (default: all installed)")
    parser.add_argument("--text-ms", type=float, default=None,
                        help="count each guess's text as ready this many ms after its audio (default: measured; "
                             "0: the most cuts a fast machine's text rule makes)")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    from pipeline.errors import S2QError

    model = turn_judge(MODES["model"])
    if model is None:
        raise S2QError("the end-of-turn model is missing: run `make install` (tools/fetch_turn_end_model.py)")
    load0 = os.getloadavg()[0]
    pauses = tuple(float(p) for p in args.pauses.split(","))
    made, skipped = clips(pauses, [v for v in args.voices.split(",") if v], tuple(args.langs.split(",")))
    asr, results = Transcribers(args.text_ms), []
    for mode, options in MODES.items():
        judge = TimedJudge(turn_judge(options)) if options.mode == "model" else None
        started = time.perf_counter()
        results += [run_clip(clip, mode, judge, asr) for clip in made]
        print(f"{mode}: {len(made)} clips in {time.perf_counter() - started:.0f} s")
    load = round((load0 + os.getloadavg()[0]) / 2, 2)
    langs = sorted({r.lang for r in results})
    report = {
        "date": time.strftime("%Y-%m-%d"), "text_ms": args.text_ms, "load": load, "cpus": os.cpu_count(), "pauses": list(pauses),
        "clips": len(made), "voices": sorted({c.voice for c in made}), "skipped": skipped,
        "modes": {mode: {lang: summary([r for r in results if r.mode == mode and r.lang == lang])
                         for lang in langs + ["all"] if lang != "all" or len(langs) > 1}
                  for mode in MODES},
        "by_voice": {voice: {mode: summary([r for r in results if r.mode == mode and r.voice == voice])
                             for mode in MODES} for voice in sorted({r.voice for r in results})},
        "model_ms": percentiles([ms for r in results for ms in r.judge_ms]),
        "clips_detail": [vars(r) for r in results],
    }
    for mode in MODES:  # "all" is every language together
        if "all" not in report["modes"][mode]:
            continue
        report["modes"][mode]["all"] = summary([r for r in results if r.mode == mode])
    args.out.mkdir(parents=True, exist_ok=True)
    stem = "turn_end" if args.text_ms is None else f"turn_end-text{args.text_ms:g}ms"
    (args.out / f"{stem}.json").write_text(json.dumps(report, indent=1))
    (args.out / f"{stem}.md").write_text(markdown(report))
    print(markdown(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
