"""Matching and advice as a pipeline stage: a final transcript in; alerts, questions asked,
coverage and suggestions out, each event carrying its utterance's latency."""

from __future__ import annotations

from typing import Iterator

from pipeline.events import (
    ComplianceEvent,
    CoverageEvent,
    Event,
    QuestionAskedEvent,
    RedFlagEvent,
    SpeakerRevision,
    SuggestionEvent,
    Transcript,
    latency_of,
)
from pipeline.retrieval import DEFAULT_ROLE
from pipeline.retrieval.matcher import MatchResult


class InterviewStage:
    """Matcher and advisor after the transcriber: alerts, questions asked, suggestions."""

    def __init__(self, matcher, advisor) -> None:
        self.matcher = matcher
        self.advisor = advisor
        self.bank = advisor.bank
        self._last: tuple[Transcript, MatchResult] | None = None  # label_speaker() then __call__()

    def fresh(self) -> "InterviewStage":
        """The same matcher (index, embedder) for a new interview: the advisor starts over."""
        return InterviewStage(self.matcher, type(self.advisor)(self.bank))

    def label_speaker(self, transcript: Transcript) -> str:
        """For one mixed source: who spoke, from what was said; `unknown` when unsure.

        A bank question or a forbidden question asked as a question is the
        interviewer's; a red flag, or a long statement, the candidate's.
        """
        result = self._match(transcript)
        text = transcript.text
        asked = result.compliance or any(h.score >= 0.6 or "?" in h.quote for h in result.questions)
        if asked:
            return "interviewer"
        if result.red_flags or (len(text.split()) >= 25 and "?" not in text):
            return "candidate"
        return "unknown"

    def revisions(self) -> list[SpeakerRevision]:
        """Text alone never changes its mind about an earlier utterance."""
        return []

    def _match(self, transcript: Transcript):
        u = transcript.utterance
        if self._last and self._last[0] is transcript:
            return self._last[1]
        result = self.matcher.match(transcript.text, u.speaker)
        u.timeline.stamp("match_done")
        u.timeline.extra_ms.update(result.timings_ms)
        self._last = (transcript, result)
        return result

    def __call__(self, transcript: Transcript) -> Iterator[Event]:
        u = transcript.utterance
        if not u.final or transcript.revision:  # a revision's alerts: not re-checked yet
            return
        result = self._match(transcript)
        speaker = u.speaker
        if speaker == "interviewer":
            result.red_flags = []
        elif speaker == "candidate":
            result.questions, result.compliance = [], []
        new_flags = self.advisor.observe(result)
        suggestions = self.advisor.suggest(new_flags)
        coverage = self.advisor.coverage()
        u.timeline.stamp("advise_done")
        common = {"speaker": speaker, "start": round(u.start, 3), "end": round(u.end, 3)}

        def latency() -> dict:
            u.timeline.stamp("emitted")
            return latency_of(u.timeline)

        for hit in result.compliance:
            alert = next(c for c in self.bank.compliance if c.id == hit.id)
            yield ComplianceEvent(id=hit.id, name=alert.name, score=hit.score, quote=hit.quote,
                                  alternative=alert.alternative, latency_ms=latency(), **common)
        for hit in result.red_flags:
            flag = next(f for f in self.bank.red_flags if f.id == hit.id)
            yield RedFlagEvent(id=hit.id, name=flag.name, score=hit.score, quote=hit.quote,
                               probes=list(flag.probes), latency_ms=latency(), **common)
        for hit in result.questions:
            q = self.bank.question(hit.id)
            yield QuestionAskedEvent(id=q.id, text=q.text, stage=q.stage, competencies=list(q.competencies),
                                     score=hit.score, quote=hit.quote, latency_ms=latency(), **common)
        if result.questions:
            yield CoverageEvent(latency_ms=latency(), **coverage)
        yield SuggestionEvent(items=[s.to_dict() for s in suggestions], after_utterance=u.id, latency_ms=latency())


def build_interview_stage(role: str = DEFAULT_ROLE, bank_root=None, cache_dir=None) -> InterviewStage:
    """Validates the bank, loads (or builds) its index and warms the embedder, before any audio."""
    from pipeline.interview.advisor import Advisor
    from pipeline.retrieval.bank import load_bank
    from pipeline.retrieval.embedder import Embedder
    from pipeline.retrieval.index import BankIndex
    from pipeline.retrieval.matcher import Matcher

    bank = load_bank(role, bank_root)
    embedder = Embedder().load()
    index = BankIndex.build(bank, embedder, cache_dir)
    return InterviewStage(Matcher(index, embedder), Advisor(bank))
