"""Who spoke when on real meetings: the voice path as the engine runs it, scored against RTTM.

    python -m benchmarks.real_speakers [--variant NAME ...] [--files trn03,trn06] [--out PATH]

The data: ../shared/data/real-meetings (nine 30 s excerpts of real meetings, 1-4 speakers, with
who-spoke-when; see its README). They carry no words a bank knows, so there is no text evidence:
every voice must show as `speaker-N`. Each file goes through the engine's own segmenter options,
its voice splitter and its voice labeler, fed in 0.3 s chunks, utterance by utterance, with the
labeler's revisions applied as the engine applies them (`settled`: last label of each utterance;
`first`: as first shown). Scored by `benchmarks.diarization`: right / wrong / unknown / missed
by reference speech time (labels mapped to true speakers one to one) and DER (pyannote.metrics'
definition) with a +-0.25 s collar and with none.

Two-person mixes (`TWO_PERSON`): the meetings hold one two-person excerpt only (trn03, whose second
voice speaks 1.2 s at the very start), so the solo speech of two people (reference: one speaker
talking, stretches of 1.6 s or more) is also cut into turns of 2.5-6 s and interleaved, with a
pause (0.8 s) and without (0.15 s, turns merge into one utterance), scored the same way.

Each variant (voice model and options, see `VARIANTS`) runs over all files and mixes in one run;
`engine` runs the whole engine instead (`s2q replay --fast --jsonl --no-advice`, with Whisper).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from benchmarks.diarization import attribution, der, read_rttm
from benchmarks.speaker_mixes import GAP_S, NO_PAUSE_S, join_turns, read_mono, turns_of
from pipeline.audio.voices import SAMPLE_RATE
from pipeline.bench.latency import percentiles

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "real-meetings"
TUNE = ("trn00", "trn01", "trn02", "trn03", "trn04")  # what options were chosen on
CHECK = ("trn06", "trn07", "trn08", "trn09")  # reported beside, not tuned on
COPY = Path(__file__).resolve().parent / "data" / "real-meetings"  # trn00 and trn03, for the tests
CHUNK = 4800  # samples fed at a time (0.3 s), as a capture callback delivers them
# (file, speaker) pairs for two-person mixes: two men of one meeting; a woman and a man; a man and a woman
TWO_PERSON = ((("trn00", "MEE068"), ("trn03", "MÉO069")), (("trn06", "FEE083"), ("trn03", "MÉO069")),
              (("trn04", "MEE075"), ("trn09", "FEE083")))


@dataclass
class Variant:
    """One way of telling voices apart, run over every file.

    Attributes:
      build: () -> (labeler, splitter or None), fresh for each file.
      note: what differs from the shipped defaults.
    """

    build: Callable[[], tuple] | None
    note: str = ""  # build None: `s2q replay FILE --fast --jsonl --no-advice`, the whole engine with Whisper


def shipped() -> tuple:
    """The engine's labeler and splitter as `session.build.engine_for` makes them."""
    from pipeline.audio.voice_split import build_voice_splitter
    from pipeline.interview.speakers import build_voice_labeler

    labeler = build_voice_labeler(None)  # no text evidence: voices told apart, never named
    return labeler, build_voice_splitter(labeler)


def tuned(split: dict | None = None, **speaker) -> Callable[[], tuple]:
    """The shipped path with some options changed (`split`: the voice splitter's; None: no splitter)."""
    def build() -> tuple:
        from pipeline.audio.voice_split import VoiceSplitOptions, build_voice_splitter
        from pipeline.interview.speakers import SpeakerOptions, build_voice_labeler

        labeler = build_voice_labeler(None, SpeakerOptions(**speaker))
        return labeler, (build_voice_splitter(labeler, VoiceSplitOptions(**split)) if split is not None else None)
    return build


