"""Typed messages passed between steps, and their JSON form.

Every utterance carries a `Timeline`: monotonic timestamps stamped by each step,
so latency is computed from what happened rather than guessed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, get_args

import numpy as np

UNKNOWN = "unknown"  # a mixed source's speaker until its voice is named
SPEAKERS: tuple[str, ...] = ("interviewer", "candidate", UNKNOWN)
# One of SPEAKERS, or `speaker-N` for an extra voice told apart on a mixed source (pipeline/interview/speakers.py).
Speaker = str
VOICE_PREFIX = "speaker-"


def voice_name(number: int) -> str:
    """A voice told apart but not named yet: `speaker-2`."""
    return f"{VOICE_PREFIX}{number}"


def is_unnamed(speaker: str) -> bool:
    """`unknown`, or a voice told apart but not named: either role until it is named."""
    return speaker == UNKNOWN or speaker.startswith(VOICE_PREFIX)


@dataclass
class Timeline:
    """Monotonic stamps (seconds, `time.monotonic()`), in step order.

    Names used: `last_voice` (the last voiced frame, on a live clock), `speech_end`
    (segmenter declared the utterance over),
    `asr_start`, `asr_done`, `match_done`, `advise_done`, `emitted`.
    """

    stamps: dict[str, float] = field(default_factory=dict)
    extra_ms: dict[str, float] = field(default_factory=dict)  # durations measured inside a step

    def stamp(self, name: str, when: float | None = None) -> None:
        self.stamps[name] = time.monotonic() if when is None else when

    def ms(self, start: str, end: str) -> float | None:
        if start in self.stamps and end in self.stamps:
            return round((self.stamps[end] - self.stamps[start]) * 1000.0, 1)
        return None


@dataclass
class Utterance:
    """One stretch of speech from one source, as cut by the segmenter."""

    id: int
    speaker: Speaker
    start: float  # seconds of audio time
    end: float
    audio: np.ndarray  # float32 mono 16 kHz
    timeline: Timeline = field(default_factory=Timeline)
    final: bool = True  # False for a partial (still being spoken)
    eou_delay: float | None = 0.0  # audio s from the last voiced frame to the close (None: end of stream)
    speculative: bool = False  # the utterance as it will be if the current silence lasts
    continues: bool = False  # a piece of a long turn committed at a pause; the turn goes on (memory.PiecedTurns)

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclass
class Transcript:
    """The transcriber's output for one utterance."""

    utterance: Utterance
    text: str
    dropped_reason: str | None = None  # why text was suppressed (silence, hallucination...)
    revision: int = 0  # >0: an earlier final utterance again, with better text or its settled speaker
    detected_language: Any = None  # `--language auto`: the speaker's language, detected from this utterance


@dataclass
class SpeakerRevision:
    """A speaker labeler changed its mind about an earlier final utterance (the engine re-emits it)."""

    utterance_id: int
    speaker: Speaker


class Event:
    """Base of everything written to the event stream (JSONL, terminal, record)."""

    type: ClassVar[str] = "event"

    def to_dict(self) -> dict[str, Any]:
        data = {"type": self.type}
        data.update({k: v for k, v in self.__dict__.items() if not k.startswith("_")})
        return data


def _r(x: float) -> float:
    return round(float(x), 3)


@dataclass
class TranscriptEvent(Event):
    """Text of one utterance; `final: false` while the speaker is still talking."""

    type: ClassVar[str] = "transcript"
    utterance_id: int
    speaker: str
    start: float
    end: float
    text: str
    final: bool
    latency_ms: dict[str, float | None]
    revision: int = 0  # >0: an earlier final utterance revised (same utterance_id): new text or speaker

    @classmethod
    def from_transcript(cls, t: Transcript) -> "TranscriptEvent":
        u = t.utterance
        return cls(
            utterance_id=u.id,
            speaker=u.speaker,
            start=_r(u.start),
            end=_r(u.end),
            text=t.text,
            final=u.final,
            latency_ms=latency_of(u.timeline),
            revision=t.revision,
        )


