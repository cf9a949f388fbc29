"""The interviewer's clicks into a running engine: from the panel's server thread into the engine's
output queue, so they reach the steps in order with everything else, until the stream is over."""

from __future__ import annotations

import queue
import threading

from pipeline.events import InterviewerActionEvent


class ActionGate:
    """Lets `InterviewerActionEvent`s into `out` while open; closing hands back those still queued."""

    def __init__(self, out: queue.Queue) -> None:
        self._out = out
        self._lock = threading.Lock()
        self._open = True

    def put(self, action: InterviewerActionEvent) -> bool:
        """False once closed: the caller then records the action itself."""
        with self._lock:
            if self._open:
                self._out.put(action)
            return self._open

    def close(self) -> list[InterviewerActionEvent]:
        """No more actions; the ones already queued, in order (anything else still queued is dropped:
        the stream is over)."""
        with self._lock:
            self._open = False
        left = []
        while True:
            try:
                item = self._out.get_nowait()
            except queue.Empty:
                return left
            if isinstance(item, InterviewerActionEvent):
                left.append(item)
