"""The advisor's ranking and interview state, on a small hand-built bank (pure unit tests).

Bank used here (stages in order screen -> design -> prod):
    screen: s-easy (comp-a, easy; follow-ups s-follow, s-hard), s-follow (comp-a, medium),
            s-hard (comp-b, hard)
    design: d-one (comp-c, easy), d-two (comp-d, medium)
    prod:   p-one (comp-a, easy), p-probe (comp-d, medium), p-probe-2 (comp-c, hard)
    red flags: never-monitors (probes p-probe, p-probe-2), only-accuracy (probes p-one)
"""

from __future__ import annotations

import pytest

from pipeline.interview.advisor import Advisor as _Advisor
from pipeline.interview.advisor_options import AdvisorOptions
from pipeline.retrieval.matcher import Hit, MatchResult
from pipeline.retrieval.schema import (
    Bank,
    Competency,
    NeutralFile,
    Question,
    RedFlag,
    Role,
    Stage,
)


# The stage signals weighed as the plan-first rules these tests describe (the tuned defaults weigh
# what the candidate said more, which needs an embedder: tests/test_advisor_answers.py).
RULES = AdvisorOptions(probe=4.0, follow_up=2.5, stage=0.6, uncovered=0.2, stage_window=1)


def Advisor(bank, max_suggestions=None, options=RULES):  # noqa: N802 (stands in for the class)
    return _Advisor(bank, max_suggestions, options)


def q(qid: str, stage: str, comps: list[str], difficulty: str, follow_ups: list[str] = ()) -> Question:
    return Question(id=qid, text=f"Question {qid}?", stage=stage, competencies=comps, difficulty=difficulty,
                    follow_ups=list(follow_ups))


@pytest.fixture
def bank() -> Bank:
    role = Role(
        id="test-role", name="Test role", description="A role for tests.",
        stages=[Stage(id="screen", name="Screen", description="first"),
                Stage(id="design", name="Design", description="second"),
                Stage(id="prod", name="Production", description="third")],
        competencies=[Competency(id=c, name=f"Competency {c[-1].upper()}", description="x")
                      for c in ("comp-a", "comp-b", "comp-c", "comp-d")],
    )
    questions = [
        # listed out of difficulty order on purpose
        q("s-hard", "screen", ["comp-b"], "hard"),
        q("s-follow", "screen", ["comp-a"], "medium"),
        q("s-easy", "screen", ["comp-a"], "easy", follow_ups=["s-follow", "s-hard"]),
        q("d-two", "design", ["comp-d"], "medium"),
        q("d-one", "design", ["comp-c"], "easy"),
        q("p-one", "prod", ["comp-a"], "easy"),
        q("p-probe", "prod", ["comp-d"], "medium"),
        q("p-probe-2", "prod", ["comp-c"], "hard"),
    ]
    flags = [
        RedFlag(id="never-monitors", name="Never monitors models", description="x",
                examples=["we never monitored it"], probes=["p-probe", "p-probe-2"]),
        RedFlag(id="only-accuracy", name="Only looks at accuracy", description="x",
                examples=["accuracy is all that matters"], probes=["p-one"]),
    ]
    return Bank(role=role, questions=questions, red_flags=flags, compliance=[], neutral=NeutralFile())


def asked(*qids: str) -> MatchResult:
    return MatchResult(speaker="interviewer", text=" ".join(qids),
                       questions=[Hit(qid, 0.9, f"Question {qid}?") for qid in qids])


def raised(*flag_ids: str) -> MatchResult:
    return MatchResult(speaker="candidate", text="...", red_flags=[Hit(f, 0.8, "...") for f in flag_ids])


def ids(suggestions) -> list[str]:
    return [s.id for s in suggestions]


def test_start_suggests_the_first_stages_uncovered_competencies_easiest_first(bank):
    advisor = Advisor(bank)
    suggestions = advisor.suggest()
    assert ids(suggestions) == ["s-easy", "s-follow", "s-hard"]
    assert all(s.kind == "coverage" for s in suggestions)
    assert "not covered yet" in suggestions[0].reason and "Screen" in suggestions[0].reason


