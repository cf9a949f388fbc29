"""The matcher on held-out test set v2, both roles, as written and as heard (issue 28).

`benchmarks/data/test2/<role>.tsv` was written before any tuning and is only ever scored (benchmarks/README.md,
"Matcher test sets"); `heard/` holds the same rows voiced by two espeak-ng voices and transcribed once, so no
Whisper runs here. The listener is scored as shipped (the role's thresholds, topic x stance through the
verifier), by the bench's own `live_entry`, as

    python -m benchmarks.understand --embedders minilm --methods live --test test2

scores it. Each limit is today's figure with a stated margin: a regression fails; an improvement should raise
the figure written here (run the command above, copy its `live` rows).
"""

from __future__ import annotations

import pytest

from benchmarks import understand
from benchmarks.matcher_eval import read_tsv
from benchmarks.voiced_set import heard_path

# Measured 2026-12-06 (load < 1; the same figures as benchmarks/README.md, "Red flags that read the stance").
# Text rows per role: 40 red-flag and 26 clean candidate answers, 8 compliance and 34-35 lawful interviewer
# lines, 20-21 competency questions, 14 lead-ins; heard rows are twice as many (two voices).
MEASURED = {
    ("ml-engineer", "text"): dict(red_flag_macro_f1=0.671, red_flag_false_alarms=0.038, compliance_recall=1.0,
                                  compliance_false_alarms=0.0, right_competency=0.85, question_asked_on_none=0.071),
    ("ml-engineer", "heard"): dict(red_flag_macro_f1=0.504, red_flag_false_alarms=0.019, compliance_recall=0.875,
                                   compliance_false_alarms=0.0, right_competency=0.725, question_asked_on_none=0.071),
    ("backend-engineer", "text"): dict(red_flag_macro_f1=0.731, red_flag_false_alarms=0.038, compliance_recall=1.0,
                                       compliance_false_alarms=0.0, right_competency=0.81, question_asked_on_none=0.0),
    ("backend-engineer", "heard"): dict(red_flag_macro_f1=0.479, red_flag_false_alarms=0.019, compliance_recall=0.812,
                                        compliance_false_alarms=0.0, right_competency=0.69, question_asked_on_none=0.0),
}
# How far each figure may move before the test fails, and what that is in rows. One red-flag row more or less
# moves the macro-F1 by 0.01-0.03 (the red-flag threshold moved by +-0.005 flips one heard backend row, 0.011-0.017):
# 0.05 is about two rows, so floating point on another machine (scores a hair from the threshold) stays inside it.
MARGIN = {
    "red_flag_macro_f1": -0.05,
    "red_flag_false_alarms": +0.04,  # one more clean answer of 26 flagged (text), two of 52 (heard)
    "compliance_recall": -0.13,  # one forbidden question of 8 missed (text), two of 16 (heard)
    "compliance_false_alarms": +0.03,  # one lawful line of 34-35 alerting (text), two of 68-70 (heard)
    "right_competency": -0.10,  # two questions of 20-21 on the wrong competency (text), four of 40-42 (heard)
    "question_asked_on_none": +0.08,  # one more lead-in of 14 taken for a question (text), two of 28 (heard)
}


@pytest.fixture(scope="module", params=understand.ROLES)
def scored(request) -> tuple[str, dict]:
    from pipeline.retrieval.bank import load_bank

    role = request.param
    path = understand.DATA / "test2" / f"{role}.tsv"
    text, heard = read_tsv(path), read_tsv(heard_path(path))
    assert len(text) > 100 and len(heard) == 2 * len(text), "test set v2 or its heard copy is incomplete"
    return role, understand.live_entry(role, load_bank(role), text, heard, verify=True)


@pytest.mark.parametrize("form", ["text", "heard"])
def test_test_set_v2_within_a_stated_margin_of_todays_figures(scored, form):
    role, entry = scored
    measured, got = MEASURED[(role, form)], entry[form]
    outside = {}
    for metric, margin in MARGIN.items():
        limit = round(measured[metric] + margin, 3)
        if (got[metric] < limit) if margin < 0 else (got[metric] > limit):
            outside[metric] = f"{got[metric]} (measured {measured[metric]}, limit {limit})"
    assert not outside, f"{role} {form}: {outside}"
