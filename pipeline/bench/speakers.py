"""Who said it, measured: attribution accuracy on mono mixes, and the voice embedding's latency.

    python -m pipeline.bench.speakers [--out benchmarks/results/speakers.json] [--turns N]

Mixes: the demo interview mixed to mono, and the demo's script spoken again by
pairs of espeak-ng voices (different voices from the demo's), joined into one
mono track with short pauses. Each mix is replayed with `s2q replay FILE --fast
--jsonl` (no `--channels`: one mixed source), and every word of the settled
transcript (last label per `utterance_id`) is scored against the script turn it
overlaps most: right, wrong or `unknown`. Alerts and questions are compared
with the same audio in stereo (`--channels interviewer,candidate`, the demo
only). A last mix has no pause between turns, so utterances hold two voices,
which are not split yet: its figure says what that costs. Latency: the voice
stage of every utterance (`latency_ms.voice`), and the embedding of each
script turn alone, p50/p95.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import wave
from collections import Counter
from pathlib import Path

import numpy as np

from pipeline.audio.voices import SAMPLE_RATE
from pipeline.bench.latency import percentiles

DEMO_SCRIPT = Path(__file__).resolve().parents[1] / "demo" / "interview.json"
DEMO_AUDIO = DEMO_SCRIPT.with_suffix(".ogg")
# (interviewer, candidate) espeak-ng voices: male/female both ways, accents, two close male voices.
# (`en-gb+f3` is silently the same as `en-gb`: check a variant's output differs before adding it.)
VOICE_PAIRS = [("en-us+m3", "en+f3"), ("en-gb-scotland+f4", "en-us+m3"), ("en-us", "en-gb"), ("en-gb-x-rp", "en-029")]
GAP_S = 0.8  # pause between turns in the espeak mixes (the segmenter's hangover is 0.6 s)
NO_PAUSE_S = 0.15  # a turn change without a pause: below the segmenter's hangover, so turns merge
ALERTS = ("red_flag", "compliance", "question_asked")


def write_wav(path: Path, audio: np.ndarray) -> None:
    pcm = (np.clip(audio, -1, 1) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE)
        w.writeframes(pcm.tobytes())


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


def espeak_dialog(turns: list[dict], voices: dict[str, str], path: Path, gap_s: float = GAP_S) -> list[dict]:
    """Speaks each turn with its speaker's voice into one mono WAV; returns the turns with their spans."""
    parts, timed, t = [np.zeros(int(0.5 * SAMPLE_RATE), np.float32)], [], 0.5
    for turn in turns:
        audio = speak(turn["text"], voices[turn["speaker"]])
        timed.append({**turn, "start": round(t, 3), "end": round(t + len(audio) / SAMPLE_RATE, 3)})
        parts += [audio, np.zeros(int(gap_s * SAMPLE_RATE), np.float32)]
        t += len(audio) / SAMPLE_RATE + gap_s
    write_wav(path, 0.7 * np.concatenate(parts))
    return timed


def replay(path: Path, channels: str | None = None) -> list[dict]:
    """`s2q replay PATH --fast --jsonl`, as a user runs it; its events."""
    cmd = [sys.executable, "-m", "pipeline", "replay", str(path), "--fast", "--jsonl"]
    if channels:
        cmd += ["--channels", channels]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def settled(events: list[dict]) -> list[dict]:
    """Final transcripts, each with its last label (revisions share the utterance_id)."""
    last = {e["utterance_id"]: e for e in events if e["type"] == "transcript" and e["final"]}
    return sorted(last.values(), key=lambda e: e["start"])


def first_labels(events: list[dict]) -> list[dict]:
    """Final transcripts with the label they had when first shown (before any revision)."""
    first: dict = {}
    for e in events:
        if e["type"] == "transcript" and e["final"]:
            first.setdefault(e["utterance_id"], e)
    return list(first.values())


def attribution(events: list[dict], turns: list[dict]) -> dict:
    """Words right / wrong / unknown (settled labels), each transcript scored against the turn it
    overlaps most; `live_right` / `live_wrong`: the same with the labels as first shown."""
    score = _score(settled(events), turns)
    live = _score(first_labels(events), turns)
    revisions = sum(1 for e in events if e["type"] == "transcript" and e.get("revision"))
    return {**score, "live_right": live["right"], "live_wrong": live["wrong"], "revisions": revisions}


def _score(transcripts: list[dict], turns: list[dict]) -> dict:
    counts = Counter()
    for e in transcripts:
        turn = max(turns, key=lambda t: min(t["end"], e["end"]) - max(t["start"], e["start"]))
        words = len(e["text"].split())
        verdict = "right" if e["speaker"] == turn["speaker"] else "unknown" if e["speaker"] == "unknown" else "wrong"
        counts[verdict] += words
    total = max(sum(counts.values()), 1)
    return {"words": sum(counts.values()), **{k: round(counts[k] / total, 4) for k in ("right", "wrong", "unknown")}}


