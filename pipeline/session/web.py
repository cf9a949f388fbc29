"""A session shown in the browser: the panel's server beside the pipeline, clicks back into the record."""

from __future__ import annotations

import threading
from typing import Callable, Sequence

from pipeline.errors import S2QError
from pipeline.events import Event, InterviewerActionEvent, SessionStartEvent
from pipeline.session.config import SessionConfig, WebOptions
from pipeline.session.run import run_session
from pipeline.sinks import Sink
from pipeline.sinks.web import WebSink
from pipeline.sinks.web.server import WebServer


class Fanout:
    """Every event to every sink in order, from the pipeline's thread and the server's alike.

    One lock, so a click and a transcript never interleave in the record.
    """

    def __init__(self, sinks: Sequence[Sink]) -> None:
        self.sinks = list(sinks)
        self._lock = threading.Lock()
        self._closed = False

    def write(self, event: Event) -> None:
        with self._lock:
            if self._closed:
                return
            for sink in self.sinks:
                sink.write(event)

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            for sink in self.sinks:
                sink.close()


class _SessionOver:
    """What `run_session` writes to: closing it ends the session for the page, not the record,
    which stays open for clicks while the page is still served."""

    def __init__(self, fanout: Fanout, on_over: Callable[[], None]) -> None:
        self.fanout, self.on_over = fanout, on_over

    def write(self, event: Event) -> None:
        self.fanout.write(event)

    def close(self) -> None:
        self.on_over()


def bank_names(config: SessionConfig) -> dict[str, dict[str, str]]:
    """Stage and competency names for the page; ids alone if the bank cannot be read."""
    from pipeline.retrieval.bank import load_bank  # lazy: keeps pydantic off start-up

    try:
        bank = load_bank(config.role, config.bank_root)
    except S2QError:
        return {}
    return {"stages": {s.id: s.name for s in bank.role.stages},
            "competencies": {c.id: c.name for c in bank.role.competencies}}


class WebPanel:
    """Started before the models load, so the URL is printed (and a taken port reported) at once."""

    def __init__(self, options: WebOptions, title: str, config: SessionConfig,
                 announce: Callable[[str], None]) -> None:
        from pipeline.sinks.web.app import Panel, live_app  # lazy: keeps starlette off start-up

        self.options, self.announce = options, announce
        self.sink = WebSink()
        self._fanout: Fanout | None = None
        self._engine = None  # the running engine, which takes clicks while the session runs
        panel = Panel(log=self.sink.log, title=title, on_action=self._action, names=bank_names(config))
        self.server = WebServer(lambda token, elsewhere: live_app(panel, token, elsewhere),
                                options.host, options.port, warn=announce).start()
        announce(f"Web panel: {self.server.url}")
        if options.open_browser:
            import webbrowser

            webbrowser.open(self.server.url)

    def _action(self, event: Event) -> None:
        """A click: through the running engine (in order with the session's events, and to the
        advisor), or straight into the record once the session is over."""
        engine = self._engine
        if engine is not None and isinstance(event, InterviewerActionEvent) and engine.steer(event):
            return
        (self._fanout or self.sink).write(event)

    def run(self, engine_factory: Callable[[], object], sinks: Sequence[Sink], start: SessionStartEvent) -> int:
        """The session into `sinks` and the page; afterwards the page stays until Ctrl-C
        (unless `exit_when_done`), and the record stays open for its clicks."""
        self._fanout = Fanout([*sinks, self.sink])
        try:
            engine = engine_factory()  # the models load while the page already shows the session
            self._engine = engine
            try:
                code = run_session(engine, [_SessionOver(self._fanout, self.sink.close)], start)
            finally:
                self._engine = None
            if not self.options.exit_when_done:
                self.announce(f"Session over. The panel stays at {self.server.url} ; Ctrl-C to quit.")
                self.server.wait()
            return code
        finally:
            self._fanout.close()
            self.server.stop()


def run_with_panel(config: SessionConfig, title: str, engine_factory: Callable[[], object],
                   sinks: Sequence[Sink], start: SessionStartEvent, announce: Callable[[str], None]) -> int:
    """With `--web` the session runs beside the panel; without it, as before."""
    if config.output.web is None:
        return run_session(engine_factory(), sinks, start)
    return WebPanel(config.output.web, title, config, announce).run(engine_factory, sinks, start)
