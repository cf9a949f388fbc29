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


@dataclass
class ListenConfig:
    """Live listening during a call.

    Attributes:
      mic: the interviewer's microphone (device name or index).
      call: the call's audio as an input (a loopback/monitor device): the candidate.
      input: one device carrying both voices; `channels` maps its channels to
        speakers, otherwise it is mixed and speakers are inferred.
      save_audio: also keep the audio (WAV per speaker, next to the record).
      consent_reminder: remind the interviewer to tell the candidate about transcription.
      partial_every_s: partial transcripts this often while someone speaks (0: off).
    """

    mic: str | None = None
    call: str | None = None
    input: str | None = None
    channels: list[str] = field(default_factory=lambda: ["unknown"])
    save_audio: bool = False
    consent_reminder: bool = True
    partial_every_s: float = 1.5
    role: str = "ml-engineer"
    bank_root: Path | None = None
    segmenter: SegmenterOptions = field(default_factory=SegmenterOptions)
    transcriber: TranscriberOptions = field(default_factory=TranscriberOptions)
    output: OutputOptions = field(default_factory=OutputOptions)


def default_record_path() -> Path:
    """A new timestamped session file under the user's data directory (private to the user)."""
    import time

    from platformdirs import user_data_dir

    folder = Path(user_data_dir("s2q")) / "sessions"
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)
    return folder / time.strftime("session-%Y%m%d-%H%M%S.jsonl")
