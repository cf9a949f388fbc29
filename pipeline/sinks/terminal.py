"""What the interviewer glances at: the live view (a terminal that can redraw) or plain lines.

The live view keeps everything on one screen and stays readable at 80x24:
transcript (newest at the bottom), the current suggestions with their reasons,
alerts, coverage of the interview plan, and a status line with latency and
whether the pipeline keeps up with real time.
"""

from __future__ import annotations

import statistics
import time
from collections import deque

from rich.console import Console, Group
from rich.live import Live
from rich.panel import Panel
from rich.text import Text

from pipeline.events import (
    UNKNOWN,
    ComplianceEvent,
    CoverageEvent,
    Event,
    QuestionAskedEvent,
    RedFlagEvent,
    RetractedEvent,
    StatusEvent,
    SuggestionEvent,
    TranscriptEvent,
    WithdrawnEvent,
)
from pipeline.sinks.labels import clock, speaker_label

WITHDRAWN_WHY = {"final": "the finished sentence does not say it", "text": "the revised text does not say it",
                 "speaker": "said by the other side", "no_final": "the speech was not transcribed in the end"}
MAX_ALERTS = 6
SPEAKER_STYLE = {"interviewer": "bold cyan", "candidate": "bold green", UNKNOWN: "bold white"}


def describe(event: Event) -> Text | None:
    """One line for an event, shared by both views."""
    if isinstance(event, TranscriptEvent):
        line = Text()
        line.append(f"{clock(event.start)} ", style="dim")
        line.append(f"{speaker_label(event.speaker)}: ", style=SPEAKER_STYLE.get(event.speaker, "bold"))
        line.append(event.text, style="" if event.final else "italic dim")
        return line
    if isinstance(event, RedFlagEvent):
        return Text.assemble(("⚑ red flag ", "bold yellow"), (f"{event.name}", "yellow"),
                             (f" — “{event.quote}” at {clock(event.start)}", "dim"))
    if isinstance(event, ComplianceEvent):
        alt = f" Ask instead: {event.alternative}" if event.alternative else ""
        early = (" (still being asked)", "italic red") if event.provisional else ("", "")
        return Text.assemble(("⚠ do not ask ", "bold red"), (f"{event.name}", "red"), early, (alt, ""))
    if isinstance(event, QuestionAskedEvent):
        return Text.assemble(("✓ asked ", "dim green"), (event.id, "dim"))
    if isinstance(event, WithdrawnEvent):
        what = {"compliance": "do not ask", "red_flag": "red flag", "question_asked": "asked"}.get(event.of, event.of)
        return Text.assemble(("✗ withdrawn ", "dim"), (f"{what} {event.id}", "dim strike"),
                             (f" ({WITHDRAWN_WHY.get(event.reason, event.reason)})", "dim"))
    if isinstance(event, StatusEvent):
        return Text(f"• {event.message or event.state}", style="yellow")
    return None


class LinePrinter:
    """Plain lines, for terminals that can't redraw (or output piped to a file).

    A line cannot be taken back, so each alert is printed once: a provisional compliance alert
    when it shows, not again when confirmed; a withdrawal is printed only for what was printed.
    """

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console(highlight=False)
        self.printed: set[str] = set()  # keys of the alerts and questions printed

    def write(self, event: Event) -> None:
        if isinstance(event, TranscriptEvent) and not event.final:
            return
        key = getattr(event, "key", "")
        if isinstance(event, (ComplianceEvent, RedFlagEvent, QuestionAskedEvent)) and key:
            if key in self.printed:
                return
            self.printed.add(key)
        if isinstance(event, WithdrawnEvent):
            if event.key not in self.printed:
                return
            self.printed.discard(event.key)
        if isinstance(event, SuggestionEvent):
            for i, item in enumerate(event.items, 1):
                self.console.print(Text.assemble((f"   → {i}. ", "bold magenta"), item["text"],
                                                 (f"  ({item['reason']})", "dim")))
            return
        line = describe(event)
        if isinstance(event, TranscriptEvent) and event.revision:
            line.append(" (revised)", style="dim")  # an earlier line again: better text, or its speaker settled
        if line is not None:
            self.console.print(line)

    def close(self) -> None:
        pass


