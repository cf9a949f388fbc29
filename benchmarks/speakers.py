"""Who said it, measured: attribution accuracy on mono mixes, and the voice stages' latency.

    python -m benchmarks.speakers [--out benchmarks/results/speakers.json] [--turns N] [--quick]

The mixes (built by `benchmarks.speaker_mixes`, voices other than the demo's unless named):
- `demo-mono`: the demo interview mixed to mono; `demo no-pause`: its turns back to back.
- `espeak A / B`: the demo's script spoken by pairs of espeak-ng voices, with pauses; `... no-pause`:
  0.15 s between turns (below the segmenter's hangover), so utterances hold two voices and the
  voice splitter must cut them.
- `panel`: three espeak voices, the third (a second interviewer) to be kept apart (`speaker-N`).
These are replayed with `s2q replay FILE --fast --jsonl` (no `--channels`: one mixed source), and
every word of the transcript is scored against the script turn it overlaps most: right, wrong or
`unknown`, with the labels as first shown (`live_*`) and as settled (last label per utterance).
Alerts and questions are compared with the same audio in stereo (the demo only).
- `real A / B`: two real speakers (codec2 radio recordings, the Asterisk prompt voice), with and
  without pauses. Nothing they say is in the bank, so they go through the segmenter, the turn
  splitter and the voice labeler in-process, with the true role as the text vote of each voice's
  first two turns only (standing in for a bank question and a long answer) and no vote after;
  scored in seconds of speech instead of words.
Latency: the voice stage (`latency_ms.voice`) and the voice splitter (`latency_ms.split`, the
utterances long enough to be searched) in the replays, p50/p95.
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

from benchmarks import speaker_mixes as mixes
from benchmarks.speaker_mixes import GAP_S, NO_PAUSE_S, read_mono
from pipeline.audio.voices import SAMPLE_RATE
from pipeline.bench.latency import percentiles
from pipeline.demo import DEMO
from pipeline.events import ALERT_TYPES

DEMO_AUDIO = DEMO
DEMO_SCRIPT = DEMO.with_suffix(".json")
# (interviewer, candidate) espeak-ng voices: male/female both ways, accents, two close male voices.
# (`en-gb+f3` is silently the same as `en-gb`: check a variant's output differs before adding it.)
VOICE_PAIRS = [("en-us+m3", "en+f3"), ("en-gb-scotland+f4", "en-us+m3"), ("en-us", "en-gb"), ("en-gb-x-rp", "en-029")]
# The third voice (`extra`) is a second interviewer: a woman's voice like the candidate's, a man's like the first.
PANELS = [{"interviewer": "en-us+m3", "candidate": "en+f3", "extra": "en-gb-scotland+f4"},
          {"interviewer": "en-us+m3", "candidate": "en+f3", "extra": "en-gb-x-rp"}]
REAL_PANEL = ("asterisk-allison", "codec2-ve9qrp", "codec2-david4")
__all__ = ["GAP_S", "NO_PAUSE_S", "read_mono"]


def write_wav(path: Path, audio: np.ndarray) -> None:
    pcm = (np.clip(audio, -1, 1) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE)
        w.writeframes(pcm.tobytes())


def espeak_dialog(turns: list[dict], voices: dict[str, str], path: Path, gap_s: float = GAP_S) -> list[dict]:
    """Speaks each turn with its speaker's voice into one mono WAV; returns the turns with their spans."""
    audio, timed = mixes.espeak_dialog(turns, voices, gap_s)
    write_wav(path, audio)
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
    live = _score(first_labels(events), turns, live=True)
    revisions = sum(1 for e in events if e["type"] == "transcript" and e.get("revision"))
    return {**score, "live_right": live["right"], "live_wrong": live["wrong"], "revisions": revisions}


def _verdict(said: str, truth: str, live: bool = False) -> str:
    """`extra` (a panel's third voice) is right as any label other than the two roles. As first
    shown (`live`), a voice told apart but not named yet (`speaker-N`) on a role's turn is not
    wrong but not named either: `unknown` (settled, it is wrong: the role never came)."""
    if said == "unknown" or (live and truth != "extra" and said.startswith("speaker-")):
        return "unknown"
    if truth == "extra":
        return "right" if said not in ("interviewer", "candidate") else "wrong"
    return "right" if said == truth else "wrong"


def _score(transcripts: list[dict], turns: list[dict], weight=lambda e: len(e["text"].split()),
           live: bool = False) -> dict:
    counts = Counter()
    for e in transcripts:
        turn = max(turns, key=lambda t: min(t["end"], e["end"]) - max(t["start"], e["start"]))
        counts[_verdict(e["speaker"], turn["speaker"], live)] += weight(e)
    total = max(sum(counts.values()), 1)
    return {"words": round(sum(counts.values()), 1), **{k: round(counts[k] / total, 4) for k in ("right", "wrong", "unknown")}}


