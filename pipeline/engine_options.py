"""How the engine behaves: under load, when stopped, at the end of a turn, with idle CPU."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from pipeline.audio.end_of_turn import EndOfTurnOptions
from pipeline.audio.second_pass import SecondPassOptions
from pipeline.audio.segmenter import SegmenterOptions


@dataclass
class EngineOptions:
    """How the engine behaves under load and when stopped.

    Attributes:
      backpressure: wait for the transcriber instead of shedding (file replay with --fast).
      max_pending: utterances waiting for ASR before the oldest is shed.
      max_lag_s: speech that waited longer than this for ASR is dropped (live only).
      partial_every_s: while someone speaks, a partial transcript this often (0: none).
      speculate: the segmenter offers each utterance as it will be if the pause lasts, and the
        worker transcribes it during the rest of the pause (`Segmenter`); off with backpressure.
      finish_timeout_s: on Ctrl-C, how long the speech in progress may take to be transcribed
        and recorded before the engine gives up and records that it was cut.
      segmenter: voice activity segmentation settings; with `backpressure` a long turn is not
        committed in pieces (`commit_after_s` 0): nobody waits, and one window hears it best.
      end_of_turn: end a turn when the speculative transcript is a complete sentence.
      second_pass: decode finals again when idle and emit better text as revisions.
    """

    backpressure: bool = False
    max_pending: int = 4
    max_lag_s: float = 20.0
    partial_every_s: float = 0.0
    speculate: bool = True
    finish_timeout_s: float = 8.0
    segmenter: SegmenterOptions = field(default_factory=SegmenterOptions)
    end_of_turn: EndOfTurnOptions = field(default_factory=EndOfTurnOptions)
    second_pass: SecondPassOptions = field(default_factory=SecondPassOptions)

    def __post_init__(self) -> None:
        """What backpressure rules out, worked out here only: nobody waits for a guess or a piece."""
        if self.backpressure:
            self.speculate = False
            if self.segmenter.commit_after_s:
                self.segmenter = replace(self.segmenter, commit_after_s=0.0)
