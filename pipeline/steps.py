"""What the engine runs besides Whisper, as protocols, and a helper to run one step alone.

A *step* is a processing step (the interview's *stages* are its phases, `retrieval/schema.py`).
The engine (`pipeline/engine.py`) takes steps after transcription (`Step`), and for a mixed
source an `UtteranceSplitter` before it and a `SpeakerLabeler` after it. `run_step` runs any
one step without threads, for tests and benchmarks.
"""

from __future__ import annotations

from typing import Callable, Iterable, Protocol, TypeVar, runtime_checkable

from pipeline.events import Event, InterviewerActionEvent, Speaker, SpeakerRevision, Transcript, Utterance


class Step(Protocol):
    """A step after transcription: each transcript in, more events out.

    Partial transcripts (`utterance.final` false: speech still going on) come too, for early
    warnings; a step that only wants finals skips them. A transcript with `revision > 0` is an
    earlier final utterance again (same utterance, better text or its settled speaker): the step
    checks it again and emits only what changed.
    """

    def __call__(self, transcript: Transcript) -> Iterable[Event]: ...


@runtime_checkable
class Steerable(Protocol):
    """A step that takes the interviewer's word (a click in the panel: asked, pin, dismiss). The
    engine hands it each `InterviewerActionEvent` on the thread the steps run on, after writing
    the action itself to the stream; the step answers with what changed (new suggestions)."""

    def steer(self, action: InterviewerActionEvent) -> Iterable[Event]: ...


class UtteranceSplitter(Protocol):
    """Cuts a final utterance from a mixed source at each *voice split* (one person took over without a
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


def run_step(step: Callable[[In], Iterable[Out]], inputs: Iterable[In],
              flush: Callable[[], Iterable[Out]] | None = None) -> list[Out]:
    """One step alone, without threads: every input through `step`, then `flush` (end of stream).

    `run_step(segmenter.feed, chunks, segmenter.flush)` -> utterances;
    `run_step(interview_step, transcripts)` -> events.
    """
    outputs = [out for item in inputs for out in step(item)]
    if flush is not None:
        outputs.extend(flush())
    return outputs
