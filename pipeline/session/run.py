"""Drives one session: the engine's events into the sinks, the record first (the engine is built by
`pipeline/session/build.py`)."""

from __future__ import annotations

import contextlib
import signal
import threading
from typing import Callable, Iterator, Sequence

from pipeline.engine import Engine
from pipeline.events import SessionStartEvent
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
