"""What the engine runs besides Whisper, as protocols, and a helper to run one stage alone.

The engine (`pipeline/engine.py`) takes stages after transcription (`Stage`), and for a mixed
source an `UtteranceSplitter` before it and a `SpeakerLabeler` after it. `run_stage` runs any
one step without threads, for tests and benchmarks.
"""

from __future__ import annotations

from typing import Callable, Iterable, Protocol, TypeVar, runtime_checkable

from pipeline.events import Event, InterviewerActionEvent, Speaker, SpeakerRevision, Transcript, Utterance


class Stage(Protocol):
    """A stage after transcription: each transcript in, more events out.

    Partial transcripts (`utterance.final` false: speech still going on) come too, for early
    warnings; a stage that only wants finals skips them. A transcript with `revision > 0` is an
    earlier final utterance again (same utterance, better text or its settled speaker): the stage
    checks it again and emits only what changed.
    """

    def __call__(self, transcript: Transcript) -> Iterable[Event]: ...


@runtime_checkable
class Steerable(Protocol):
    """A stage that takes the interviewer's word (a click in the panel: asked, pin, dismiss). The
    engine hands it each `InterviewerActionEvent` on the thread the stages run on, after writing
    the action itself to the stream; the stage answers with what changed (new suggestions)."""

    def steer(self, action: InterviewerActionEvent) -> Iterable[Event]: ...


class UtteranceSplitter(Protocol):
    """Cuts a final utterance from a mixed source where the voice changes (a turn taken without a
    pause); returns it whole when there is one voice. Runs on the capture thread, before ASR."""

    def split(self, utterance: Utterance, next_id: Callable[[], int]) -> list[Utterance]: ...


class SpeakerLabeler(Protocol):
    """Names the speaker of an utterance from a mixed source (`unknown` when unsure)."""

    def label_speaker(self, transcript: Transcript) -> Speaker: ...

    def revisions(self) -> list[SpeakerRevision]:
        """Earlier final utterances whose speaker changed since the last call."""
        ...


In = TypeVar("In")
Out = TypeVar("Out")


def run_stage(step: Callable[[In], Iterable[Out]], inputs: Iterable[In],
              flush: Callable[[], Iterable[Out]] | None = None) -> list[Out]:
    """One stage alone, without threads: every input through `step`, then `flush` (end of stream).

    `run_stage(segmenter.feed, chunks, segmenter.flush)` -> utterances;
    `run_stage(interview_stage, transcripts)` -> events.
    """
    outputs = [out for item in inputs for out in step(item)]
    if flush is not None:
        outputs.extend(flush())
    return outputs
