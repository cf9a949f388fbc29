"""The next best questions, from where the interview stands (`interview_state.py`).

After each utterance every question not asked and not dismissed gets a score, the sum of the
signals that apply to it (weights in `AdvisorOptions`):
- **answer**: how close the candidate's latest answer is to the question (`answer_topics.py`):
  the topic they just opened ("you mentioned …"), fading as questions are asked after it;
- **probe**: one probe per red flag raised, the one closest to the answer, fading as the
  interview moves on and gone after `flag_questions` questions;
- **follow-up**: the authored follow-ups of the question just asked, and (**near**) questions whose
  text is close to it: the topic the interviewer is on;
- **stage**: the current stage's questions, more for a competency nobody asked about yet; the
  next stage's a little. Time (`stage_plan.py`) weighs moving on when a stage is over time, and
  its uncovered competencies when time is short.
Pinned questions come first, in the order pinned. The reason shown names the strongest signal.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Literal

from pipeline.events import InterviewerActionEvent
from pipeline.interview.advisor_options import AdvisorOptions
from pipeline.interview.interview_state import InterviewState, Steering
from pipeline.interview.stage_plan import StagePlan, TimeNote, time_note
from pipeline.retrieval.matcher import MatchResult
from pipeline.retrieval.schema import Bank, Question

DIFFICULTY_ORDER = {"easy": 0, "medium": 1, "hard": 2}
SuggestionKind = Literal["pinned", "probe", "answer", "follow_up", "coverage", "next_stage"]
STEERING_ACTIONS = ("asked", "pin", "dismiss")  # the interviewer actions the advisor takes
KIND_OF_SIGNAL = {"near": "follow_up"}  # a question on the topic of the one just asked is a follow-up too


@dataclass
class Suggestion:
    id: str
    text: str
    reason: str
    kind: SuggestionKind

    def to_dict(self) -> dict[str, str]:
        return {"id": self.id, "text": self.text, "reason": self.reason, "kind": self.kind}


@dataclass
class _Scored:
    q: Question
    signals: dict[str, float] = field(default_factory=dict)  # kind -> weight
    reasons: dict[str, str] = field(default_factory=dict)  # kind -> reason

    def add(self, kind: str, weight: float, reason: str) -> None:
        if weight > self.signals.get(kind, 0.0):
            self.signals[kind], self.reasons[kind] = weight, reason

    @property
    def score(self) -> float:
        return sum(self.signals.values())


class Advisor:
    def __init__(self, bank: Bank, max_suggestions: int | None = None, options: AdvisorOptions | None = None,
                 topics=None, plan: StagePlan | None = None) -> None:
        """`topics`: an `AnswerTopics` (None: answers are not read); `plan`: planned minutes per stage."""
        self.bank = bank
        self.options = options or AdvisorOptions()
        self.max = max_suggestions if max_suggestions is not None else self.options.max_suggestions
        self.topics = topics
        self.plan = plan or StagePlan()
        self.questions = {q.id: q for q in bank.questions}
        self.red_flags = {rf.id: rf for rf in bank.red_flags}
        self.probes_of = {rf.id: list(rf.probes) for rf in bank.red_flags}
        self.stage_order = [s.id for s in bank.role.stages]
        self.stage_names = {s.id: s.name for s in bank.role.stages}
        self.competency_names = {c.id: c.name for c in bank.role.competencies}
        self.state = InterviewState(stage=self.stage_order[0])
        self.steering = Steering()

    def fresh(self) -> "Advisor":
        """The same bank, options, answer reader and plan, for a new interview."""
        return Advisor(self.bank, self.max, self.options, self.topics, self.plan)

    # -- state ------------------------------------------------------------------

    def observe(self, result: MatchResult, at: float | None = None) -> list[str]:
        """Updates the state from one utterance's matches (`at`: its audio time, s); returns the
        red flags newly raised."""
        state = self.state
        state.hear(at)
        for hit in result.questions:
            state.ask(self.questions[hit.id], self.probes_of, strong=hit.score >= self.options.stage_jump_score,
                      window=self.options.stage_window)
        new_flags = []
        for hit in result.red_flags:
            state.raise_flag(hit.id)
            new_flags.append(hit.id)
        if self.topics is not None and result.speaker in ("candidate", "unknown") and not result.questions:
            topic = self.topics.read(result.text, len(state.asked))
            if topic is not None:
                state.answer = topic
        return new_flags

    def rebuild(self, heard: Iterable[MatchResult | tuple[MatchResult, float | None]]) -> None:
        """The state again from scratch, from each utterance's latest matches (with its audio time)
        in the order the utterances were first heard: after a revision nothing is counted twice and
        nothing withdrawn stays counted. What the interviewer marked asked still counts."""
        self.state = InterviewState(stage=self.stage_order[0])
        for item in heard:
            result, at = item if isinstance(item, tuple) else (item, None)
            self.observe(result, at)
        for qid in self.steering.asked:
            self.state.ask(self.questions[qid], self.probes_of, strong=True, window=self.options.stage_window)

    def steer(self, action: InterviewerActionEvent) -> bool:
        """The interviewer's click: `asked` counts the question asked (and never suggests it
        again), `dismiss` hides it for the session, `pin` keeps it first until asked (a second
        `pin` unpins). Returns whether anything changed."""
        qid, steering = action.target, self.steering
        if action.action not in STEERING_ACTIONS or qid not in self.questions:
            return False
        if action.action == "pin":
            if qid in steering.pinned:
                steering.pinned.remove(qid)
            elif qid not in self.state.asked and qid not in steering.dismissed:
                steering.pinned.append(qid)
            return True
        if qid in steering.pinned:
            steering.pinned.remove(qid)
        if action.action == "dismiss":
            steering.dismissed.add(qid)
            return True
        if qid not in steering.asked:
            steering.asked.append(qid)
        self.state.hear(action.at)
        self.state.ask(self.questions[qid], self.probes_of, strong=True, window=self.options.stage_window)
        return True

    # -- time --------------------------------------------------------------------

    def time_note(self) -> TimeNote | None:
        stage = self.state.stage
        index = self.stage_order.index(stage)
        next_stage = self.stage_order[index + 1] if index + 1 < len(self.stage_order) else None
        uncovered = sorted({c for q in self._stage_questions(stage) for c in q.competencies
                            if not self.state.covered.get(c)}, key=list(self.competency_names).index)
        return time_note(stage, self.stage_names[stage], self.state.stage_seconds(), self.plan.minutes.get(stage),
                         [self.competency_names[c].lower() for c in uncovered],
                         self.stage_names.get(next_stage or ""), self.options.time_short_minutes)

    # -- ranking ---------------------------------------------------------------

    def suggest(self, just_raised: Iterable[str] = ()) -> list[Suggestion]:
        """Up to `max_suggestions` questions, pinned ones first. `just_raised` is kept for callers
        that pass the flags `observe` returned: a flag raised in the latest answer is fresh anyway."""
        state, steering = self.state, self.steering
        closed = set(state.asked) | steering.dismissed
        pinned = [Suggestion(q, self.questions[q].text, "pinned by you", "pinned")
                  for q in steering.pinned if q not in closed][: self.max]
        scored = {q.id: _Scored(q) for q in self.bank.questions if q.id not in closed and q.id not in steering.pinned}
        self._score_answer(scored)
        self._score_probes(scored)
        self._score_follow_ups(scored)
        self._score_stages(scored)
        order = {q.id: i for i, q in enumerate(self.bank.questions)}
        ranked = sorted(scored.values(), key=lambda s: (-round(s.score, 6), DIFFICULTY_ORDER[s.q.difficulty],
                                                        order[s.q.id]))
        room = self.max - len(pinned)
        chosen = ranked[:room]
        opened = self._opened_topic(scored)
        if opened is not None and room > 0 and opened not in chosen:
            chosen = chosen[: room - 1] + [opened]  # the topic the candidate opened keeps a place
        return pinned + [self._suggestion(s) for s in chosen]

    def _opened_topic(self, scored: dict[str, _Scored]) -> _Scored | None:
        """The question closest to the latest answer, when the answer is clearly on its topic and
        no question was asked since."""
        answer = self.state.answer
        if answer is None or self.state.questions_since(answer.asked_before) > 0:
            return None
        open_ids = [q for q in answer.similarity if q in scored]
        best = max(open_ids, key=answer.similarity.get, default=None)
        if best is None or answer.similarity[best] < self.options.answer_slot:
            return None
        return scored[best]

    def _score_answer(self, scored: dict[str, _Scored]) -> None:
        answer, o = self.state.answer, self.options
        if answer is None:
            return
        fade = o.answer_decay ** self.state.questions_since(answer.asked_before)
        for qid, similarity in answer.similarity.items():
            if qid in scored and similarity > o.answer_floor:
                scored[qid].add("answer", o.answer * (similarity - o.answer_floor) * fade,
                                f"you mentioned “{answer.quote.get(qid, '')}”")

    def _score_probes(self, scored: dict[str, _Scored]) -> None:
        o, state = self.options, self.state
        answer = state.answer.similarity if state.answer else {}
        for rank, flag in enumerate(state.flags):
            since = state.questions_since(flag.asked_before)
            if flag.id in state.probed or since >= o.flag_questions:
                continue
            open_probes = [p for p in self.probes_of[flag.id] if p in scored]
            if not open_probes:
                continue
            best = max(open_probes, key=lambda p: (answer.get(p, 0.0), -open_probes.index(p)))
            name = self.red_flags[flag.id].name
            weight = o.probe * o.probe_decay ** since + 0.01 * rank  # the latest flag first
            scored[best].add("probe", weight, f"probe: {name[0].lower()}{name[1:]}")

    def _score_follow_ups(self, scored: dict[str, _Scored]) -> None:
        last = self.questions.get(self.state.last_question or "")
        if last is None:
            return
        reason = f"follow-up: {_short(last.text)}"
        for n, qid in enumerate(last.follow_ups):
            if qid in scored:
                scored[qid].add("follow_up", self.options.follow_up * 0.9 ** n, reason)
        if self.topics is not None:
            o = self.options
            for qid, similarity in self.topics.near(last.id).items():
                if qid in scored and similarity > o.near_floor:
                    scored[qid].add("near", o.near * (similarity - o.near_floor), reason)

    def _score_stages(self, scored: dict[str, _Scored]) -> None:
        o, state = self.options, self.state
        stage = state.stage
        index = self.stage_order.index(stage)
        next_stage = self.stage_order[index + 1] if index + 1 < len(self.stage_order) else None
        note = self.time_note()
        stage_w, next_w, uncovered_w = o.stage, o.next_stage, o.uncovered
        if note is not None and note.state == "over_time":
            stage_w, next_w = 0.0, o.time_next_stage
        elif note is not None:
            uncovered_w = o.time_uncovered
        name = self.stage_names[stage]
        for s in scored.values():
            if s.q.stage == stage:
                missing = [c for c in s.q.competencies if not state.covered.get(c)]
                if missing:
                    names = " and ".join(self.competency_names[c].lower() for c in missing)
                    s.add("coverage", stage_w + uncovered_w, f"{name}: {names} not covered yet")
                else:
                    first = self.competency_names[s.q.competencies[0]].lower()
                    s.add("coverage", stage_w, f"{name}: more on {first}")
            elif s.q.stage == next_stage:
                reason = note.text if note is not None and note.state == "over_time" else None
                s.add("next_stage", next_w, reason or f"next stage: {self.stage_names[next_stage]}")

    def _suggestion(self, s: _Scored) -> Suggestion:
        if s.signals:
            signal = max(s.signals, key=s.signals.get)
            return Suggestion(s.q.id, s.q.text, s.reasons[signal], KIND_OF_SIGNAL.get(signal, signal))
        return Suggestion(s.q.id, s.q.text, f"not asked yet: {self.stage_names[s.q.stage]}", "coverage")

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
        minutes = {s: {"spent": round(self.state.stage_seconds(s) / 60.0, 1), "planned": self.plan.minutes.get(s)}
                   for s in self.stage_order}
        return {"current_stage": self.state.stage, "stages": stages, "competencies": competencies,
                "missing": missing, "minutes": minutes}


def _short(text: str, words: int = 8) -> str:
    parts = text.rstrip("?.!").split()
    return " ".join(parts[:words]) + ("…" if len(parts) > words else "")
