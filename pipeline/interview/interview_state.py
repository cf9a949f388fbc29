"""Where the interview stands: questions asked, competencies covered, red flags, the stage and its
clock, the latest answer's topics, and what the interviewer said by hand (asked, pinned, dismissed).

The advisor (`advisor.py`) ranks from this; it changes only through `InterviewState`'s methods.
What the interviewer did by hand (`Steering`) survives a rebuild from revised matches.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pipeline.interview.answer_topics import AnswerTopic
from pipeline.retrieval.schema import Question


@dataclass
class RaisedFlag:
    """A red flag raised by an answer, and how many bank questions had been asked then."""

    id: str
    asked_before: int


@dataclass
class Steering:
    """The interviewer's own word, from the panel (`interviewer_action`).

    Attributes:
        asked: questions marked asked (they count as asked even if the matcher missed them).
        dismissed: questions never to suggest again in this session.
        pinned: questions kept first, in the order pinned, until asked or unpinned.
    """

    asked: list[str] = field(default_factory=list)
    dismissed: set[str] = field(default_factory=set)
    pinned: list[str] = field(default_factory=list)


@dataclass
class InterviewState:
    """Attributes:
        stage: the stage the interview is in now.
        asked: bank questions asked (matched or marked), in order, once each.
        covered: competency -> questions asked on it.
        flags: red flags raised, in order.
        probed: red flags one of whose probes was asked (probed again only when raised again).
        last_question: the question asked last.
        pending_stage: another stage one weakly matched question pointed to (see `ask`).
        evidence: the stages of the latest questions that count as evidence of where the interview is.
        answer: the topics of the candidate's latest answer.
        now: audio time (s) of the latest utterance heard.
        stage_since: audio time the current stage began.
        spent: stage -> seconds spent in it before it began this time.
    """

    stage: str
    asked: list[str] = field(default_factory=list)
    covered: dict[str, int] = field(default_factory=dict)
    flags: list[RaisedFlag] = field(default_factory=list)
    probed: set[str] = field(default_factory=set)
    last_question: str | None = None
    pending_stage: str | None = None
    evidence: list[str] = field(default_factory=list)
    answer: AnswerTopic | None = None
    now: float = 0.0
    stage_since: float = 0.0
    spent: dict[str, float] = field(default_factory=dict)

    def hear(self, at: float | None) -> None:
        if at is not None:
            self.now = max(self.now, at)

    def ask(self, q: Question, probes_of: dict[str, list[str]], strong: bool, window: int = 1) -> None:
        """A question asked: counted once, its flag probed, and the stage moved when the evidence
        holds. Evidence is a strong match or the interviewer's word (`strong`); a weak match counts
        only when the next question confirms its stage (one misheard question moves nothing). The
        stage is the most frequent among the last `window` pieces of evidence, the latest on a tie."""
        if q.id not in self.asked:
            self.asked.append(q.id)
            for c in q.competencies:
                self.covered[c] = self.covered.get(c, 0) + 1
        if strong or self.pending_stage == q.stage or q.stage == self.stage:
            self.evidence = (self.evidence + [q.stage])[-window:]
            self.pending_stage = None
            counts = {s: self.evidence.count(s) for s in self.evidence}
            best = max(reversed(self.evidence), key=counts.get)  # reversed: the latest wins a tie
            if best != self.stage:
                self.enter(best)
        else:
            self.pending_stage = q.stage
        self.last_question = q.id
        for flag_id, probes in probes_of.items():
            if q.id in probes:
                self.probed.add(flag_id)

    def enter(self, stage: str) -> None:
        self.spent[self.stage] = self.stage_seconds()
        self.stage, self.stage_since, self.pending_stage = stage, self.now, None

    def stage_seconds(self, stage: str | None = None) -> float:
        """Seconds spent in `stage` (default: the current one) so far."""
        stage = stage or self.stage
        running = self.now - self.stage_since if stage == self.stage else 0.0
        return self.spent.get(stage, 0.0) + max(0.0, running)

    def raise_flag(self, flag_id: str) -> None:
        self.flags = [f for f in self.flags if f.id != flag_id] + [RaisedFlag(flag_id, len(self.asked))]
        self.probed.discard(flag_id)  # raised again: worth probing again

    def questions_since(self, asked_before: int) -> int:
        return len(self.asked) - asked_before