def alerts(events: list[dict]) -> Counter:
    """Alerts and questions as they stand at the end (confirmed, revised, withdrawn settled)."""
    from pipeline.report.record import settled_alerts

    return Counter((e["type"], e["id"], e["speaker"]) for e in settled_alerts(events) if e["type"] in ALERT_TYPES)


def voice_only(audio: np.ndarray, turns: list[dict], labeler=None) -> dict:
    """The segmenter, voice splitter and voice labeler in-process (no ASR), for mixes whose words
    the bank does not know: the true role is the vote of each voice's first two turns, then none.
    Scored in seconds of speech (`words` is seconds here)."""
    from pipeline.audio.segmenter import Segmenter
    from pipeline.audio.voice_split import build_voice_splitter
    from pipeline.audio.voices import VoiceEncoder
    from pipeline.events import Transcript
    from pipeline.interview.speakers import VoiceLabeler

    voter = _FirstTurns(turns)
    labeler = labeler or VoiceLabeler(VoiceEncoder().warm_up(), voter)
    labeler.text = voter
    splitter = build_voice_splitter(labeler)
    ids = iter(range(1, 10**6))
    seg = Segmenter("unknown", next_id=lambda: next(ids))
    shown, spans = [], {}
    utterances = [u for k in range(0, len(audio), 4800) for u in seg.feed(audio[k:k + 4800])] + list(seg.flush())
    embed_ms = []
    for u in utterances:
        if u.duration >= splitter.opts.min_s:  # what the voice stage cost before the splitter
            started = time.perf_counter()
            labeler.encoder.embed(u.audio)
            embed_ms.append((time.perf_counter() - started) * 1000.0)
        for part in splitter.split(u, lambda: next(ids)):
            said = labeler.label_speaker(Transcript(part, text="x"))
            spans[part.id] = (part.start, part.end)
            shown.append({"utterance_id": part.id, "speaker": said, "start": part.start, "end": part.end})
            for r in labeler.revisions():
                shown.append({"utterance_id": r.utterance_id, "speaker": r.speaker,
                              "start": spans[r.utterance_id][0], "end": spans[r.utterance_id][1]})
    seconds = lambda e: e["end"] - e["start"]  # noqa: E731
    last = {e["utterance_id"]: e for e in shown}
    first: dict = {}
    for e in shown:
        first.setdefault(e["utterance_id"], e)
    score, live = _score(list(last.values()), turns, seconds), _score(list(first.values()), turns, seconds, live=True)
    return {**score, "live_right": live["right"], "live_wrong": live["wrong"],
            "revisions": len(shown) - len(first), "splits": len(first) - len(utterances),
            "split_ms": splitter.timings_ms, "embed_ms": embed_ms}


class _FirstTurns:
    """Text evidence stand-in: the true role for the first two turns of each voice."""

    def __init__(self, turns: list[dict]) -> None:
        self.turns, self.first = turns, set()
        for role in {t["speaker"] for t in turns}:
            self.first |= set([i for i, t in enumerate(turns) if t["speaker"] == role][:2])

    def label_speaker(self, transcript) -> str:
        u = transcript.utterance
        i = max(range(len(self.turns)), key=lambda k: min(self.turns[k]["end"], u.end) - max(self.turns[k]["start"], u.start))
        return self.turns[i]["speaker"] if i in self.first else "unknown"

    def revisions(self) -> list:
        return []


def _replayed(path: Path, audio: np.ndarray, timed: list[dict], results: dict, name: str, latency: dict) -> None:
    write_wav(path, audio)
    events = replay(path)
    results["mixes"][name] = {**attribution(events, timed), "alerts": sorted(map(list, alerts(events)))}
    for stage in ("voice", "split"):
        latency[stage] += [e["latency_ms"][stage] for e in settled(events) if stage in e.get("latency_ms", {})]
    m = results["mixes"][name]
    print(f"{name}: {m['right']:.1%} right, {m['wrong']:.1%} wrong", file=sys.stderr)