def test_follow_ups_of_the_last_question_come_first(bank):
    advisor = Advisor(bank)
    assert advisor.observe(asked("s-easy")) == []
    suggestions = advisor.suggest()
    assert ids(suggestions) == ["s-follow", "s-hard", "d-one"]
    assert [s.kind for s in suggestions] == ["follow_up", "follow_up", "next_stage"]
    assert suggestions[0].reason.startswith("follow-up:")
    assert suggestions[2].reason == "next stage: Design"


def test_uncovered_competencies_before_next_stage(bank):
    advisor = Advisor(bank)
    advisor.observe(asked("s-follow"))  # covers comp-a; no follow-ups
    suggestions = advisor.suggest()
    # s-hard covers comp-b (not covered): before s-easy (comp-a is covered) and before the next stage
    assert ids(suggestions) == ["s-hard", "s-easy", "d-one"]
    assert [s.kind for s in suggestions] == ["coverage", "coverage", "next_stage"]
    assert "competency b not covered yet" in suggestions[0].reason


def test_probe_for_a_red_flag_just_raised_comes_first(bank):
    advisor = Advisor(bank)
    advisor.observe(asked("s-easy"))
    new = advisor.observe(raised("never-monitors"))
    assert new == ["never-monitors"]
    suggestions = advisor.suggest(new)
    assert ids(suggestions) == ["p-probe", "s-follow", "s-hard"]
    assert suggestions[0].kind == "probe"
    assert suggestions[0].reason.startswith("probe:")
    assert suggestions[0].reason == "probe: never monitors models"
    assert [s.kind for s in suggestions[1:]] == ["follow_up", "follow_up"]


def test_flags_just_raised_before_earlier_open_flags(bank):
    advisor = Advisor(bank)
    advisor.observe(raised("never-monitors"))
    new = advisor.observe(raised("only-accuracy"))
    suggestions = advisor.suggest(new)
    assert ids(suggestions)[:2] == ["p-one", "p-probe"]  # the new flag's probe, then the earlier one's
    assert all(s.kind == "probe" for s in suggestions[:2])


def test_asking_a_probe_closes_the_flag_until_raised_again(bank):
    advisor = Advisor(bank)
    advisor.suggest(advisor.observe(raised("never-monitors")))
    advisor.observe(asked("p-probe"))
    assert "never-monitors" in advisor.state.probed
    assert not any(s.kind == "probe" for s in advisor.suggest())
    # raised again: its next probe (the first one was asked already)
    suggestions = advisor.suggest(advisor.observe(raised("never-monitors")))
    assert suggestions[0].id == "p-probe-2" and suggestions[0].kind == "probe"


def test_an_asked_question_is_never_suggested_again(bank):
    advisor = Advisor(bank)
    history = ["s-easy", "s-follow", "p-probe", "d-one", "s-hard"]
    for i, qid in enumerate(history):
        advisor.observe(asked(qid))
        new = advisor.observe(raised("never-monitors", "only-accuracy"))
        suggestions = advisor.suggest(new)
        assert not set(ids(suggestions)) & set(history[: i + 1]), (qid, ids(suggestions))
        assert len(ids(suggestions)) == len(set(ids(suggestions))), "no duplicates"
    # only three questions left: all of them, nothing asked
    assert sorted(ids(advisor.suggest())) == sorted({q.id for q in bank.questions} - set(history))


def test_at_most_three_suggestions(bank):
    advisor = Advisor(bank)
    advisor.observe(asked("s-easy"))
    new = advisor.observe(raised("never-monitors", "only-accuracy"))
    suggestions = advisor.suggest(new)
    assert len(suggestions) == 3  # two probes and a follow-up were all available, and more after them
    assert [s.kind for s in suggestions] == ["probe", "probe", "follow_up"]
    assert len(Advisor(bank, max_suggestions=2).suggest()) == 2


