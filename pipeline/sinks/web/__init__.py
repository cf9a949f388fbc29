"""The web panel: a local page beside the video call, fed by Server-Sent Events.

Three jobs, a module each: `WebSink` (here) is a Sink like the others, the live side; the HTTP
app (app.py, served by server.py) only reads the sink's `EventLog` and hands clicks to its
`Panel.on_action`; `s2q serve` (serve.py) shows past records the same way.
"""

from __future__ import annotations

from pipeline.events import Event
from pipeline.sinks.web.log import EventLog

__all__ = ["EventLog", "WebSink"]


class WebSink:
    """Keeps every event of the session, in order, for every page that connects."""

    def __init__(self, log: EventLog | None = None) -> None:
        self.log = log or EventLog()

    def write(self, event: Event) -> None:
        self.log.append(event.to_dict())

    def close(self) -> None:
        self.log.close()
