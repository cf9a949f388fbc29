"""Where events go: JSONL (stdout or a session record), the terminal view."""

from __future__ import annotations

import errno
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import IO, Protocol

from pipeline.errors import S2QError
from pipeline.events import Event


class Sink(Protocol):
    def write(self, event: Event) -> None: ...

    def close(self) -> None: ...


def sessions_folder() -> Path:
    """Where session records live unless named: under the user's data directory, private to them."""
    from platformdirs import user_data_dir

    folder = Path(user_data_dir("s2q")) / "sessions"
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)
    return folder


def default_record_path() -> Path:
    """A new timestamped session record in `sessions_folder()`."""
    import time

    return sessions_folder() / time.strftime("session-%Y%m%d-%H%M%S.jsonl")


def warn(line: str) -> None:
    print(f"s2q: warning: {line}", file=sys.stderr, flush=True)


class JsonlSink:
    """One JSON object per line, flushed as it is written, so nothing is lost on a crash.

    As a session record (`path`), a failed write (disk full, device gone) must not end the
    session: the live view goes on, one warning says so, and the lines already written stay.
    Lines are written whole with `os.write` on the file descriptor, so no buffer holds half a
    line that a later flush or close could fail on again.
    """

    def __init__(self, stream: IO[str] | None = None, path: str | Path | None = None,
                 on_failure: Callable[[str], None] = warn) -> None:
        self.stream = stream or sys.stdout
        self.path = Path(path) if path is not None else None
        self._fd: int | None = None
        self._written = 0  # events safely in the record
        self._on_failure = on_failure
        if self.path is not None:
            self._fd = self._open(self.path)

    @staticmethod
    def _open(path: Path) -> int:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
        except OSError as exc:
            raise S2QError(f"cannot write the session record {path}: {exc.strerror}") from None
        try:
            size = os.fstat(fd).st_size
            if size and os.pread(fd, 1, size - 1) != b"\n":
                os.write(fd, b"\n")  # a crash left half a line: start ours on a fresh one
        except OSError:
            pass  # a device or a full disk: the first write says so
        return fd

    def write(self, event: Event) -> None:
        line = json.dumps(event.to_dict(), ensure_ascii=False) + "\n"
        if self.path is None:
            self.stream.write(line)
            self.stream.flush()
        elif self._fd is not None:
            try:
                data = line.encode("utf-8")
                while data:
                    data = data[os.write(self._fd, data):]
                _fsync(self._fd)
            except OSError as exc:
                self._fail(f"cannot write the session record {self.path} ({exc.strerror or exc})")
            else:
                self._written += 1

    def close(self) -> None:
        if self.path is None:
            self.stream.flush()
        elif self._fd is not None:
            fd, self._fd = self._fd, None
            try:
                os.close(fd)
            except OSError as exc:
                self._fail(f"cannot close the session record {self.path} ({exc.strerror or exc})")

    def _fail(self, what: str) -> None:
        """Once: stop writing the record, keep the view going, say what the record holds."""
        if self._fd is not None:
            try:
                os.close(self._fd)
            except OSError:
                pass
            self._fd = None
        self._on_failure(f"{what}: the live view continues without it; "
                         f"the record keeps the {self._written} event{'' if self._written == 1 else 's'} written before")


def _fsync(fd: int) -> None:
    """To the disk now; a file that cannot be synced (a pipe, /dev/null) has nothing more to keep."""
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno not in (errno.EINVAL, errno.EROFS, errno.ENOTSUP):
            raise
