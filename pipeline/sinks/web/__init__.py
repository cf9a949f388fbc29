"""The web panel: a local page beside the video call, fed by Server-Sent Events.

`WebSink` is a Sink like the others; the server (server.py) and its app (app.py)
only read the sink's `EventLog`, and hand clicks back through `on_action`.
"""

from __future__ import annotations

from typing import Callable

from pipeline.events import Event
from pipeline.sinks.web.log import EventLog

__all__ = ["EventLog", "WebSink"]


class WebSink:
    """Keeps every event of the session, in order, for every page that connects.

    `on_action` receives the interviewer's clicks as events; the session wiring points it
    at the same sinks the pipeline writes to, so the record gets them (and so does this log).
    """

    def __init__(self, log: EventLog | None = None) -> None:
        self.log = log or EventLog()
        self.on_action: Callable[[Event], None] | None = None

    def write(self, event: Event) -> None:
        self.log.append(event.to_dict())

    def close(self) -> None:
        self.log.close()
