"""Writing a file the user named (`-o`): a missing folder, a read-only place or a full disk is one line."""

from __future__ import annotations

from pathlib import Path

from pipeline.errors import S2QError


class OutputError(S2QError):
    pass


def write_text(path: Path, text: str) -> None:
    path = Path(path)
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None
