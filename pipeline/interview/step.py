"""Matching and advice as a pipeline step: transcripts in; alerts, questions asked, coverage and
suggestions out, each event carrying its utterance's id and latency.

- A **final** transcript is matched once, on both sides (the speaker then decides which hits
  count, so a speaker settled later needs no new embedding), and the advisor observes it.
- A **partial** transcript (speech still going on, or the engine's guess during a pause) of
  interviewer or not-yet-known speech is checked for compliance only: at most one match per
  new partial text, none under `MIN_PARTIAL_WORDS` words. An alert found is emitted
  `provisional`; the final transcript confirms it (the same event again, same key,
  `provisional` false) or withdraws it (`withdrawn`).
- A **revision** (an earlier final again: better text, or its settled speaker) is matched again
  if its text changed; what no longer holds is withdrawn, what now holds is emitted, and the
  advisor's state is rebuilt from every utterance's latest matches (nothing counted twice).

Every alert and question asked carries a key, `TYPE:ID:START`, that its confirmation and its
withdrawal repeat (see docs/events.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator

from pipeline.events import (
    UNKNOWN,
    ComplianceEvent,
    CoverageEvent,
    Event,
    InterviewerActionEvent,
    QuestionAskedEvent,
    RedFlagEvent,
    SpeakerRevision,
    SuggestionEvent,
    Transcript,
    Utterance,
    WithdrawnEvent,
    alert_key,
    is_unnamed,
    latency_of,
)
from pipeline.retrieval import DEFAULT_ROLE
from pipeline.retrieval.matcher import MatchResult

MIN_PARTIAL_WORDS = 3  # a partial shorter than this means nothing yet: not matched
EARLY_SPEAKERS = ("interviewer", UNKNOWN)  # whose partial speech is checked for compliance


def for_speaker(result: MatchResult, speaker: str) -> MatchResult:
    """The hits that count for who said it: an interviewer asks questions (lawful or not), a
    candidate raises red flags; an `unknown` speaker, or a voice told apart but not named
    (`speaker-2`: either role, or a panel's third person), is taken as both until settled."""
    unnamed = is_unnamed(speaker)
    interviewer = unnamed or speaker.startswith("interviewer")
    candidate = unnamed or speaker == "candidate"
    return MatchResult(speaker=speaker, text=result.text, timings_ms=result.timings_ms,
                       questions=list(result.questions) if interviewer else [],
                       compliance=list(result.compliance) if interviewer else [],
                       red_flags=list(result.red_flags) if candidate else [])


@dataclass
class _Heard:
    """One utterance as this step knows it: its latest matches, and what is shown for it now."""

    speaker: str
    start: float
    end: float
    text: str = ""  # the latest final text ("" while only partials were seen)
    result: MatchResult | None = None  # both sides, of `text`
    partial_text: str = ""  # the last partial text matched
    shown: dict[tuple[str, str], Event] = field(default_factory=dict)  # (type, id) -> standing event


class InterviewStep:
    """Matcher and advisor after the transcriber: alerts, questions asked, suggestions."""

    def __init__(self, matcher, advisor) -> None:
        self.matcher = matcher
        self.advisor = advisor
        self.bank = advisor.bank
        self._compliance = {c.id: c for c in self.bank.compliance}
        self._red_flags = {f.id: f for f in self.bank.red_flags}
        self._last: tuple[Transcript, MatchResult] | None = None  # label_speaker() then __call__()
        self._finals: dict[int, _Heard] = {}  # utterances with a final transcript, in the order first heard
        self._partials: dict[int, _Heard] = {}  # utterances seen only as partials so far
        self._last_final: int | None = None
        self.partial_matches = 0  # matches run on partial transcripts (each one embedding call)

    def fresh(self) -> "InterviewStep":
        """The same matcher (index, embedder) for a new interview: the advisor starts over."""
        return InterviewStep(self.matcher, self.advisor.fresh())

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
        return UNKNOWN

    def revisions(self) -> list[SpeakerRevision]:
        """Text alone never changes its mind about an earlier utterance."""
        return []

    def _match(self, transcript: Transcript) -> MatchResult:
        """Both sides' hits for a final text (one embedding call), kept for the `__call__` that follows."""
        u = transcript.utterance
        if self._last and self._last[0] is transcript:
            return self._last[1]
        result = self.matcher.match(transcript.text, UNKNOWN, question=self._question_before(u))
        u.timeline.stamp("match_done")
        u.timeline.extra_ms.update(result.timings_ms)
        self._last = (transcript, result)
        return result

    def _question_before(self, u: Utterance) -> str | None:
        """What an answer answers: the latest earlier final of the interviewer (on a mixed source not yet
        settled, of anyone who asked something). "No, not really." means something only after it."""
        for uid, heard in reversed(self._finals.items()):
            if uid == u.id or heard.start >= u.start or heard.speaker == "candidate":
                continue
            asked = heard.result is not None and (heard.result.questions or "?" in heard.text)
            if heard.speaker.startswith("interviewer") or (heard.speaker == UNKNOWN and asked):
                return heard.text
        return None

    # -- the step -----------------------------------------------------------------------

    def __call__(self, transcript: Transcript) -> Iterator[Event]:
        u = transcript.utterance
        if not u.final:
            yield from self._partial(transcript)
        elif u.id in self._finals:
            yield from self._revised(transcript)
        else:
            yield from self._first_final(transcript)

    def _partial(self, transcript: Transcript) -> Iterator[Event]:
        """Early compliance warning: provisional alerts from speech still being spoken."""
        u = transcript.utterance
        text = transcript.text.strip()
        if u.id in self._finals or u.speaker not in EARLY_SPEAKERS or len(text.split()) < MIN_PARTIAL_WORDS:
            return
        heard = self._partials.setdefault(u.id, _Heard(u.speaker, u.start, u.end))
        heard.end = max(heard.end, u.end)
        if text == heard.partial_text:
            return
        heard.partial_text = text
        result = self.matcher.match(text, "interviewer")
        self.partial_matches += 1
        u.timeline.stamp("match_done")
        u.timeline.extra_ms.update(result.timings_ms)
        for hit in result.compliance:
            if ("compliance", hit.id) not in heard.shown:
                event = self._event("compliance", hit, u, alert_key("compliance", hit.id, u.start), provisional=True)
                heard.shown[("compliance", hit.id)] = event
                yield event

    def _first_final(self, transcript: Transcript) -> Iterator[Event]:
        u = transcript.utterance
        result = self._match(transcript)
        yield from self._orphans(u)
        heard = self._partials.pop(u.id, None) or _Heard(u.speaker, u.start, u.end)
        heard.speaker, heard.start, heard.end, heard.text, heard.result = u.speaker, u.start, u.end, transcript.text, result
        self._finals[u.id] = heard
        self._last_final = u.id
        hits = for_speaker(result, u.speaker)
        new_flags = self.advisor.observe(hits, at=u.end)
        suggestions = self._suggestions(new_flags, u.id)
        coverage = self.advisor.coverage()
        u.timeline.stamp("advise_done")
        yield from self._show(heard, hits, u, "final")
        if hits.questions:
            yield CoverageEvent(latency_ms=_latency(u), **coverage)
        suggestions.latency_ms = _latency(u)
        yield suggestions

    def _revised(self, transcript: Transcript) -> Iterator[Event]:
        """An earlier utterance again: emit only what changed for it."""
        u = transcript.utterance
        heard = self._finals[u.id]
        before = for_speaker(heard.result, heard.speaker)
        reason = "speaker"
        if transcript.text != heard.text:
            reason = "text"
            heard.result = self._match(transcript)
        heard.text, heard.speaker = transcript.text, u.speaker
        hits = for_speaker(heard.result, u.speaker)
        changes = list(self._show(heard, hits, u, reason))
        if not changes:
            return
        self.advisor.rebuild((for_speaker(h.result, h.speaker), h.end) for h in self._finals.values())
        was_raised = {h.id for h in before.red_flags}
        suggestions = self._suggestions([h.id for h in hits.red_flags if h.id not in was_raised], self._last_final)
        u.timeline.stamp("advise_done")
        yield from changes
        if {h.id for h in hits.questions} != {h.id for h in before.questions}:
            yield CoverageEvent(latency_ms=_latency(u), **self.advisor.coverage())
        suggestions.latency_ms = _latency(u)
        yield suggestions

    def steer(self, action: InterviewerActionEvent) -> Iterator[Event]:
        """The interviewer's click (asked, pin, dismiss) reaches the advisor: new suggestions, and
        coverage when a question was marked asked."""
        if not self.advisor.steer(action):
            return
        if action.action == "asked":
            yield CoverageEvent(latency_ms={}, **self.advisor.coverage())
        yield self._suggestions([], self._last_final if self._last_final is not None else -1)

    def _suggestions(self, just_raised: list[str], after: int) -> SuggestionEvent:
        """THE suggestion event: the advisor's list and what time says (latency filled by the caller)."""
        note = self.advisor.time_note()
        return SuggestionEvent(items=[s.to_dict() for s in self.advisor.suggest(just_raised)], after_utterance=after,
                               latency_ms={}, note=note.text if note is not None else None)

    def _show(self, heard: _Heard, hits: MatchResult, u: Utterance, reason: str) -> Iterator[Event]:
        """Withdraws what is shown for the utterance and no longer holds; emits what now holds and
        is not shown yet, or only as provisional, or with another speaker (the same key again:
        clients replace it in place)."""
        wanted = {(kind, hit.id): hit for kind, hits_of in (("compliance", hits.compliance),
                                                             ("red_flag", hits.red_flags),
                                                             ("question_asked", hits.questions))
                  for hit in hits_of}
        for (kind, entry_id), event in list(heard.shown.items()):
            if (kind, entry_id) not in wanted:
                del heard.shown[(kind, entry_id)]
                yield WithdrawnEvent(key=event.key, of=kind, id=entry_id, utterance_id=u.id, reason=reason,
                                     speaker=u.speaker, start=round(u.start, 3), end=round(u.end, 3),
                                     latency_ms=_latency(u))
        for (kind, entry_id), hit in wanted.items():
            old = heard.shown.get((kind, entry_id))
            provisional = isinstance(old, ComplianceEvent) and old.provisional
            if old is not None and not provisional and old.speaker == u.speaker:
                continue  # shown and standing: nothing changed (a settled speaker: the same key again)
            key = old.key if old is not None else alert_key(kind, entry_id, u.start)
            heard.shown[(kind, entry_id)] = event = self._event(kind, hit, u, key)
            yield event

    def _orphans(self, u: Utterance) -> Iterator[Event]:
        """Provisional alerts whose utterance will have no final (dropped as silence, shed, cut
        differently): a later final from the same speaker (any, on a mixed source) that starts
        after the partial's audio ends means none is coming."""
        for uid, heard in list(self._partials.items()):
            if uid >= u.id or heard.end > u.start or heard.speaker not in (UNKNOWN, u.speaker):
                continue
            del self._partials[uid]
            for (kind, entry_id), event in heard.shown.items():
                yield WithdrawnEvent(key=event.key, of=kind, id=entry_id, utterance_id=uid, reason="no_final",
                                     speaker=heard.speaker, start=round(heard.start, 3), end=round(heard.end, 3),
                                     latency_ms={})

    def _event(self, kind: str, hit, u: Utterance, key: str, provisional: bool = False) -> Event:
        common = {"speaker": u.speaker, "start": round(u.start, 3), "end": round(u.end, 3), "utterance_id": u.id,
                  "key": key, "score": hit.score, "quote": hit.quote}
        if kind == "compliance":
            alert = self._compliance[hit.id]
            return ComplianceEvent(id=hit.id, name=alert.name, alternative=alert.alternative,
                                   latency_ms=_latency(u), provisional=provisional, **common)
        if kind == "red_flag":
            flag = self._red_flags[hit.id]
            return RedFlagEvent(id=hit.id, name=flag.name, probes=list(flag.probes), latency_ms=_latency(u), **common)
        q = self.bank.question(hit.id)
        return QuestionAskedEvent(id=q.id, text=q.text, stage=q.stage, competencies=list(q.competencies),
                                  latency_ms=_latency(u), **common)


def _latency(u: Utterance) -> dict:
    u.timeline.stamp("emitted")
    return latency_of(u.timeline)


def build_interview_step(role: str = DEFAULT_ROLE, bank_root=None, cache_dir=None) -> InterviewStep:
    """Validates the bank, loads (or builds) its index and warms the embedder, before any audio."""
    from pipeline.interview.advisor import Advisor
    from pipeline.interview.answer_topics import AnswerTopics
    from pipeline.interview.stage_plan import StagePlan
    from pipeline.retrieval.bank import load_bank, role_dir
    from pipeline.retrieval.embedder import role_embedder
    from pipeline.retrieval.index import BankIndex
    from pipeline.retrieval.matcher import Matcher
    from pipeline.retrieval.stance_probe import stance_reader

    bank = load_bank(role, bank_root)
    embedder = role_embedder(bank.role).load()
    index = BankIndex.build(bank, embedder, cache_dir)
    advisor = Advisor(bank, topics=AnswerTopics(index, embedder), plan=StagePlan.load(role_dir(role, bank_root)))
    verifier = stance_reader(bank.role, embedder)  # the verifier, the stance probe, or none
    return InterviewStep(Matcher(index, embedder, verifier=verifier, verify=verifier is not None), advisor)
