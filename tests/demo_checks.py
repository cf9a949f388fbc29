"""Checks shared by the replay and the live-capture tests of the demo interview.

`offset` is where the demo's audio time 0 falls in the events' audio time
(0 for a replay; the playback start for live capture).
"""

from __future__ import annotations

import json

from pipeline.bench.wer import normalise, wer
from pipeline.demo import DEMO
from pipeline.report.record import settled_alerts

SCRIPT = json.loads(DEMO.with_suffix(".json").read_text())
TURNS = SCRIPT["turns"]
RED_FLAGS = {"accuracy-only", "notebook-only", "no-monitoring", "dismisses-engineering", "ignores-data-bias"}


def finals(events: list[dict]) -> list[dict]:
    """Final transcripts as they stand at the end: a revision replaces its utterance's earlier text."""
    latest = {e["utterance_id"]: e for e in events if e["type"] == "transcript" and e["final"]}
    return sorted(latest.values(), key=lambda e: e["start"])


def overlap(a_start: float, a_end: float, b_start: float, b_end: float) -> float:
    return max(0.0, min(a_end, b_end) - max(a_start, b_start))


def during(turn: dict, events: list[dict], offset: float = 0.0) -> list[dict]:
    return [e for e in events if overlap(turn["start"] + offset, turn["end"] + offset, e["start"], e["end"]) > 0]


def excerpt(start: float, end: float) -> list[dict]:
    """The script's turns wholly inside [start, end] s of the demo, times unchanged."""
    return [t for t in TURNS if t["start"] >= start and t["end"] <= end]


def turn_of(event: dict, offset: float = 0.0, turns: list[dict] = TURNS) -> dict:
    """The script turn an event's audio span overlaps most."""
    return max(turns, key=lambda t: overlap(t["start"] + offset, t["end"] + offset, event["start"], event["end"]))


def word_error_rate(events: list[dict], turns: list[dict] = TURNS) -> float:
    hyp = " ".join(e["text"] for e in finals(events))
    assert normalise(hyp), "no transcript produced"
    return wer([" ".join(t["text"] for t in turns)], [hyp])


def wrong_words(events: list[dict], turns: list[dict] = TURNS) -> tuple[int, int]:
    """Word edits against the script (substituted, missing and extra words), and the script's word count."""
    reference = normalise(" ".join(t["text"] for t in turns)).split()
    return round(word_error_rate(events, turns) * len(reference)), len(reference)


def speaker_accuracy(events: list[dict], offset: float = 0.0, turns: list[dict] = TURNS) -> tuple[float, int]:
    right = total = 0
    for e in finals(events):
        n = len(normalise(e["text"]).split())
        total += n
        right += n if e["speaker"] == turn_of(e, offset, turns)["speaker"] else 0
    return right / max(total, 1), total


# The red-flag verifier (issue 24) misses one of the demo's five: "No, I did not look into that. I never asked who
# was left out of the data, and I do not think checking fairness for different groups is my job." reads as a
# healthy stance (0.03). Measured and reported in benchmarks/README.md; one miss allowed, a second fails.
MISSED_RED_FLAGS_ALLOWED = 1


def check_red_flags(events: list[dict], offset: float = 0.0, turns: list[dict] = TURNS) -> None:
    """Each red flag voiced raises its alert during that turn; no clean answer raises one."""
    flags = [e for e in settled_alerts(events) if e["type"] == "red_flag"]  # as they stand at the end
    voiced = {label for t in turns for label in t["labels"]} & RED_FLAGS
    assert voiced == RED_FLAGS or (turns is not TURNS and voiced)  # the whole demo voices all five
    missed = []
    for turn in turns:
        raised = during(turn, flags, offset)
        expected = RED_FLAGS & set(turn["labels"])
        if expected:
            missed += [(flag, turn["text"]) for flag in expected - {f["id"] for f in raised}]
            assert all(f["speaker"] == "candidate" and f["quote"] for f in raised)
        elif turn["speaker"] == "candidate":
            assert raised == [], f"clean answer raised {[f['id'] for f in raised]}: {turn['text']}"
    assert len(missed) <= MISSED_RED_FLAGS_ALLOWED, f"not raised: {missed}"


def check_compliance(events: list[dict], offset: float = 0.0, turns: list[dict] = TURNS) -> None:
    """Each forbidden question raises its alert during that turn, and no lawful turn does."""
    alerts = [e for e in settled_alerts(events) if e["type"] == "compliance"]  # provisional ones settled
    forbidden = [t for t in turns if t["speaker"] == "interviewer"
                 and any(not label.startswith("competency:") for label in t["labels"])]
    assert len(forbidden) >= (2 if turns is TURNS else 1)
    for turn in turns:
        raised = during(turn, alerts, offset)
        if turn in forbidden:
            assert turn["labels"][0] in [a["id"] for a in raised], turn["text"]
        else:
            assert raised == [], f"lawful turn raised {[a['id'] for a in raised]}: {turn['text']}"


def check_suggestions(events: list[dict], turns: list[dict] = TURNS) -> None:
    """A suggestion after every candidate answer, never an already-asked question."""
    suggested_after = {e["after_utterance"] for e in events if e["type"] == "suggestion"}
    answers = [e for e in finals(events) if e["speaker"] == "candidate"]
    assert len(answers) >= (10 if turns is TURNS else sum(t["speaker"] == "candidate" for t in turns))
    asked: set[str] = set()
    for e in events:  # in stream order
        if e["type"] == "question_asked":
            asked.add(e["id"])
        if e["type"] == "withdrawn" and e["of"] == "question_asked":
            asked.discard(e["id"])
        if e["type"] == "suggestion":
            assert 1 <= len(e["items"]) <= 3
            for item in e["items"]:
                assert item["reason"] and item["text"]
                assert item["id"] not in asked, "re-suggested an asked question"
    for answer in answers:
        assert answer["utterance_id"] in suggested_after
