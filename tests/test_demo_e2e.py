"""End to end on the bundled demo interview: real audio, VAD, Whisper, embedder, FAISS, advisor.

One fast replay of the stereo demo (interviewer left, candidate right) through
`s2q replay --jsonl`; the tests read its events against the demo's script.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from demo_checks import (
    DEMO,
    SCRIPT,
    TURNS,
    MISSED_RED_FLAGS_ALLOWED,
    check_compliance,
    check_red_flags,
    check_suggestions,
    during,
    finals,
    speaker_accuracy,
    wrong_words,
)


@pytest.fixture(scope="module")
def record(tmp_path_factory):
    return tmp_path_factory.mktemp("demo") / "record.jsonl"


@pytest.fixture(scope="module")
def events(record) -> list[dict]:
    proc = subprocess.run(
        [sys.executable, "-m", "pipeline", "replay", str(DEMO), "--channels", "interviewer,candidate",
         "--fast", "--jsonl", "--record", str(record)],
        capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert lines == [json.loads(line) for line in record.read_text().splitlines()]
    return lines


# Measured 2026-12-06: 0 of 604 words wrong and every word on its speaker, with CTranslate2 on this CPU's AVX-512 and
# forced to AVX2 and to AVX (CT2_FORCE_CPU_ISA, as older machines run it; load 4-8 on 2 shared cores); 1-2 words
# (0.17-0.33%) in earlier sessions' runs (benchmarks/README.md). Command:
#   s2q replay pipeline/demo/interview.ogg --channels interviewer,candidate --fast --jsonl
# Allowed: twice the worst measured plus four words, for another machine's floating point (1.3%, was 5%: 30 words).
DEMO_WRONG_WORDS_ALLOWED = 2 * 2 + 4
# Channel-mapped, a word is on the wrong speaker only when an utterance's times overlap the other side's turn more
# than its own: none measured; allowed: one short utterance's worth (1%, was 5%).
DEMO_WRONG_SPEAKER_WORDS_ALLOWED = 6


def test_word_errors_against_the_script_within_a_stated_margin(events):
    wrong, words = wrong_words(events)
    assert words == 604 and wrong <= DEMO_WRONG_WORDS_ALLOWED, f"{wrong} of {words} words wrong"


def test_speaker_labels_right_for_all_but_a_few_words(events):
    share, words = speaker_accuracy(events)
    assert words >= 604 - DEMO_WRONG_WORDS_ALLOWED  # the words heard, whoever said them
    assert round((1 - share) * words) <= DEMO_WRONG_SPEAKER_WORDS_ALLOWED, f"{(1 - share) * words:.0f} of {words}"


def test_transcript_events_carry_timing_and_latency(events):
    for e in finals(events):
        assert e["speaker"] in ("interviewer", "candidate")
        assert 0 <= e["start"] < e["end"] <= SCRIPT["duration"] + 1
        assert e["latency_ms"]["asr"] > 0
        assert e["latency_ms"]["total"] >= e["latency_ms"]["asr"]


def test_each_red_flag_voiced_raises_its_alert_and_no_clean_answer_does(events):
    check_red_flags(events)


def test_each_forbidden_question_raises_its_compliance_alert_and_no_other_does(events):
    check_compliance(events)
    for alert in (e for e in events if e["type"] == "compliance"):
        assert alert["alternative"] or alert["id"] == "sexual-orientation"


def test_suggestions_arrive_after_every_candidate_answer(events):
    check_suggestions(events)


def test_red_flag_probe_is_suggested_next(events):
    """A red flag's probe is among the suggestions right after it (issue 27 ranks it with what the answer
    opened and the authored follow-ups; measured in benchmarks/README.md, "Suggestions")."""
    flags = [(i, e) for i, e in enumerate(events) if e["type"] == "red_flag"]
    assert len(flags) >= 4
    for i, e in flags:
        nxt = next(s for s in events[i:] if s["type"] == "suggestion")
        probes = [item for item in nxt["items"] if item["kind"] == "probe" or item["id"] in e["probes"]]
        assert probes, (e["id"], nxt["items"])  # one of the flag's probe questions, whatever else brought it up
        assert all(item["reason"].startswith("probe:") for item in probes if item["kind"] == "probe")


def test_interviewer_questions_map_to_their_competency(events):
    asked = [e for e in events if e["type"] == "question_asked"]
    technical = [t for t in TURNS if any(label.startswith("competency:") for label in t["labels"])]
    hits = 0
    for turn in technical:
        competency = turn["labels"][0].split(":", 1)[1]
        hits += any(competency in q["competencies"] for q in during(turn, asked))
    # Measured 2026-12-06: 9 of 9 (the runs above, AVX-512, AVX2, AVX); allowed: one of the nine missed.
    assert len(technical) == 9 and hits >= len(technical) - 1, f"{hits} of {len(technical)}"


def test_report_of_the_demo_record_shows_each_alert_and_stage_with_its_time(events, record, tmp_path):
    """The report a user reads after the demo: every alert of the run, under its name, at its time."""
    from pipeline.retrieval.bank import load_bank
    from pipeline.sinks.labels import clock

    out = tmp_path / "report.md"
    proc = subprocess.run([sys.executable, "-m", "pipeline", "report", str(record), "-o", str(out)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    text = out.read_text()
    flags = [e for e in events if e["type"] == "red_flag"]
    alerts = [e for e in events if e["type"] == "compliance"]
    voiced = {"accuracy-only", "notebook-only", "no-monitoring", "dismisses-engineering", "ignores-data-bias"}
    assert len({f["id"] for f in flags} & voiced) >= len(voiced) - MISSED_RED_FLAGS_ALLOWED
    assert len({a["id"] for a in alerts}) >= 2
    red_flags = text.split("## Red flags")[1].split("\n## ")[0]
    compliance = text.split("## Compliance alerts")[1].split("\n## ")[0]
    for flag in flags:
        assert f"### {flag['name']} ({clock(flag['start'])})" in red_flags, flag["name"]
    for alert in alerts:
        assert f"### {alert['name']} ({clock(alert['start'])})" in compliance, alert["name"]
        assert alert["alternative"] is None or alert["alternative"][:40] in compliance.replace("\\", "")
    bank = load_bank()
    questions = text.split("## Questions asked")[1].split("\n## ")[0]
    for event in (e for e in events if e["type"] == "question_asked"):
        stage = next(s for s in bank.role.stages if s.id == event["stage"])
        assert f"### {stage.name} (" in questions
        assert f"**{clock(event['start'])}**" in questions
