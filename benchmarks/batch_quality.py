"""`python -m benchmarks.batch_quality`: what `s2q batch` hears, and how fast, next to plain faster-whisper.

Runs the real `s2q batch` command (a subprocess, one worker) over the bundled demo interview
(stereo, one speaker per channel, reference pipeline/demo/interview.json) and, when installed,
the radio-speech set (real read speech, `pipeline.bench.radiospeech`), then reads each record's
settled text (finals with their revisions). WER is per speaker against the reference turns
(order-free: each speaker's words in order), corpus-level over files. Plain: faster-whisper
`transcribe()` on each whole channel with the same model, beam 5 (the issue's target: batch
WER <= plain). Throughput: files per minute and CPU seconds (the batch process and its
children) per audio second. Results: benchmarks/results/batch_quality.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pipeline.bench.wer import wer
from pipeline.demo import DEMO

RESULTS = Path(__file__).resolve().parent / "results" / "batch_quality.json"
SPEAKERS = ["interviewer", "candidate"]


def inputs(radio: bool) -> list[dict]:
    """[{path, channels, reference: {speaker: text}, audio_s}] for the demo and the radio-speech set."""
    script = json.loads(DEMO.with_suffix(".json").read_text())
    out = [{"path": DEMO, "channels": SPEAKERS, "audio_s": float(script["duration"]),
            "reference": {s: " ".join(t["text"] for t in script["turns"] if t["speaker"] == s) for s in SPEAKERS}}]
    if radio:
        from pipeline.bench.radiospeech import load_radio_speech_set

        try:
            clips = load_radio_speech_set()
        except RuntimeError as exc:
            print(f"radio-speech set skipped: {exc}", file=sys.stderr)
            clips = []
        out += [{"path": c.path, "channels": ["candidate"], "audio_s": c.duration,
                 "reference": {"candidate": c.text}} for c in clips]
    return out


def run_batch(items: list[dict], out: Path, extra: list[str]) -> dict:
    """One `s2q batch` run per channel layout; wall time and the children's CPU time."""
    wall = cpu = 0.0
    for channels in dict.fromkeys(",".join(i["channels"]) for i in items):
        files = [str(i["path"]) for i in items if ",".join(i["channels"]) == channels]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "pipeline", "batch", *files, "--out", str(out), "--force",
                               "--workers", "1", "--channels", channels, *extra], capture_output=True, text=True)
        wall += time.perf_counter() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu += (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        if proc.returncode != 0:
            raise SystemExit(f"s2q batch failed:\n{proc.stderr[-3000:]}")
    return {"wall_s": wall, "cpu_s": cpu}


def heard(record: Path) -> dict[str, str]:
    from pipeline.report.record import load_session

    words: dict[str, list[str]] = {}
    for e in load_session(record).transcripts:
        words.setdefault(e.get("speaker", "unknown"), []).append(e.get("text", ""))
    return {s: " ".join(t) for s, t in words.items()}


def plain(items: list[dict], model: str) -> list[dict[str, str]]:
    """faster-whisper on each whole channel, beam 5, the same model as the batch."""
    import numpy as np
    from faster_whisper import WhisperModel
    from faster_whisper.audio import decode_audio

    from pipeline.models import resolve_model

    whisper = WhisperModel(str(resolve_model(model or "tiny.en")), device="cpu", compute_type="int8")
    out = []
    for item in items:
        audio = decode_audio(str(item["path"]), split_stereo=len(item["channels"]) == 2)
        channels = audio if isinstance(audio, tuple) else (audio,)
        texts = {}
        for speaker, samples in zip(item["channels"], channels):
            segments, _ = whisper.transcribe(np.asarray(samples), beam_size=5, language="en")
            texts[speaker] = " ".join(s.text.strip() for s in segments)
        out.append(texts)
    return out


def score(items: list[dict], hyps: list[dict[str, str]]) -> dict:
    def pairs(group):
        chosen = [(i, h) for i, h in zip(items, hyps) if group(i)]
        return [i["reference"][s] for i, _ in chosen for s in i["reference"]], \
               [h.get(s, "") for i, h in chosen for s in i["reference"]]

    groups = {"demo": lambda i: i["path"] == DEMO, "radio_speech": lambda i: i["path"] != DEMO}
    return {name: round(100 * wer(*pairs(g)), 2) for name, g in groups.items() if any(g(i) for i in items)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--label", default="batch", help="name of this run in the results")
    parser.add_argument("--no-radio", action="store_true", help="the demo only")
    parser.add_argument("--plain", action="store_true", help="also plain faster-whisper beam 5 on whole channels")
    parser.add_argument("--model", default="", help="Whisper model (as `s2q batch --model`)")
    args = parser.parse_args()
    items = inputs(not args.no_radio)
    audio_s = sum(i["audio_s"] for i in items)
    with tempfile.TemporaryDirectory() as tmp:
        timing = run_batch(items, Path(tmp), ["--model", args.model] if args.model else [])
        hyps = [heard(Path(tmp) / f"{Path(i['path']).stem}.jsonl") for i in items]
    result = {"label": args.label, "files": len(items), "audio_s": round(audio_s, 1),
              "wer_pct": score(items, hyps), "wall_s": round(timing["wall_s"], 1),
              "files_per_min": round(60 * len(items) / timing["wall_s"], 2),
              "cpu_s_per_audio_s": round(timing["cpu_s"] / audio_s, 3),
              "load_avg": [round(x, 2) for x in os.getloadavg()], "cores": os.cpu_count(),
              "machine": platform.processor() or platform.machine(),
              "date": time.strftime("%Y-%m-%d %H:%M")}
    if args.plain:
        result["plain_beam5_wer_pct"] = score(items, plain(items, args.model))
    print(json.dumps(result, indent=2))
    runs = json.loads(RESULTS.read_text()) if RESULTS.exists() else []
    RESULTS.write_text(json.dumps([*runs, result], indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
