"""Per-utterance latency of the whole pipeline, step by step, without queueing.

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
from pipeline.audio.end_of_turn import EndOfTurnOptions, end_point, turn_judge
from pipeline.audio.second_pass import SecondPass, SecondPassOptions
from pipeline.audio.segmenter import SegmenterOptions, SpeakerSegmenters
from pipeline.audio.sources import AudioChunk, FileSource
from pipeline.events import SuggestionEvent, Transcript
from pipeline.memory import Guess, PiecedTurns, Speculation

# end_of_speech: from the last voiced frame to the final text (segmenter's delay + what ASR had left).
# understand: embed + search + verify, what the matcher costs an utterance (issue 24's budget: p95 <= 60 ms).
STEPS = ("segmenter", "asr", "asr_wait", "end_of_speech", "voice", "embed", "search", "verify", "understand", "advise",
          "total")


@dataclass
class UtteranceTiming:
    source: str
    speaker: str
    start: float
    end: float
    text: str
    ms: dict[str, float]  # per step


@dataclass
class LatencyRun:
    timings: list[UtteranceTiming] = field(default_factory=list)
    audio_s: float = 0.0
    wall_s: float = 0.0
    cpu_s: float = 0.0
    transcripts: dict[str, list[tuple[float, str, str]]] = field(default_factory=dict)  # source -> (start, speaker, text)
    revised: dict[str, list[tuple[float, str, str]]] = field(default_factory=dict)  # the same, best text
    second_pass_s: float = 0.0  # wall time of the second pass (all finals decoded again)

    @property
    def rtf(self) -> float:
        return self.wall_s / self.audio_s if self.audio_s else 0.0


def utterances_of(path: Path, speakers: list[str], options: SegmenterOptions | None = None):
    """All final utterances of a file, in the order a live segmenter would emit them; a long turn
    whole, as the engine's final for it (its pieces are joined, `pipeline.memory.PiecedTurns`)."""
    duration, events = segment_file(path, speakers, options or SegmenterOptions(commit_after_s=0.0))
    return duration, [u for u, _ in events if not u.speculative]


def segment_file(path: Path, speakers: list[str], options: SegmenterOptions | None = None, speculate: bool = False):
    """(utterance, audio time it was emitted at) for every utterance and, with `speculate`, speculative guess."""
    source = FileSource(path, speakers=speakers, realtime=False)
    segmenters = SpeakerSegmenters(options, speculate=speculate)
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


@dataclass
class Hearing:
    """How `measure` hears (the levers of issue 9), as the engine would with these options.

    Attributes:
      segmenter: segmentation (e.g. `commit_after_s` for long turns).
      end_of_turn: when a turn ends before the hangover: the text rule, and in `model` mode the
        end-of-turn model too, asked in the segmenter as the engine does (None: off).
      second_pass: every final decoded again (None: off); timed as ASR CPU, not as latency.
      hotwords: Whisper hotwords for this run (the transcriber's own otherwise).
    """

    segmenter: SegmenterOptions = field(default_factory=SegmenterOptions)
    end_of_turn: EndOfTurnOptions | None = field(default_factory=EndOfTurnOptions)
    second_pass: SecondPassOptions | None = None
    hotwords: str | None = None


def measure(inputs: list[tuple[Path, list[str]]], transcriber, step, speculate: bool = True,
            voices=None, hearing: Hearing | None = None) -> LatencyRun:
    """Runs each file through segmenter -> transcriber -> matcher/advisor, timing every step.

    The segmenter is fed chunk by chunk on the audio clock: a speculative guess is transcribed
    when offered, and when it is a complete sentence the turn ends `asr` ms of audio later
    (`Segmenter.end_early`), as the engine does. `voices` (a `VoiceEncoder`): also times the
    voice embedding of every final utterance (the `voice` step, which the engine runs on mixed
    sources only, so only theirs count in `total`).
    """
    hearing = hearing or Hearing()
    run = LatencyRun()
    judge = turn_judge(hearing.end_of_turn) if hearing.end_of_turn and speculate else None  # as the engine
    cpu0 = _cpu()
    t0 = time.perf_counter()
    saved_hotwords = transcriber.opts.hotwords
    if hearing.hotwords is not None:
        transcriber.opts.hotwords = hearing.hotwords
    try:
        for path, speakers in inputs:
            transcriber.reset()  # each file is a session: no prompt from the last file's text
            second = SecondPass(transcriber, hearing.second_pass) if hearing.second_pass else None
            file = _FileRun(run, str(path), transcriber, step, voices, hearing.end_of_turn, second)
            run.audio_s += _feed(path, speakers, hearing.segmenter, speculate, file, judge)
            run.transcripts[str(path)] = [(t.start, t.speaker, t.text) for t in file.timings]
            run.revised[str(path)] = [(t.start, t.speaker, file.best.get(t.id, t.text)) for t in file.timings]
            run.timings += [t.timing for t in file.timings]
    finally:
        transcriber.opts.hotwords = saved_hotwords
    run.wall_s = time.perf_counter() - t0
    run.cpu_s = _cpu() - cpu0
    return run


