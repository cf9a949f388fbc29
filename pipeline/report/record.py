"""Reads a session record (JSONL events) as plain dicts, tolerating what a crash leaves behind.

Plain dicts rather than event dataclasses: a record from an older or newer
version (extra keys, missing keys) should still give a report. Each event is
cleaned as it is read (`_clean`), so the renderer can trust the types it reads
whatever a damaged or hostile file holds.

One record file may hold several sessions (`--record` appends): each starts
with a `session_start` event; events before the first one (records from before
sessions had ids) are one session, `UNTAGGED`.
"""

from __future__ import annotations

import contextlib
import errno
import json
import math
import os
import stat
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Collection

from pipeline.errors import S2QError
from pipeline.events import ALERT_TYPES, AlertType

# Far above hours of events (a few MB an hour); stops a runaway read of a huge or endless file.
MAX_RECORD_BYTES = 200 * 1024 * 1024
# Larger than any audio time, count or score a record can hold: a number beyond it is damage.
MAX_NUMBER = 1e9
UNTAGGED = "untagged"  # the id of the events recorded before sessions had ids
# How every recorded line begins (`json.dumps(Event.to_dict())`): a line that starts so but
# does not parse is a cut line (a crash mid-write), anything else that does not parse is no record.
EVENT_START = b'{"type"'
TYPE_PREFIX = b'{"type": "'  # the same, with the type's value starting right after it


def number(value: Any) -> float:
    """A record's number, or 0.0 for anything that is not a plausible one (text, NaN, Infinity, 1e400)."""
    try:
        x = float(value)
    except (TypeError, ValueError, OverflowError):
        return 0.0
    return x if math.isfinite(x) and abs(x) <= MAX_NUMBER else 0.0


class SessionError(S2QError):
    """The file is not a session record we can report on."""


@dataclass(eq=False)  # sessions are told apart by identity: two can hold the same events
class Session:
    """One session of a record: its events in file order, and what had to be skipped."""

    path: Path
    events: list[dict[str, Any]]
    id: str = UNTAGGED
    cut_lines: list[int] = field(default_factory=list)  # 1-based lines cut by a crash, skipped
    recorded_at: datetime | None = None  # when the record was last written (file time)
    record: list[Session] = field(default_factory=list, repr=False)  # every session of the file, in order

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e.get("type") == kind]

    def settled(self, kind: AlertType) -> list[dict[str, Any]]:
        """The alerts of one type (`ALERT_TYPES`) that still stand at the end:
        the latest event of each key, never withdrawn after it, and never only provisional."""
        return [e for e in settled_alerts(self.events) if e.get("type") == kind]

    @property
    def started_at(self) -> datetime | None:
        """Wall-clock start from the `session_start` event, if the record has one."""
        starts = self.of("session_start")
        try:
            return datetime.fromisoformat(starts[0]["started_at"]) if starts else None
        except (KeyError, TypeError, ValueError):
            return None

    @property
    def others(self) -> list[Session]:
        return [s for s in self.record if s is not self]

    @property
    def transcripts(self) -> list[dict[str, Any]]:
        """Final transcripts in audio-time order; partials are superseded by their final, and a
        final by its revisions (same `utterance_id`): the last one holds the settled speaker."""
        settled: dict[Any, dict[str, Any]] = {}
        for i, e in enumerate(self.of("transcript")):
            if e.get("final", True):
                uid = e.get("utterance_id")
                settled[uid if isinstance(uid, (int, str)) else ("no id", i)] = e
        return sorted(settled.values(), key=lambda e: number(e.get("start")))

    @property
    def duration(self) -> float:
        """Audio time of the last thing that happened."""
        ends = [number(e.get("end")) for e in self.events]
        ends += [number(e["details"].get("end")) for e in self.of("status") if "details" in e]
        return max(ends, default=0.0)


