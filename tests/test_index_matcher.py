"""The bank's FAISS indexes (built and cached on disk) and the matcher on top of them.

Real parts: the bundled MiniLM through the ONNX Embedder, real FAISS, the shipped
ml-engineer bank. Everything cached lives under this session's pytest temp dir, laid out
as $XDG_CACHE_HOME/s2q/{onnx,index} so the `s2q` subprocesses find the same caches
(test_embedder.py exports the ONNX file into the same folder).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from pipeline.retrieval.bank import BANK_ROOT, BankError, load_bank
from pipeline.retrieval.embedder import DIMENSIONS, Embedder
from pipeline.retrieval.index import BankIndex
from pipeline.retrieval.matcher import Matcher
from pipeline.retrieval.phrases import SIDES, bank_phrases

ROOT = Path(__file__).resolve().parents[1]
ROLE = "ml-engineer"
SMALL_TALK = ["can you hear me", "let's take a short break"]


# -- fixtures ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cache_home(tmp_path_factory) -> Path:
    return tmp_path_factory.getbasetemp() / "s2q-xdg-cache"


@pytest.fixture(scope="module")
def index_dir(cache_home) -> Path:
    return cache_home / "s2q" / "index"


@pytest.fixture(scope="module")
def embedder(cache_home) -> Embedder:
    return Embedder(onnx_dir=cache_home / "s2q" / "onnx").load()


@pytest.fixture(scope="module")
def bank():
    return load_bank(ROLE)


@pytest.fixture(scope="module")
def first_build(bank, embedder, index_dir) -> BankIndex:
    assert not index_dir.exists(), "the index cache must start empty in this session"
    return BankIndex.build(bank, embedder, index_dir)


@pytest.fixture(scope="module")
def matcher(first_build, embedder) -> Matcher:
    return Matcher(first_build, embedder)


@pytest.fixture(scope="module")
def cached_cli_env(cache_home) -> dict[str, str]:
    env = dict(os.environ)
    env.update(HF_HUB_OFFLINE="1", XDG_CACHE_HOME=str(cache_home), PYTHONUNBUFFERED="1")
    env.pop("PYTHONWARNINGS", None)
    return env


@pytest.fixture(scope="module")
def s2q_cached(cached_cli_env, tmp_path_factory):
    script = Path(sys.executable).with_name("s2q")
    base = [str(script)] if script.exists() else [sys.executable, "-m", "pipeline"]
    cwd = tmp_path_factory.mktemp("cli")

    def call(*args, stdin: str | None = None) -> subprocess.CompletedProcess:
        return subprocess.run(base + [str(a) for a in args], check=False, input=stdin, capture_output=True, text=True,
                              env=cached_cli_env, cwd=cwd, timeout=180)

    return call


def snapshot(folder: Path) -> dict[str, tuple[int, int, str]]:
    """Every file under `folder`: size, mtime and content hash."""
    return {
        str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns, hashlib.sha1(p.read_bytes()).hexdigest())
        for p in sorted(folder.rglob("*")) if p.is_file()
    }


def test_cli_env_points_the_default_caches_at_the_session_folder(monkeypatch, cache_home):
    """The premise of the CLI tests below: `s2q` finds the caches these tests build."""
    from pipeline.retrieval.embedder import default_onnx_dir
    from pipeline.retrieval.index import default_cache_dir

    monkeypatch.setenv("XDG_CACHE_HOME", str(cache_home))
    assert default_cache_dir() == cache_home / "s2q" / "index"
    assert default_onnx_dir() == cache_home / "s2q" / "onnx"


# -- the index cache ----------------------------------------------------------------------


def test_first_build_embeds_every_phrase(first_build, bank, index_dir):
    phrases = bank_phrases(bank)
    unique = {p.text for side in SIDES for p in phrases[side]}
    assert first_build.rebuilt is True
    assert first_build.embedded == len(unique) > 500
    for side in SIDES:
        ix = first_build.sides[side]
        assert ix.phrases == phrases[side]
        assert ix.vectors.shape == (len(phrases[side]), DIMENSIONS)
        assert ix.index.ntotal == len(phrases[side])
        np.testing.assert_allclose(np.linalg.norm(ix.vectors, axis=1), 1.0, atol=1e-4)
    assert set(first_build.classifiers) == {"red_flag", "compliance"}
    folder = index_dir / first_build.key
    assert (folder / "meta.json").exists()
    meta = json.loads((folder / "meta.json").read_text())
    assert meta["key"] == first_build.key
    assert {s: len(v) for s, v in meta["sides"].items()} == {s: len(phrases[s]) for s in SIDES}


def test_second_build_is_loaded_from_cache(first_build, bank, embedder, index_dir):
    again = BankIndex.build(bank, embedder, index_dir)
    assert again.rebuilt is False
    assert again.embedded == 0
    assert again.key == first_build.key
    for side in SIDES:
        np.testing.assert_array_equal(again.sides[side].vectors, first_build.sides[side].vectors)
    probe = first_build.sides["candidate"].vectors[:5]
    for kind in ("red_flag", "compliance"):
        np.testing.assert_allclose(again.classifiers[kind].probabilities(probe),
                                   first_build.classifiers[kind].probabilities(probe), atol=1e-6)


def test_changing_one_alternative_reembeds_only_that_phrase(first_build, bank, embedder, index_dir):
    edited = bank.model_copy(deep=True)
    q = edited.questions[3]
    new_text = "Walk me through how you'd make this training run come out identical on a colleague's laptop."
    q.alternatives[0] = new_text
    index = BankIndex.build(edited, embedder, index_dir)
    assert index.rebuilt is True
    assert index.embedded == 1
    assert index.key != first_build.key
    texts = [p.text for p in index.sides["interviewer"].phrases]
    assert new_text in texts
    assert (index_dir / first_build.key / "meta.json").exists(), "the previous index stays"
    # the original bank's index is still a cache hit
    assert BankIndex.build(bank, embedder, index_dir).rebuilt is False


def test_invalid_bank_leaves_the_cache_untouched(first_build, index_dir, cache_home, s2q_cached, tmp_path):
    broken = tmp_path / ROLE
    shutil.copytree(BANK_ROOT / ROLE, broken)
    questions = broken / "questions" / "system-design.yaml"
    text = questions.read_text()
    questions.write_text(text.replace("    stage: system-design\n", "    stage: system-dezign\n", 1))
    line = text[: text.index("    stage: system-design\n")].count("\n") + 1
    with pytest.raises(BankError):
        load_bank(directory=broken)

    ours = cache_home / "s2q"  # (onnxruntime keeps files of its own in the cache home)
    before = snapshot(ours)
    assert any(name.endswith("meta.json") for name in before)
    proc = s2q_cached("bank", "build", "--bank", broken)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    assert f"{questions}:{line}:" in proc.stderr and "system-dezign" in proc.stderr
    assert snapshot(ours) == before


# -- the matcher ----------------------------------------------------------------------------


def test_matcher_uses_the_banks_thresholds(matcher, bank):
    assert matcher.thresholds == bank.role.matching


def test_every_canonical_question_matches_itself(matcher, bank):
    wrong = {}
    for q in bank.questions:
        result = matcher.match(q.text, "interviewer")
        top = result.questions[0].id if result.questions else None
        if top != q.id:
            wrong[q.id] = top
    assert wrong == {}


def test_every_compliance_example_matches_its_alert(matcher, bank):
    wrong = []
    for alert in bank.compliance:
        for example in alert.examples:
            result = matcher.match(example, "interviewer")
            top = result.compliance[0].id if result.compliance else None
            if top != alert.id:
                wrong.append((alert.id, example, top))
    assert wrong == []


def test_no_compliance_near_miss_raises_an_alert(matcher, bank):
    """The lawful questions authors wrote beside each alert (negative examples, lawful alternative)
    are weighted in training (`AlertClassifier.NEAR_MISS_WEIGHT`): none of them raises an alert."""
    alerted = []
    for alert in bank.compliance:
        for text in [*alert.negative_examples, *([alert.alternative] if alert.alternative else [])]:
            hits = matcher.match(text, "interviewer").compliance
            if hits:
                alerted.append((alert.id, text, [(h.id, h.score) for h in hits]))
    assert alerted == []


@pytest.mark.parametrize("qid", ["monitor-deployed-model", "bias-variance-tradeoff", "unit-test-preprocessing"])
def test_unknown_speaker_asking_a_bank_question(matcher, bank, qid):
    result = matcher.match(bank.question(qid).text, "unknown")
    assert result.speaker == "unknown"
    assert result.questions and result.questions[0].id == qid


@pytest.mark.parametrize("speaker", ["interviewer", "candidate", "unknown"])
@pytest.mark.parametrize("text", SMALL_TALK)
def test_small_talk_matches_nothing(matcher, text, speaker):
    result = matcher.match(text, speaker)
    assert (result.questions, result.compliance, result.red_flags) == ([], [], [])


def test_quotes_keep_the_words_as_said(matcher):
    said = "So, um, how would you explain the bias-variance trade-off?"
    hit = matcher.match(said, "interviewer").questions[0]
    assert hit.id == "bias-variance-tradeoff"
    assert hit.quote == said

    said = "Thanks for that. Um, so how do you know when your model's just memorizing stuff?"
    hit = matcher.match(said, "interviewer").questions[0]
    assert hit.id == "detect-overfitting"
    assert "Um, so how do you know" in hit.quote and hit.quote in said

    said = "Um, honestly, uh, we never monitored the model once it was in production."
    hit = matcher.match(said, "candidate").red_flags[0]
    assert hit.id == "no-monitoring"
    assert hit.quote == said

    said = "How old are you, um, if you don't mind?"
    hit = matcher.match(said, "interviewer").compliance[0]
    assert hit.id == "age"
    assert hit.quote == said


def test_fillers_do_not_change_the_match(matcher):
    plain = matcher.match("How would you explain the bias-variance trade-off?", "interviewer").questions[0]
    filled = matcher.match("Umm how would you uh explain the erm bias-variance trade-off?", "interviewer").questions[0]
    assert plain.id == filled.id == "bias-variance-tradeoff"
    assert filled.score == pytest.approx(plain.score, abs=1e-4)  # matched on the words without the sounds
    assert "erm" in filled.quote


# -- `s2q match` -----------------------------------------------------------------------------


def test_match_cli_jsonl_from_stdin(s2q_cached, matcher, first_build):
    lines = [
        "How would you know if a deployed model started making worse predictions?",
        SMALL_TALK[0],
        "How old are you?",
    ]
    proc = s2q_cached("match", "--speaker", "interviewer", "--jsonl", stdin="\n".join(lines) + "\n")
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    records = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(records) == 3
    for text, record in zip(lines, records):
        assert record["text"] == text
        for key in ("questions", "red_flags", "compliance"):
            items = record[key]
            assert isinstance(items, list)
            assert all({"id", "score"} <= set(item) for item in items)
            scores = [item["score"] for item in items]
            assert scores == sorted(scores, reverse=True), f"{key} not best first: {scores}"
        expected = matcher.match(text, "interviewer")
        assert [i["id"] for i in record["questions"]] == [h.id for h in expected.questions]
        assert [i["id"] for i in record["compliance"]] == [h.id for h in expected.compliance]
    assert records[0]["questions"][0]["id"] == "monitor-deployed-model"
    assert records[0]["questions"][0]["stage"] == "production-experience"
    assert records[0]["compliance"] == []
    assert records[1]["questions"] == records[1]["red_flags"] == records[1]["compliance"] == []
    assert records[2]["compliance"][0]["id"] == "age"
    assert records[2]["questions"] == []
    assert all(r["red_flags"] == [] for r in records)  # the interviewer's side has no red flags


def test_match_cli_readable_candidate(s2q_cached):
    text = "Once it was live we moved on, honestly nobody has looked at that model since."
    proc = s2q_cached("match", "--speaker", "candidate", text)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout.splitlines()
    assert out[0] == text
    assert any(line.strip().startswith("red flag: no-monitoring (") for line in out[1:]), proc.stdout
    with pytest.raises(json.JSONDecodeError):
        json.loads(proc.stdout)


# -- quality on the held-out set (in the repository; thresholds are never calibrated on it) -------


def test_heldout_set_targets_with_the_banks_thresholds(matcher, bank):
    from benchmarks import matcher_eval

    assert matcher_eval.HELDOUT_SET != matcher_eval.CALIBRATION_SET
    rows = matcher_eval.read_tsv(matcher_eval.HELDOUT_SET)
    assert len(rows) > 40
    scored = [matcher.scores(r.text, r.speaker) for r in rows]
    report = matcher_eval.evaluate(rows, scored, bank, bank.role.matching)

    rf, co, qu = report["red_flags"], report["compliance"], report["questions"]
    assert rf["none_support"] > 0 and co["false_alarm_support"] > 0 and qu["support"] > 0
    # Measured 2026-12-06 (`python -m benchmarks.matcher_eval`, its "heldout" block): red-flag macro-F1 0.883,
    # 0 of 10 clean answers flagged, compliance 8 of 8 with 0 of 15 lawful lines alerting, competency 11 of 11.
    # The limits are the product's targets (matcher_eval.TARGETS): F1 0.03 under the measurement (about one row of
    # this 58-row set); elsewhere one row more fails them. Test set v2, larger: tests/test_heldout_matcher.py.
    assert rf["macro_f1"] >= 0.85, rf
    assert rf["false_alarms_on_none"] <= 0.05, rf
    assert co["recall"] >= 0.95, co
    assert co["false_alarms"] <= 0.02, co
    assert qu["right_competency"] >= 0.85, qu
    assert all(matcher_eval.targets_met(report).values()), matcher_eval.targets_met(report)
