"""What the advisor weighs when it ranks the next questions, and how it reads the interview's flow.

Every candidate question gets a score, the sum of the signals below that apply to it; the best
`max_suggestions` are shown, pinned questions first. Tuned on the `tune` half of the suggestion
benchmark (`benchmarks/suggestions.py`), never on its `test` half.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AdvisorOptions:
    """Weights and rules of the ranking (`pipeline/interview/advisor.py`).

    Defaults: the best of `benchmarks/suggestions_tune.py`'s grid on the tune interviews (of the
    combinations tied at the top, the one that weighs the answer most), except `answer_slot`: a
    product choice (the topic the candidate opens stays on screen) that cost one hit@3 of 67 there.

    Attributes:
        max_suggestions: how many questions are shown.
        answer: weight of what the candidate just said: times how far the latest answer's
            similarity to the question's phrasings is above `answer_floor` (cosine, 0-1).
        answer_floor: below this similarity an answer says nothing about a question.
        answer_decay: the answer's weight times this for every bank question asked since it.
        answer_slot: the question closest to the latest answer, at least this similar, keeps a
            place in the list (the last one, if it did not rank higher): the topic the candidate
            just opened is always on screen (1.0: no such place).
        probe: weight of a probe of a red flag raised in the latest answer (its first probe; later
            probes of the same flag a little less).
        probe_decay: a flag's probe weight times this for every bank question asked since it was raised.
        flag_questions: after this many bank questions asked since it was raised, a flag is no longer
            probed: the topic has moved on (raised again, it is fresh again).
        follow_up: weight of an authored follow-up of the question just asked (the first listed;
            each next one 10% less).
        near: weight of a question on the topic of the one just asked: times how far the two
            questions' similarity (their texts) is above `near_floor`.
        near_floor: below this similarity two questions are on different topics.
        stage: weight of a question of the current stage.
        next_stage: weight of a question of the stage after it.
        uncovered: weight of a question on a competency nobody asked about yet.
        stage_jump_score: a question of another stage moves the interview there when matched at
            least this well, or when the next question asked is of that stage too: one misheard
            question does not jump the stage.
        stage_window: the stage is the most frequent among the stages of this many latest questions
            (1: the latest question's stage).
        time_short_minutes: with a stage's planned minutes, this much time left or less and a
            competency of the stage not covered: say so, and weigh those competencies' questions
            by `time_uncovered` (instead of `uncovered`).
        time_next_stage: weight of the next stage's questions when the stage is over time (instead
            of `next_stage`; the current stage's weight is then 0).
    """

    max_suggestions: int = 3
    answer: float = 4.0
    answer_floor: float = 0.35
    answer_decay: float = 0.3
    answer_slot: float = 0.55
    probe: float = 1.0
    probe_decay: float = 0.3
    flag_questions: int = 2
    follow_up: float = 2.5
    near: float = 6.0
    near_floor: float = 0.4
    stage: float = 0.3
    next_stage: float = 0.25
    uncovered: float = 0.0
    stage_jump_score: float = 0.6
    stage_window: int = 3
    time_short_minutes: float = 10.0
    time_next_stage: float = 3.0
    time_uncovered: float = 1.0
