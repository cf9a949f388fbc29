"""Wires the stages together with threads and bounded queues.

    capture thread(s) ──Utterance──▶ [bounded queue] ──▶ ASR worker ──Transcript──▶ [queue] ──▶ events()
                    ├──speculative──▶ [latest-only slot] ──┤              (matcher and advisor run here)
                    └──partial──────▶ [latest-only slot] ──┘

Live sources never wait: when the transcriber falls behind, the capture side
sheds the oldest waiting utterance, the worker drops speech that has waited
longer than `max_lag_s`, and each is reported in a `status` event, so lag stays
bounded. Partial transcripts of speech still going on are made only when the
worker has nothing final to do. When a speaker pauses, the segmenter offers the
utterance as it will be if the pause lasts (`speculative`); the worker
transcribes it during the rest of the pause, and when the utterance is declared
over with the same audio the text is already there. Replaying a file with `backpressure=True`
(`--fast`) instead waits for the transcriber, so no audio is lost.
"""

from __future__ import annotations

import itertools
import queue
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator, Sequence

from pipeline.audio.segmenter import Segmenter, SegmenterOptions
from pipeline.audio.sources import AudioChunk
from pipeline.audio.transcriber import Transcriber
from pipeline.events import Event, StatusEvent, Transcript, TranscriptEvent, Utterance
from pipeline.interview import build_interview_stage

# A stage after transcription: gets each final transcript, returns more events.
Stage = Callable[[Transcript], Iterable[Event]]


@dataclass
class RunOptions:
    """How the pipeline behaves under load.

    Attributes:
      backpressure: wait for the transcriber instead of shedding (file replay with --fast).
      max_pending: utterances waiting for ASR before the oldest is shed.
      max_lag_s: speech that waited longer than this for ASR is dropped (live only).
      partial_every_s: while someone speaks, a partial transcript this often (0: none).
      speculate: transcribe during the end-of-utterance pause (see above); off with backpressure.
    """

    backpressure: bool = False
    max_pending: int = 4
    max_lag_s: float = 20.0
    partial_every_s: float = 0.0
    speculate: bool = True
    segmenter: SegmenterOptions = field(default_factory=SegmenterOptions)


_DONE = object()


