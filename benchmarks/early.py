"""Early compliance warning, measured: how much sooner the provisional alert shows than the confirmed one.

    python -m benchmarks.early [--every 3] [--out benchmarks/results/early_compliance.json]

Items come from the spoken-question set (`benchmarks/spoken.py`: espeak-ng voices, normal and
fast, some with noise): every `every`-th compliance example and every `every`-th lawful question,
joined into one interviewer track with `GAP_S` pauses, and replayed at real-time pace through the
engine as `s2q listen` runs it (partial transcripts every 1.5 s, speculation during pauses) with
the interview step. Clocks are wall-clock, taken as each event leaves the engine.

For every compliance question: when its alert first showed (provisional or not) and when it was
confirmed, both in ms after the end of the question's speech (audio time = wall time at real-time
pace; negative: while it was still being asked); the lead is confirmed minus first shown. Also:
provisional alerts withdrawn (on compliance questions, and on lawful questions: false early alarms
that the final took back) and the number of matches run on partial transcripts.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from pipeline.audio import SAMPLE_RATE
from pipeline.bench.latency import percentiles

GAP_S = 1.5  # between questions: more than the segmenter's hangover, as between two turns
OUT = Path("benchmarks/results/early_compliance.json")


def build_track(items, path: Path) -> list[dict]:
    """The voiced items into one mono WAV; returns each item's span (audio seconds)."""
    from benchmarks.speakers import write_wav
    from benchmarks.spoken import voiced

    parts, spans, t = [], [], 0.0
    for item in items:
        audio = voiced(item.text, item.voice)
        spans.append({"text": item.text, "label": item.label, "voice": item.voice.label,
                      "start": t + 0.5, "end": t + len(audio) / SAMPLE_RATE - 0.5})  # voiced() pads 0.5 s
        parts += [audio, np.zeros(int(GAP_S * SAMPLE_RATE), np.float32)]
        t += len(audio) / SAMPLE_RATE + GAP_S
    write_wav(path, np.concatenate(parts))
    return spans


def replay_timed(path: Path, step) -> tuple[list[tuple[float, dict]], float]:
    """(seconds since the replay started, event) for every event, at real-time pace with partials."""
    from pipeline.audio.sources import FileSource
    from pipeline.audio.transcriber import Transcriber
    from pipeline.session.build import engine_for
    from pipeline.session.config import PARTIAL_EVERY_S, SessionConfig

    transcriber = Transcriber()
    transcriber.warm_up()
    source = FileSource(path, speakers=("interviewer",), realtime=True)
    engine = engine_for(SessionConfig(partial_every_s=PARTIAL_EVERY_S), "paced", [source], transcriber, step)
    out: list[tuple[float, dict]] = []
    t0 = None
    for event in engine.events():
        now = time.monotonic()
        if t0 is None:  # `ready`: the source starts delivering audio now
            t0 = now
        out.append((now - t0, event.to_dict()))
    return out, engine.shed_count


def item_of(event: dict, spans: list[dict]) -> dict | None:
    """The item whose speech the event's utterance overlaps most (None: no overlap)."""
    start, end = float(event.get("start", -1)), float(event.get("end", -1))
    overlap = {i: min(end, s["end"]) - max(start, s["start"]) for i, s in enumerate(spans)}
    best = max(overlap, key=overlap.get, default=None)
    return spans[best] if best is not None and overlap[best] > 0 else None


