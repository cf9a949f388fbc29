"""Issue 12: lead-ins never count as a question asked, hard negatives, the comparison harness.

Real parts: the bundled MiniLM through ONNX, real FAISS, the shipped ml-engineer bank; caches
live in this module's temp folder.
"""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.retrieval import logreg
from pipeline.retrieval.embedder import Embedder
from pipeline.retrieval.matcher import Candidate, Matcher, rejection
from pipeline.retrieval.text import sounds_like_question

LEAD_IN = "Great, let's start with some fundamentals and then talk about systems you have built."


@pytest.fixture(scope="module")
def workbench(tmp_path_factory):
    from pipeline.authoring.workbench import Workbench
    from pipeline.retrieval.bank import BANK_ROOT

    return Workbench(BANK_ROOT / "ml-engineer", Embedder(), tmp_path_factory.mktemp("index"))


@pytest.fixture(scope="module")
def matcher(workbench) -> Matcher:
    return workbench.matcher


@pytest.mark.parametrize("text", [
    LEAD_IN,
    "Okay, so first I'll tell you a bit about the team, then we'll get into the technical part.",
    "Alright, let's switch gears and talk about production.",
])
def test_a_lead_in_asks_nothing(text):
    assert not sounds_like_question(text)


@pytest.mark.parametrize("text", [
    "So, walk me through how you'd validate a forecasting model",
    "Design a notification system for millions of users.",
    "Suppose your model does very well on training data but poorly on new data",
    "how would you detect drift",
    "Let's say the labels are noisy. what would you do?",
])
def test_a_question_or_a_task_asks(text):
    assert sounds_like_question(text)


def test_the_threshold_rule_refuses_a_question_said_as_a_lead_in():
    strong = Candidate("question", "some-question", 0.99, -1.0)
    assert rejection(strong, _thresholds(), LEAD_IN) == "not asked"
    assert rejection(strong, _thresholds(), "What do bias and variance mean?") is None
    assert rejection(Candidate("red_flag", "x", 0.99), _thresholds(), LEAD_IN) is None  # only questions


def test_the_lead_in_yields_no_question_asked_but_its_question_does(matcher):
    assert matcher.match(LEAD_IN, "interviewer").questions == []
    asked = matcher.match(LEAD_IN + " How would you explain the bias-variance trade-off?", "interviewer").questions
    assert [h.quote for h in asked] == ["How would you explain the bias-variance trade-off?"]


@pytest.mark.parametrize("flagged, clean", [
    ("We never monitored it once it shipped.",
     "We monitored it from day one, with drift dashboards and an alert on the score distribution."),
    ("We never monitored the model after launch.", "We monitored the model from the day it launched."),
])
def test_a_negation_pair_is_decided_differently(matcher, flagged, clean):
    assert [h.id for h in matcher.match(flagged, "candidate").red_flags] == ["no-monitoring"]
    assert matcher.match(clean, "candidate").red_flags == []


def test_the_lead_in_of_the_issue_passes_every_threshold_and_is_refused_as_not_asked(matcher):
    """Issue 12: this lead-in counted as a system-design question; only the 'not asked' rule stops it."""
    units = matcher.candidates(LEAD_IN, "interviewer", top=1)
    top = next(c for c in units[0].candidates if c.kind == "question")
    assert rejection(top, matcher.thresholds) is None  # similar enough to a bank question
    assert rejection(top, matcher.thresholds, units[0].text) == "not asked"


def test_bank_search_names_the_negative_example_that_vetoed_a_red_flag(workbench):
    from pipeline.authoring.search import explain_alert, search_text

    said = "Every single day we compared the live score distribution with the one we saw in training."
    units, verdict = search_text(workbench, said, "candidate", top=5)
    assert verdict.red_flags == []
    flag = next(s for s in units[0].red_flags if s.id == "no-monitoring")
    lines = explain_alert(flag)
    assert lines[0].startswith("closest example") and "red_flags.yaml" in lines[0]
    assert lines[1].startswith("vetoed by negative example")
    assert "compared the live score distribution" in lines[1] and "red_flags.yaml:178" in lines[1]


def test_sample_weight_pulls_the_boundary_towards_a_hard_negative():
    rng = np.random.default_rng(0)
    pos = rng.normal([1.0, 0.0], 0.3, (40, 2))
    neg = rng.normal([-1.0, 0.0], 0.3, (40, 2))
    hard = np.array([[0.6, 0.0]])  # a negative close to the positives
    x = np.vstack([pos, neg, hard])
    labels = ["flag"] * 40 + ["none"] * 41
    plain = logreg.fit(x, labels, c=10.0)
    weights = np.ones(len(x))
    weights[-1] = 20.0
    weighted = logreg.fit(x, labels, c=10.0, sample_weight=weights)

    def p_flag(model):
        classes, coef, intercept = model
        logits = hard @ coef.T + intercept
        p = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
        return float(p[0, classes.index("flag")])

    assert p_flag(weighted) < p_flag(plain) - 0.1
    unweighted = logreg.fit(x, labels, c=10.0, sample_weight=np.ones(len(x)))
    assert np.allclose(unweighted[1], plain[1], atol=1e-6)


def _thresholds():
    from pipeline.retrieval.schema import Thresholds

    return Thresholds(question=0.4, red_flag=0.5, compliance=0.5, margin=0.0)
