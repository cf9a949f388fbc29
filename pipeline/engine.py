"""Runs the steps with threads and bounded queues; knows nothing of interviews.

    capture thread(s) ──Utterance──▶ [bounded queue] ──▶ ASR worker ──Transcript──▶ [queue] ──▶ events()
                    ├──speculative──▶ [latest-only slot] ──┤              (the steps run here)
                    └──partial──────▶ [latest-only slot] ──┘

Live sources never wait: when the transcriber falls behind, the capture side
sheds the oldest waiting utterance, the worker drops speech that has waited
longer than `max_lag_s`, and each is reported in a `status` event, so lag stays
bounded. Partial transcripts of speech still going on are made only when the
worker has nothing final to do. When a speaker pauses, the segmenter offers the
utterance as it will be if the pause lasts (`speculative`); the worker
transcribes it during the rest of the pause (`Speculation`), and when the
utterance is declared over with the same audio the text is already there and the final goes out at
once from the capture thread (`Intake.claim`); a complete sentence ends the turn before the hangover
(`pipeline/audio/end_of_turn.py`). When no final waits and nobody speaks, a second-pass
thread, with a model of its own that computes at idle priority, decodes recent finals again, better, and emits
what changed as revisions (`pipeline/audio/second_pass.py`); that is the first work shed under
load, and a final never waits for it. Replaying a file with `backpressure=True` (`--fast`)
instead waits for the transcriber, so no audio is lost (revisions, if asked for, run on the
worker between finals). The step protocols and `run_step` live in `pipeline/steps.py`;
every message on a queue is a typed class from `pipeline.events`.
"""

from __future__ import annotations

import itertools
import queue
import threading
import time
from typing import Iterator, Sequence

from pipeline.actions import ActionGate
from pipeline.audio.end_of_turn import end_point, turn_judge
from pipeline.audio.second_pass import Revision, SecondPass
from pipeline.audio.segmenter import Segmenter, SpeakerSegmenters
from pipeline.audio.sources import AudioSource
from pipeline.audio.transcriber import Transcriber
from pipeline.engine_options import EngineOptions
from pipeline.errors import S2QError
from pipeline.intake import Intake
from pipeline.events import (
    UNKNOWN,
    EndOfInput,
    Event,
    InterviewerActionEvent,
    LanguageEvent,
    SourceDone,
    StepFailed,
    StatusEvent,
    Transcript,
    TranscriptEvent,
    Utterance,
    WorkerDone,
)
from pipeline.memory import Finals, Guess, OpenPartials, PiecedTurns, Speculation
from pipeline.steps import SpeakerLabeler, Step, Steerable, UtteranceSplitter


