"""Per-utterance latency of the whole pipeline, stage by stage, without queueing.

The benchmark drives the same objects as `s2q replay` — segmenter, transcriber,
matcher, advisor — one utterance at a time, so each figure is what that
utterance costs on this machine, not how long it waited behind another one.

Speculative transcription (`pipeline.memory.Speculation`) is measured on the audio
clock: the guess is transcribed when the segmenter offers it (time measured),
and the utterance is declared over a known stretch of audio later; the wait
after the declaration is what the guess's transcription had left, if anything.
That is what an otherwise idle live pipeline does. `--paced` runs the real
threaded pipeline at real-time pace, where waiting of every kind is measured.
"""

from __future__ import annotations

import resource
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pipeline.audio import SAMPLE_RATE
from pipeline.audio.segmenter import SegmenterOptions, SpeakerSegmenters
from pipeline.audio.sources import FileSource

STAGES = ("segmenter", "asr", "asr_wait", "voice", "embed", "search", "advise", "total")


@dataclass
class UtteranceTiming:
    source: str
    speaker: str
    start: float
    end: float
    text: str
    ms: dict[str, float]  # per stage


@dataclass
class LatencyRun:
    timings: list[UtteranceTiming] = field(default_factory=list)
    audio_s: float = 0.0
    wall_s: float = 0.0
    cpu_s: float = 0.0
    transcripts: dict[str, list[tuple[float, str, str]]] = field(default_factory=dict)  # source -> (start, speaker, text)

    @property
    def rtf(self) -> float:
        return self.wall_s / self.audio_s if self.audio_s else 0.0


def utterances_of(path: Path, speakers: list[str], options: SegmenterOptions | None = None):
    """All final utterances of a file, in the order a live segmenter would emit them."""
    duration, events = segment_file(path, speakers, options)
    return duration, [u for u, _ in events if not u.speculative]


def segment_file(path: Path, speakers: list[str], options: SegmenterOptions | None = None):
    """(utterance, audio time it was emitted at) for every utterance and speculative guess."""
    from pipeline.audio.sources import AudioChunk

    source = FileSource(path, speakers=speakers, realtime=False)
    segmenters = SpeakerSegmenters(options)
    out = []
    for chunk in source:
        out.extend((u, chunk.end) for u in segmenters.feed(chunk))
    # A live input goes on after the last word: a second of silence ends the last utterance
    # the way a pause does, instead of the end of the file cutting it.
    for speaker in speakers:
        tail = AudioChunk(speaker, np.zeros(SAMPLE_RATE, np.float32), source.duration)
        out.extend((u, tail.end) for u in segmenters.feed(tail))
        out.extend((u, tail.end) for u in segmenters.get(speaker).flush())
    return source.duration, out


def measure(inputs: list[tuple[Path, list[str]]], transcriber, stage, speculate: bool = True,
            voices=None) -> LatencyRun:
    """Runs each file through segmenter -> transcriber -> matcher/advisor, timing every step.

    `voices` (a `VoiceEncoder`): also times the voice embedding of every final utterance (the
    `voice` stage, which the engine runs on mixed sources only, so only theirs count in `total`).
    """
    from pipeline.events import SuggestionEvent, Transcript
    from pipeline.memory import Guess, Speculation

    run = LatencyRun()
    cpu0 = _cpu()
    t0 = time.perf_counter()
    options = SegmenterOptions(speculate=speculate)
    for path, speakers in inputs:
        duration, emitted = segment_file(path, speakers, options)
        run.audio_s += duration
        lines = run.transcripts.setdefault(str(path), [])
        speculation = Speculation()
        transcriber.reset()  # each file is a session: no prompt from the last file's text
        for u, at in emitted:
            if u.speculative:
                transcript = transcriber.transcribe(u)
                speculation.remember(u, Guess(transcript.text, u.timeline.ms("asr_start", "asr_done"), at))
                continue
            guess = speculation.take(u)
            if guess is None:
                transcript = transcriber.transcribe(u)
                asr_ms = asr_wait = u.timeline.ms("asr_start", "asr_done")
            else:
                asr_ms = guess.asr_ms
                transcript = Transcript(u, guess.text)
                transcriber.remember(u, guess.text)  # as the engine does on a speculation hit
                u.timeline.stamp("asr_start")
                u.timeline.stamp("asr_done")
                asr_wait = max(0.0, asr_ms - (at - guess.audio_at) * 1000)
            if not transcript.text:
                continue
            lines.append((u.start, u.speaker, transcript.text))
            u.timeline.stamp("emitted")
            suggestion = None
            for event in stage(transcript) if stage else ():
                if isinstance(event, SuggestionEvent):
                    suggestion = event
            lat = suggestion.latency_ms if suggestion else {}
            after_asr = (lat.get("match") or 0.0) + (lat.get("advise") or 0.0)
            voice_ms = None
            if voices is not None:
                started = time.perf_counter()
                voices.embed(u.audio)
                voice_ms = (time.perf_counter() - started) * 1000
                after_asr += voice_ms if u.speaker == "unknown" else 0.0
            ms = {
                "segmenter": None if u.eou_delay is None else u.eou_delay * 1000,
                "asr": asr_ms,
                "asr_wait": asr_wait,
                "voice": voice_ms,
                "embed": lat.get("embed", 0.0),
                "search": lat.get("search", 0.0),
                "advise": lat.get("advise", 0.0),
                "total": asr_wait + after_asr,
            }
            run.timings.append(UtteranceTiming(str(path), u.speaker, u.start, u.end, transcript.text, ms))
    run.wall_s = time.perf_counter() - t0
    run.cpu_s = _cpu() - cpu0
    return run


def percentiles(values: list[float], digits: int = 1) -> dict[str, float]:
    """p50/p95/p99/max/mean of millisecond figures; the one place benchmarks summarise timings."""
    if not values:
        return {"p50_ms": 0.0, "p95_ms": 0.0, "p99_ms": 0.0, "max_ms": 0.0, "mean_ms": 0.0, "n": 0}
    a = np.asarray(values, dtype=float)
    figures = {f"p{p}_ms": float(np.percentile(a, p)) for p in (50, 95, 99)}
    figures |= {"max_ms": float(a.max()), "mean_ms": float(a.mean())}
    return {k: round(v, digits) for k, v in figures.items()} | {"n": len(values)}


def stage_table(timings: list[UtteranceTiming]) -> dict[str, dict[str, float]]:
    return {name: percentiles([t.ms[name] for t in timings if t.ms[name] is not None]) for name in STAGES}


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def plain_transcribe(model, audio: np.ndarray, defaults: bool = False) -> tuple[str, float]:
    """Plain `WhisperModel.transcribe()`: text, seconds.

    `defaults`: faster-whisper's own defaults (beam 5, timestamps, conditioning on
    previous text), as someone transcribing a whole recording would call it.
    Otherwise greedy without timestamps, the decoding our path uses, so a speed
    ratio compares the pipeline and not the decoding settings.
    """
    t = time.perf_counter()
    if defaults:
        segments, _ = model.transcribe(audio, language="en")
    else:
        segments, _ = model.transcribe(audio, beam_size=1, language="en", condition_on_previous_text=False,
                                       without_timestamps=True, vad_filter=False)
    text = " ".join(s.text.strip() for s in segments).strip()
    return text, time.perf_counter() - t


def audio_seconds(audio: np.ndarray) -> float:
    return len(audio) / SAMPLE_RATE
