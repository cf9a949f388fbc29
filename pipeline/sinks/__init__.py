"""Where events go: JSONL (stdout or a session record), the terminal view."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import IO, Protocol

from pipeline.errors import S2QError
from pipeline.events import Event


class Sink(Protocol):
    def write(self, event: Event) -> None: ...

    def close(self) -> None: ...


class JsonlSink:
    """One JSON object per line, flushed as it is written, so nothing is lost on a crash."""

    def __init__(self, stream: IO[str] | None = None, path: str | Path | None = None) -> None:
        self._own = False
        if path is not None:
            path = Path(path)
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
            except OSError as exc:
                raise S2QError(f"cannot write the session record {path}: {exc.strerror}") from None
            if os.fstat(fd).st_size and os.pread(fd, 1, os.fstat(fd).st_size - 1) != b"\n":
                os.write(fd, b"\n")  # a crash left half a line: start ours on a fresh one
            stream = os.fdopen(fd, "a", encoding="utf-8")
            self._own = True
        self.stream = stream or sys.stdout
        self.path = path

    def write(self, event: Event) -> None:
        self.stream.write(json.dumps(event.to_dict(), ensure_ascii=False) + "\n")
        self.stream.flush()
        if self._own:
            os.fsync(self.stream.fileno())

    def close(self) -> None:
        if self._own:
            self.stream.close()
        else:
            self.stream.flush()