class Engine:
    """Audio sources in, a stream of events out (`events()` is a generator)."""

    def __init__(
        self,
        sources: Sequence[AudioSource],
        transcriber: Transcriber,
        steps: Sequence[Step] = (),
        options: EngineOptions | None = None,
        labeler: SpeakerLabeler | None = None,
        splitter: UtteranceSplitter | None = None,
    ) -> None:
        self.sources = list(sources)
        self.transcriber = transcriber
        self.steps = list(steps)
        self.labeler = labeler
        self.splitter = splitter
        self.opts = options or EngineOptions()
        self._ids = itertools.count()
        self._partials: dict[str, Utterance] = {}  # latest snapshot per speaker
        self._speculative: dict[str, Utterance] = {}  # latest guess per speaker
        self._slot_lock, self._id_lock = threading.Lock(), threading.Lock()
        self.speculation = Speculation()
        self._end_now: dict[str, tuple[int, int, str]] = {}  # speaker -> (utterance id, samples, reading) to end early
        # The end-of-turn model hears each pause (None: the text rules alone); it needs the guesses' text.
        self._turn_end = turn_judge(self.opts.end_of_turn) if self.opts.speculate else None
        self._speaking: set[tuple[int, str]] = set()  # (source, speaker) in speech now
        sp = self.opts.second_pass
        self.second_pass = (SecondPass(transcriber, sp) if sp.enabled and (sp.with_backpressure or not
                            self.opts.backpressure) else None)
        self._revising: threading.Thread | None = None  # the second pass's own thread, live
        self._out: queue.Queue[Event | Transcript | SourceDone | WorkerDone | StepFailed] = queue.Queue()
        self._intake = Intake(self.opts.max_pending, self._out.put)  # finals waiting for the worker
        self._stop = threading.Event()
        self._actions = ActionGate(self._out)  # interviewer actions, taken until the stream is over
        self._finish_by: float | None = None
        self.finals, self.pieced_turns = Finals(), PiecedTurns()
        self.open_partials = OpenPartials()  # partial lines waiting for their final (main thread)
        self.failures: list[S2QError] = []  # sources that failed; raised once everything they gave is out

    @property
    def shed_count(self) -> int:
        return self._intake.shed_count

    @property
    def speculation_hits(self) -> int:
        return self.speculation.hits

    def steer(self, action: InterviewerActionEvent) -> bool:
        """A click, from any thread, into the stream; `Steerable` steps answer. False once it is over."""
        return self._actions.put(action)

    def _next_id(self) -> int:
        with self._id_lock:
            return next(self._ids)

    def stop(self) -> None:
        """Stops at once: what is not transcribed yet is dropped."""
        self._stop.set()
        for source in self.sources:
            source.stop()
        self._intake.end(wait=False)  # wake the worker

    def finish(self) -> None:
        """Stops listening but keeps what was heard: the speech in progress is cut, transcribed
        and emitted, within `finish_timeout_s` (Ctrl-C)."""
        if self._finish_by is None:
            self._finish_by = time.monotonic() + self.opts.finish_timeout_s
            for source in self.sources:
                source.stop()

    @property
    def finishing(self) -> bool:
        return self._finish_by is not None

    # -- capture threads ------------------------------------------------------

    def _capture(self, index: int, source: AudioSource) -> None:
        segmenters = SpeakerSegmenters(self.opts.segmenter, self._next_id, self.opts.speculate, self._turn_end)
        last_partial: dict[str, float] = {}
        try:
            for chunk in source:
                if self._stop.is_set():
                    return
                seg = segmenters.get(chunk.speaker)
                for utterance in seg.feed(chunk):
                    self._route(utterance)
                if (end := self._end_now.pop(chunk.speaker, None)) and (utterance := seg.end_early(*end)):
                    self._route(utterance)  # a complete sentence: the turn ends before the hangover
                (self._speaking.add if seg.in_speech else self._speaking.discard)((index, chunk.speaker))
                if self.opts.partial_every_s and seg.in_speech and not self.finishing:
                    self._maybe_partial(seg, last_partial)
            for utterance in segmenters.flush():
                self._route(utterance)  # the speech in progress at the end: split by voice like any other
        except S2QError as exc:  # a device that vanished: keep what it gave, then say so
            for utterance in segmenters.flush():
                self._route(utterance)
            self._out.put(StatusEvent(state="source_failed", message=str(exc), details={"source": index}))
            self.failures.append(exc)
        except BaseException as exc:  # reported on the main thread
            self._out.put(StepFailed(exc))
        finally:
            self._speaking -= {key for key in self._speaking if key[0] == index}
            self._out.put(SourceDone(index))

    def _route(self, utterance: Utterance) -> None:
        with self._slot_lock:
            self._partials.pop(utterance.speaker, None)
            if utterance.speculative:
                self._speculative[utterance.speaker] = utterance
                return
            self._speculative.pop(utterance.speaker, None)
        parts = [utterance]
        if self.splitter is not None and utterance.speaker == UNKNOWN:
            parts = self.splitter.split(utterance, self._next_id)
        for part in parts:
            if not self._send_guessed(part):
                self._intake.put(part, wait=self.opts.backpressure or self.finishing, stopped=self._stop.is_set)

    def _send_guessed(self, utterance: Utterance) -> bool:
        """A final guessed during the pause goes out now, not after the worker's other decoding; only with
        nothing of its speaker ahead (lines stay in order), not with `auto` language (the worker settles it)."""
        if (self.opts.backpressure or self.transcriber.languages is not None
                or (guess := self._intake.claim(utterance, self.speculation.take)) is None):
            return False
        try:
            self._finish_final(self._guessed(utterance, guess))
        finally:
            self._intake.done(utterance)
        return True

    def _maybe_partial(self, seg: Segmenter, last_partial: dict[str, float]) -> None:
        now = time.monotonic()
        if now - last_partial.get(seg.speaker, 0.0) < self.opts.partial_every_s:
            return
        snapshot = seg.snapshot()
        if snapshot is None or snapshot.duration < self.opts.partial_every_s:
            return
        last_partial[seg.speaker] = now
        with self._slot_lock:
            self._partials[seg.speaker] = snapshot

    # -- ASR worker -------------------------------------------------------------

    def _asr_worker(self) -> None:
        try:
            while not self._stop.is_set():
                idle_work = (self.opts.speculate or self.opts.partial_every_s or self.second_pass) and not self.finishing
                try:
                    utterance = self._intake.get(timeout=0.02 if idle_work else None)
                except queue.Empty:
                    self._idle_work()
                    continue
                if isinstance(utterance, EndOfInput):
                    self._last_revisions()
                    return
                waited = time.monotonic() - utterance.timeline.stamps.get("speech_end", time.monotonic())
                try:
                    if not self.opts.backpressure and not self.finishing and waited > self.opts.max_lag_s:
                        self._intake.shed(utterance, f"speech waited {waited:.0f} s for the transcriber")
                        continue
                    guess = self.speculation.take(utterance)
                    self._finish_final(self._guessed(utterance, guess) if guess else
                                       self.transcriber.transcribe(utterance))
                finally:
                    self._intake.done(utterance)
        except BaseException as exc:
            self._out.put(StepFailed(exc))
        finally:
            self._out.put(WorkerDone())

    def _idle_work(self) -> None:
        """Nothing final waits: a speculative guess first, else a partial transcript."""
        with self._slot_lock:
            slot = self._speculative or self._partials
            utterance = slot.pop(next(iter(slot))) if slot else None
        if utterance is None:
            if self.second_pass is not None and self.opts.backpressure and not self._speaking:
                self._revise()  # a replay nobody waits for: revisions between finals, on this thread
            return
        transcript = self.transcriber.transcribe(utterance)
        self._out.put(self.pieced_turns.so_far(transcript))  # after a piece: the turn so far, the turn's id
        if utterance.speculative:  # out before its final can be: a hit goes out as soon as it is remembered
            asr_ms = utterance.timeline.ms("asr_start", "asr_done")
            self.speculation.remember(utterance, Guess(transcript.text, asr_ms))
            self._maybe_end_turn(transcript)

    def _finish_final(self, transcript: Transcript) -> None:
        """A final's text is known (decoded, or guessed during the pause): out, and to the second pass."""
        self._maybe_end_turn(transcript)  # a long turn's last piece may end it
        for out in self.pieced_turns.assemble(transcript):  # a pieced turn: so far, or whole at its end
            self._out.put(out.transcript)  # out first: a revision never overtakes its final
            if self.second_pass is not None:
                self.second_pass.offer(out.transcript, out.pieces)

    def _maybe_end_turn(self, transcript: Transcript) -> None:
        """A complete sentence ends the turn at once if the speaker says nothing more (the capture
        thread checks, `Segmenter.end_early`)."""
        if (end := end_point(transcript.utterance, transcript.text, self.opts.end_of_turn)) is not None:
            self._end_now[transcript.utterance.speaker] = end

    def _revise(self) -> None:
        revision = self.second_pass.run_one()
        if revision is not None:
            self._out.put(revision)

    def _last_revisions(self) -> None:
        """The input is over: nobody waits, every final left gets its pass here, at normal priority."""
        if self.second_pass is None:
            return
        self.second_pass.close()
        while self.second_pass.waiting and not self.finishing:
            self._revise()
        if self._revising is not None:
            self._revising.join(timeout=self.opts.finish_timeout_s)  # the revision it was making

    def _second_pass_worker(self) -> None:
        """Revisions are a bonus: if they fail (no memory for a second model), the session goes on."""
        try:
            self.second_pass.run(self._out.put, lambda: not self._speaking and self._intake.empty())
        except Exception as exc:
            self.second_pass.close()
            self._out.put(StatusEvent(state="second_pass_off", message=f"revisions stopped: {exc}"))

    def _guessed(self, utterance: Utterance, guess: Guess) -> Transcript:
        """A final whose text was decoded during the pause (`latency_ms.guessed`, `held`: `Guess.stamp`)."""
        utterance.timeline.stamp("asr_start")
        self.transcriber.remember(utterance, guess.text)  # the speaker's context, as if decoded now
        _, detected = self.transcriber.language_of(utterance)  # `auto`: a final settles the speaker's language
        utterance.timeline.stamp("asr_done")
        guess.stamp(utterance.timeline)
        return Transcript(utterance=utterance, text=guess.text, detected_language=detected)

    # -- main thread --------------------------------------------------------

    def events(self) -> Iterator[Event]:
        self.transcriber.reset()  # a new session: no speaker's context carries over from another
        worker = threading.Thread(target=self._asr_worker, name="asr", daemon=True)
        worker.start()
        if self.second_pass is not None and not self.opts.backpressure:  # live: its own thread and model
            self._revising = threading.Thread(target=self._second_pass_worker, name="second-pass", daemon=True)
            self._revising.start()
        captures = [
            threading.Thread(target=self._capture, args=(i, s), name=f"capture-{i}", daemon=True)
            for i, s in enumerate(self.sources)
        ]
        for t in captures:
            t.start()
        live_sources = len(captures)
        yield StatusEvent(state="ready", message="listening")
        try:
            while True:
                item = self._next_item()
                if item is None:
                    yield from self.open_partials.close_all()
                    yield StatusEvent(state="cut", message="stopped before the last speech was transcribed",
                                      details={"waited_s": self.opts.finish_timeout_s})
                    return
                if isinstance(item, SourceDone):
                    live_sources -= 1
                    if live_sources == 0:
                        self._intake.end()  # after whatever is still queued
                elif isinstance(item, WorkerDone):
                    for turn in self.pieced_turns.close_all():  # the input ended inside a pieced turn
                        yield from self._after_asr(turn)
                    yield from self.open_partials.close_all()
                    for action in self._actions.close():
                        yield from self._steer(action)
                    if self.failures:
                        raise self.failures[0]
                    return
                elif isinstance(item, InterviewerActionEvent):
                    yield from self._steer(item)
                elif isinstance(item, StepFailed):
                    raise item.error
                elif isinstance(item, Event):
                    yield item
                elif isinstance(item, Revision):  # better text for a final, or a piece of a turn
                    uid, text = self.pieced_turns.revise(item.utterance_id, item.text, item.whole_turn)
                    if (revised := self.finals.revise(uid, text=text)) is not None:
                        yield from self._emit(revised)
                else:
                    yield from self._after_asr(item)
        finally:
            self._actions.close()
            self.stop()
            if self.second_pass is not None:
                self.second_pass.close()
            # Let the workers leave native code (CTranslate2) before the interpreter may exit.
            for thread in (worker, self._revising):
                if thread is not None:
                    thread.join(timeout=10)

    def _next_item(self):
        """The next output, or None when finishing has run out of time. Ctrl-C here starts finishing."""
        while True:
            try:
                if self._finish_by is None:
                    return self._out.get()
                remaining = self._finish_by - time.monotonic()
                return self._out.get(timeout=remaining) if remaining > 0 else self._out.get_nowait()
            except queue.Empty:
                return None
            except KeyboardInterrupt:
                if self.finishing:
                    raise  # a second Ctrl-C: stop now
                self.finish()

    def _after_asr(self, transcript: Transcript) -> Iterator[Event]:
        u = transcript.utterance
        if u.final:  # its partial line ends here, and any line of the speaker no final is coming for
            yield from self.open_partials.ended(u, u.speaker, bool(transcript.text))
        elif not transcript.text or not self.open_partials.admit(transcript):
            return  # nothing heard yet, or speech a final already holds
        if not transcript.text:
            return
        labelled = u.speaker == UNKNOWN and u.final and self.labeler is not None
        if labelled:
            u.speaker = self.labeler.label_speaker(transcript)
        if u.final:
            transcript = self.finals.keep(transcript)
        u.timeline.stamp("emitted")
        yield from self._emit(transcript)
        if labelled:
            for change in self.labeler.revisions():
                revised = self.finals.revise(change.utterance_id, speaker=change.speaker)
                if revised is not None:
                    yield from self._emit(revised)

    def _steer(self, action: InterviewerActionEvent) -> Iterator[Event]:
        yield action
        for step in self.steps:
            if isinstance(step, Steerable):
                yield from step.steer(action)

    def _emit(self, transcript: Transcript) -> Iterator[Event]:
        yield from LanguageEvent.of(transcript)
        yield TranscriptEvent.from_transcript(transcript)
        for step in self.steps:
            yield from step(transcript)
