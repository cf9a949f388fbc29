"""The demo replayed at real-time pace through the threaded engine: latency including any waiting.

`s2q bench` measures steps on the audio clock (`pipeline/bench/latency.py`), where nothing runs
at the same time. Here the real engine runs: capture, the ASR worker, the second pass on its own
thread, the steps. Replayed twice in one run, once with the second pass off and once on, so what
the second pass costs the live view (a final waiting behind a revision) shows side by side.

    python -m pipeline.bench.paced         # or `s2q bench --paced`
    python -m pipeline.bench.paced --end-of-turn rules,model   # today's text rules vs the end-of-turn model
    python -m pipeline.bench.paced --audio CALL.wav --channels interviewer,candidate --json out.json
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from pipeline.audio.end_of_turn import TURN_END_MODES, EndOfTurnOptions
from pipeline.audio.second_pass import SecondPassOptions
from pipeline.audio.sources import FileSource
from pipeline.audio.transcriber import Transcriber
from pipeline.bench.latency import percentiles
from pipeline.demo import DEMO
from pipeline.events import StatusEvent, SuggestionEvent, TranscriptEvent
from pipeline.session.build import engine_for
from pipeline.session.config import SessionConfig

DEMO_SPEAKERS = ("interviewer", "candidate")  # the demo's left and right channels


def paced_run(transcriber, step, second_pass: bool = True, end_of_turn: str = "model", audio: Path = DEMO,
              speakers: Sequence[str] = DEMO_SPEAKERS) -> dict:
    """One real-time replay of `audio` (`s2q replay` of it): end of speech -> first final text, and
    -> suggestion; the queue wait of each first final, those guessed during the pause (speculation
    hits, `latency_ms.guessed`) apart from those decoded after it, and what a hit waited once its
    text was known (`latency_ms.held`)."""
    config = SessionConfig(second_pass=SecondPassOptions(enabled=second_pass),
                           end_of_turn=EndOfTurnOptions(mode=end_of_turn))
    engine = engine_for(config, "paced", [FileSource(audio, list(speakers), realtime=True)], transcriber, step)
    totals, end_of_speech, shed, revisions = [], [], 0, 0
    queue_wait: dict[str, list[float]] = {"guessed": [], "decoded": [], "held": []}
    for event in engine.events():
        if isinstance(event, SuggestionEvent):
            totals.append(event.latency_ms["total"])
        elif isinstance(event, TranscriptEvent) and event.final:
            if event.revision:
                revisions += 1
                continue
            if event.latency_ms.get("end_of_speech") is not None:
                end_of_speech.append(event.latency_ms["end_of_speech"])
            if event.latency_ms.get("queue") is not None:
                queue_wait["guessed" if "guessed" in event.latency_ms else "decoded"].append(event.latency_ms["queue"])
            if event.latency_ms.get("held") is not None:
                queue_wait["held"].append(event.latency_ms["held"])
        elif isinstance(event, StatusEvent) and event.state == "shedding":
            shed += 1
    return {"end_of_speech": percentiles(end_of_speech), "total": percentiles(totals),
            "queue_guessed": percentiles(queue_wait["guessed"]), "queue_decoded": percentiles(queue_wait["decoded"]),
            "held_guessed": percentiles(queue_wait["held"]),
            "shed_utterances": shed, "revisions": revisions}


def paced_side_by_side(transcriber, step, end_of_turn: str = "model", audio: Path = DEMO,
                       speakers: Sequence[str] = DEMO_SPEAKERS) -> dict:
    """The file paced twice in one run: second pass off, then on."""
    return {"second_pass_off": paced_run(transcriber, step.fresh(), False, end_of_turn, audio, speakers),
            "second_pass_on": paced_run(transcriber, step.fresh(), True, end_of_turn, audio, speakers)}


def lines(paced: dict, name: str = "demo") -> list[str]:
    """One line per replay, for the terminal and the Markdown results."""
    out = []
    for replay, p in paced.items():
        e, t = p["end_of_speech"], p["total"]
        g, d, h = p.get("queue_guessed", {}), p.get("queue_decoded", {}), p.get("held_guessed", {})
        out.append(f"paced {name}, {replay.replace('_', ' ')}: end of speech -> final p50 {e['p50_ms']} / "
                   f"p95 {e['p95_ms']} ms; -> suggestion p50 {t['p50_ms']} / p95 {t['p95_ms']} ms; "
                   f"queue wait of {g.get('n', 0)} speculation hits p95 {g.get('p95_ms')} ms (held once "
                   f"their text was known p95 {h.get('p95_ms')} ms), of "
                   f"{d.get('n', 0)} decoded finals p95 {d.get('p95_ms')} ms; "
                   f"revisions {p['revisions']}, shed {p['shed_utterances']}")
    return out


def main(argv: list[str] | None = None) -> int:
    import argparse
    import json
    import os

    from pipeline.interview import build_interview_step  # lazy: keeps pydantic off start-up

    parser = argparse.ArgumentParser(description="the demo (or a file) at real-time pace through the engine")
    parser.add_argument("--end-of-turn", default="model", help="comma-separated: model, rules (one run each)")
    parser.add_argument("--audio", type=Path, default=DEMO, help="a two-channel interview (default: the demo)")
    parser.add_argument("--channels", default=",".join(DEMO_SPEAKERS), help="the speaker of each channel")
    parser.add_argument("--json", type=Path, help="write the figures here too")
    args = parser.parse_args(argv)

    if unknown := set(args.end_of_turn.split(",")) - set(TURN_END_MODES):
        parser.error(f"unknown end-of-turn mode {', '.join(sorted(unknown))} (one of {', '.join(TURN_END_MODES)})")
    transcriber = Transcriber()
    transcriber.warm_up()
    step = build_interview_step()
    results = {"audio": str(args.audio), "load_1min_before": round(os.getloadavg()[0], 2)}
    for mode in args.end_of_turn.split(","):
        result = results[mode] = paced_side_by_side(transcriber, step, mode, args.audio, args.channels.split(","))
        print(f"end of turn: {mode} (load {os.getloadavg()[0]:.2f})")
        print("\n".join(lines(result, args.audio.stem)))
        print(json.dumps(result, indent=2))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results | {"load_1min_after": round(os.getloadavg()[0], 2)}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
