"""`s2q bench`: latency per step on this machine against the budget, WER side by side.

Default inputs: the bundled demo interview and, when installed, the real-speech
sets (Codec 2's radio and read recordings; Asterisk's recorded prompts, clips of 4 s
or more). Every utterance is also
transcribed with plain `WhisperModel.transcribe()` in the same run, so the ASR
speed-up and any WER cost are measured, not assumed.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.audio import SAMPLE_RATE
from pipeline.audio.second_pass import SecondPassOptions
from pipeline.audio.sources import decode_file
from pipeline.audio.transcriber import Transcriber, TranscriberOptions
from pipeline.audio.voices import VoiceEncoder
from pipeline.bench import BENCHMARKS
from pipeline.bench.inputs import Input, default_inputs, parse_inputs
from pipeline.bench.latency import (
    STEPS,
    Hearing,
    LatencyRun,
    measure,
    peak_rss_mb,
    plain_transcribe,
    step_table,
    utterances_of,
)
from pipeline.bench.levers import run_levers
from pipeline.bench.paced import lines as paced_lines
from pipeline.bench.paced import paced_side_by_side
from pipeline.bench.wer import wer
from pipeline.retrieval import DEFAULT_ROLE

DEFAULT_BUDGET = BENCHMARKS / "budget.toml"


@dataclass
class BenchOptions:
    """Attributes:
      audio: files to measure (`FILE` or `FILE:interviewer,candidate`); default: demo + real speech.
      real_speech: include the real-speech set when no files are given.
      runs: repeat the latency measurement; figures are medians over runs.
      paced: also replay the demo at real-time pace through the threaded engine, second pass
        off and on (`pipeline/bench/paced.py`).
      out: folder for bench.json, bench.md and bench.png.
      language: what the files speak (`en`, `it`, `auto`: `pipeline.audio.language`); the Whisper
        model is that language's default.
      role: the question bank whose matching is timed.
    """

    audio: list[str] = field(default_factory=list)
    real_speech: bool = True
    runs: int = 3
    paced: bool = False
    check: bool = False
    json_path: Path | None = None
    markdown_path: Path | None = None
    plot_path: Path | None = None
    out: Path | None = None
    budget: Path = DEFAULT_BUDGET
    language: str = "en"
    role: str = DEFAULT_ROLE


def cold_start_s(samples: int = 3) -> float:
    """Command start to ready for audio: a fresh `s2q replay` process until its `ready` event."""
    import numpy as np

    clip = Path(os.environ.get("TMPDIR", "/tmp")) / f"s2q-bench-silence-{os.getpid()}.wav"
    import wave

    with wave.open(str(clip), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE)
        w.writeframes(np.zeros(SAMPLE_RATE, "<i2").tobytes())
    times = []
    try:
        for _ in range(samples):
            t0 = time.perf_counter()
            proc = subprocess.Popen([sys.executable, "-m", "pipeline", "replay", str(clip), "--fast", "--jsonl"],
                                    stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            for line in proc.stdout:
                if '"ready"' in line:
                    times.append(time.perf_counter() - t0)
                    break
            proc.wait()
    finally:
        clip.unlink(missing_ok=True)
    return round(statistics.median(times), 2) if times else float("nan")


def machine() -> dict:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(), "system": platform.platform()}


def side_by_side(run: LatencyRun, inputs: list[Input], model, transcriber) -> dict:
    """Our ASR path vs plain transcribe() on the same utterances, and plain on whole files; WER per group."""
    ours_s = plain_s = 0.0
    language = None if transcriber.opts.language == "auto" else transcriber.opts.language
    groups: dict[str, dict[str, list[str]]] = {}
    for item in inputs:
        if item.reference is None:
            continue
        g = groups.setdefault(item.group, {"ref": [], "ours": [], "first_pass": [], "plain_utterances": [],
                                           "plain_whole": []})
        _, utterances = utterances_of(item.path, item.speakers)
        transcriber.reset()  # each file is a session: no prompt from the last file's text
        ours, plain = [], []
        for u in sorted(utterances, key=lambda u: u.start):
            t = time.perf_counter()
            ours.append(transcriber.transcribe(u).text)
            ours_s += time.perf_counter() - t
            text, seconds = plain_transcribe(model, u.audio, language=language)
            plain.append(text)
            plain_s += seconds
        whole, _ = plain_transcribe(model, decode_file(item.path, 1)[0], defaults=True, language=language)
        g["ref"].append(item.reference)
        # The streamed text (end of turn, speculation) and the best text after the second pass.
        g["first_pass"].append(" ".join(t for _, _, t in sorted(run.transcripts[str(item.path)])))
        g["ours"].append(" ".join(t for _, _, t in sorted(run.revised[str(item.path)])))
        g["plain_utterances"].append(" ".join(plain))
        g["plain_whole"].append(whole)
    wers = {
        name: {k: round(100 * wer(g["ref"], g[k]), 2) for k in ("ours", "first_pass", "plain_utterances",
                                                                 "plain_whole")}
        | {"clips": len(g["ref"])}
        for name, g in groups.items()
    }
    return {
        "settings": {"plain_utterances": "transcribe(beam_size=1, without_timestamps=True, "
                                         "condition_on_previous_text=False, vad_filter=False)",
                     "plain_whole": "transcribe(language='en') with faster-whisper's defaults (beam 5)"},
        "asr": {"ours_s": round(ours_s, 2), "plain_s": round(plain_s, 2),
                "speedup": round(plain_s / ours_s, 2) if ours_s else None},
        "wer_percent": wers,
    }


def check_budget(result: dict, budget: dict) -> list[str]:
    over = []
    for name, limits in budget.get("steps", {}).items():
        got = result["steps"].get(name, {})
        for key, limit in limits.items():
            if got.get(key, 0.0) > limit:
                over.append(f"{name} {key} {got[key]:.1f} > {limit}")
    run = budget.get("run", {})
    if "rtf" in run and result["rtf"] > run["rtf"]:
        over.append(f"rtf {result['rtf']:.3f} > {run['rtf']}")
    if "cold_start_s" in run and not result["cold_start_s"] <= run["cold_start_s"]:
        over.append(f"cold start {result['cold_start_s']} s > {run['cold_start_s']} s")
    for group, key in (("real_speech", "real_speech_wer_delta_points"), ("demo", "demo_wer_delta_points")):
        w = result.get("side_by_side", {}).get("wer_percent", {}).get(group)
        if w and key in run and w["ours"] - w["plain_whole"] > run[key]:
            over.append(f"{group} WER {w['ours']}% vs plain {w['plain_whole']}% (> +{run[key]} points)")
    return over


def run_bench(opts: BenchOptions, console=None) -> int:
    from rich.console import Console

    from pipeline.interview import build_interview_step  # lazy: keeps pydantic off start-up

    console = console or Console(highlight=False)
    budget = tomllib.loads(Path(opts.budget).read_text()) if Path(opts.budget).exists() else {}
    inputs, note = (parse_inputs(opts.audio), None) if opts.audio else default_inputs(opts.real_speech)
    if note:
        console.print(f"[yellow]{note}[/yellow]")
    console.print("measuring cold start…")
    cold = cold_start_s()

    transcriber = Transcriber(TranscriberOptions(language=opts.language))
    transcriber.warm_up()
    step = build_interview_step(opts.role)
    voices = VoiceEncoder().warm_up()
    runs: list[LatencyRun] = []
    for i in range(max(1, opts.runs)):
        console.print(f"latency run {i + 1}/{opts.runs} over {len(inputs)} file(s)…")
        runs.append(measure([(x.path, x.speakers) for x in inputs], transcriber, step.fresh(), voices=voices,
                            hearing=Hearing(second_pass=SecondPassOptions())))
    tables = [step_table(r.timings) for r in runs]
    steps = {
        name: {k: round(statistics.median(t[name][k] for t in tables), 1) for k in ("p50_ms", "p95_ms", "max_ms")}
        | {"n": tables[0][name]["n"]}
        for name in STEPS
    }
    noise = {name: {"p50_min_ms": min(t[name]["p50_ms"] for t in tables),
                    "p50_max_ms": max(t[name]["p50_ms"] for t in tables)} for name in STEPS}
    console.print("side by side with plain faster-whisper…")
    from faster_whisper import WhisperModel

    plain_model = WhisperModel(str(transcriber.model_path), device="cpu", compute_type="int8")
    result = {
        "machine": machine(),
        "model": str(transcriber.opts.model),
        "language": opts.language,
        "role": opts.role,
        "inputs": {"files": len(inputs), "audio_s": round(runs[0].audio_s, 1),
                   "groups": sorted({x.group for x in inputs})},
        "runs": len(runs),
        "steps": steps,
        "noise": noise,
        "rtf": round(statistics.median(r.rtf for r in runs), 4),
        "cpu_cores_used": round(statistics.median(r.cpu_s / r.wall_s for r in runs), 2),
        "cold_start_s": cold,
        "side_by_side": side_by_side(runs[0], inputs, plain_model, transcriber),
    }
    if opts.paced:
        console.print("paced replays of the demo (real time, second pass off and on)…")
        result["paced_demo"] = paced_side_by_side(transcriber, step)
    result["peak_rss_mb"] = round(peak_rss_mb(), 1)
    over = check_budget(result, budget)
    result["within_budget"] = not over
    result["over_budget"] = over
    result["budget"] = budget
    _print_table(console, result)
    out = Path(opts.out) if opts.out else None
    if out:
        out.mkdir(parents=True, exist_ok=True)
    json_path = opts.json_path or (out / "bench.json" if out else None)
    md_path = opts.markdown_path or (out / "bench.md" if out else None)
    png_path = opts.plot_path or (out / "bench.png" if out else None)
    if json_path:
        Path(json_path).write_text(json.dumps(result, indent=2) + "\n")
    if md_path:
        Path(md_path).write_text(markdown(result))
    if png_path:
        _plot(runs[0], Path(png_path), console)
    if opts.check and over:
        console.print("[red]over budget:[/red] " + "; ".join(over))
        return 1
    return 0


def _print_table(console, result: dict) -> None:
    from rich.table import Table

    table = Table(title=f"s2q bench — {result['machine']['cpu']} ({result['machine']['cores']} cores)")
    table.add_column("step")
    for col in ("p50 ms", "p95 ms", "max ms", "budget p50/p95"):
        table.add_column(col, justify="right")
    for name, row in result["steps"].items():
        b = result["budget"].get("steps", {}).get(name, {})
        table.add_row(name, f"{row['p50_ms']:.1f}", f"{row['p95_ms']:.1f}", f"{row['max_ms']:.1f}",
                      f"{b.get('p50_ms', '-')}/{b.get('p95_ms', '-')}")
    console.print(table)
    sbs = result["side_by_side"]
    console.print(f"RTF {result['rtf']:.3f} · CPU {result['cpu_cores_used']} cores · peak RSS "
                  f"{result['peak_rss_mb']:.0f} MB · cold start {result['cold_start_s']} s")
    console.print(f"ASR vs plain transcribe(): {sbs['asr']['ours_s']} s vs {sbs['asr']['plain_s']} s "
                  f"(×{sbs['asr']['speedup']} faster)")
    for group, w in sbs["wer_percent"].items():
        console.print(f"WER {group}: ours {w['ours']}% (first pass {w['first_pass']}%) · plain per utterance {w['plain_utterances']}% · "
                      f"plain whole clip {w['plain_whole']}% ({w['clips']} file(s))")
    for line in paced_lines(result.get("paced_demo", {})):
        console.print(line)
    verdict = "[green]within budget[/green]" if result["within_budget"] else "[red]over budget[/red]: " + "; ".join(
        result["over_budget"])
    console.print(verdict)


def markdown(result: dict) -> str:
    m = result["machine"]
    lines = [
        "# s2q bench",
        "",
        f"- Machine: {m['cpu']}, {m['cores']} cores, Python {m['python']} ({m['system']})",
        f"- Model: {result['model']}; inputs: {result['inputs']['files']} file(s), "
        f"{result['inputs']['audio_s']} s of audio ({', '.join(result['inputs']['groups'])}); "
        f"{result['runs']} run(s), medians shown",
        "",
        "| step | p50 ms | p95 ms | max ms | budget p50 / p95 | p50 range over runs |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, row in result["steps"].items():
        b = result["budget"].get("steps", {}).get(name, {})
        n = result["noise"][name]
        lines.append(f"| {name} | {row['p50_ms']} | {row['p95_ms']} | {row['max_ms']} | "
                     f"{b.get('p50_ms', '-')} / {b.get('p95_ms', '-')} | {n['p50_min_ms']}–{n['p50_max_ms']} |")
    sbs = result["side_by_side"]
    lines += [
        "",
        f"- Real-time factor {result['rtf']}; CPU {result['cpu_cores_used']} cores; "
        f"peak RSS {result['peak_rss_mb']} MB; cold start {result['cold_start_s']} s",
        f"- ASR: ours {sbs['asr']['ours_s']} s vs plain `transcribe()` {sbs['asr']['plain_s']} s "
        f"on the same utterances (×{sbs['asr']['speedup']})",
        "",
        "| WER % | ours (best: second pass) | ours, first pass (live) | plain, same utterances | plain, whole clip "
        "| files |", "|---|---:|---:|---:|---:|---:|",
    ]
    for group, w in sbs["wer_percent"].items():
        lines.append(f"| {group} | {w['ours']} | {w['first_pass']} | {w['plain_utterances']} | {w['plain_whole']} | {w['clips']} |")
    if "paced_demo" in result:
        lines += [""] + [f"- {line}" for line in paced_lines(result["paced_demo"])]
    lines += ["", "Within budget: **yes**" if result["within_budget"] else
              "Within budget: **no** — " + "; ".join(result["over_budget"]), ""]
    return "\n".join(lines)


def _plot(run: LatencyRun, path: Path, console) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        console.print("[yellow]no plot: matplotlib is not installed (pip install '.[plot]')[/yellow]")
        return
    fig, ax = plt.subplots(figsize=(8, 4))
    data = [[max(t.ms[name], 0.01) for t in run.timings if t.ms[name] is not None] for name in STEPS]
    ax.boxplot(data, tick_labels=list(STEPS), showfliers=True)
    ax.set_yscale("log")
    ax.set_ylabel("ms per utterance (log)")
    ax.set_title("s2q latency per step")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def handle_bench(args) -> int:
    if getattr(args, "levers", False):
        return run_levers(args)
    return run_bench(BenchOptions(
        audio=args.audio, real_speech=not args.no_real_speech, runs=args.runs, paced=args.paced,
        check=args.check, json_path=args.json, markdown_path=args.markdown, plot_path=args.plot,
        out=args.out, budget=args.budget or DEFAULT_BUDGET, language=args.language, role=args.role,
    ))