def alerts(events: list[dict]) -> Counter:
    return Counter((e["type"], e["id"], e["speaker"]) for e in events if e["type"] in ALERTS)


def embedding_latency(audio: np.ndarray, turns: list[dict]) -> dict:
    """The voice stage alone on each turn's audio, one at a time (as the engine runs it)."""
    from pipeline.audio.voices import VoiceEncoder

    encoder = VoiceEncoder().warm_up()
    times = []
    for turn in turns:
        clip = audio[int(turn["start"] * SAMPLE_RATE):int(turn["end"] * SAMPLE_RATE)]
        started = time.perf_counter()
        encoder.embed(clip)
        times.append((time.perf_counter() - started) * 1000.0)
    seconds = [t["end"] - t["start"] for t in turns]
    return {**percentiles(times), "turn_s_mean": round(float(np.mean(seconds)), 2)}


def run(out: Path | None, n_turns: int | None) -> dict:
    script = json.loads(DEMO_SCRIPT.read_text())["turns"][:n_turns]
    results: dict = {"machine_note": "2 cores shared with other jobs: latency is indicative", "mixes": {}}
    with tempfile.TemporaryDirectory() as tmp:
        mono = Path(tmp) / "demo-mono.wav"
        audio = read_mono(DEMO_AUDIO)
        write_wav(mono, audio[:int((script[-1]["end"] + 1.0) * SAMPLE_RATE)])
        events = replay(mono)
        stereo = replay(DEMO_AUDIO, "interviewer,candidate")
        stereo = [e for e in stereo if e["type"] not in ALERTS or e["end"] <= script[-1]["end"] + 1.0]
        a, b = alerts(events), alerts(stereo)
        results["mixes"]["demo-mono"] = {
            **attribution(events, script),
            "alerts_mono_vs_stereo": {"only_mono": sorted(map(list, (a - b).elements())),
                                      "only_stereo": sorted(map(list, (b - a).elements()))}}
        voice_ms = [e["latency_ms"]["voice"] for e in settled(events) if "voice" in e.get("latency_ms", {})]
        results["voice_stage_in_replay"] = percentiles(voice_ms)
        results["embedding_per_turn"] = embedding_latency(audio, script)
        for interviewer, candidate in VOICE_PAIRS:
            name = f"espeak {interviewer} / {candidate}"
            path = Path(tmp) / "mix.wav"
            timed = espeak_dialog(script, {"interviewer": interviewer, "candidate": candidate}, path)
            events = replay(path)
            results["mixes"][name] = {**attribution(events, timed), "alerts": sorted(map(list, alerts(events)))}
            print(f"{name}: {results['mixes'][name]['right']:.1%} right", file=sys.stderr)
        # Turns with no pause between them merge into one utterance: not split yet (see the docstring).
        interviewer, candidate = VOICE_PAIRS[0]
        timed = espeak_dialog(script, {"interviewer": interviewer, "candidate": candidate}, path, gap_s=NO_PAUSE_S)
        results["no_pause"] = {"mix": f"espeak {interviewer} / {candidate}, {NO_PAUSE_S} s between turns",
                               **attribution(replay(path), timed)}
    mixes = results["mixes"].values()
    results["overall"] = {k: round(float(np.mean([m[k] for m in mixes])), 4) for k in ("right", "wrong", "unknown")}
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(results, indent=2) + "\n")
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/speakers.json"))
    parser.add_argument("--turns", type=int, default=None, help="only the first N turns of the script")
    args = parser.parse_args(argv)
    results = run(args.out, args.turns)
    for name, mix in results["mixes"].items():
        print(f"{name:42s} right {mix['right']:6.1%}  wrong {mix['wrong']:6.1%}  unknown {mix['unknown']:6.1%}"
              f"  ({mix['words']} words, {mix['revisions']} revisions; as first shown: right {mix['live_right']:.1%},"
              f" wrong {mix['live_wrong']:.1%})")
    nopause = results["no_pause"]
    print(f"{nopause['mix']}: right {nopause['right']:.1%}, wrong {nopause['wrong']:.1%} (utterances hold two voices)")
    demo = results["mixes"]["demo-mono"]["alerts_mono_vs_stereo"]
    print(f"demo alerts/questions only in mono: {demo['only_mono']}; only in stereo: {demo['only_stereo']}")
    for stage in ("voice_stage_in_replay", "embedding_per_turn"):
        r = results[stage]
        print(f"{stage}: p50 {r.get('p50_ms')} ms, p95 {r.get('p95_ms')} ms over {r['n']} (machine shared: indicative)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
