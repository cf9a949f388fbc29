"""`s2q bench --levers`: the hearing levers of issue 9 side by side, in one run, on the same audio.

Each lever is a `Hearing` configuration run through `measure()` (segmenter -> speculative
transcription -> end of turn -> final -> second pass, on the audio clock, no matcher). For each:
WER of the first pass (what the live view shows) and of the best text (after revisions, what the
report keeps) per group, end of speech -> final text p50/p95 (all finals, and the last piece of
each 60 s turn), the longest piece of a long turn, and CPU seconds per audio second. Plain
whole-clip faster-whisper (beam 1 and beam 5) on the same files is the yardstick.

Inputs: the demo, the radio-speech set, a subset of the Asterisk real-speech set, and a 60 s
turn made of Asterisk clips joined with short pauses (`long_turn`, built once and cached).
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from pipeline.audio import SAMPLE_RATE
from pipeline.audio.end_of_turn import EndOfTurnOptions
from pipeline.audio.hotwords import role_hotwords
from pipeline.audio.second_pass import SecondPassOptions
from pipeline.audio.segmenter import SegmenterOptions
from pipeline.audio.sources import decode_file
from pipeline.audio.transcriber import Transcriber
from pipeline.bench.latency import Hearing, measure, percentiles
from pipeline.bench.realspeech import load_real_speech_set
from pipeline.bench.inputs import Input, default_inputs, parse_inputs
from pipeline.bench.wer import wer
from pipeline.retrieval import DEFAULT_ROLE

CACHE = Path.home() / ".cache" / "s2q" / "longturn"
LONG_TURN_S = 60.0


def levers(hotwords: str, only: list[str] | None = None) -> dict[str, Hearing]:
    """The configurations compared: the previous defaults, then one lever at a time on top
    (`only`: these names, by their first word after "+", e.g. ["before", "end", "commit"])."""
    off = Hearing(segmenter=SegmenterOptions(commit_after_s=0.0), end_of_turn=None, second_pass=None)
    eot = replace(off, end_of_turn=EndOfTurnOptions())
    commit = replace(eot, segmenter=SegmenterOptions(commit_after_s=6.0))
    two = replace(commit, second_pass=SecondPassOptions(beam_size=5, fit_window=True, min_words_kept=0.0))
    window = replace(commit, second_pass=replace(two.second_pass, fit_window=False))
    every = {
        "before (hangover, 25 s max, one pass)": off,
        "+ end of turn at a complete sentence": eot,
        "+ commit long turns at 150 ms pauses after 10 s": replace(
            eot, segmenter=SegmenterOptions(commit_after_s=10.0)),
        "+ sooner: commit after 6 s (instead of 10)": commit,
        "+ second pass beam 5, fitted window (a turn of pieces up to 20 s whole)": two,
        "+ window 30 s in the second pass": window,
        "+ keep: revisions may not drop over a quarter of the first pass's words": replace(
            window, second_pass=replace(window.second_pass, min_words_kept=0.75)),
        "+ base: Whisper base in the second pass (tiny.en in the first)": replace(
            window, second_pass=replace(window.second_pass, model="base")),
        "+ role hotwords (both passes)": replace(two, hotwords=hotwords),
        "+ sooner still: commit after 4 s (instead of 6)": replace(
            window, segmenter=SegmenterOptions(commit_after_s=4.0)),
        "+ guess after 120 ms of silence (tail_ms 200 -> 120)": replace(
            window, segmenter=SegmenterOptions(commit_after_s=6.0, tail_ms=120)),
    }
    return {k: v for k, v in every.items() if only is None or k.lstrip("+ ").split()[0].rstrip(":") in only}


def long_turn(min_s: float = LONG_TURN_S) -> tuple[Path, str]:
    """About a minute of one real speaker without a long pause: Asterisk prompts, silences trimmed,
    joined with 0.25-0.4 s pauses. Cached as WAV with its reference text."""
    wav, txt = CACHE / "long-turn.wav", CACHE / "long-turn.txt"
    if wav.exists() and txt.exists():
        return wav, txt.read_text()
    rng = np.random.default_rng(9)
    parts, texts, total = [], [], 0.0
    for clip in sorted(load_real_speech_set(), key=lambda c: c.id)[::3]:
        audio = decode_file(clip.path, 1)[0]
        loud = np.flatnonzero(np.abs(audio) > 0.02)
        if len(loud) == 0:
            continue
        audio = audio[max(0, loud[0] - 1600) : loud[-1] + 1600]
        if total + len(audio) / SAMPLE_RATE > min_s + 8.0:
            continue  # about a minute, not a minute and a half
        parts += [audio, np.zeros(int(rng.uniform(0.25, 0.4) * SAMPLE_RATE), np.float32)]
        texts.append(clip.text)
        total += len(audio) / SAMPLE_RATE
        if total >= min_s:
            break
    CACHE.mkdir(parents=True, exist_ok=True)
    import wave

    pcm = (np.clip(np.concatenate(parts), -1, 1) * 32767).astype("<i2")
    with wave.open(str(wav), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE)
        w.writeframes(pcm.tobytes())
    txt.write_text(" ".join(texts))
    return wav, txt.read_text()


def compare(inputs, transcriber, hotwords: str, console, only: list[str] | None = None) -> dict:
    """Every lever over `inputs` (bench `Input`s), plus plain whole-clip beam 1 / beam 5."""
    groups = sorted({x.group for x in inputs})
    plain: dict[str, dict[str, list[str]]] = {g: {"ref": [], "beam1": [], "beam5": []} for g in groups}
    for x in inputs:
        audio = decode_file(x.path, 1)[0]
        plain[x.group]["ref"].append(x.reference)
        for beam in (1, 5):
            segments, _ = transcriber.model.transcribe(audio, language="en", beam_size=beam)
            plain[x.group][f"beam{beam}"].append(" ".join(s.text.strip() for s in segments))
    result = {"plain_whole_clip": {g: {k: round(100 * wer(p["ref"], p[k]), 2) for k in ("beam1", "beam5")}
                                   for g, p in plain.items()}, "levers": {}}
    for name, hearing in levers(hotwords, only).items():
        console.print(f"lever: {name}…")
        started = time.perf_counter()
        run = measure([(x.path, x.speakers) for x in inputs], transcriber, None, hearing=hearing)
        first, best = {g: [] for g in groups}, {g: [] for g in groups}
        for x in inputs:
            first[x.group].append(" ".join(t for _, _, t in sorted(run.transcripts[str(x.path)])))
            best[x.group].append(" ".join(t for _, _, t in sorted(run.revised[str(x.path)])))
        eos = [t.ms["end_of_speech"] for t in run.timings if t.ms["end_of_speech"] is not None]
        long_files = [str(x.path) for x in inputs if x.group == "long_turn"]
        long_last = [max((t for t in run.timings if t.source == f), key=lambda t: t.end) for f in long_files]
        pieces = [t.end - t.start for t in run.timings if t.source in long_files]
        result["levers"][name] = {
            "wer_first_pass": {g: round(100 * wer(plain[g]["ref"], first[g]), 2) for g in groups},
            "wer_best": {g: round(100 * wer(plain[g]["ref"], best[g]), 2) for g in groups},
            "end_of_speech": percentiles(eos),
            "long_turn_end_of_speech_ms": [round(t.ms["end_of_speech"] or -1, 1) for t in long_last],
            "long_turn_last_piece_s": [round(t.end - t.start, 2) for t in long_last],
            "long_turn_longest_piece_s": round(max(pieces), 2) if pieces else None,
            "finals": len(run.timings),
            "cpu_s_per_audio_s": round(run.cpu_s / run.audio_s, 3),
            "second_pass_s_per_audio_s": round(run.second_pass_s / run.audio_s, 3),
            "wall_s": round(time.perf_counter() - started, 1),
        }
    return result


def markdown(result: dict) -> str:
    groups = sorted(result["plain_whole_clip"])
    head = " | ".join(f"WER {g} first / best" for g in groups)
    lines = [f"| lever | {head} | end of speech p50 / p95 ms | 60 s turn: last piece s, end of speech ms "
             "| CPU s per audio s (2nd pass) |", "|---" + "|---:" * (len(groups) + 3) + "|"]
    for name, r in result["levers"].items():
        w = " | ".join(f"{r['wer_first_pass'][g]} / {r['wer_best'][g]}" for g in groups)
        e = r["end_of_speech"]
        lt = ", ".join(f"{p} s, {m} ms" for p, m in zip(r["long_turn_last_piece_s"], r["long_turn_end_of_speech_ms"]))
        lines.append(f"| {name} | {w} | {e['p50_ms']} / {e['p95_ms']} | {lt or '-'} | "
                     f"{r['cpu_s_per_audio_s']} ({r['second_pass_s_per_audio_s']}) |")
    plain = result["plain_whole_clip"]
    lines.append("| plain faster-whisper whole clip, beam 1 / beam 5 | "
                 + " | ".join(f"{plain[g]['beam1']} / {plain[g]['beam5']}" for g in groups) + " | – | – | – |")
    return "\n".join(lines) + "\n"


def run_levers(args, real_speech_clips: int = 15) -> int:
    """`s2q bench --levers [--no-real-speech] [--out DIR]`; files given on the command line replace
    the default inputs (the 60 s turn is always added)."""
    import json

    from rich.console import Console

    console = Console(highlight=False)
    if args.audio:
        inputs = parse_inputs(args.audio)
    else:
        inputs, note = default_inputs(not args.no_real_speech)
        real = [x for x in inputs if x.group == "real_speech"][:real_speech_clips]
        inputs = [x for x in inputs if x.group != "real_speech"] + real
        if note:
            console.print(f"[yellow]{note}[/yellow]")
    try:
        path, text = long_turn()
        inputs.append(Input(path, ["candidate"], text, "long_turn"))
    except RuntimeError as exc:
        console.print(f"[yellow]no 60 s turn: {exc}[/yellow]")
    inputs = [x for x in inputs if x.reference is not None]
    transcriber = Transcriber()
    transcriber.warm_up()
    result = compare(inputs, transcriber, role_hotwords(DEFAULT_ROLE), console)
    result["inputs"] = {g: sum(1 for x in inputs if x.group == g) for g in sorted({x.group for x in inputs})}
    table = markdown(result)
    console.print(table)
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "levers.json").write_text(json.dumps(result, indent=2) + "\n")
        (out / "levers.md").write_text(table)
    return 0
