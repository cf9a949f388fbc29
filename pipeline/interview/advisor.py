"""Interview state and the next best questions.

After each utterance the advisor ranks up to three questions, in this order of
priority: a probe for a red flag just raised (then for earlier flags not yet
probed), a follow-up to the question just asked, questions on competencies the
current stage has not covered yet, then the next stage's questions. A question
already asked is never suggested again.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pipeline.retrieval.matcher import MatchResult
from pipeline.retrieval.schema import Bank, Question

DIFFICULTY_ORDER = {"easy": 0, "medium": 1, "hard": 2}


@dataclass
class Suggestion:
    id: str
    text: str
    reason: str
    kind: str  # probe | follow_up | coverage | next_stage

    def to_dict(self) -> dict[str, str]:
        return {"id": self.id, "text": self.text, "reason": self.reason, "kind": self.kind}


@dataclass
class InterviewState:
    stage: str
    asked: list[str] = field(default_factory=list)
    covered: dict[str, int] = field(default_factory=dict)  # competency -> questions asked on it
    flags: list[str] = field(default_factory=list)  # red flags raised, in order
    probed: set[str] = field(default_factory=set)  # red flags one of whose probes was asked
    last_question: str | None = None


class Advisor:
    def __init__(self, bank: Bank, max_suggestions: int = 3) -> None:
        self.bank = bank
        self.max = max_suggestions
        self.questions = {q.id: q for q in bank.questions}
        self.red_flags = {rf.id: rf for rf in bank.red_flags}
        self.stage_order = [s.id for s in bank.role.stages]
        self.stage_names = {s.id: s.name for s in bank.role.stages}
        self.competency_names = {c.id: c.name for c in bank.role.competencies}
        self.state = InterviewState(stage=self.stage_order[0])

    # -- state ------------------------------------------------------------------

    def observe(self, result: MatchResult) -> list[str]:
        """Updates the state from one utterance's matches; returns the red flags newly raised."""
        for hit in result.questions:
            q = self.questions[hit.id]
            if q.id not in self.state.asked:
                self.state.asked.append(q.id)
                for c in q.competencies:
                    self.state.covered[c] = self.state.covered.get(c, 0) + 1
            self.state.stage = q.stage
            self.state.last_question = q.id
            for flag_id, flag in self.red_flags.items():
                if q.id in flag.probes:
                    self.state.probed.add(flag_id)
        new_flags = []
        for hit in result.red_flags:
            self.state.flags.append(hit.id)
            self.state.probed.discard(hit.id)  # raised again: worth probing again
            new_flags.append(hit.id)
        return new_flags

    def rebuild(self, results) -> None:
        """The state again from scratch, from each utterance's latest matches in the order the
        utterances were first heard: after a revision (better text, settled speaker) nothing is
        counted twice and nothing withdrawn stays counted."""
        self.state = InterviewState(stage=self.stage_order[0])
        for result in results:
            self.observe(result)

    # -- ranking ---------------------------------------------------------------

    def suggest(self, just_raised: list[str] = ()) -> list[Suggestion]:
        picked: list[Suggestion] = []
        chosen: set[str] = set()

        def add(q: Question, reason: str, kind: str) -> bool:
            if q.id in chosen or q.id in self.state.asked or len(picked) >= self.max:
                return False
            picked.append(Suggestion(q.id, q.text, reason, kind))
            chosen.add(q.id)
            return True

        # 1. probes: flags just raised first, then earlier ones not yet probed (most recent first)
        open_flags = list(dict.fromkeys([*just_raised, *reversed(self.state.flags)]))
        for flag_id in open_flags:
            if flag_id in self.state.probed and flag_id not in just_raised:
                continue
            flag = self.red_flags[flag_id]
            for probe in flag.probes:
                if add(self.questions[probe], f"probe: {flag.name[0].lower()}{flag.name[1:]}", "probe"):
                    break  # one probe per flag, so several flags can each get one
        # 2. follow-ups of the question just asked
        last = self.questions.get(self.state.last_question or "")
        if last:
            for f in last.follow_ups:
                add(self.questions[f], f"follow-up: {_short(last.text)}", "follow_up")
        # 3. uncovered competencies of the current stage, easiest first
        stage = self.state.stage
        for q in self._stage_questions(stage):
            missing = [c for c in q.competencies if not self.state.covered.get(c)]
            if missing:
                names = " and ".join(self.competency_names[c].lower() for c in missing)
                add(q, f"{self.stage_names[stage]}: {names} not covered yet", "coverage")
        # 4. the rest of the current stage, then the next stage
        for q in self._stage_questions(stage):
            add(q, f"{self.stage_names[stage]}: more on {self.competency_names[q.competencies[0]].lower()}", "coverage")
        index = self.stage_order.index(stage)
        for next_stage in self.stage_order[index + 1 :] + self.stage_order[:index]:
            for q in self._stage_questions(next_stage):
                add(q, f"next stage: {self.stage_names[next_stage]}", "next_stage")
        return picked

    def _stage_questions(self, stage: str) -> list[Question]:
        qs = [q for q in self.bank.questions if q.stage == stage]
        return sorted(qs, key=lambda q: DIFFICULTY_ORDER[q.difficulty])

    def coverage(self) -> dict:
        stages = {
            s: {"asked": sum(1 for q in self.state.asked if self.questions[q].stage == s),
                "total": sum(1 for q in self.bank.questions if q.stage == s)}
            for s in self.stage_order
        }
        competencies = {c: self.state.covered.get(c, 0) for c in self.competency_names}
        missing = [c for c, n in competencies.items() if n == 0]
        return {"current_stage": self.state.stage, "stages": stages, "competencies": competencies, "missing": missing}


def _short(text: str, words: int = 8) -> str:
    parts = text.rstrip("?.!").split()
    return " ".join(parts[:words]) + ("…" if len(parts) > words else "")
