"""The ASR worker's intake: final utterances waiting for the transcriber, bounded, the oldest shed.

Live, the capture side never waits: past `max_pending` the oldest waiting utterance is shed, and
so is speech that waited too long; each is reported in a `status` event. The intake also counts,
per speaker, the finals queued or being decoded: a final whose text is already known (a
speculation hit) skips the queue only when nothing of that speaker is ahead of it, so each
speaker's lines stay in order.
"""

from __future__ import annotations

import collections
import queue
import threading
from typing import Callable

from pipeline.events import EndOfInput, StatusEvent, Utterance


class Intake:
    """Used by the capture threads (`put`, `claim`), the ASR worker (`get`, `done`) and the
    engine (`end`); `report` takes the status events (the engine's output queue)."""

    def __init__(self, max_pending: int, report: Callable[[StatusEvent], None]) -> None:
        self._queue: queue.Queue[Utterance | EndOfInput] = queue.Queue(maxsize=max_pending)
        self._report = report
        self._lock = threading.Lock()
        self._ahead: collections.Counter[str] = collections.Counter()  # speaker -> finals queued or decoding
        self.shed_count = 0

    def put(self, utterance: Utterance, wait: bool, stopped: Callable[[], bool]) -> None:
        """Queue a final; with `wait` (nobody listens live) until there is room or `stopped()`,
        else at once, shedding the oldest waiting utterance if the queue is full."""
        with self._lock:
            self._ahead[utterance.speaker] += 1
        if wait:
            while not stopped():
                try:
                    self._queue.put(utterance, timeout=0.2)
                    return
                except queue.Full:
                    continue
            self.done(utterance)
            return
        try:
            self._queue.put_nowait(utterance)
        except queue.Full:
            try:
                shed = self._queue.get_nowait()
            except queue.Empty:
                shed = None
            self._queue.put_nowait(utterance)
            if isinstance(shed, Utterance):
                self.done(shed)
                self.shed(shed, "transcriber behind real time")

    def claim(self, utterance: Utterance, take: Callable[[Utterance], object]):
        """`take(utterance)` (its guessed text), only when nothing of its speaker is ahead of it;
        if taken, the utterance counts as ahead of their next until `done`. None otherwise."""
        with self._lock:
            if self._ahead[utterance.speaker] or (taken := take(utterance)) is None:
                return None
            self._ahead[utterance.speaker] += 1
            return taken

    def get(self, timeout: float | None) -> Utterance | EndOfInput:
        """The next final (raises `queue.Empty` after `timeout`)."""
        return self._queue.get(timeout=timeout)

    def done(self, utterance: Utterance) -> None:
        """The utterance is out (emitted or shed): it is no longer ahead of its speaker's next."""
        with self._lock:
            self._ahead[utterance.speaker] -= 1

    def empty(self) -> bool:
        return self._queue.empty()

    def end(self, wait: bool = True) -> None:
        """Nothing more comes: the worker ends after what is queued (`wait` False: now, if full)."""
        try:
            self._queue.put(EndOfInput(), block=wait)
        except queue.Full:
            pass

    def shed(self, utterance: Utterance, why: str) -> None:
        """Speech skipped, said in a `shedding` status event."""
        self.shed_count += 1
        u = utterance
        self._report(StatusEvent(
            state="shedding", message=f"{why}: skipped {u.speaker} speech {u.start:.1f}-{u.end:.1f}s",
            details={"shed_utterance": u.id, "speaker": u.speaker, "start": round(u.start, 3),
                     "end": round(u.end, 3), "shed_total": self.shed_count}))