def settled_alerts(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Alerts and questions asked as they stand after every confirmation, revision and withdrawal
    (docs/events.md): one event per key, the latest; withdrawn and still-provisional ones left out."""
    standing: dict[Any, dict[str, Any]] = {}
    for i, e in enumerate(events):
        kind = e.get("type")
        if kind in ALERT_TYPES:
            key = e.get("key") or (kind, e.get("id"), number(e.get("start")), i)  # older records: no key
            standing.pop(key, None)
            standing[key] = e
        elif kind == "withdrawn" and e.get("key"):
            standing.pop(e["key"], None)
    return [e for e in standing.values() if e.get("provisional") is not True]


def load_session(path: str | Path, session_id: str | None = None) -> Session:
    """One session of a record: the last, or the one with `session_id`."""
    sessions = load_record(path)
    if session_id is None:
        return sessions[-1]
    chosen = [s for s in sessions if s.id == session_id]
    if not chosen:
        ids = ", ".join(printable(s.id) for s in sessions)
        raise SessionError(f"{path}: no session {printable(session_id)} in this record; its sessions: {ids}")
    return chosen[-1]


def load_record(path: str | Path) -> list[Session]:
    """Every session of a record, in file order; skips cut lines, refuses anything else that is not an event."""
    path = Path(path)
    raw, mtime = read_bytes(path)
    numbered = [(i + 1, line) for i, line in enumerate(raw.split(b"\n")) if line.strip()]
    if not numbered:
        raise SessionError(f"{path}: the session record is empty")

    sessions: list[Session] = []
    cut: list[int] = []  # cut lines not yet given to a session
    for line_number, line in numbered:
        event = parse_line(line)
        if not isinstance(event, dict):
            if event is NOT_JSON and starts_like_event(line):
                cut.append(line_number)
                continue
            raise SessionError(f"{path}:{line_number}: not a JSON event: is this a session record "
                               "(written by `s2q replay --record` or `s2q listen`)?")
        if event["type"] == "session_start" or not sessions:
            if sessions:  # a cut line before a new session is the end of the one before
                sessions[-1].cut_lines += cut
                cut = []
            tag = event.get("id") if event["type"] == "session_start" else UNTAGGED
            sessions.append(Session(path=path, events=[], id=tag or f"session-{len(sessions) + 1}",
                                    recorded_at=mtime))
        sessions[-1].events.append(event)
        sessions[-1].cut_lines += cut
        cut = []
    if not sessions:
        raise SessionError(f"{path}: no complete event in the file: is this a session record?")
    sessions[-1].cut_lines += cut
    for session in sessions:
        session.record = sessions
    return sessions


def starts_like_event(line: bytes) -> bool:
    """Whether a line begins as the recorder begins every line (or is a cut-short beginning of that)."""
    line = line.lstrip()
    return line.startswith(EVENT_START) or (bool(line) and EVENT_START.startswith(line))


def is_record(path: Path) -> bool:
    """Whether an existing file reads as a session record (its first line starts like an event)."""
    try:
        with _open_regular(path) as f:
            head = f.read(64 * 1024) if f else b""
    except OSError:
        return False
    first = next((line for line in head.split(b"\n") if line.strip()), b"")
    return starts_like_event(first)


def printable(text: Any, limit: int = 60) -> str:
    """A value from a file, safe to show in a one-line terminal message."""
    text = "".join(c if c.isprintable() else "?" for c in str(text))
    return repr(text[:limit] + ("…" if len(text) > limit else ""))


def _open_regular(path: Path):
    """The file opened for reading, or None when it is not a regular file (a FIFO or device may
    never end, or block on open: O_NONBLOCK opens without waiting for a writer)."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
        return contextlib.nullcontext(None)
    return os.fdopen(fd, "rb")


def read_bytes(path: Path) -> tuple[bytes, datetime]:
    """The file's bytes, at most `MAX_RECORD_BYTES`, refusing what is not a regular file."""
    try:
        with _open_regular(path) as f:
            if f is None:
                raise SessionError(f"{path}: not a regular file: a session record is a .jsonl file")
            raw = f.read(MAX_RECORD_BYTES + 1)
            mtime = datetime.fromtimestamp(os.fstat(f.fileno()).st_mtime)
    except FileNotFoundError:
        raise SessionError(f"{path}: no such session record") from None
    except IsADirectoryError:
        raise SessionError(f"{path}: is a folder, not a session record (.jsonl)") from None
    except OSError as exc:
        raise SessionError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if len(raw) > MAX_RECORD_BYTES:
        raise SessionError(f"{path}: larger than {MAX_RECORD_BYTES // 2**20} MB: not a session record s2q wrote")
    return raw, mtime


NOT_JSON = object()  # the line does not parse (as opposed to: JSON, but not an event)


def parse_line(line: bytes) -> dict[str, Any] | object | None:
    """The cleaned event; `NOT_JSON` for a line that does not parse; None for JSON that is no event."""
    try:
        value = json.loads(line.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return NOT_JSON
    if isinstance(value, dict) and isinstance(value.get("type"), str):
        return _clean(value)
    return None


def event_type(line: bytes) -> bytes | None:
    """The `type` of a recorded line from its first bytes (every line starts `{"type": "...`)."""
    if not line.startswith(TYPE_PREFIX):
        return None
    end = line.find(b'"', len(TYPE_PREFIX))
    return line[len(TYPE_PREFIX):end] if end > 0 else None


def read_events(path: Path, wanted: Collection[bytes]) -> list[tuple[bytes, dict[str, Any]]]:
    """(type, cleaned event) of every event of the `wanted` types, in file order; other lines are
    never parsed (a batch reads thousands of records) and cut lines are skipped. `SessionError`
    for what is not a readable record."""
    raw, _ = read_bytes(path)
    found = []
    for line in raw.split(b"\n"):
        kind = event_type(line)
        if kind in wanted and isinstance(event := parse_line(line), dict):
            found.append((kind, event))
    return found


# -- cleaning: each field the report reads gets the type the renderer expects, or is dropped ----

_TEXT = {"type", "id", "text", "stage", "speaker", "quote", "name", "alternative", "state", "message",
         "current_stage", "version", "started_at", "role", "source", "reason", "kind",
         "utterance_id", "after_utterance", "key", "of"}
_NUMBER = {"start", "end", "score", "waited_s"}


def _clean(event: dict[str, Any], depth: int = 0) -> dict[str, Any]:
    """The event with the fields the report reads made well-typed (unknown fields are kept as they are)."""
    out: dict[str, Any] = {}
    for key, value in event.items():
        if key in _TEXT:
            value = _text(value)
        elif key in _NUMBER:
            value = number(value)
        elif key in ("final", "provisional"):
            value = value if isinstance(value, bool) else None
        elif key in ("probes", "missing"):
            value = _texts(value)
        elif key == "competencies":  # counts in `coverage`, a list in `question_asked`
            value = ({str(k): number(v) for k, v in value.items()} if isinstance(value, dict)
                     else _texts(value))
        elif key == "stages":
            value = value if isinstance(value, dict) else None
        elif key == "details":
            value = _clean(value, depth + 1) if isinstance(value, dict) and depth == 0 else None
        elif key == "items":
            value = ([_clean(v, depth + 1) for v in value if isinstance(v, dict)]
                     if isinstance(value, list) and depth == 0 else None)
        if value is not None:
            out[key] = value
    return out


def _text(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int) and abs(value) <= MAX_NUMBER:
        return str(value)
    if isinstance(value, float) and number(value) == value:
        return repr(value)
    return None


def _texts(value: Any) -> list[str] | None:
    if not isinstance(value, list):
        return None
    return [t for t in map(_text, value) if t is not None]
