"""A readable live transcript in the terminal."""

from __future__ import annotations

from rich.console import Console
from rich.text import Text

from pipeline.events import Event, StatusEvent, TranscriptEvent

SPEAKER_STYLE = {"interviewer": "bold cyan", "candidate": "bold green", "unknown": "bold white"}


def clock(seconds: float) -> str:
    m, s = divmod(int(seconds), 60)
    return f"{m:02d}:{s:02d}"


class TerminalSink:
    """Prints each final transcript line as it arrives, with its latency."""

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console(highlight=False)

    def write(self, event: Event) -> None:
        if isinstance(event, TranscriptEvent) and event.final:
            line = Text()
            line.append(f"[{clock(event.start)}] ", style="dim")
            line.append(f"{event.speaker.capitalize():<11} ", style=SPEAKER_STYLE.get(event.speaker, "bold"))
            line.append(event.text)
            total = event.latency_ms.get("total")
            if total is not None:
                line.append(f"  ({total:.0f} ms)", style="dim")
            self.console.print(line)
        elif isinstance(event, StatusEvent):
            self.console.print(Text(f"• {event.message or event.state}", style="yellow"))

    def close(self) -> None:
        pass
