"""`s2q bank search`, `s2q bank test` and the listener decide the same for the same sentence.

An author trusts `bank search` and `bank test` only as far as they agree with what the listener
shows in an interview. Here the same sentences go through all three: the listener's own stage
(`build_interview_stage(role).matcher`), the real `s2q bank search` CLI in a subprocess, and the
decision functions `s2q bank test` applies to every held-out phrase (on sentences that are not in
the bank, nothing needs holding out). Real bundled bank, MiniLM, FAISS and classifiers.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.authoring.heldout import alert_decision, question_decision
from pipeline.authoring.workbench import Workbench
from pipeline.retrieval.bank import BANK_ROOT, DEFAULT_ROLE
from pipeline.retrieval.text import clean_speech

# (speaker, sentence, what the listener shows: kind -> entry id, or nothing)
SENTENCES = [
    ("interviewer", "How can you tell that a model is overfitting?", {"question": "detect-overfitting"}),
    ("interviewer", "How old are you, if you don't mind me asking?", {"compliance": "age"}),
    ("candidate", "Once it was live we moved on, honestly nobody has looked at that model since.",
     {"red_flag": "no-monitoring"}),
    ("interviewer", "Can you hear me okay on your side?", {}),
    ("candidate", "Sorry, could you repeat the last part of the question?", {}),
]
LABELS = {"question": "question", "compliance": "compliance alert", "red_flag": "red flag"}


@pytest.fixture(scope="module")
def cache_home(tmp_path_factory) -> Path:
    """$XDG_CACHE_HOME for this module: its own index cache, the session's shared ONNX export."""
    home = tmp_path_factory.mktemp("same-decision-xdg")
    shared_onnx = tmp_path_factory.getbasetemp() / "s2q-xdg-cache" / "s2q" / "onnx"
    shared_onnx.mkdir(parents=True, exist_ok=True)
    (home / "s2q").mkdir()
    (home / "s2q" / "onnx").symlink_to(shared_onnx, target_is_directory=True)
    return home


@pytest.fixture(scope="module")
def listener(cache_home):
    from pipeline.interview import build_interview_stage

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_CACHE_HOME", str(cache_home))
        return build_interview_stage(DEFAULT_ROLE).matcher


@pytest.fixture(scope="module")
def workbench(listener, cache_home) -> Workbench:
    return Workbench(BANK_ROOT / DEFAULT_ROLE, listener.embedder, cache_home / "s2q" / "index")


def listener_decision(matcher, speaker: str, text: str) -> dict[str, str]:
    result = matcher.match(text, speaker)
    hits = {"question": result.questions, "compliance": result.compliance, "red_flag": result.red_flags}
    return {kind: found[0].id for kind, found in hits.items() if found}


def search_decision(cache_home: Path, speaker: str, text: str) -> tuple[dict[str, str], dict[str, str]]:
    """`s2q bank search` as a user runs it: (the MATCH rows, the 'listener would show' line), per kind."""
    script = Path(sys.executable).with_name("s2q")
    cmd = [str(script)] if script.exists() else [sys.executable, "-m", "pipeline"]
    env = dict(os.environ, HF_HUB_OFFLINE="1", XDG_CACHE_HOME=str(cache_home))
    proc = subprocess.run(cmd + ["bank", "search", "--role", DEFAULT_ROLE, "--speaker", speaker, text],
                          capture_output=True, text=True, env=env, timeout=180, check=False)
    assert proc.returncode == 0, proc.stderr
    rows, kind = {}, None
    for line in proc.stdout.splitlines():
        section = re.match(r"  (questions|compliance alerts|red flags):", line)
        if section:
            kind = {"questions": "question", "compliance alerts": "compliance", "red flags": "red_flag"}[section[1]]
        match = re.match(r"\s+\d\.\d\d\s+MATCH\s+(\S+)", line)
        if match:
            rows[kind] = match[1]
    shown = re.search(r"^the listener would show: (.*)$", proc.stdout, re.MULTILINE)[1]
    verdict = {}
    for label, entry in re.findall(r"(question|compliance alert|red flag) (\S+) \(\d\.\d\d\)", shown):
        verdict[{v: k for k, v in LABELS.items()}[label]] = entry
    return rows, verdict


def held_out_decision(wb: Workbench, speaker: str, text: str) -> dict[str, str]:
    """The decisions `s2q bank test` makes for each held-out phrase, for a sentence not in the bank."""
    import numpy as np

    vector = wb.embedder.encode([clean_speech(text)])
    found = {}
    if speaker == "interviewer":
        sims = wb.vectors("interviewer") @ vector[0]
        qid, _ = question_decision(wb, sims, np.arange(len(sims)))
        if qid:
            found["question"] = qid
    for kind, side in (("compliance", "interviewer"), ("red_flag", "candidate")):
        classifier = wb.index.classifiers[kind]
        if side == speaker:
            alert, _, _ = alert_decision(kind, classifier.classes, classifier.probabilities(vector)[0],
                                         wb.thresholds)
            if alert:
                found[kind] = alert
    return found


@pytest.mark.parametrize("speaker, text, expected", SENTENCES, ids=[t[:30] for _, t, _ in SENTENCES])
def test_search_test_and_listener_decide_the_same(listener, workbench, cache_home, speaker, text, expected):
    assert text not in {p.written for side in workbench.phrases.values() for p in side}  # nothing to hold out
    heard = listener_decision(listener, speaker, text)
    assert heard == expected  # the premise: a question, an alert, a red flag, and nothing
    rows, shown = search_decision(cache_home, speaker, text)
    assert rows == heard  # one sentence: its MATCH rows are what the listener shows
    assert shown == heard
    assert held_out_decision(workbench, speaker, text) == heard