def run(out: Path | None, n_turns: int | None, quick: bool = False) -> dict:
    script = json.loads(DEMO_SCRIPT.read_text())["turns"][:n_turns]
    results: dict = {"machine_note": "2 cores shared with other jobs: latency is indicative", "mixes": {}}
    latency: dict[str, list[float]] = {"voice": [], "split": [], "split_alone": [], "embed_alone": []}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "mix.wav"
        audio = read_mono(DEMO_AUDIO)[:int((script[-1]["end"] + 1.0) * SAMPLE_RATE)]
        write_wav(path, audio)
        events = replay(path)
        stereo = replay(DEMO_AUDIO, "interviewer,candidate")
        stereo = [e for e in stereo if e["type"] not in ALERT_TYPES or e["end"] <= script[-1]["end"] + 1.0]
        a, b = alerts(events), alerts(stereo)
        results["mixes"]["demo-mono"] = {
            **attribution(events, script),
            "alerts_mono_vs_stereo": {"only_mono": sorted(map(list, (a - b).elements())),
                                      "only_stereo": sorted(map(list, (b - a).elements()))}}
        for stage in ("voice", "split"):
            latency[stage] += [e["latency_ms"][stage] for e in settled(events) if stage in e.get("latency_ms", {})]
        _replayed(path, *mixes.retimed(audio, script, NO_PAUSE_S), results, "demo no-pause", latency)
        pairs = VOICE_PAIRS[:2] if quick else VOICE_PAIRS
        for interviewer, candidate in pairs:
            voices = {"interviewer": interviewer, "candidate": candidate}
            _replayed(path, *mixes.espeak_dialog(script, voices), results, f"espeak {interviewer} / {candidate}",
                      latency)
        for interviewer, candidate in VOICE_PAIRS[:2]:
            voices = {"interviewer": interviewer, "candidate": candidate}
            _replayed(path, *mixes.espeak_dialog(script, voices, NO_PAUSE_S), results,
                      f"espeak {interviewer} / {candidate} no-pause", latency)
        for panel in PANELS:
            _replayed(path, *mixes.espeak_dialog(mixes.panel_turns(script), panel), results,
                      "panel " + " / ".join(panel.values()), latency)
    for interviewer, candidate in mixes.REAL_PAIRS:
        for gap, suffix in ((GAP_S, ""), (NO_PAUSE_S, " no-pause")):
            name = f"real {interviewer} / {candidate}{suffix}"
            results["mixes"][name] = voice_only(*mixes.real_dialog(interviewer, candidate, gap))
            latency["split_alone"] += results["mixes"][name].pop("split_ms")
            latency["embed_alone"] += results["mixes"][name].pop("embed_ms")
            print(f"{name}: {results['mixes'][name]['right']:.1%} right", file=sys.stderr)
    interviewer, candidate, extra = REAL_PANEL
    for gap, suffix in ((GAP_S, ""), (NO_PAUSE_S, " no-pause")):
        name = f"real panel {interviewer} / {candidate} / {extra}{suffix}"
        results["mixes"][name] = voice_only(*mixes.real_dialog(interviewer, candidate, gap, 90.0, extra=extra))
        for key in ("split_ms", "embed_ms"):
            results["mixes"][name].pop(key)
        print(f"{name}: {results['mixes'][name]['right']:.1%} right", file=sys.stderr)
    results["voice_stage_in_replay"] = percentiles(latency["voice"])
    results["split_in_replay"] = percentiles(latency["split"])
    results["split_alone"] = percentiles(latency["split_alone"])
    results["embed_alone"] = percentiles(latency["embed_alone"])
    ms = results["mixes"].values()
    results["overall"] = {k: round(float(np.mean([m[k] for m in ms])), 4) for k in ("right", "wrong", "unknown")}
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(results, indent=2) + "\n")
        out.with_suffix(".md").write_text(markdown(results))
    return results


def markdown(results: dict) -> str:
    lines = ["# Who said it: attribution on mono mixes", "",
             "Settled = last label of each utterance; first shown = the label when it was first emitted. "
             "`real` mixes: voice only, scored in seconds of speech (see benchmarks/speakers.py).", "",
             "| mix | units | right | wrong | unknown | first shown right | first shown wrong | revisions |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for name, m in results["mixes"].items():
        lines.append(f"| {name} | {m['words']} | {m['right']:.1%} | {m['wrong']:.1%} | {m['unknown']:.1%} "
                     f"| {m['live_right']:.1%} | {m['live_wrong']:.1%} | {m['revisions']} |")
    o = results["overall"]
    lines += ["", f"Mean over mixes: right {o['right']:.1%}, wrong {o['wrong']:.1%}, unknown {o['unknown']:.1%}.", ""]
    notes = {"voice_stage_in_replay": "the labeler's own embedding, 0 when it reuses the splitter's windows",
             "split_in_replay": "utterances of 4 s or more, on the capture thread while Whisper runs (--fast)",
             "split_alone": "the same on the real mixes' utterances of 4 s or more, nothing else of ours running",
             "embed_alone": "one whole-utterance embedding of those utterances: the voice stage before the splitter"}
    for stage, note in notes.items():
        r = results[stage]
        lines.append(f"- {stage}: p50 {r.get('p50_ms')} ms, p95 {r.get('p95_ms')} ms over {r['n']} ({note}; "
                     "2 cores shared with other jobs: indicative)")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/speakers.json"))
    parser.add_argument("--turns", type=int, default=None, help="only the first N turns of the script")
    parser.add_argument("--quick", action="store_true", help="two espeak pairs with pauses instead of four")
    args = parser.parse_args(argv)
    results = run(args.out, args.turns, args.quick)
    print(markdown(results))
    demo = results["mixes"]["demo-mono"]["alerts_mono_vs_stereo"]
    print(f"demo alerts/questions only in mono: {demo['only_mono']}; only in stereo: {demo['only_stereo']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