VARIANTS: dict[str, Variant] = {
    "shipped": Variant(shipped, "the defaults (raw split 0.30, at most 3 voices)"),
    "engine": Variant(None, "the defaults through `s2q replay --fast --jsonl --no-advice` (utterances "
                            "Whisper finds no words in are never shown)"),
    "cap-4": Variant(tuned({}, max_voices=4), "at most 4 voices"),
    "cap-2": Variant(tuned({}, max_voices=2), "at most 2 voices"),
    "raw-0.20": Variant(tuned({}, raw_split=0.20), "raw split 0.20"),
    "raw-0.25": Variant(tuned({}, raw_split=0.25), "raw split 0.25"),
    "raw-0.35": Variant(tuned({}, raw_split=0.35), "raw split 0.35 (about the old greedy join, 0.70 similar)"),
    "no-splitter": Variant(tuned(None), "no voice splitter (utterances whole)"),
    "splitter-0.25": Variant(tuned({"raw_split": 0.25}), "the voice splitter cuts at a raw distance of 0.25"),
    "splitter-hop-0.8": Variant(tuned({"hop_s": 0.8}), "the voice splitter's windows 0.8 s apart (fewer to embed)"),
    "splitter-short": Variant(tuned({"min_s": 3.0, "context_s": 2.0, "min_gap_s": 1.5}),
                              "the voice splitter searches from 3 s, 2 s each side, turns from 1.5 s"),
}


@dataclass
class Run:
    """What the voice path showed for one file: (utterance id, label, start, end) per emission."""

    shown: list[dict] = field(default_factory=list)
    utterances: int = 0
    split_ms: list[float] = field(default_factory=list)
    label_ms: list[float] = field(default_factory=list)  # each part: its vector (unless split) and the clustering
    voice_ms: list[float] = field(default_factory=list)  # each utterance: split + label, all the voice work it costs

    def segments(self, settled: bool = True) -> list[tuple[float, float, str]]:
        chosen: dict = {}
        for e in self.shown:
            if settled or e["id"] not in chosen:
                chosen[e["id"]] = e
        return sorted((e["start"], e["end"], e["speaker"]) for e in chosen.values())


def online(audio: np.ndarray, labeler, splitter) -> Run:
    """The segmenter, splitter and labeler in the engine's order, one chunk at a time."""
    from pipeline.audio.segmenter import Segmenter
    from pipeline.events import Transcript
    from pipeline.session.config import SessionConfig

    ids = iter(range(1, 10**6))
    next_id = lambda: next(ids)  # noqa: E731
    seg = Segmenter("unknown", SessionConfig().segmenter, next_id=next_id)
    run, spans = Run(), {}

    def handle(u) -> None:
        run.utterances += 1
        searched = len(splitter.timings_ms) if splitter is not None else 0
        parts = splitter.split(u, next_id) if splitter is not None else [u]
        spent = splitter.timings_ms[-1] if splitter is not None and len(splitter.timings_ms) > searched else 0.0
        if spent:
            run.split_ms.append(spent)
        for part in parts:
            started = time.perf_counter()
            said = labeler.label_speaker(Transcript(part, text="words"))
            run.label_ms.append((time.perf_counter() - started) * 1000.0)
            spent += run.label_ms[-1]
            spans[part.id] = (part.start, part.end)
            run.shown.append({"id": part.id, "speaker": said, "start": part.start, "end": part.end})
            for r in labeler.revisions():
                a, b = spans[r.utterance_id]
                run.shown.append({"id": r.utterance_id, "speaker": r.speaker, "start": a, "end": b})
        run.voice_ms.append(spent)

    for k in range(0, len(audio), CHUNK):
        for u in seg.feed(audio[k:k + CHUNK]):
            if u.final and not u.speculative:
                handle(u)
    for u in seg.flush():
        if u.final and not u.speculative:
            handle(u)
    return run


def solo_speech(folder: Path, file: str, speaker: str, truth: dict, min_s: float = 1.6) -> np.ndarray:
    """The stretches of `file` where `speaker` alone talks (at least `min_s` each), joined."""
    audio = read_mono(folder / f"{file}_16k_mono.wav")
    n = len(audio) // 160 + 1  # 10 ms frames
    mine, others = np.zeros(n, bool), np.zeros(n, bool)
    for start, end, who in truth[file]:
        (mine if who == speaker else others)[int(start * 100):int(end * 100)] = True
    alone = np.concatenate([[False], mine & ~others, [False]]).astype(int)
    edges = np.flatnonzero(np.diff(alone))
    return np.concatenate([audio[a * 160:b * 160] for a, b in zip(edges[0::2], edges[1::2]) if b - a >= min_s * 100])