def _feed(path: Path, speakers: list[str], options: SegmenterOptions, speculate: bool, file: "_FileRun",
          judge=None) -> float:
    """The file through the segmenters chunk by chunk, then a second of silence per speaker."""
    source = FileSource(path, speakers=speakers, realtime=False)
    segmenters = SpeakerSegmenters(options, speculate=speculate, turn_end=judge)
    chunks = iter(source)
    while (chunk := next(chunks, None)) is not None:
        file.chunk(segmenters.get(chunk.speaker), chunk)
    # A live input goes on after the last word: a second of silence ends the last utterance
    # the way a pause does, instead of the end of the file cutting it.
    for speaker in speakers:
        n = SAMPLE_RATE * options.frame_ms // 1000
        for i in range(1000 // options.frame_ms):
            file.chunk(segmenters.get(speaker), AudioChunk(speaker, np.zeros(n, np.float32),
                                                            source.duration + (i + 1) * n / SAMPLE_RATE))
        for u in segmenters.get(speaker).flush():
            file.utterance(u, source.duration + 1.0)
    return source.duration


@dataclass
class _Final:
    id: int
    start: float
    speaker: str
    text: str
    timing: UtteranceTiming


class _FileRun:
    """One file's utterances as the engine's worker would handle them, timed on the audio clock."""

    def __init__(self, run, source, transcriber, step, voices, end_of_turn, second) -> None:
        self.run, self.source, self.transcriber, self.step, self.voices = run, source, transcriber, step, voices
        self.end_of_turn, self.second = end_of_turn, second
        self.speculation = Speculation()
        self.pieced_turns = PiecedTurns()  # what the second pass is offered: finals, pieced turns whole
        self.end_at: dict[str, tuple[int, int, float, str]] = {}  # speaker -> (id, samples, audio time due, reading)
        self.timings: list[_Final] = []
        self.piece: dict[str, tuple[dict, float]] = {}  # speaker -> (ms of its last piece, audio time emitted)
        self.turn: dict[str, list[int]] = {}  # speaker -> ids of the pieces of the turn going on
        self.best: dict[int, str] = {}

    def chunk(self, seg, chunk) -> None:
        for u in seg.feed(chunk):
            self.utterance(u, chunk.end)
        due = self.end_at.get(chunk.speaker)
        if due is not None and chunk.end >= due[2]:
            del self.end_at[chunk.speaker]
            if (u := seg.end_early(due[0], due[1], due[3])) is not None:
                self.utterance(u, chunk.end)

    def utterance(self, u, at: float) -> None:
        if u.speculative:
            transcript = self.transcriber.transcribe(u)
            asr_ms = u.timeline.ms("asr_start", "asr_done")
            self.speculation.remember(u, Guess(transcript.text, asr_ms, at))
            self._maybe_end_turn(transcript, at + asr_ms / 1000)
            return
        self.end_at.pop(u.speaker, None)
        guess = self.speculation.take(u)
        if guess is None:
            transcript = self.transcriber.transcribe(u)
            asr_ms = asr_wait = u.timeline.ms("asr_start", "asr_done")
        else:
            asr_ms = guess.asr_ms
            transcript = Transcript(u, guess.text)
            self.transcriber.remember(u, guess.text)  # as the engine does on a speculation hit
            u.timeline.stamp("asr_start")
            u.timeline.stamp("asr_done")
            asr_wait = max(0.0, asr_ms - (at - guess.audio_at) * 1000)
        if u.continues:
            self._maybe_end_turn(transcript, at + asr_wait / 1000)  # its text is ready then
        piece = self.piece.pop(u.speaker, None)
        if piece is not None and not u.continues and not transcript.text and piece[0]["end_of_speech"] is not None:
            # The turn ends with a silent piece: the whole turn goes out now (memory.PiecedTurns).
            piece[0]["end_of_speech"] += (at - piece[1]) * 1000 + asr_wait
        elif piece is not None:
            piece[0]["end_of_speech"] = None  # the turn went on: that piece was not the end of speech
        if self.second is not None:
            self._second_pass(transcript)
        if not transcript.text:
            return
        u.timeline.stamp("emitted")
        suggestion = None
        for event in self.step(transcript) if self.step else ():
            if isinstance(event, SuggestionEvent):
                suggestion = event
        lat = suggestion.latency_ms if suggestion else {}
        after_asr = (lat.get("match") or 0.0) + (lat.get("advise") or 0.0)
        voice_ms = None
        if self.voices is not None:
            started = time.perf_counter()
            self.voices.embed(u.audio)
            voice_ms = (time.perf_counter() - started) * 1000
            after_asr += voice_ms if u.speaker == "unknown" else 0.0
        segmenter_ms = None if u.eou_delay is None else u.eou_delay * 1000
        ms = {
            "segmenter": segmenter_ms,
            "asr": asr_ms,
            "asr_wait": asr_wait,
            "end_of_speech": None if segmenter_ms is None else segmenter_ms + asr_wait,  # for a piece: below
            "voice": voice_ms,
            "embed": lat.get("embed", 0.0),
            "search": lat.get("search", 0.0),
            "verify": lat.get("verify", 0.0),
            "understand": sum(lat.get(k) or 0.0 for k in ("embed", "search", "verify")),
            "advise": lat.get("advise", 0.0),
            "total": asr_wait + after_asr,
        }
        timing = UtteranceTiming(self.source, u.speaker, u.start, u.end, transcript.text, ms)
        if u.continues:  # a piece of a turn still going on: no final text yet, unless the turn ends silent
            self.piece[u.speaker] = (ms, at)
        self.timings.append(_Final(u.id, u.start, u.speaker, transcript.text, timing))

    def _maybe_end_turn(self, transcript, ready_at: float) -> None:
        """As the engine does: a complete sentence ends the turn when its text is ready (audio clock)."""
        u = transcript.utterance
        if self.end_of_turn is not None and (end := end_point(u, transcript.text, self.end_of_turn)):
            self.end_at[u.speaker] = (end[0], end[1], ready_at, end[2])

    def _second_pass(self, transcript) -> None:
        """Every final (and turn) decoded again at once; a whole-turn revision replaces its pieces."""
        u = transcript.utterance
        turn = self.turn.setdefault(u.speaker, [])
        if u.continues or turn:
            turn.append(u.id)
        if not u.continues:
            self.turn.pop(u.speaker, None)
        for out in self.pieced_turns.assemble(transcript):
            self.second.offer(out.transcript, out.pieces)
        started = time.perf_counter()
        revision = self.second.run_one()
        self.run.second_pass_s += time.perf_counter() - started
        if revision is not None:
            for uid in turn if revision.whole_turn else ():
                self.best[uid] = ""
            self.best[revision.utterance_id] = revision.text


def percentiles(values: list[float], digits: int = 1) -> dict[str, float]:
    """p50/p95/p99/max/mean of millisecond figures; the one place benchmarks summarise timings."""
    if not values:
        return {"p50_ms": 0.0, "p95_ms": 0.0, "p99_ms": 0.0, "max_ms": 0.0, "mean_ms": 0.0, "n": 0}
    a = np.asarray(values, dtype=float)
    figures = {f"p{p}_ms": float(np.percentile(a, p)) for p in (50, 95, 99)}
    figures |= {"max_ms": float(a.max()), "mean_ms": float(a.mean())}
    return {k: round(v, digits) for k, v in figures.items()} | {"n": len(values)}


def step_table(timings: list[UtteranceTiming]) -> dict[str, dict[str, float]]:
    return {name: percentiles([t.ms[name] for t in timings if t.ms[name] is not None]) for name in STEPS}


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def plain_transcribe(model, audio: np.ndarray, defaults: bool = False, language: str | None = "en") -> tuple[str, float]:
    """Plain `WhisperModel.transcribe()`: text, seconds.

    `defaults`: faster-whisper's own defaults (beam 5, timestamps, conditioning on
    previous text), as someone transcribing a whole recording would call it. `language`: None detects it.
    Otherwise greedy without timestamps, the decoding our path uses, so a speed
    ratio compares the pipeline and not the decoding settings.
    """
    t = time.perf_counter()
    if defaults:
        segments, _ = model.transcribe(audio, language=language)
    else:
        segments, _ = model.transcribe(audio, beam_size=1, language=language, condition_on_previous_text=False,
                                       without_timestamps=True, vad_filter=False)
    text = " ".join(s.text.strip() for s in segments).strip()
    return text, time.perf_counter() - t


def audio_seconds(audio: np.ndarray) -> float:
    return len(audio) / SAMPLE_RATE
