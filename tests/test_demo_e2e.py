"""End to end on the bundled demo interview: real audio, VAD, Whisper, embedder, FAISS, advisor.

One fast replay of the stereo demo (interviewer left, candidate right) through
`s2q replay --jsonl`; the tests read its events against the demo's script.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.bench.wer import normalise, wer

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "pipeline" / "demo" / "interview.ogg"
SCRIPT = json.loads((ROOT / "pipeline" / "demo" / "interview.json").read_text())
TURNS = SCRIPT["turns"]
RED_FLAGS = {"accuracy-only", "notebook-only", "no-monitoring", "dismisses-engineering", "ignores-data-bias"}


@pytest.fixture(scope="module")
def events(tmp_path_factory) -> list[dict]:
    record = tmp_path_factory.mktemp("demo") / "record.jsonl"
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


def finals(events: list[dict]) -> list[dict]:
    return sorted((e for e in events if e["type"] == "transcript" and e["final"]), key=lambda e: e["start"])


def overlap(a_start: float, a_end: float, b_start: float, b_end: float) -> float:
    return max(0.0, min(a_end, b_end) - max(a_start, b_start))


def turn_of(event: dict) -> dict:
    """The script turn an event's audio span overlaps most."""
    return max(TURNS, key=lambda t: overlap(t["start"], t["end"], event["start"], event["end"]))


def test_word_error_rate_against_the_script_is_at_most_5_percent(events):
    hyp = " ".join(e["text"] for e in finals(events))
    ref = " ".join(t["text"] for t in TURNS)
    assert normalise(hyp), "no transcript produced"
    assert wer([ref], [hyp]) <= 0.05


def test_speaker_labels_right_for_95_percent_of_words(events):
    right = total = 0
    for e in finals(events):
        n = len(normalise(e["text"]).split())
        total += n
        right += n if e["speaker"] == turn_of(e)["speaker"] else 0
    assert total > 300
    assert right / total >= 0.95


def test_transcript_events_carry_timing_and_latency(events):
    for e in finals(events):
        assert e["speaker"] in ("interviewer", "candidate")
        assert 0 <= e["start"] < e["end"] <= SCRIPT["duration"] + 1
        assert e["latency_ms"]["asr"] > 0
        assert e["latency_ms"]["total"] >= e["latency_ms"]["asr"]


def test_each_red_flag_voiced_raises_its_alert_during_that_turn(events):
    flags = [e for e in events if e["type"] == "red_flag"]
    voiced = [t for t in TURNS if RED_FLAGS & set(t["labels"])]
    assert {label for t in voiced for label in t["labels"]} >= RED_FLAGS  # the demo voices all five
    for turn in voiced:
        (flag_id,) = RED_FLAGS & set(turn["labels"])
        during = [f for f in flags if overlap(turn["start"], turn["end"], f["start"], f["end"]) > 0]
        assert flag_id in [f["id"] for f in during], f"{flag_id} not raised for: {turn['text']}"
        for f in during:
            assert f["speaker"] == "candidate" and f["quote"]


def test_no_clean_answer_raises_a_red_flag(events):
    flags = [e for e in events if e["type"] == "red_flag"]
    for turn in TURNS:
        if turn["speaker"] == "candidate" and not RED_FLAGS & set(turn["labels"]):
            raised = [f["id"] for f in flags if overlap(turn["start"], turn["end"], f["start"], f["end"]) > 0]
            assert raised == [], f"clean answer raised {raised}: {turn['text']}"


def test_each_forbidden_question_raises_its_compliance_alert_and_no_other_does(events):
    alerts = [e for e in events if e["type"] == "compliance"]
    compliance_turns = [t for t in TURNS if t["speaker"] == "interviewer"
                        and any(not label.startswith("competency:") for label in t["labels"])]
    assert len(compliance_turns) >= 2
    for turn in TURNS:
        during = [a for a in alerts if overlap(turn["start"], turn["end"], a["start"], a["end"]) > 0]
        if turn in compliance_turns:
            assert turn["labels"][0] in [a["id"] for a in during], turn["text"]
            assert all(a["alternative"] for a in during if a["id"] != "sexual-orientation")
        else:
            assert during == [], f"lawful turn raised {[a['id'] for a in during]}: {turn['text']}"


def test_suggestions_arrive_after_every_candidate_answer(events):
    suggested_after = {e["after_utterance"]: e for e in events if e["type"] == "suggestion"}
    answers = [e for e in finals(events) if e["speaker"] == "candidate"]
    assert len(answers) >= 10
    asked: set[str] = set()
    for e in events:  # in stream order
        if e["type"] == "question_asked":
            asked.add(e["id"])
        if e["type"] == "suggestion":
            assert 1 <= len(e["items"]) <= 3
            for item in e["items"]:
                assert item["reason"] and item["text"]
                assert item["id"] not in asked, "re-suggested an asked question"
    for answer in answers:
        assert answer["utterance_id"] in suggested_after


def test_red_flag_probe_is_suggested_first(events):
    for i, e in enumerate(events):
        if e["type"] == "red_flag":
            nxt = next(s for s in events[i:] if s["type"] == "suggestion")
            assert nxt["items"][0]["kind"] == "probe"
            assert nxt["items"][0]["reason"].startswith("probe:")


def test_interviewer_questions_map_to_their_competency(events):
    asked = [e for e in events if e["type"] == "question_asked"]
    technical = [t for t in TURNS if any(label.startswith("competency:") for label in t["labels"])]
    hits = 0
    for turn in technical:
        competency = turn["labels"][0].split(":", 1)[1]
        during = [q for q in asked if overlap(turn["start"], turn["end"], q["start"], q["end"]) > 0]
        hits += any(competency in q["competencies"] for q in during)
    assert hits / len(technical) >= 0.8