def test_nothing_left_to_suggest(bank):
    advisor = Advisor(bank)
    for question in bank.questions:
        advisor.observe(asked(question.id))
    assert advisor.suggest(advisor.observe(raised("never-monitors"))) == []


def test_stage_follows_the_last_asked_question(bank):
    advisor = Advisor(bank)
    assert advisor.state.stage == "screen"
    advisor.observe(asked("d-two"))
    assert advisor.state.stage == "design"
    assert advisor.coverage()["current_stage"] == "design"
    suggestions = advisor.suggest()
    assert ids(suggestions) == ["d-one", "p-one", "p-probe"]
    assert [s.kind for s in suggestions] == ["coverage", "next_stage", "next_stage"]
    advisor.observe(asked("s-easy"))  # back to an earlier stage
    assert advisor.state.stage == "screen"
    assert advisor.coverage()["current_stage"] == "screen"
    advisor.observe(raised("only-accuracy"))  # a red flag does not move the stage
    assert advisor.state.stage == "screen"


def test_coverage_counts(bank):
    advisor = Advisor(bank)
    start = advisor.coverage()
    assert start["stages"] == {"screen": {"asked": 0, "total": 3}, "design": {"asked": 0, "total": 2},
                               "prod": {"asked": 0, "total": 3}}
    assert start["missing"] == ["comp-a", "comp-b", "comp-c", "comp-d"]

    advisor.observe(asked("s-easy"))
    advisor.observe(asked("s-follow"))
    advisor.observe(asked("d-one"))
    advisor.observe(asked("s-easy"))  # asked twice counts once
    cov = advisor.coverage()
    assert cov["stages"] == {"screen": {"asked": 2, "total": 3}, "design": {"asked": 1, "total": 2},
                             "prod": {"asked": 0, "total": 3}}
    assert cov["competencies"] == {"comp-a": 2, "comp-b": 0, "comp-c": 1, "comp-d": 0}
    assert cov["missing"] == ["comp-b", "comp-d"]
    assert cov["current_stage"] == "screen"


def test_suggestion_to_dict(bank):
    s = Advisor(bank).suggest()[0]
    assert s.to_dict() == {"id": "s-easy", "text": "Question s-easy?", "reason": s.reason, "kind": "coverage"}


class ScriptedMatcher:
    """Stands in for the matcher: returns the given results in order (the advisor is under test)."""

    def __init__(self, results: list[MatchResult]) -> None:
        self.results = iter(results)

    def match(self, text: str, speaker: str, question: str | None = None) -> MatchResult:
        return next(self.results)


def test_advisor_alone_through_run_step(bank):
    import numpy as np

    from pipeline.events import (
        QuestionAskedEvent,
        RedFlagEvent,
        SuggestionEvent,
        Transcript,
        Utterance,
    )
    from pipeline.interview import InterviewStep
    from pipeline.steps import run_step

    def said(text: str, speaker: str, uid: int) -> Transcript:
        return Transcript(Utterance(uid, speaker, float(uid), uid + 1.0, np.zeros(160, np.float32)), text)

    step = InterviewStep(ScriptedMatcher([asked("s-easy"), raised("never-monitors")]), Advisor(bank))
    events = run_step(step, [said("Question s-easy?", "interviewer", 0), said("...", "candidate", 1)])
    assert [e.id for e in events if isinstance(e, QuestionAskedEvent)] == ["s-easy"]
    assert [e.id for e in events if isinstance(e, RedFlagEvent)] == ["never-monitors"]
    suggestions = [e for e in events if isinstance(e, SuggestionEvent)]
    assert [s["id"] for s in suggestions[0].items] == ["s-follow", "s-hard", "d-one"]
    assert [s["id"] for s in suggestions[1].items] == ["p-probe", "s-follow", "s-hard"]