def measure(timed: list[tuple[float, dict]], spans: list[dict]) -> dict:
    first: dict[str, float] = {}
    confirmed: dict[str, float] = {}
    provisional_keys: set[str] = set()
    withdrawn: list[dict] = []
    by_key: dict[str, dict] = {}
    for at, e in timed:
        if e["type"] == "compliance":
            by_key[e["key"]] = e
            first.setdefault(e["key"], at)
            if e["provisional"]:
                provisional_keys.add(e["key"])
            else:
                confirmed[e["key"]] = at
        elif e["type"] == "withdrawn" and e["of"] == "compliance":
            span = item_of(e, spans)
            withdrawn.append({"id": e["id"], "reason": e["reason"], "provisional": e["key"] in provisional_keys
                              and e["key"] not in confirmed, "said": span["text"] if span else None,
                              "lawful": bool(span and not span["label"])})
            first.pop(e["key"], None)
            confirmed.pop(e["key"], None)
    rows = []
    for key, at in confirmed.items():
        span = item_of(by_key[key], spans)
        if span is None or not span["label"]:
            continue
        rows.append({"said": span["text"], "voice": span["voice"], "id": by_key[key]["id"],
                     "right": by_key[key]["id"] == span["label"], "early": key in provisional_keys,
                     "first_after_speech_ms": round((first[key] - span["end"]) * 1000),
                     "confirmed_after_speech_ms": round((at - span["end"]) * 1000),
                     "lead_ms": round((at - first[key]) * 1000)})
    questions = [s for s in spans if s["label"]]
    unplaced = [by_key[k]["quote"] for k in confirmed if item_of(by_key[k], spans) is None]
    detected = {r["said"] for r in rows if r["right"]}
    return {
        "compliance_questions": len(questions),
        "confirmed_right": len(detected),
        "shown_early": sum(r["early"] for r in rows if r["right"]),
        "lead_ms": percentiles([r["lead_ms"] for r in rows if r["right"]]),
        "lead_ms_when_early": percentiles([r["lead_ms"] for r in rows if r["right"] and r["early"]]),
        "first_shown_after_speech_end_ms": percentiles([r["first_after_speech_ms"] for r in rows if r["right"]]),
        "confirmed_after_speech_end_ms": percentiles([r["confirmed_after_speech_ms"] for r in rows if r["right"]]),
        "provisional_shown": len(provisional_keys),
        "provisional_withdrawn": sum(w["provisional"] for w in withdrawn),
        "provisional_withdrawn_on_lawful": sum(w["provisional"] and w["lawful"] for w in withdrawn),
        "lawful_questions": len(spans) - len(questions),
        "alerts_outside_any_item": unplaced,
        "missed": [s["text"] for s in questions if s["text"] not in detected],
        "withdrawn": withdrawn,
        "alerts": rows,
    }


def main(argv: list[str] | None = None) -> int:
    from benchmarks.spoken import spoken_items
    from pipeline.interview import build_interview_step

    parser = argparse.ArgumentParser(prog="python -m benchmarks.early", description=__doc__.split("\n")[0])
    parser.add_argument("--every", type=int, default=3, help="take every N-th item of each kind (1: all)")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--events", type=Path, help="also write every event, with its time, as JSON lines here")
    args = parser.parse_args(argv)
    step = build_interview_step()
    items = spoken_items(step.bank)
    chosen = [i for i in items if i.label][:: args.every] + [i for i in items if not i.label][:: args.every]
    with tempfile.TemporaryDirectory() as tmp:
        spans = build_track(chosen, Path(tmp) / "questions.wav")
        timed, shed = replay_timed(Path(tmp) / "questions.wav", step)
    if args.events:
        args.events.write_text("".join(json.dumps({"at": round(at, 3), **e}) + "\n" for at, e in timed))
    report = {"items_every": args.every, "audio_s": round(spans[-1]["end"] + GAP_S, 1), "shed": shed,
              "load_average_1_5_15": [round(x, 1) for x in os.getloadavg()],  # the machine is shared
              "partial_matches": step.partial_matches, **measure(timed, spans)}
    lead, early = report["lead_ms"], report["lead_ms_when_early"]
    first, conf = report["first_shown_after_speech_end_ms"], report["confirmed_after_speech_end_ms"]
    print(f"compliance questions: {report['confirmed_right']} of {report['compliance_questions']} confirmed, "
          f"{report['shown_early']} shown provisionally first")
    print(f"provisional -> confirmed lead: p50 {lead['p50_ms']} ms, p95 {lead['p95_ms']} ms "
          f"(only those shown early: p50 {early['p50_ms']} ms, p95 {early['p95_ms']} ms)")
    print(f"after the end of speech: first shown p50 {first['p50_ms']} ms p95 {first['p95_ms']} ms; "
          f"confirmed p50 {conf['p50_ms']} ms p95 {conf['p95_ms']} ms")
    print(f"provisional alerts: {report['provisional_shown']} shown, {report['provisional_withdrawn']} withdrawn "
          f"({report['provisional_withdrawn_on_lawful']} on {report['lawful_questions']} lawful questions); "
          f"{report['partial_matches']} matches on partials; shed {shed}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