class Pipeline:
    """Audio sources in, a stream of events out (`events()` is a generator)."""

    def __init__(
        self,
        sources: Sequence[Iterable[AudioChunk]],
        transcriber: Transcriber,
        stages: Sequence[Stage] = (),
        options: RunOptions | None = None,
    ) -> None:
        self.sources = list(sources)
        self.transcriber = transcriber
        self.stages = list(stages)
        self.opts = options or RunOptions()
        self._ids = itertools.count()
        self._id_lock = threading.Lock()
        self._utterances: queue.Queue = queue.Queue(maxsize=self.opts.max_pending)
        self._partials: dict[str, Utterance] = {}  # latest snapshot per speaker
        self._speculative: dict[str, Utterance] = {}  # latest guess per speaker
        self._partial_lock = threading.Lock()
        self._guessed: dict[tuple[int, int], str] = {}  # (utterance id, samples) -> text; worker only
        self.speculation_hits = 0
        self.speculate = self.opts.speculate and not self.opts.backpressure
        if self.speculate:
            from dataclasses import replace

            self.opts = replace(self.opts, segmenter=replace(self.opts.segmenter, speculate=True))
        self._out: queue.Queue = queue.Queue()
        self._stop = threading.Event()
        self.shed_count = 0

    def _next_id(self) -> int:
        with self._id_lock:
            return next(self._ids)

    def stop(self) -> None:
        self._stop.set()
        for source in self.sources:
            if hasattr(source, "stop"):
                source.stop()
        try:
            self._utterances.put_nowait(_DONE)  # wake the worker
        except queue.Full:
            pass

    # -- capture threads ------------------------------------------------------

    def _capture(self, source: Iterable[AudioChunk]) -> None:
        segmenters: dict[str, Segmenter] = {}
        last_partial: dict[str, float] = {}
        try:
            for chunk in source:
                if self._stop.is_set():
                    return
                seg = segmenters.get(chunk.speaker)
                if seg is None:
                    seg = segmenters[chunk.speaker] = Segmenter(chunk.speaker, self.opts.segmenter, self._next_id)
                for utterance in seg.feed(chunk):
                    with self._partial_lock:
                        self._partials.pop(utterance.speaker, None)
                        if utterance.speculative:
                            self._speculative[utterance.speaker] = utterance
                            continue
                        self._speculative.pop(utterance.speaker, None)
                    self._submit(utterance)
                if self.opts.partial_every_s and seg.in_speech:
                    self._maybe_partial(seg, last_partial)
            for seg in segmenters.values():
                for utterance in seg.flush():
                    self._submit(utterance)
        except BaseException as exc:  # reported on the main thread
            self._out.put(exc)
        finally:
            self._out.put(("source_done", source))

    def _maybe_partial(self, seg: Segmenter, last_partial: dict[str, float]) -> None:
        now = time.monotonic()
        if now - last_partial.get(seg.speaker, 0.0) < self.opts.partial_every_s:
            return
        snapshot = seg.snapshot()
        if snapshot is None or snapshot.duration < self.opts.partial_every_s:
            return
        last_partial[seg.speaker] = now
        with self._partial_lock:
            self._partials[seg.speaker] = snapshot

    def _submit(self, utterance: Utterance) -> None:
        if self.opts.backpressure:
            while not self._stop.is_set():
                try:
                    self._utterances.put(utterance, timeout=0.2)
                    return
                except queue.Full:
                    continue
            return
        try:
            self._utterances.put_nowait(utterance)
        except queue.Full:
            try:
                shed = self._utterances.get_nowait()
            except queue.Empty:
                shed = None
            self._utterances.put_nowait(utterance)
            if shed is not None and shed is not _DONE:
                self._report_shed(shed, "transcriber behind real time")

    def _report_shed(self, shed: Utterance, why: str) -> None:
        self.shed_count += 1
        self._out.put(
            StatusEvent(
                state="shedding",
                message=f"{why}: skipped {shed.speaker} speech {shed.start:.1f}-{shed.end:.1f}s",
                details={"shed_utterance": shed.id, "speaker": shed.speaker, "start": round(shed.start, 3),
                         "end": round(shed.end, 3), "shed_total": self.shed_count},
            )
        )

    # -- ASR worker -------------------------------------------------------------

    def _asr_worker(self) -> None:
        try:
            while not self._stop.is_set():
                idle_work = self.speculate or self.opts.partial_every_s
                try:
                    utterance = self._utterances.get(timeout=0.02 if idle_work else None)
                except queue.Empty:
                    self._idle_work()
                    continue
                if utterance is _DONE:
                    return
                waited = time.monotonic() - utterance.timeline.stamps.get("speech_end", time.monotonic())
                if not self.opts.backpressure and waited > self.opts.max_lag_s:
                    self._report_shed(utterance, f"speech waited {waited:.0f} s for the transcriber")
                    continue
                self._out.put(self._transcribe_final(utterance))
        except BaseException as exc:
            self._out.put(exc)
        finally:
            self._out.put(_DONE)

    def _idle_work(self) -> None:
        """Nothing final waits: a speculative guess first, else a partial transcript."""
        with self._partial_lock:
            slot = self._speculative or self._partials
            utterance = slot.pop(next(iter(slot))) if slot else None
        if utterance is None:
            return
        transcript = self.transcriber.transcribe(utterance)
        if utterance.speculative:
            self._guessed = {k: v for k, v in self._guessed.items() if k[0] >= utterance.id - 8}
            self._guessed[(utterance.id, len(utterance.audio))] = transcript.text
        self._out.put(transcript)

    def _transcribe_final(self, utterance: Utterance) -> Transcript:
        text = self._guessed.pop((utterance.id, len(utterance.audio)), None)
        if text is None:
            return self.transcriber.transcribe(utterance)
        self.speculation_hits += 1
        utterance.timeline.stamp("asr_start")
        utterance.timeline.stamp("asr_done")
        return Transcript(utterance=utterance, text=text)

    # -- main thread --------------------------------------------------------

    def events(self) -> Iterator[Event]:
        worker = threading.Thread(target=self._asr_worker, name="asr", daemon=True)
        worker.start()
        captures = [
            threading.Thread(target=self._capture, args=(s,), name=f"capture-{i}", daemon=True)
            for i, s in enumerate(self.sources)
        ]
        for t in captures:
            t.start()
        live_sources = len(captures)
        yield StatusEvent(state="ready", message="listening")
        try:
            while True:
                item = self._out.get()
                if isinstance(item, tuple) and item[0] == "source_done":
                    live_sources -= 1
                    if live_sources == 0:
                        self._utterances.put(_DONE)  # after whatever is still queued
                    continue
                if item is _DONE:
                    return
                if isinstance(item, BaseException):
                    raise item
                if isinstance(item, Event):
                    yield item
                    continue
                yield from self._after_asr(item)
        finally:
            self.stop()
            # Let the worker leave native code (CTranslate2) before the interpreter may exit.
            worker.join(timeout=10)

    def _after_asr(self, transcript: Transcript) -> Iterator[Event]:
        if not transcript.text:
            return
        u = transcript.utterance
        if u.speaker == "unknown" and u.final:
            for stage in self.stages:
                if hasattr(stage, "label_speaker"):
                    u.speaker = stage.label_speaker(transcript)
                    break
        u.timeline.stamp("emitted")
        yield TranscriptEvent.from_transcript(transcript)
        if transcript.utterance.final:
            for stage in self.stages:
                yield from stage(transcript)