@dataclass
class RetractedEvent(Event):
    """A partial line whose utterance gets no final: its speech was dropped (no words in the end:
    silence, laughter, the other side's voice), shed under load, cut at the end of the session.
    Clients remove the line with this `utterance_id`; every partial's id ends in a final or this."""

    type: ClassVar[str] = "retracted"
    utterance_id: int
    speaker: str
    start: float
    end: float
    reason: str  # no_words | no_final (see docs/events.md)


@dataclass
class SessionStartEvent(Event):
    """First in every session: one record file may hold several (`--record` appends), and the
    report tells them apart by this event."""

    type: ClassVar[str] = "session_start"
    id: str  # random, short: what `s2q report --session ID` takes
    version: str  # the s2q version that wrote the session
    started_at: str  # wall clock, ISO 8601 with the UTC offset
    role: str | None  # the question bank role (None: transcript only)
    source: str  # the audio file's name, or the input devices

    @classmethod
    def new(cls, role: str | None, source: str) -> SessionStartEvent:
        import secrets
        from datetime import datetime

        from pipeline import __version__

        return cls(id=secrets.token_hex(4), version=__version__,
                   started_at=datetime.now().astimezone().isoformat(timespec="seconds"), role=role, source=source)


@dataclass
class LanguageEvent(Event):
    """`--language auto`: the language heard for a speaker, detected once from their first seconds."""

    type: ClassVar[str] = "language"
    speaker: str
    language: str  # one of pipeline.audio.language.LANGUAGES
    probability: float  # Whisper's, among those languages
    utterance_id: int  # the utterance it was detected from
    start: float

    @classmethod
    def of(cls, t: Transcript) -> list["LanguageEvent"]:
        """The event for a transcript whose utterance settled its speaker's language (first emission only)."""
        d, u = t.detected_language, t.utterance
        if d is None or t.revision:
            return []
        return [cls(speaker=u.speaker, language=d.language, probability=d.probability, utterance_id=u.id,
                    start=_r(u.start))]


StatusState = Literal["ready", "shedding", "source_failed", "second_pass_off", "cut"]
"""What a `status` event says (docs/events.md): ready (listening), shedding (speech skipped, the
transcriber behind real time), source_failed (an input vanished), second_pass_off (revisions
stopped), cut (stopped before the last speech was transcribed)."""
STATUS_STATES: tuple[StatusState, ...] = get_args(StatusState)  # the one list: engine, report and page


@dataclass
class StatusEvent(Event):
    """Pipeline health: ready, shedding work, a source failed, revisions off, cut short."""

    type: ClassVar[str] = "status"
    state: StatusState
    message: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.state not in STATUS_STATES:
            raise ValueError(f"unknown status state {self.state!r}: add it to StatusState and docs/events.md")


# -- queue messages between the engine's threads (never written to the record) ----------


@dataclass
class SourceDone:
    """A capture thread's source has no more audio."""

    source: int  # index among the engine's sources


@dataclass
class EndOfInput:
    """On the utterance queue: nothing more will come; the ASR worker finishes what it holds."""


@dataclass
class WorkerDone:
    """The ASR worker has stopped: the engine's output is complete."""


@dataclass
class StepFailed:
    """A thread failed; the engine re-raises `error` on the caller's thread."""

    error: BaseException


def latency_of(timeline: Timeline) -> dict[str, float | None]:
    """The latency figures every event carries, from its utterance's timeline."""
    figures = {
        "asr": timeline.ms("asr_start", "asr_done"),
        "queue": timeline.ms("speech_end", "asr_start"),
        "total": timeline.ms("speech_end", "emitted"),
        # From the last voiced frame to this event: what the interviewer waits (live or paced input).
        "end_of_speech": timeline.ms("last_voice", "emitted"),
    }
    if "match_done" in timeline.stamps:
        figures["match"] = timeline.ms("asr_done", "match_done")
    if "advise_done" in timeline.stamps:
        figures["advise"] = timeline.ms("match_done", "advise_done")
    figures.update(timeline.extra_ms)
    return figures


