"""What a run needs, gathered in one place by the CLI and handed to the runner."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pipeline.audio.segmenter import SegmenterOptions
from pipeline.audio.transcriber import TranscriberOptions


@dataclass
class OutputOptions:
    """Attributes:
      jsonl: write events as JSON lines to stdout instead of the live view.
      record: also append every event to this JSONL file.
    """

    jsonl: bool = False
    record: Path | None = None


@dataclass
class ReplayConfig:
    """Replay of a recorded file through the live pipeline.

    Attributes:
      path: the audio file.
      channels: speaker of each channel; one entry downmixes, two map left/right.
      fast: as fast as the pipeline goes instead of real-time pace.
      role: which role's question bank to match against (a folder of `bank_root`).
      advise: run the matcher and advisor (off: transcript only).
    """

    path: Path
    channels: list[str] = field(default_factory=lambda: ["unknown"])
    fast: bool = False
    role: str = "ml-engineer"
    bank_root: Path | None = None
    advise: bool = True
    segmenter: SegmenterOptions = field(default_factory=SegmenterOptions)
    transcriber: TranscriberOptions = field(default_factory=TranscriberOptions)
    output: OutputOptions = field(default_factory=OutputOptions)
