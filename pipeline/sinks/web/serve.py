"""`s2q serve [DIR]`: past session records in the browser, each as the live page (replayed from
the record, read-only) and as the HTML report."""

from __future__ import annotations

import html
import sys
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

from pipeline.errors import S2QError
from pipeline.sinks import sessions_folder
from pipeline.sinks.web.app import Panel, past_app
from pipeline.sinks.web.log import EventLog
from pipeline.sinks.web.server import WebServer


class SessionFolder:
    """The records in one folder, each loaded once per version of the file (name, size, mtime)."""

    def __init__(self, folder: Path, bank=None) -> None:
        self.folder, self.bank = folder, bank
        self._cache: dict[str, tuple[tuple, Panel | str]] = {}

    def records(self) -> list[Path]:
        return sorted(self.folder.glob("*.jsonl"), key=lambda p: p.stat().st_mtime, reverse=True)

    def load(self, path: Path) -> Panel | str:
        """The session's panel, or why it cannot be shown."""
        from pipeline.report import load_session  # lazy: keeps pydantic off start-up
        from pipeline.report.html import render_html  # lazy: keeps pydantic off start-up

        stat = path.stat()
        version = (stat.st_size, stat.st_mtime_ns)
        cached = self._cache.get(path.name)
        if cached and cached[0] == version:
            return cached[1]
        try:
            session = load_session(path)
        except S2QError as exc:
            result: Panel | str = str(exc)
        else:
            log = EventLog()
            for event in session.events:
                log.append(event, sent_at=0.0)
            log.close()
            result = Panel(log=log, title=path.name, names=self._names(),
                           report=lambda: render_html(session, self.bank))
        self._cache[path.name] = (version, result)
        return result

    def panels(self) -> dict[str, Panel]:
        found = {}
        for path in self.records():
            panel = self.load(path)
            if isinstance(panel, Panel):
                found[path.name] = panel
        return found

    def list_page(self, token: str) -> str:
        rows = []
        for path in self.records():
            panel = self.load(path)
            when = datetime.fromtimestamp(path.stat().st_mtime).strftime("%Y-%m-%d %H:%M")
            name = html.escape(path.name)
            if isinstance(panel, str):
                rows.append(f"<li><strong>{name}</strong> · {when}<br><em>{html.escape(panel)}</em></li>")
                continue
            base = f"/s/{quote(path.name)}/"
            t = quote(token)
            rows.append(f'<li><strong>{name}</strong> · {when} · {len(panel.log.events())} events<br>'
                        f'<a href="{base}?token={t}">panel</a><a href="{base}report?token={t}">report</a></li>')
        listing = "\n".join(rows) or "<li><em>No session record (.jsonl) in this folder.</em></li>"
        return ('<!doctype html><html lang="en"><head><meta charset="utf-8">'
                '<meta name="viewport" content="width=device-width, initial-scale=1"><title>s2q sessions</title>'
                '<link rel="icon" href="data:,">'
                '<link rel="stylesheet" href="/static/app.css"></head><body><header class="status">'
                f'<span class="title">s2q sessions · {html.escape(str(self.folder))}</span></header>'
                f'<main class="panel"><ol class="sessions">{listing}</ol></main></body></html>')

    def _names(self) -> dict[str, dict[str, str]]:
        if self.bank is None:
            return {}
        return {"stages": {s.id: s.name for s in self.bank.role.stages},
                "competencies": {c.id: c.name for c in self.bank.role.competencies}}


def handle_serve(args) -> int:
    from pipeline.retrieval.bank import load_bank  # lazy: keeps pydantic off start-up

    folder = args.folder or sessions_folder()
    if not folder.is_dir():
        raise S2QError(f"{folder}: no such folder of session records")
    sessions = SessionFolder(folder, load_bank(args.role, args.bank))

    def warn(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    server = WebServer(lambda token, elsewhere: past_app(sessions.panels, sessions.list_page, token, elsewhere),
                       args.host, args.port, warn=warn).start()
    warn(f"Serving {len(sessions.records())} session record(s) from {folder}")
    warn(f"Web panel: {server.url}  (Ctrl-C to stop)")
    if not args.no_browser:
        import webbrowser

        webbrowser.open(server.url)
    try:
        server.wait()
    finally:
        server.stop()
    return 0