class LiveView:
    """A redrawn single screen (rich Live)."""

    def __init__(self, console: Console | None = None, role: str = "", source: str = "") -> None:
        self.console = console or Console(highlight=False)
        self.role, self.source = role, source
        self.lines: deque[TranscriptEvent] = deque(maxlen=50)
        self.partial: dict[int, TranscriptEvent] = {}  # utterance id -> its partial line, until a final or retraction
        self.suggestions: list[dict] = []
        self.alerts: dict[str, Event] = {}  # key -> the alert as it stands (provisional, then confirmed)
        self.coverage: CoverageEvent | None = None
        self.latencies: deque[float] = deque(maxlen=50)
        self.status = "listening"
        self.behind = False
        self.audio_time = 0.0
        self.started = time.monotonic()
        self.live = Live(self._render(), console=self.console, auto_refresh=False, transient=False,
                         redirect_stdout=False, redirect_stderr=False)
        self.live.start()

    def write(self, event: Event) -> None:
        if isinstance(event, TranscriptEvent):
            self.audio_time = max(self.audio_time, event.end)
            if event.revision:  # an earlier line's speaker, settled
                self.lines = deque((event if e.utterance_id == event.utterance_id else e for e in self.lines),
                                   maxlen=self.lines.maxlen)
            elif event.final:
                self.partial.pop(event.utterance_id, None)
                self.lines.append(event)
            else:  # one line per utterance id (docs/events.md); a speaker's newer partial replaces the older
                self.partial = {uid: e for uid, e in self.partial.items() if e.speaker != event.speaker}
                self.partial[event.utterance_id] = event
        elif isinstance(event, RetractedEvent):
            self.partial.pop(event.utterance_id, None)
        elif isinstance(event, SuggestionEvent):
            self.suggestions = event.items
            if event.latency_ms.get("total") is not None:
                self.latencies.append(event.latency_ms["total"])
        elif isinstance(event, (RedFlagEvent, ComplianceEvent)):
            key = event.key or f"{event.type}:{event.id}:{event.start:.3f}"
            self.alerts[key] = event  # a confirmation replaces its provisional alert in place
            while len(self.alerts) > MAX_ALERTS:
                del self.alerts[next(iter(self.alerts))]
        elif isinstance(event, WithdrawnEvent):
            self.alerts.pop(event.key, None)
        elif isinstance(event, CoverageEvent):
            self.coverage = event
        elif isinstance(event, StatusEvent):
            self.status = event.message or event.state
            self.behind = event.state == "shedding"
        self.live.update(self._render(), refresh=True)

    def close(self) -> None:
        self.live.update(self._render(), refresh=True)
        self.live.stop()

    # -- layout: every block has a fixed height, the transcript takes the rest ----------

    def _render(self):
        height, width = self.console.size.height, self.console.size.width
        alert_rows = 2
        fixed = 1 + (2 * 3 + 2) + (alert_rows + 2) + 2  # status, suggestions, alerts, coverage
        transcript_rows = max(3, height - fixed - 2 - 1)
        return Group(
            self._status_line(width),
            Panel(self._transcript(transcript_rows, width - 4), title="Transcript", title_align="left",
                  height=transcript_rows + 2),
            Panel(self._suggestions(), title="Ask next", title_align="left", border_style="magenta", height=8),
            Panel(self._alerts(alert_rows), title="Alerts", title_align="left", border_style="red",
                  height=alert_rows + 2),
            self._coverage(width),
        )

    def _status_line(self, width: int) -> Text:
        t = Text(no_wrap=True, overflow="ellipsis")
        t.append(" s2q ", style="bold reverse")
        t.append(f" {self.role} · {clock(self.audio_time)} ", style="dim")
        if self.latencies:
            t.append(f"· suggestion in {statistics.median(self.latencies):.0f} ms ", style="dim")
        if self.behind:
            t.append("· BEHIND: skipping speech ", style="bold red")
        else:
            t.append("· keeping up ", style="green")
        t.append(f"· {self.status}", style="dim")
        t.truncate(width, overflow="ellipsis")
        return t

    def _transcript(self, rows: int, width: int) -> Text:
        """The newest lines that fit, wrapped to the panel's width."""
        items = list(self.lines)[-rows:] + list(self.partial.values())
        if not items:
            return Text("waiting for speech…", style="dim")
        full = Text()
        for event in items:
            if full:
                full.append("\n")
            full.append_text(describe(event))
        wrapped = full.wrap(self.console, width)
        out = Text()
        for line in list(wrapped)[-rows:]:
            if out:
                out.append("\n")
            out.append_text(line)
        return out

    def _suggestions(self):
        if not self.suggestions:
            return Text("—", style="dim")
        out = Text()
        for i, item in enumerate(self.suggestions, 1):
            if out:
                out.append("\n")
            line = Text.assemble((f"{i}. ", "bold magenta"), item["text"], no_wrap=True, overflow="ellipsis")
            out.append_text(line)
            out.append("\n")
            out.append(f"   ↳ {item['reason']}", style="dim")
        out.no_wrap = True
        out.overflow = "ellipsis"
        return out

    def _alerts(self, rows: int) -> Text:
        items = list(self.alerts.values())[-rows:]
        if not items:
            return Text("none", style="dim")
        out = Text(no_wrap=True, overflow="ellipsis")
        for event in items:
            if out:
                out.append("\n")
            out.append_text(describe(event))
        return out

    def _coverage(self, width: int) -> Text:
        if self.coverage is None:
            return Text(" coverage: no bank question asked yet", style="dim")
        c = self.coverage
        t = Text(no_wrap=True, overflow="ellipsis")
        t.append(" stages ", style="bold")
        for stage, n in c.stages.items():
            style = "bold" if stage == c.current_stage else "dim"
            t.append(f"{stage.split('-')[0]} {n['asked']}/{n['total']}  ", style=style)
        covered = [k for k, n in c.competencies.items() if n]
        t.append("\n competencies ", style="bold")
        t.append(f"{len(covered)}/{len(c.competencies)} ", style="green")
        if c.missing:
            t.append("missing: " + ", ".join(c.missing), style="yellow")
        return t


def terminal_view(role: str = "", source: str = ""):
    """The live view on a terminal that can redraw, plain lines otherwise."""
    console = Console(highlight=False)
    if console.is_terminal and not console.is_dumb_terminal:
        return LiveView(console, role=role, source=source)
    return LinePrinter(console)