@dataclass
class QuestionAskedEvent(Event):
    """The interviewer asked (a paraphrase of) a bank question."""

    type: ClassVar[str] = "question_asked"
    id: str
    text: str
    stage: str
    competencies: list[str]
    score: float
    speaker: str
    quote: str
    start: float
    end: float
    latency_ms: dict[str, float | None]
    utterance_id: int | None = None  # the utterance that asked it
    key: str = ""  # `question_asked:ID:START`: what a `withdrawn` event names


@dataclass
class RedFlagEvent(Event):
    """Something in the candidate's answer worth probing."""

    type: ClassVar[str] = "red_flag"
    id: str
    name: str
    speaker: str
    score: float
    quote: str
    start: float
    end: float
    probes: list[str]
    latency_ms: dict[str, float | None]
    utterance_id: int | None = None  # the utterance that raised it
    key: str = ""  # `red_flag:ID:START`: what a `withdrawn` event or a dismiss click names


@dataclass
class ComplianceEvent(Event):
    """The interviewer asked something they must not ask."""

    type: ClassVar[str] = "compliance"
    id: str
    name: str
    speaker: str
    score: float
    quote: str
    start: float
    end: float
    alternative: str | None
    latency_ms: dict[str, float | None]
    utterance_id: int | None = None  # the utterance that asked it
    key: str = ""  # `compliance:ID:START`: the same for the provisional alert and its confirmation
    # True: raised from a partial transcript while the question is still being asked; the final
    # transcript confirms it (this event again, same key, provisional false) or withdraws it.
    provisional: bool = False


AlertType = Literal["compliance", "red_flag", "question_asked"]
"""The events that carry an alert key (`alert_key`), settled by later confirmations and withdrawals."""
ALERT_TYPES: tuple[AlertType, ...] = get_args(AlertType)  # the one list: step, report, summary and page


def alert_key(kind: AlertType, entry_id: str, start: float) -> str:
    """`TYPE:ID:START` (start in seconds, 3 decimals): names one alert or question asked in one utterance."""
    return f"{kind}:{entry_id}:{float(start):.3f}"


@dataclass
class WithdrawnEvent(Event):
    """An earlier `compliance`, `red_flag` or `question_asked` event no longer holds: the final
    transcript did not confirm a provisional alert, or a revision changed the utterance's text or
    settled its speaker. Clients remove what `key` names; the report never counts it."""

    type: ClassVar[str] = "withdrawn"
    key: str
    of: str  # the withdrawn event's type
    id: str
    utterance_id: int
    reason: str  # final | text | speaker | no_final (see docs/events.md)
    speaker: str
    start: float
    end: float
    latency_ms: dict[str, float | None]


@dataclass
class SuggestionEvent(Event):
    """Up to three next questions, best first, each with a reason a person understands."""

    type: ClassVar[str] = "suggestion"
    items: list[dict[str, str]]
    after_utterance: int
    latency_ms: dict[str, float | None]
    note: str | None = None  # what time says about the stage (over time, time short), when it says something


@dataclass
class CoverageEvent(Event):
    """How far the interview plan has got: questions per stage, competencies covered."""

    type: ClassVar[str] = "coverage"
    current_stage: str
    stages: dict[str, dict[str, int]]
    competencies: dict[str, int]
    missing: list[str]
    latency_ms: dict[str, float | None]
    # stage -> {"spent": minutes so far, "planned": minutes planned or None} (pipeline/interview/stage_plan.py)
    minutes: dict[str, dict[str, float | None]] = field(default_factory=dict)


INTERVIEWER_ACTIONS: tuple[str, ...] = ("asked", "pin", "dismiss", "dismiss_alert")


@dataclass
class InterviewerActionEvent(Event):
    """A click in the web panel: the interviewer's own word, kept in the record beside the machine's."""

    type: ClassVar[str] = "interviewer_action"
    action: str  # one of INTERVIEWER_ACTIONS
    target: str  # a question id, or an alert's key `TYPE:ID:START` for dismiss_alert
    at: float  # audio time (s) of the latest event the session had when the click arrived
    text: str | None = None  # the question's wording, when the target is a suggested question