def two_person(folder: Path, truth: dict, a: tuple[str, str], b: tuple[str, str], gap_s: float,
               seed: int = 0) -> tuple[np.ndarray, list[tuple[float, float, str]]]:
    """Two people's solo speech taking turns of 2.5-6 s (cut at quiet frames), `gap_s` apart; the
    mix and who spoke when."""
    lengths = list(np.random.default_rng(seed).uniform(2.5, 6.0, 40))
    first, second = (turns_of(solo_speech(folder, f, who, truth), lengths[k::2]) for k, (f, who) in enumerate((a, b)))
    turns, clips = [], []
    for x, y in zip(first, second):
        turns += [{"speaker": a[1]}, {"speaker": b[1]}]
        clips += [x, y]
    audio, timed = join_turns(turns, clips, gap_s)
    return audio, [(t["start"], t["end"], t["speaker"]) for t in timed]


def cases(files: list[str], truth: dict, mixes: bool) -> list[tuple[str, np.ndarray, list]]:
    """(name, audio, who spoke when) for each meeting file, then each two-person mix."""
    out = [(f, read_mono(DATA / f"{f}_16k_mono.wav"), truth[f]) for f in files]
    for a, b in TWO_PERSON if mixes else ():
        for gap in (GAP_S, NO_PAUSE_S):
            out.append((f"mix {a[1]}/{b[1]} gap {gap}", *two_person(DATA, truth, a, b, gap)))
    return out


def replayed(audio: np.ndarray) -> Run:
    """The whole engine on the audio (`s2q replay --fast --jsonl --no-advice`): what it showed."""
    import subprocess
    import tempfile

    from benchmarks.speakers import write_wav

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "meeting.wav"
        write_wav(path, audio)
        out = subprocess.run([sys.executable, "-m", "pipeline", "replay", str(path), "--fast", "--jsonl", "--no-advice"],
                             check=True, capture_output=True, text=True).stdout
    run = Run()
    for e in (json.loads(line) for line in out.splitlines() if line.strip()):
        if e["type"] == "transcript" and e["final"]:
            run.shown.append({"id": e["utterance_id"], "speaker": e["speaker"], "start": e["start"], "end": e["end"]})
            if not e.get("revision"):
                run.utterances += 1
                spent = e["latency_ms"].get("split", 0.0)
                run.split_ms += [spent] if spent else []
                run.label_ms.append(e["latency_ms"].get("voice", 0.0))
                run.voice_ms.append(spent + run.label_ms[-1])
    return run


def score(reference, run: Run) -> dict:
    settled, first = run.segments(True), run.segments(False)
    live = attribution(reference, first)
    return {**attribution(reference, settled), "first_right": live["right"], "first_wrong": live["wrong"],
            "der_collar": der(reference, settled, collar=0.5), "der": der(reference, settled, collar=0.0),
            "utterances": run.utterances, "parts": len({e["id"] for e in run.shown}),
            "revisions": len(run.shown) - len({e["id"] for e in run.shown})}


def pooled(per_file: dict, names) -> dict:
    """Time-weighted shares and DER over the named files."""
    rows = [per_file[n] for n in names if n in per_file]
    seconds = sum(r["seconds"] for r in rows) or 1.0
    out = {k: round(sum(r[k] * r["seconds"] for r in rows) / seconds, 4)
           for k in ("right", "wrong", "unknown", "missed", "first_right", "first_wrong")}
    for key in ("der_collar", "der"):
        total = sum(r[key]["total"] for r in rows) or 1.0
        out[key] = round(sum(r[key]["missed"] + r[key]["false_alarm"] + r[key]["confusion"] for r in rows) / total, 4)
    return {"files": len(rows), "seconds": round(seconds, 1), **out}


