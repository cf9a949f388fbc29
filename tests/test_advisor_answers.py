"""The advisor with the real bank, embedder and index (issue 27): follow-ups from what the candidate
said, red-flag probes that fade, a stage that one weak match cannot move, the interviewer's clicks,
and time."""

from __future__ import annotations

import pytest
from builders import said

from pipeline.events import CoverageEvent, InterviewerActionEvent, SuggestionEvent
from pipeline.interview.stage_plan import StagePlan
from pipeline.retrieval.matcher import Hit, MatchResult


@pytest.fixture(scope="module")
def base():
    from pipeline.interview.step import build_interview_step

    return build_interview_step("ml-engineer")


@pytest.fixture
def step(base):
    return base.fresh()


def suggestions(events) -> list[dict]:
    return [e for e in events if isinstance(e, SuggestionEvent)][-1].items


def asked(qid: str, score: float = 0.9) -> MatchResult:
    return MatchResult(speaker="interviewer", text=qid, questions=[Hit(qid, score, qid)])


def test_the_answer_opens_a_topic_and_the_reason_quotes_it(step):
    list(step(said("How would you run an A/B test to decide whether a new model should replace the current one?",
                    "interviewer", uid=0)))
    items = suggestions(step(said("Before any A/B test we run the new model in shadow mode next to the old one "
                                   "for a week and compare its predictions.", "candidate", uid=1)))
    shown = {item["id"]: item for item in items}
    assert "shadow-and-canary-releases" in shown, items
    assert shown["shadow-and-canary-releases"]["reason"].startswith(("you mentioned “", "follow-up:"))


def test_a_different_answer_gives_different_follow_ups(base):
    def after(answer: str) -> list[str]:
        step = base.fresh()
        list(step(said("Tell me about a model you shipped to production; what was the hardest part?",
                        "interviewer", uid=0)))
        return [item["id"] for item in suggestions(step(said(answer, "candidate", uid=1)))]

    serving = after("The hardest part was the serving stack, we had to get the Java service to call the model "
                    "with the same preprocessing as in training.")
    labels = after("The hardest part was label noise: our annotators disagreed on a fifth of the images, so "
                   "we rewrote the labelling guidelines.")
    assert serving != labels
    assert "label-quality" in labels


def test_a_red_flags_probe_fades_once_the_topic_moves_on(step):
    advisor = step.advisor
    advisor.observe(MatchResult(speaker="candidate", text="...", red_flags=[Hit("no-monitoring", 0.9, "...")]))
    assert any(s.kind == "probe" for s in advisor.suggest())
    advisor.observe(asked("bias-variance-tradeoff"))  # the interviewer moved on
    advisor.observe(asked("pr-vs-roc-curves"))
    assert not any(s.kind == "probe" for s in advisor.suggest())


def test_one_weak_match_does_not_jump_the_stage(step):
    advisor = step.advisor
    advisor.observe(asked("bias-variance-tradeoff"))
    advisor.observe(asked("model-rollback", score=0.45))  # misheard: a weak production match
    assert advisor.state.stage == "fundamentals-screen"
    advisor.observe(asked("monitor-deployed-model", score=0.5))
    advisor.observe(asked("responding-to-drift", score=0.5))
    assert advisor.state.stage == "production-experience"  # confirmed, and the majority of the latest


def test_clicks_steer_the_advisor(step):
    first = [s.id for s in step.advisor.suggest()]
    events = list(step.steer(InterviewerActionEvent(action="asked", target=first[0], at=1.0)))
    assert isinstance(events[0], CoverageEvent) and isinstance(events[-1], SuggestionEvent)
    assert first[0] in step.advisor.state.asked
    assert first[0] not in [i["id"] for i in events[-1].items]
    events = list(step.steer(InterviewerActionEvent(action="dismiss", target=first[1], at=2.0)))
    assert first[1] not in [i["id"] for i in events[-1].items]
    pin = "model-rollback"
    items = list(step.steer(InterviewerActionEvent(action="pin", target=pin, at=3.0)))[-1].items
    assert items[0]["id"] == pin and items[0]["kind"] == "pinned"
    list(step(said("How would you explain the bias-variance trade-off?", "interviewer", uid=4)))
    assert suggestions(step(said("Bias is underfitting and variance overfitting.", "candidate", uid=5)))[0]["id"] == pin
    items = list(step.steer(InterviewerActionEvent(action="pin", target=pin, at=30.0)))[-1].items  # unpinned
    assert pin not in [i["id"] for i in items[:1]]
    # a revision rebuilds the state from the matches: the clicks still hold
    list(step(said("Bias is underfitting, variance is overfitting.", "candidate", uid=5, revision=1)))
    assert first[0] in step.advisor.state.asked
    assert first[1] not in [s.id for s in step.advisor.suggest()]
    assert not step.advisor.steer(InterviewerActionEvent(action="asked", target="no-such-question", at=31.0))


def test_time_over_and_time_short(step):
    advisor = step.advisor
    assert advisor.plan.minutes == {"fundamentals-screen": 45.0}  # the hiring guide's 45 minutes
    advisor.observe(asked("bias-variance-tradeoff"), at=37 * 60)
    note = advisor.time_note()
    assert note.state == "time_short" and "8 min left" in note.text and "not covered" in note.text
    advisor.observe(asked("detect-overfitting"), at=47 * 60)
    note = advisor.time_note()
    assert note.state == "over_time" and "move on to ML system design" in note.text
    assert all(advisor.questions[s.id].stage == "system-design" for s in advisor.suggest())
    assert advisor.coverage()["minutes"]["fundamentals-screen"] == {"spent": 47.0, "planned": 45.0}
    event = step._suggestions([], 0)
    assert event.note == note.text


def test_a_plan_file_is_read_and_checked(tmp_path):
    from pipeline.errors import S2QError

    assert StagePlan.load(tmp_path).minutes == {}
    (tmp_path / "plan.yaml").write_text("minutes:\n  system-design: 60\n")
    assert StagePlan.load(tmp_path).minutes == {"system-design": 60.0}
    (tmp_path / "plan.yaml").write_text("minutes:\n  system-design: -5\n")
    with pytest.raises(S2QError):
        StagePlan.load(tmp_path)
