"""Reads a session record (JSONL events) as plain dicts, tolerating what a crash leaves behind.

Plain dicts rather than event dataclasses: a record from an older or newer
version (extra keys, missing keys) should still give a report.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from pipeline.errors import S2QError


def number(value: Any) -> float:
    """A record's number, or 0.0 for anything that is not one."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


class SessionError(S2QError):
    """The file is not a session record we can report on."""


@dataclass
class Session:
    """A loaded record: its events in file order, and what had to be skipped."""

    path: Path
    events: list[dict[str, Any]]
    # 1-based line number of an incomplete last line (a crash mid-write), if any.
    incomplete_line: int | None = None
    recorded_at: datetime | None = None  # when the record was last written (file time)

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e.get("type") == kind]

    @property
    def transcripts(self) -> list[dict[str, Any]]:
        """Final transcripts in audio-time order; partials are superseded by their final."""
        finals = [e for e in self.of("transcript") if e.get("final", True)]
        return sorted(finals, key=lambda e: number(e.get("start")))

    @property
    def duration(self) -> float:
        """Audio time of the last thing that happened (the record has no wall clock)."""
        ends = [number(e.get("end")) for e in self.events]
        ends += [number(e.get("details", {}).get("end")) for e in self.of("status") if isinstance(e.get("details"), dict)]
        return max(ends, default=0.0)


def load_session(path: str | Path) -> Session:
    """Reads a record, tolerating only what a crash leaves behind: an incomplete last line."""
    path = Path(path)
    try:
        raw = path.read_bytes()
        mtime = datetime.fromtimestamp(path.stat().st_mtime)
    except FileNotFoundError:
        raise SessionError(f"{path}: no such session record") from None
    except IsADirectoryError:
        raise SessionError(f"{path}: is a folder, not a session record (.jsonl)") from None
    except OSError as exc:
        raise SessionError(f"{path}: cannot read: {exc.strerror or exc}") from None

    lines = raw.split(b"\n")
    numbered = [(i + 1, line) for i, line in enumerate(lines) if line.strip()]
    if not numbered:
        raise SessionError(f"{path}: the session record is empty")

    events: list[dict[str, Any]] = []
    incomplete = None
    last_number = numbered[-1][0]
    for number, line in numbered:
        event = _parse(line)
        if event is not None:
            events.append(event)
        elif number == last_number:
            incomplete = number
        else:
            raise SessionError(
                f"{path}:{number}: not a JSON event: is this a session record "
                "(written by `s2q replay --record` or `s2q listen`)?"
            )
    if not events:
        raise SessionError(f"{path}: no complete event in the file: is this a session record?")
    return Session(path=path, events=events, incomplete_line=incomplete, recorded_at=mtime)


def _parse(line: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(line.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    if isinstance(value, dict) and isinstance(value.get("type"), str):
        return value
    return None
