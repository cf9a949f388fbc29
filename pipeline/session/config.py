"""What a session needs, gathered from the command line in one place and handed to the wiring."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pipeline.audio.end_of_turn import EndOfTurnOptions
from pipeline.audio.second_pass import SecondPassOptions
from pipeline.audio.segmenter import SegmenterOptions
from pipeline.audio.transcriber import TranscriberOptions
from pipeline.events import UNKNOWN
from pipeline.retrieval import DEFAULT_ROLE

PARTIAL_EVERY_S = 1.5  # live: a partial transcript this often while someone speaks


@dataclass
class WebOptions:
    """The browser panel (`--web`).

    Attributes:
      host: interface to listen on; anything but loopback only with a warning.
      port: 0 picks a free one.
      open_browser: open the URL with the system's browser.
      exit_when_done: stop serving when the session ends (default: until Ctrl-C).
    """

    host: str = "127.0.0.1"
    port: int = 0
    open_browser: bool = True
    exit_when_done: bool = False

    @classmethod
    def from_args(cls, args) -> "WebOptions | None":
        if not getattr(args, "web", False):
            return None
        return cls(host=args.host, port=args.port, open_browser=not args.no_browser,
                   exit_when_done=args.exit_when_done)


@dataclass
class OutputOptions:
    """Attributes:
      jsonl: write events as JSON lines to stdout instead of the live view.
      record: also append every event to this JSONL file.
      web: also show the session in the browser panel (it replaces the terminal view).
    """

    jsonl: bool = False
    record: Path | None = None
    web: WebOptions | None = None


@dataclass
class SessionConfig:
    """What replay and listen share.

    Attributes:
      role: which role's question bank to match against (a folder of `bank_root`).
      bank_root: the question bank root (None: the bundled one).
      advise: run the matcher and advisor (off: transcript only).
      channels: speaker of each channel; one entry downmixes, two map left/right.
      partial_every_s: partial transcripts this often while someone speaks (0: off).
      second_pass: the revisions of finals (`pipeline.audio.second_pass`), e.g. their model.
      end_of_turn: what ends a turn before the hangover (`pipeline.audio.end_of_turn`): model or rules.
    """

    role: str = DEFAULT_ROLE
    bank_root: Path | None = None
    advise: bool = True
    channels: list[str] = field(default_factory=lambda: [UNKNOWN])
    partial_every_s: float = 0.0
    segmenter: SegmenterOptions = field(default_factory=SegmenterOptions)
    transcriber: TranscriberOptions = field(default_factory=TranscriberOptions)
    second_pass: SecondPassOptions = field(default_factory=SecondPassOptions)
    end_of_turn: EndOfTurnOptions = field(default_factory=EndOfTurnOptions)
    output: OutputOptions = field(default_factory=OutputOptions)

    @classmethod
    def from_args(cls, args, **overrides) -> "SessionConfig":
        """The options every session subcommand has (see `cli.py`'s shared parsers)."""
        return cls(
            role=args.role,
            bank_root=args.bank,
            channels=args.channels,
            transcriber=TranscriberOptions(model=args.model, device=args.device, compute_type=args.compute_type,
                                           beam_size=args.beam_size, language=args.language),
            second_pass=SecondPassOptions(model=args.second_pass_model),
            end_of_turn=EndOfTurnOptions(mode=args.end_of_turn),
            output=OutputOptions(jsonl=args.jsonl, record=args.record, web=WebOptions.from_args(args)),
            **overrides,
        )


@dataclass
class ReplayConfig:
    """Replay of a recorded file through the live pipeline.

    Attributes:
      path: the audio file.
      fast: as fast as the pipeline goes instead of real-time pace.
    """

    path: Path
    fast: bool = False
    session: SessionConfig = field(default_factory=SessionConfig)


@dataclass
class ListenConfig:
    """Live listening during a call.

    Attributes:
      mic: the interviewer's microphone (device name or index).
      call: the call's audio as an input (a loopback/monitor device): the candidate.
      input: one device carrying both voices; `session.channels` maps its channels to
        speakers, otherwise it is mixed and speakers are inferred.
      save_audio: also keep the audio (WAV per speaker, next to the record).
      consent_reminder: remind the interviewer to tell the candidate about transcription.
    """

    mic: str | None = None
    call: str | None = None
    input: str | None = None
    save_audio: bool = False
    consent_reminder: bool = True
    session: SessionConfig = field(default_factory=lambda: SessionConfig(partial_every_s=PARTIAL_EVERY_S))
