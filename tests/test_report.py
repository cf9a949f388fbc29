"""`pipeline.report`: a hand-written session record rendered as Markdown.

The report is a pure function of the recorded events, so these tests write small
JSONL records by hand (no audio, no models) and read the sections back.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from pipeline.errors import S2QError
from pipeline.report import MAX_NEVER_ASKED, Session, load_session, render_report

LAT = {"asr": 100.0, "queue": 0.1, "total": 101.0}


# -- building records -------------------------------------------------------------------


def said(uid, speaker, start, end, text, final=True):
    return {"type": "transcript", "utterance_id": uid, "speaker": speaker, "start": start, "end": end,
            "text": text, "final": final, "latency_ms": LAT}


def asked(qid, stage, start, quote, text=None, competencies=("ml-fundamentals",)):
    return {"type": "question_asked", "id": qid, "text": text or f"Bank wording of {qid}?", "stage": stage,
            "competencies": list(competencies), "score": 0.8, "speaker": "interviewer", "quote": quote,
            "start": start, "end": start + 3, "latency_ms": LAT}


def red_flag(fid, name, start, quote, probes):
    return {"type": "red_flag", "id": fid, "name": name, "speaker": "candidate", "score": 0.9, "quote": quote,
            "start": start, "end": start + 4, "probes": probes, "latency_ms": LAT}


def compliance(cid, name, start, quote, alternative):
    return {"type": "compliance", "id": cid, "name": name, "speaker": "interviewer", "score": 0.9, "quote": quote,
            "start": start, "end": start + 2, "alternative": alternative, "latency_ms": LAT}


def suggestion(after, *items):
    return {"type": "suggestion", "after_utterance": after, "latency_ms": LAT,
            "items": [{"id": i, "text": f"Suggested {i}?", "reason": r, "kind": "coverage"} for i, r in items]}


def coverage(competencies, stages=None, current="fundamentals-screen"):
    return {"type": "coverage", "current_stage": current, "stages": stages or {}, "competencies": competencies,
            "missing": [c for c, n in competencies.items() if n == 0], "latency_ms": LAT}


def write(path: Path, events: list[dict], tail: str = "") -> Path:
    path.write_text("".join(json.dumps(e) + "\n" for e in events) + tail, encoding="utf-8")
    return path


def section(report: str, title: str) -> str:
    """The text of one `## title` section, up to the next `## ` heading or the footer rule."""
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |^---$|\Z)", report, re.S | re.M)
    assert match, f"no section {title!r} in:\n{report}"
    return match.group(1)


def report_for(tmp_path: Path, events: list[dict], tail: str = "", bank=None) -> str:
    return render_report(load_session(write(tmp_path / "session.jsonl", events, tail)), bank)


# -- one interview, all sections ------------------------------------------------------


INTERVIEW = [
    {"type": "status", "state": "ready", "message": "listening"},
    said(0, "interviewer", 1.0, 5.0, "How would you know if your model overfits?", final=False),
    said(0, "interviewer", 1.0, 6.0, "So how would you know if your model overfits?"),
    asked("detect-overfitting", "fundamentals-screen", 1.0, "So how would you know if your model overfits?"),
    coverage({"ml-fundamentals": 1, "mlops": 0}, {"fundamentals-screen": {"asked": 1, "total": 5},
                                                 "production-experience": {"asked": 0, "total": 4}}),
    suggestion(0, ("data-leakage", "follow-up: leakage"), ("monitor-deployed-model", "next stage: production")),
    said(1, "candidate", 7.0, 17.0, "We never monitored it, we just retrained it once a year."),
    red_flag("no-monitoring", "Doesn't monitor models", 7.0, "We never monitored it", ["monitor-deployed-model"]),
    suggestion(1, ("monitor-deployed-model", "probe: no monitoring"), ("data-leakage", "follow-up: leakage")),
    said(2, "interviewer", 70.0, 75.0, "How would you tell it got worse once deployed?"),
    asked("monitor-deployed-model", "production-experience", 70.0, "How would you tell it got worse once deployed?",
          competencies=("mlops",)),
    coverage({"ml-fundamentals": 1, "mlops": 1}, {"fundamentals-screen": {"asked": 1, "total": 5},
                                                 "production-experience": {"asked": 1, "total": 4}},
             current="production-experience"),
    said(3, "candidate", 76.0, 80.0, "I would look at the accuracy."),
    red_flag("accuracy-only", "Accuracy is all that matters", 76.0, "I would look at the accuracy",
             ["offline-to-business-metric"]),
    said(4, "interviewer", 81.0, 84.0, "And how old are you?"),
    compliance("age", "Age", 81.0, "And how old are you?", "Are you at least eighteen years old?"),
    suggestion(4, ("offline-to-business-metric", "probe: accuracy only"), ("data-leakage", "coverage: leakage")),
    {"type": "status", "state": "shedding",
     "message": "transcriber behind real time: skipped candidate speech 85.0-90.0s",
     "details": {"shed_utterance": 5, "speaker": "candidate", "start": 85.0, "end": 90.5, "shed_total": 1}},
]


@pytest.fixture
def report(tmp_path) -> str:
    return report_for(tmp_path, INTERVIEW)


def test_sections_come_in_order(report):
    titles = re.findall(r"^## (.+)$", report, re.M)
    assert titles == ["Questions asked", "Competencies", "Red flags", "Compliance alerts",
                      "Suggested questions never asked", "Talk time", "Transcript"]
    assert report.startswith("# Interview report: `session.jsonl`\n")
    assert "**Duration:** 01:30" in report  # the shed span ends last, at 90.5 s
    assert report.rstrip().splitlines()[-1].startswith("_Made by `s2q report`")


def test_questions_grouped_by_stage_with_time_wording_and_quote(report):
    text = section(report, "Questions asked")
    first, second = text.index("### fundamentals-screen"), text.index("### production-experience")
    assert first < second  # no bank: the advisor's stage order
    assert "**00:01** Bank wording of detect-overfitting?" in text[first:second]
    assert "said: “So how would you know if your model overfits?”" in text[first:second]
    assert "**01:10** Bank wording of monitor-deployed-model?" in text[second:]


def test_stage_order_follows_the_bank_not_the_record(tmp_path):
    from pipeline.retrieval.bank import load_bank

    events = [asked("monitor-deployed-model", "production-experience", 5.0, "monitoring?"),
              asked("detect-overfitting", "fundamentals-screen", 50.0, "overfitting?")]
    text = section(report_for(tmp_path, events, bank=load_bank("ml-engineer")), "Questions asked")
    assert text.index("### ML fundamentals screen") < text.index("### Production experience interview")


def test_competencies_from_last_coverage(report):
    text = section(report, "Competencies")
    assert "**Covered** (2 of 2)" in text
    assert "- `ml-fundamentals`: 1 question" in text and "- `mlops`: 1 question" in text
    assert "**Missing** (0)" in text


def test_red_flag_probed_afterwards_or_not(report):
    text = section(report, "Red flags")
    no_monitoring = text[text.index("### Doesn't monitor models (00:07)"):text.index("### Accuracy")]
    assert "> We never monitored it" in no_monitoring
    assert "Probed afterwards: **yes**, at 01:10" in no_monitoring
    accuracy = text[text.index("### Accuracy is all that matters (01:16)"):]
    assert "> I would look at the accuracy" in accuracy
    assert "Probed afterwards: **no**" in accuracy and "- offline-to-business-metric" in accuracy


def test_probe_asked_before_the_flag_does_not_count(tmp_path):
    events = [asked("monitor-deployed-model", "production-experience", 5.0, "how do you monitor?"),
              red_flag("no-monitoring", "Doesn't monitor models", 20.0, "we never monitored",
                       ["monitor-deployed-model"])]
    assert "Probed afterwards: **no**" in section(report_for(tmp_path, events), "Red flags")


def test_compliance_alert_with_alternative(report):
    text = section(report, "Compliance alerts")
    assert "### Age (01:21)" in text
    assert "> And how old are you?" in text
    assert "Lawful alternative: Are you at least eighteen years old?" in text


def test_never_asked_suggestions_exclude_asked_and_latest_first(report):
    text = section(report, "Suggested questions never asked")
    items = [line for line in text.splitlines() if line.startswith("- ")]
    # monitor-deployed-model was suggested, then asked: it must not appear.
    assert not any("monitor-deployed-model" in line for line in items)
    assert items[0].startswith("- Suggested offline-to-business-metric?")
    assert "probe: accuracy only, last suggested at 01:24" in items[0]
    # data-leakage: suggested three times, listed once, with the reason it was given last.
    assert [line for line in items if "data-leakage" in line] == [items[1]]
    assert "coverage: leakage" in items[1]
    assert len(items) == 2


def test_never_asked_capped(tmp_path):
    events = [suggestion(i, (f"q-{i}", f"reason {i}")) for i in range(MAX_NEVER_ASKED + 5)]
    text = section(report_for(tmp_path, events), "Suggested questions never asked")
    items = [line for line in text.splitlines() if line.startswith("- ")]
    assert len(items) == MAX_NEVER_ASKED
    assert items[0].startswith(f"- Suggested q-{MAX_NEVER_ASKED + 4}?")
    assert "…and 5 more." in text


def talk_rows(report: str) -> dict[str, list[str]]:
    rows = [line.strip("|").split("|") for line in section(report, "Talk time").splitlines() if line.startswith("| ")]
    return {cells[0].strip(): [c.strip() for c in cells[1:]] for cells in rows[1:]}


def test_talk_time_per_speaker_from_final_transcripts(report):
    rows = talk_rows(report)
    # Finals only: interviewer 5 + 5 + 3 s, candidate 10 + 4 s; the 4 s partial is not counted.
    assert rows["Interviewer"][0] == "13.0 s" and rows["Candidate"][0] == "14.0 s"
    assert rows["Interviewer"][2] == str(len("So how would you know if your model overfits? "
                                             "How would you tell it got worse once deployed? "
                                             "And how old are you?".split()))
    assert rows["Interviewer"][1] == "48%" and rows["Candidate"][1] == "52%"


def test_talk_time_shares_sum_to_100(tmp_path):
    # Three equal speakers: 33.3% each, which naive rounding would show as 99% in all.
    events = [said(0, "interviewer", 0, 10, "a"), said(1, "candidate", 10, 20, "b"), said(2, "unknown", 20, 30, "c")]
    shares = [int(cells[1].rstrip("%")) for name, cells in talk_rows(report_for(tmp_path, events)).items()
              if name != "**Total**"]
    assert len(shares) == 3 and sum(shares) == 100


def test_partial_transcripts_ignored(report):
    text = section(report, "Transcript")
    assert "**00:01 Interviewer:** So how would you know if your model overfits?" in text
    assert text.count("overfits?") == 1  # the partial of the same utterance is not there
    assert "**00:07 Candidate:** We never monitored it, we just retrained it once a year." in text
    lines = [line for line in text.splitlines() if line.startswith("**")]
    assert len(lines) == 5  # five finals, in audio-time order
    assert lines[-1].startswith("**01:21 Interviewer:**")


def test_footer_notes_shedding_and_hides_routine_status(report):
    footer = report[report.index("\n---\n"):]
    assert "skipped 1 stretch of speech (5.5 s: 01:25–01:30 candidate)" in footer
    assert "ready" not in footer and "listening" not in footer
    assert "incomplete" not in footer


def test_speech_is_escaped_not_markup(tmp_path):
    events = [said(0, "candidate", 0, 2, "I used *lots* of <b>tricks</b> | # yes")]
    text = section(report_for(tmp_path, events), "Transcript")
    assert r"I used \*lots\* of \<b\>tricks\</b\> \| \# yes" in text


# -- loading: what a crash leaves, and what is not a record ------------------------------


def test_truncated_last_line_is_skipped_and_noted(tmp_path):
    path = write(tmp_path / "crashed.jsonl", INTERVIEW[:3], tail='{"type": "transcript", "utterance_id": 1, "spea')
    session = load_session(path)
    assert len(session.events) == 3
    assert session.cut_lines == [4]
    report = render_report(session)
    footer = report[report.index("\n---\n"):]
    assert "Line 4 of the record was incomplete" in footer


def test_blank_lines_are_not_errors(tmp_path):
    path = tmp_path / "s.jsonl"
    path.write_text("\n" + json.dumps(INTERVIEW[2]) + "\n\n", encoding="utf-8")
    session = load_session(path)
    assert len(session.events) == 1 and session.cut_lines == []


def test_missing_file(tmp_path):
    with pytest.raises(S2QError, match="no such session record"):
        load_session(tmp_path / "nope.jsonl")


@pytest.mark.parametrize("content", ["", "\n  \n"])
def test_empty_file(tmp_path, content):
    path = tmp_path / "empty.jsonl"
    path.write_text(content)
    with pytest.raises(S2QError, match="empty"):
        load_session(path)


@pytest.mark.parametrize("content", [
    b"RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00\x80\x3e\x00\x00\n\x00\xff\xfe data\n",
    b'{\n  "type": "transcript"\n}\n',  # pretty-printed JSON, not JSON lines
    b'[1, 2]\n{"type": "status", "state": "x"}\n',  # JSON, but not events
    b"hello",  # a single line that is not JSON
])
def test_not_a_record(tmp_path, content):
    path = tmp_path / "other.jsonl"
    path.write_bytes(content)
    with pytest.raises(S2QError, match="session record"):
        load_session(path)


def test_folder_is_not_a_record(tmp_path):
    with pytest.raises(S2QError, match="folder"):
        load_session(tmp_path)


# -- with the real bank -----------------------------------------------------------------


def test_real_bank_names_all_competencies(tmp_path):
    from pipeline.retrieval.bank import load_bank

    bank = load_bank("ml-engineer")
    counts = {c.id: 0 for c in bank.role.competencies} | {"ml-fundamentals": 2, "mlops": 1}
    events = [asked("detect-overfitting", "fundamentals-screen", 1.0, "overfitting?"), coverage(counts),
              red_flag("no-monitoring", "Doesn't monitor models", 7.0, "never monitored",
                       ["monitor-deployed-model", "useful-model-alerts"])]
    report = report_for(tmp_path, events, bank=bank)
    assert f"**Role:** {bank.role.name}" in report
    text = section(report, "Competencies")
    for c in bank.role.competencies:
        assert f"{c.name} (`{c.id}`)" in text
    covered, missing = text.split("**Missing**")
    assert "- ML fundamentals (`ml-fundamentals`): 2 questions" in covered
    assert "- MLOps (`mlops`): 1 question" in covered
    assert "Collaboration (`collaboration`)" in missing and "Collaboration" not in covered
    assert f"**Covered** (2 of {len(bank.role.competencies)})" in text
    # Unprobed flags list the probes in the bank's wording.
    assert f"- {bank.question('monitor-deployed-model').text}" in section(report, "Red flags")
    assert "### ML fundamentals screen (1)" in section(report, "Questions asked")
    assert "not in the `ml-engineer` bank" not in report


def test_real_bank_flags_a_record_from_another_role(tmp_path):
    from pipeline.retrieval.bank import load_bank

    events = [asked("sql-joins", "sql-screen", 1.0, "joins?"), coverage({"sql": 1})]
    report = report_for(tmp_path, events, bank=load_bank("ml-engineer"))
    assert "not in the `ml-engineer` bank" in report
    assert "### sql-screen (1)" in section(report, "Questions asked")


def test_session_can_be_built_in_memory():
    session = Session(path=Path("mem.jsonl"), events=[said(0, "candidate", 0, 61, "hello there")])
    report = render_report(session)
    assert "**Duration:** 01:01" in report and "**Date:**" not in report
