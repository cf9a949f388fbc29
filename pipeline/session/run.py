"""Drives one session: builds the stages a config asks for, runs the engine into the sinks."""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from typing import Callable, Iterator, Sequence

from pipeline.audio.sources import AudioSource
from pipeline.engine import Engine, EngineOptions
from pipeline.errors import S2QError
from pipeline.events import UNKNOWN, SessionStartEvent
from pipeline.session.config import OutputOptions, SessionConfig
from pipeline.sinks import JsonlSink, Sink

TerminalFactory = Callable[[], Sink]


def open_record(output: OutputOptions) -> list[Sink]:
    """The session record, opened before any model loads so a bad path fails fast."""
    return [JsonlSink(path=output.record)] if output.record is not None else []


def view_sinks(output: OutputOptions, terminal_factory: TerminalFactory | None) -> list[Sink]:
    """What the user watches: JSON lines on stdout, the browser panel (wired by session/web.py),
    or the terminal view."""
    if output.jsonl:
        return [JsonlSink()]
    if output.web is not None:
        return []
    return [terminal_factory()] if terminal_factory is not None else []


def build_engine(sources: Sequence[AudioSource], config: SessionConfig, options: EngineOptions) -> Engine:
    """Loads the bank, its index, the voice model (mixed sources) and Whisper, in that order: a
    bank error costs no model load.

    A mixed source (a channel named `unknown`) gets the voice labeler, which clusters voices and
    names them with the interview stage's text evidence; without advice there is no evidence to
    name them by, so speakers stay `unknown`.
    """
    from pipeline.audio.transcriber import Transcriber
    from pipeline.interview import build_interview_stage
    from pipeline.models import resolve_model

    stage = build_interview_stage(config.role, config.bank_root) if config.advise else None
    mixed = any(speaker == UNKNOWN for source in sources for speaker in source.speakers)
    voices = voice_labeler(stage) if stage is not None and mixed else None
    labeler, splitter = (voices, turn_splitter(voices)) if voices is not None else (stage, None)
    transcriber = Transcriber(config.transcriber)
    transcriber.warm_up()
    if options.second_pass.enabled and options.second_pass.model:
        resolve_model(options.second_pass.model, "whisper")  # a missing model is a clear error now, not later
    return Engine(sources, transcriber, stages=[stage] if stage else [], options=options, labeler=labeler,
                  splitter=splitter)


def turn_splitter(labeler):
    """The turn splitter for a voice labeler (it shares its model and its voices)."""
    from pipeline.audio.turns import build_splitter

    return build_splitter(labeler)


def voice_labeler(stage):
    """Voices clustered and named (the `voices` extra); None without it (after a note): speakers
    then come from what they say alone."""
    try:
        from pipeline.interview.speakers import build_voice_labeler

        return build_voice_labeler(stage)
    except (ImportError, S2QError) as exc:
        reason = f"{exc.name} is not installed" if isinstance(exc, ImportError) else str(exc)
        print(f"s2q: note: speakers of a mixed source come from what they say only ({reason}; "
              "`pip install 'speech-to-question[voices]'` and `pip install --no-deps resemblyzer==0.1.4` "
              "add voice attribution)", file=sys.stderr)
        return None


def session_start(config: SessionConfig, source: str) -> SessionStartEvent:
    """The event that opens a session in its record (see docs/events.md)."""
    return SessionStartEvent.new(role=config.role if config.advise else None, source=source)


@contextlib.contextmanager
def _ctrl_c_after_the_event() -> Iterator[None]:
    """Ctrl-C waits until an event is in every sink: one interrupted between the record and the
    view would leave a line in one and not in the other. (Masking the signal would not do: Python
    runs its handler in the main thread whichever thread the signal reached.)"""
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers belong to the main thread
        return
    caught: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, _frame: caught.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if caught and callable(previous):
        previous(signal.SIGINT, None)  # Python's default raises KeyboardInterrupt here, between events


def run_session(engine: Engine, sinks: Sequence[Sink], start: SessionStartEvent) -> int:
    """Engine events into every sink, the record first: a line the user has seen is in the record.

    `start` goes first, once the models are loaded: a session that failed to start leaves no trace.

    Ctrl-C finishes the speech in progress (bounded by the engine's `finish_timeout_s`) before
    returning; a second Ctrl-C stops at once. Either way what was written is kept.
    """
    events = engine.events()
    try:
        for sink in sinks:
            sink.write(start)
        while True:
            try:
                for event in events:
                    with _ctrl_c_after_the_event():
                        for sink in sinks:
                            sink.write(event)
                return 0
            except KeyboardInterrupt:
                if engine.finishing:
                    engine.stop()
                    return 0
                engine.finish()
    finally:
        events.close()
        for sink in sinks:
            sink.close()
