"""Soak: a long session through the live path, watching memory and lag over time.

    python -m benchmarks.soak --minutes 60 --speed 4 --json benchmarks/results/soak.json

The demo interview is repeated to the length asked and replayed paced (as a device would deliver
it, `--speed` times faster than real time to save wall time) through the same engine, options and
interview step as `s2q listen`, partial transcripts included. Every `--every` seconds of audio it
notes resident memory, the end-of-speech -> final-text lag of the finals since the last point, and
how much was shed. A session must stay flat: memory within 50 MB from the first point to the last,
lag bounded, nothing shed on this machine.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import wave
from pathlib import Path

import numpy as np

from pipeline.audio import SAMPLE_RATE
from pipeline.bench.latency import percentiles
from pipeline.demo import DEMO

FLAT_MB = 50.0  # the most memory may grow from the first point to the last


def rss_mb() -> float:
    """Resident memory now (not the peak): what a long session holds on to."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def long_recording(minutes: float, folder: Path) -> Path:
    """The stereo demo repeated to `minutes`, written block by block (a few MB of memory at a time)."""
    from pipeline.audio.sources import decode_file

    demo = (np.clip(decode_file(DEMO, n_channels=2), -1, 1) * 32767).astype("<i2").T.copy()
    path = folder / f"soak-{minutes:g}min.wav"
    total = int(minutes * 60 * SAMPLE_RATE)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE)
        written = 0
        while written < total:
            block = demo[: total - written]
            w.writeframes(block.tobytes())
            written += len(block)
    return path


def soak(path: Path, speed: float, every_s: float) -> dict:
    from pipeline.audio.sources import FileSource
    from pipeline.audio.transcriber import Transcriber
    from pipeline.events import StatusEvent, TranscriptEvent
    from pipeline.interview import build_interview_step
    from pipeline.session.build import engine_for
    from pipeline.session.config import PARTIAL_EVERY_S, SessionConfig

    step = build_interview_step()
    transcriber = Transcriber()
    transcriber.warm_up()
    config = SessionConfig(partial_every_s=PARTIAL_EVERY_S / speed)  # `s2q listen`'s partials, on the sped-up clock
    engine = engine_for(config, "paced", [FileSource(path, ["interviewer", "candidate"], realtime=True, speed=speed)],
                        transcriber, step)
    points, window, shed, finals = [], [], 0, 0
    next_point = every_s
    started = time.monotonic()
    for event in engine.events():
        if isinstance(event, StatusEvent) and event.state == "shedding":
            shed += 1
        if not (isinstance(event, TranscriptEvent) and event.final):
            continue
        finals += 1
        window.append(event.latency_ms["total"])
        if event.end >= next_point:
            lag = percentiles(window)
            wall_min = round((time.monotonic() - started) / 60, 2)
            points.append({"audio_min": round(event.end / 60, 2), "wall_min": wall_min, "rss_mb": round(rss_mb(), 1),
                           "lag_p50_ms": lag["p50_ms"], "lag_p95_ms": lag["p95_ms"], "shed": shed, "finals": finals})
            print(points[-1], flush=True)
            window, next_point = [], next_point + every_s
    growth = points[-1]["rss_mb"] - points[0]["rss_mb"] if points else 0.0
    return {"speed": speed, "points": points, "shed_total": shed, "finals": finals,
            "rss_growth_mb": round(growth, 1), "flat": growth <= FLAT_MB and shed == 0,
            "max_lag_p95_ms": max((p["lag_p95_ms"] for p in points), default=0.0)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=60.0, help="length of the session (audio minutes)")
    ap.add_argument("--speed", type=float, default=1.0, help="deliver audio this many times faster than real time")
    ap.add_argument("--every", type=float, default=300.0, help="a point every this many seconds of audio")
    ap.add_argument("--json", type=Path, help="write the curve here")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = long_recording(args.minutes, Path(folder))
        result = soak(path, args.speed, args.every) | {"minutes": args.minutes}
    print(json.dumps({k: v for k, v in result.items() if k != "points"}, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0 if result["flat"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
