"""The session's events in order, shared by the pipeline thread (writer) and the server's event loop.

Every page that connects, reconnects or reloads reads from this one list by sequence number,
so it gets the whole session from its start and no event twice.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any


class EventLog:
    """Append-only list of event dicts; waiters on any asyncio loop are woken on append and close."""

    def __init__(self) -> None:
        self._items: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()
        self.closed = False  # the session is over: nothing more will be appended

    def append(self, event: dict[str, Any], sent_at: float | None = None) -> int:
        """Adds one event; `sent_at` (wall-clock ms) is when it left the pipeline, for latency."""
        with self._lock:
            seq = len(self._items)
            self._items.append({"seq": seq, "sent_at": time.time() * 1000.0 if sent_at is None else sent_at,
                                "event": event})
            self._wake()
        return seq

    def close(self) -> None:
        with self._lock:
            self.closed = True
            self._wake()

    def since(self, seq: int) -> list[dict[str, Any]]:
        """Items from sequence number `seq` on."""
        with self._lock:
            return self._items[max(seq, 0):]

    def events(self) -> list[dict[str, Any]]:
        with self._lock:
            return [item["event"] for item in self._items]

    def audio_time(self) -> float:
        """The latest audio time any event reached (what a click is stamped with)."""
        with self._lock:
            ends = [item["event"].get("end") for item in self._items]
        return max((float(e) for e in ends if isinstance(e, (int, float))), default=0.0)

    async def wait(self, seq: int, timeout: float) -> None:
        """Returns when an item at `seq` exists, the log is closed, or `timeout` seconds pass."""
        loop = asyncio.get_running_loop()
        flag = asyncio.Event()
        waiter = (loop, flag)
        with self._lock:
            if len(self._items) > seq or self.closed:
                return
            self._waiters.add(waiter)
        try:
            await asyncio.wait_for(flag.wait(), timeout)
        except TimeoutError:
            pass
        finally:
            with self._lock:
                self._waiters.discard(waiter)

    def _wake(self) -> None:
        for loop, flag in list(self._waiters):
            try:
                loop.call_soon_threadsafe(flag.set)
            except RuntimeError:  # that loop has closed
                self._waiters.discard((loop, flag))