def run_variant(name: str, cases: list, truth: dict) -> dict:
    variant = VARIANTS[name]
    per_file, split_ms, label_ms, voice_ms = {}, [], [], []
    for f, audio, reference in cases:
        result = online(audio, *variant.build()) if variant.build is not None else replayed(audio)
        per_file[f] = {"speakers": len({s for _, _, s in reference}), **score(reference, result)}
        split_ms += result.split_ms
        label_ms += result.label_ms
        voice_ms += result.voice_ms
        r = per_file[f]
        print(f"{name} {f}: right {r['right']:.0%} wrong {r['wrong']:.0%} unknown {r['unknown']:.0%} "
              f"missed {r['missed']:.0%} labels {r['labels']} DER {r['der_collar']['der']:.0%}", file=sys.stderr)
    meetings = [f for f in per_file if not f.startswith("mix ")]
    mixes = [f for f in per_file if f.startswith("mix ")]
    return {"note": variant.note, "files": per_file,
            "pooled": {"all": pooled(per_file, meetings), "tune": pooled(per_file, [f for f in meetings if f in TUNE]),
                       "check": pooled(per_file, [f for f in meetings if f in CHECK]),
                       "two_speakers": pooled(per_file, [f for f in meetings if per_file[f]["speakers"] == 2]),
                       "three_plus": pooled(per_file, [f for f in meetings if per_file[f]["speakers"] >= 3]),
                       "two_person_mixes": pooled(per_file, mixes)},
            "split_ms": percentiles(split_ms), "label_ms": percentiles(label_ms), "voice_ms": percentiles(voice_ms)}


def markdown(results: dict) -> str:
    lines = ["# Who spoke when on real meetings (voice path, online)", "",
             "Shares of reference speech time (settled labels); DER as pyannote.metrics, +-0.25 s collar "
             "(and none). Tuned on " + ", ".join(TUNE) + "; checked on " + ", ".join(CHECK) + ".", "",
             "| variant | files | right | wrong | unknown | missed | first right | DER +-0.25 s | DER no collar |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for name, v in results["variants"].items():
        for group, p in v["pooled"].items():
            if p["files"]:
                lines.append(f"| {name} | {group} ({p['files']}) | {p['right']:.1%} | {p['wrong']:.1%} | "
                             f"{p['unknown']:.1%} | {p['missed']:.1%} | {p['first_right']:.1%} | "
                             f"{p['der_collar']:.1%} | {p['der']:.1%} |")
    lines += ["", "| variant | file | speakers | labels | right | wrong | unknown | missed | DER +-0.25 s |",
              "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for name, v in results["variants"].items():
        for f, r in v["files"].items():
            lines.append(f"| {name} | {f} | {r['speakers']} | {r['labels']} | {r['right']:.1%} | {r['wrong']:.1%} | "
                         f"{r['unknown']:.1%} | {r['missed']:.1%} | {r['der_collar']['der']:.1%} |")
    lines.append("")
    for name, v in results["variants"].items():
        ms = {k: f"p50 {v[k].get('p50_ms')} / p95 {v[k].get('p95_ms')} ms" for k in ("voice_ms", "split_ms", "label_ms")}
        lines.append(f"- {name}: {v['note']}; voice work per utterance {ms['voice_ms']} (split {ms['split_ms']} "
                     f"over utterances of 4 s or more, label {ms['label_ms']} per part; {results['load']})")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variant", action="append", choices=sorted(VARIANTS), help="default: shipped")
    parser.add_argument("--files", default=",".join(TUNE + CHECK), help="comma-separated file ids")
    parser.add_argument("--no-mixes", action="store_true", help="the meeting files only")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/real_speakers.json"))
    args = parser.parse_args(argv)
    truth = read_rttm(DATA / "meetings.rttm")
    heard = cases([f for f in args.files.split(",") if f], truth, not args.no_mixes)
    import os

    results = {"load": "load average %.1f %.1f %.1f on %d cores" % (*os.getloadavg(), os.cpu_count() or 0),
               "variants": {name: run_variant(name, heard, truth) for name in args.variant or ["shipped"]}}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    args.out.with_suffix(".md").write_text(markdown(results))
    print(markdown(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