# -- sessions -------------------------------------------------------------------


def _open_record(output) -> list:
    """The session record, opened before any model loads so a bad path fails fast."""
    return build_sinks(output, None, record=True, view=False)


def build_sinks(output, terminal_factory=None, record: bool = True, view: bool = True) -> list:
    from pipeline.sinks import JsonlSink

    sinks = []
    if record and output.record is not None:  # first: a line the user has seen is always in the record
        sinks.append(JsonlSink(path=output.record))
    if not view:
        return sinks
    if output.jsonl:
        sinks.append(JsonlSink())
    elif terminal_factory is not None:
        sinks.append(terminal_factory())
    return sinks


def run_session(pipeline: Pipeline, sinks: list) -> int:
    """Drives the pipeline into the sinks; on Ctrl-C stops cleanly, keeping what was written."""
    try:
        for event in pipeline.events():
            for sink in sinks:
                sink.write(event)
    except KeyboardInterrupt:
        pipeline.stop()
        return 0
    finally:
        for sink in sinks:
            sink.close()
    return 0


def replay(config, terminal_factory=None) -> int:
    """`s2q replay`: a recorded file through the same path live listening uses."""
    from pipeline.audio.sources import FileSource

    source = FileSource(config.path, speakers=config.channels, realtime=not config.fast)
    record = _open_record(config.output)
    stages = [build_interview_stage(config.role, config.bank_root)] if config.advise else []
    transcriber = Transcriber(config.transcriber)
    transcriber.warm_up()
    pipeline = Pipeline(
        [source],
        transcriber,
        stages=stages,
        options=RunOptions(backpressure=config.fast, segmenter=config.segmenter),
    )
    return run_session(pipeline, record + build_sinks(config.output, terminal_factory, record=False))


CONSENT_REMINDER = (
    "Reminder: tell the candidate that this call is transcribed locally on this computer "
    "(nothing leaves it). Hide this with --no-consent-reminder."
)


def listen(config, terminal_factory=None, announce=print) -> int:
    """`s2q listen`: live sources (mic, call, or one shared input) through the pipeline."""
    from pipeline.audio.recorder import WavTee
    from pipeline.audio.sources import MicrophoneSource
    from pipeline.config import default_record_path
    from pipeline.errors import DeviceError

    sources = []
    if config.mic is not None:
        sources.append(MicrophoneSource(config.mic, ["interviewer"]))
    if config.call is not None:
        sources.append(MicrophoneSource(config.call, ["candidate"]))
    if config.input is not None:
        sources.append(MicrophoneSource(config.input, config.channels))
    if not sources:
        raise DeviceError("no input chosen: use --mic DEVICE and/or --call DEVICE, or --input DEVICE "
                          "(run `s2q devices` to list inputs)")
    if config.output.record is None:
        config.output.record = default_record_path()
    if config.save_audio:
        stem = config.output.record.with_suffix("")
        sources = [WavTee(s, stem) for s in sources]
    if config.consent_reminder:
        announce(CONSENT_REMINDER)
    record = _open_record(config.output)
    announce(f"Recording events to {config.output.record}")
    stages = [build_interview_stage(config.role, config.bank_root)]
    transcriber = Transcriber(config.transcriber)
    transcriber.warm_up()
    pipeline = Pipeline(
        sources,
        transcriber,
        stages=stages,
        options=RunOptions(backpressure=False, partial_every_s=config.partial_every_s, segmenter=config.segmenter),
    )
    return run_session(pipeline, record + build_sinks(config.output, terminal_factory, record=False))
