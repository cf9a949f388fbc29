"""What a batch has to do, and what it has done: inputs to jobs, output names, atomic writes, `batch.json`.

Only the driver writes the output folder (the pool's and Ray's workers return text), so the
same code decides what is done for both, and a crash leaves whole files or none: each output is
written to a hidden temp name and renamed when complete.
"""

from __future__ import annotations

import csv
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from pipeline.errors import S2QError
from pipeline.events import SPEAKERS

AUDIO_SUFFIXES = {".wav", ".flac", ".mp3", ".ogg", ".oga", ".opus", ".m4a", ".aac", ".webm", ".mka", ".mp4", ".wma"}
INDEX_NAME = "batch.json"
MANIFEST_COLUMNS = ("file", "interviewer", "candidate_id", "role", "channels")


class BatchError(S2QError):
    """A batch cannot start: bad inputs, manifest or output folder."""


@dataclass
class Job:
    """One audio file to process, with what the manifest says about it."""

    path: Path
    name: str  # output stem: DIR/<name>.jsonl and DIR/<name>.md
    role: str
    channels: list[str]
    interviewer: str | None = None
    candidate_id: str | None = None


@dataclass
class Outcome:
    """What a worker sends back for one job: the record's text and the report, or one error line."""

    name: str
    record: str = ""
    report: str = ""
    error: str | None = None
    audio_s: float = 0.0
    elapsed_s: float = 0.0
    worker: str = ""
    meta: dict = field(default_factory=dict)


def expand_inputs(inputs: list[Path]) -> list[Path]:
    """Files as given; folders expanded to the audio files under them (sorted, recursive)."""
    files: list[Path] = []
    for item in inputs:
        if item.is_dir():
            found = sorted(p for p in item.rglob("*") if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES)
            if not found:
                raise BatchError(f"{item}: no audio files in this folder ({', '.join(sorted(AUDIO_SUFFIXES))})")
            files += found
        elif item.exists():
            files.append(item)
        else:
            raise BatchError(f"{item}: no such file or folder")
    return files


def read_manifest(path: Path, default_role: str, default_channels: list[str]) -> list[dict]:
    """Rows of a CSV manifest; `file` is relative to the manifest's folder unless absolute."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            columns = [c.strip() for c in reader.fieldnames or []]
            rows = list(reader)
    except OSError as exc:
        raise BatchError(f"cannot read the manifest {path}: {exc.strerror or exc}") from None
    except (csv.Error, UnicodeDecodeError) as exc:
        raise BatchError(f"{path}: not a CSV manifest: {exc}") from None
    if "file" not in columns:
        raise BatchError(f"{path}: the manifest needs a `file` column (optional: {', '.join(MANIFEST_COLUMNS[1:])})")
    out = []
    for line, row in enumerate(rows, start=2):
        if None in row:
            raise BatchError(f"{path}:{line}: more fields than columns "
                             "(quote a value with a comma, e.g. \"interviewer,candidate\")")
        row = {(k or "").strip(): (v or "").strip() for k, v in row.items()}
        if not row.get("file"):
            raise BatchError(f"{path}:{line}: empty `file`")
        file = Path(row["file"])
        channels = default_channels
        if row.get("channels"):
            channels = [c.strip() for c in row["channels"].split(",") if c.strip()]
            if not 1 <= len(channels) <= 2 or any(c not in SPEAKERS for c in channels):
                raise BatchError(f"{path}:{line}: channels must be one or two of {', '.join(SPEAKERS)}, "
                                 "e.g. \"interviewer,candidate\"")
        out.append({"path": file if file.is_absolute() else path.parent / file,
                    "role": row.get("role") or default_role, "channels": channels,
                    "interviewer": row.get("interviewer") or None, "candidate_id": row.get("candidate_id") or None})
    return out


def plan(inputs: list[Path], manifest: Path | None, role: str, channels: list[str]) -> list[Job]:
    """Jobs in input order, manifest rows first; each file once, each output name unique."""
    rows = read_manifest(manifest, role, channels) if manifest else []
    for row in rows:
        if not row["path"].is_file():
            raise BatchError(f"{row['path']}: no such file (listed in {manifest})")
    listed = {r["path"].resolve() for r in rows}
    rows += [{"path": p, "role": role, "channels": channels} for p in expand_inputs(inputs)
             if p.resolve() not in listed]
    if not rows:
        raise BatchError("nothing to do: give audio files or folders, or --manifest CSV")
    jobs, seen, names = [], set(), set()
    for row in rows:
        key = row["path"].resolve()
        if key in seen:
            continue
        seen.add(key)
        name = unique_name(row["path"], names)
        names.add(name)
        jobs.append(Job(name=name, **row))
    return jobs


def unique_name(path: Path, taken: set[str]) -> str:
    """The file's stem, made safe for a file name; `-2`, `-3`... when two inputs share it."""
    stem = "".join(c if c.isalnum() or c in "-_.+" else "_" for c in path.stem).lstrip(".") or "audio"
    name, n = stem, 1
    while name in taken or name == Path(INDEX_NAME).stem:
        n += 1
        name = f"{stem}-{n}"
    return name


def outputs(out: Path, name: str) -> tuple[Path, Path]:
    return out / f"{name}.jsonl", out / f"{name}.md"


def is_done(out: Path, name: str) -> bool:
    """Resumable: a job is done when both its record and its report exist (each is renamed in whole)."""
    record, report = outputs(out, name)
    return record.is_file() and report.is_file()


def write_atomic(path: Path, text: str) -> None:
    """Private (0600) like every record and report; a temp name until complete, then renamed."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.part")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise BatchError(f"cannot write {path}: {exc.strerror or exc}") from None


def save_outcome(out: Path, outcome: Outcome) -> None:
    """The record first, then the report: the report's existence marks the job done."""
    record, report = outputs(out, outcome.name)
    write_atomic(record, outcome.record)
    write_atomic(report, outcome.report)


def prepare_out(out: Path) -> None:
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BatchError(f"cannot create the output folder {out}: {exc.strerror or exc}") from None
    if not os.access(out, os.W_OK):
        raise BatchError(f"{out}: the output folder is not writable")
    for stale in out.glob(".*.part"):  # left by a crash: never a complete file
        stale.unlink(missing_ok=True)


class BatchIndex:
    """`DIR/batch.json`: per output name, its source file, manifest fields and last status."""

    def __init__(self, out: Path) -> None:
        self.path = out / INDEX_NAME
        try:
            self.data = json.loads(self.path.read_text(encoding="utf-8"))
            if not isinstance(self.data.get("files"), dict):
                raise ValueError
        except (OSError, ValueError, AttributeError):
            self.data = {"version": 1, "files": {}}

    def update(self, job: Job, status: str, outcome: Outcome | None = None) -> None:
        entry = {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(job).items() if k != "name"}
        entry["status"] = status
        if outcome is not None:
            entry.update(error=outcome.error, audio_s=round(outcome.audio_s, 2),
                         elapsed_s=round(outcome.elapsed_s, 2), worker=outcome.worker)
        self.data["files"][job.name] = entry

    def save(self) -> None:
        write_atomic(self.path, json.dumps(self.data, indent=1, ensure_ascii=False) + "\n")
