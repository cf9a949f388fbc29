"""Alerts that change their mind: provisional compliance alerts from partial transcripts (confirmed
or withdrawn by the final), and alerts re-checked when an utterance is revised (better text, settled
speaker). The real matcher and bank decide; the terminal view and the report show the settled state.
The web panel's side is in test_web.py (a real Chromium)."""

from __future__ import annotations

import io

import numpy as np
import pytest
from rich.console import Console

from pipeline.events import (
    ComplianceEvent,
    CoverageEvent,
    QuestionAskedEvent,
    RedFlagEvent,
    SuggestionEvent,
    WithdrawnEvent,
)
from pipeline.report.record import load_session
from pipeline.report.render import render_report
from pipeline.sinks import JsonlSink
from pipeline.sinks.terminal import LinePrinter, LiveView
from pipeline.steps import run_step
from tests.builders import said

FORBIDDEN = "By the way, how old are you?"
NO_MONITORING = "Honestly we never monitored the model after it shipped."
DRIFT = "How do you handle data drift?"


@pytest.fixture(scope="module")
def built():
    from pipeline.interview import build_interview_step

    return build_interview_step()


@pytest.fixture
def step(built):
    return built.fresh()


def of(events, kind):
    return [e for e in events if isinstance(e, kind)]


# -- early compliance warning ---------------------------------------------------------


def test_provisional_compliance_alert_is_confirmed_by_the_final(step):
    events = run_step(step, [said("By the way, how old", "interviewer", 0, final=False),
                               said("By the way, how old", "interviewer", 0, final=False),  # same text: no new match
                               said(FORBIDDEN, "interviewer", 0)])
    alerts = of(events, ComplianceEvent)
    assert [(a.id, a.provisional) for a in alerts] == [("age", True), ("age", False)]
    assert alerts[0].key == alerts[1].key == "compliance:age:0.000" and alerts[1].utterance_id == 0
    assert alerts[1].quote == FORBIDDEN  # the confirmation carries the final's words
    assert not of(events, WithdrawnEvent)
    assert step.partial_matches == 1


def test_provisional_alert_withdrawn_when_the_final_is_lawful(step):
    events = run_step(step, [said("By the way, how old", "interviewer", 0, final=False),
                               said("By the way, how old is your data pipeline?", "interviewer", 0)])
    (alert,) = of(events, ComplianceEvent)
    assert alert.provisional
    (withdrawn,) = of(events, WithdrawnEvent)
    assert (withdrawn.key, withdrawn.of, withdrawn.reason) == (alert.key, "compliance", "final")


def test_partials_too_short_or_from_the_candidate_are_not_matched(step):
    events = run_step(step, [said("How old", "interviewer", 0, final=False),
                               said("How old are you", "candidate", 1, final=False)])
    assert events == [] and step.partial_matches == 0


def test_a_provisional_alert_whose_speech_gets_no_final_is_withdrawn(step):
    events = run_step(step, [said("Are you planning to have children", "interviewer", 0, final=False),
                               said("Thanks.", "interviewer", 1)])
    (alert,) = of(events, ComplianceEvent)
    (withdrawn,) = of(events, WithdrawnEvent)
    assert alert.provisional and (withdrawn.key, withdrawn.reason) == (alert.key, "no_final")


def test_a_mixed_sources_provisional_alert_withdrawn_when_the_speaker_is_the_candidate(step):
    events = run_step(step, [said("By the way, how old", "unknown", 0, final=False),
                               said(FORBIDDEN, "candidate", 0)])
    assert [a.provisional for a in of(events, ComplianceEvent)] == [True]
    assert [w.reason for w in of(events, WithdrawnEvent)] == ["final"]


def test_voiced_question_warns_from_its_partial_transcripts_then_confirms(step, transcriber, tts):
    """Real audio, segmenter, Whisper and matcher: snapshots of the question taken every second
    while it is spoken (as the engine's partials are, minus the clock), then its final."""
    from conftest import SR, silence

    from pipeline.audio.segmenter import Segmenter
    from pipeline.audio.sources import AudioChunk

    speech = tts("Are you planning to have children, because this role means a lot of travel next year?")
    audio = np.concatenate([silence(0.5), speech, silence(1.5)])
    seg, utterances = Segmenter("interviewer"), []
    for n, i in enumerate(range(0, len(audio), 480)):
        utterances += [u for u in seg.feed(AudioChunk("interviewer", audio[i:i + 480], i / SR)) if not u.speculative]
        if n % 33 == 32 and seg.snapshot() is not None:
            utterances.append(seg.snapshot())
    utterances += [u for u in seg.flush() if not u.speculative]
    transcripts = [transcriber.transcribe(u) for u in utterances]
    assert [t.utterance.final for t in transcripts][-1] and len(transcripts) >= 4
    events = run_step(step, transcripts)
    alerts = of(events, ComplianceEvent)
    assert [(a.id, a.provisional) for a in alerts] == [("pregnancy", True), ("pregnancy", False)]
    assert alerts[0].key == alerts[1].key and alerts[0].quote != alerts[1].quote  # early words, then the final's
    assert not of(events, WithdrawnEvent)
    partials = [t for t in transcripts if not t.utterance.final and len(t.text.split()) >= 3]
    assert 1 <= step.partial_matches <= len(partials)  # at most one match per partial


# -- revisions ----------------------------------------------------------------------


def test_speaker_settled_as_candidate_raises_the_red_flag(step):
    first = run_step(step, [said(NO_MONITORING, "interviewer", 0)])
    assert not of(first, RedFlagEvent) and not of(first, QuestionAskedEvent)  # a statement asks nothing
    events = run_step(step, [said(NO_MONITORING, "candidate", 0, revision=1)])
    (flag,) = of(events, RedFlagEvent)
    assert (flag.id, flag.speaker, flag.utterance_id) == ("no-monitoring", "candidate", 0)
    assert not of(events, WithdrawnEvent)
    assert of(events, SuggestionEvent)[0].items[0]["kind"] == "probe"  # the flag is probed now
    assert [f.id for f in step.advisor.state.flags] == ["no-monitoring"]


def test_question_settled_as_the_candidates_is_withdrawn(step):
    first = run_step(step, [said(DRIFT, "interviewer", 0)])
    (asked,) = of(first, QuestionAskedEvent)
    events = run_step(step, [said(DRIFT, "candidate", 0, revision=1)])  # the candidate asked it back
    (withdrawn,) = of(events, WithdrawnEvent)
    assert (withdrawn.of, withdrawn.reason, withdrawn.key) == ("question_asked", "speaker", asked.key)
    (coverage,) = of(events, CoverageEvent)
    assert sum(s["asked"] for s in coverage.stages.values()) == 0  # no longer counted as asked
    assert step.advisor.state.asked == []


def test_unknown_speaker_settled_as_candidate_keeps_its_red_flag_once(step):
    first = run_step(step, [said(NO_MONITORING, "unknown", 0)])
    assert [f.speaker for f in of(first, RedFlagEvent)] == ["unknown"]  # unknown: checked as both sides
    events = run_step(step, [said(NO_MONITORING, "candidate", 0, revision=1)])
    (again,) = of(events, RedFlagEvent)  # the same key with the settled speaker: replaced, not added
    assert (again.key, again.speaker) == (of(first, RedFlagEvent)[0].key, "candidate")
    assert not of(events, WithdrawnEvent)  # nothing was taken for a question: a statement asks nothing
    assert [f.id for f in step.advisor.state.flags] == ["no-monitoring"] and step.advisor.state.asked == []


def test_a_voice_told_apart_but_not_named_is_checked_as_both_sides(step):
    events = run_step(step, [said(NO_MONITORING, "speaker-2", 0)])
    assert [f.speaker for f in of(events, RedFlagEvent)] == ["speaker-2"]  # it may be the candidate
    events = run_step(step, [said(NO_MONITORING, "interviewer", 0, revision=1)])
    assert [w.reason for w in of(events, WithdrawnEvent)] == ["speaker"]  # named: not the candidate's after all


def test_a_question_settled_later_counts_as_asked_once(step):
    run_step(step, [said(DRIFT, "candidate", 0), said(NO_MONITORING, "candidate", 1)])  # taken for the candidate
    assert step.advisor.state.asked == []
    events = run_step(step, [said(DRIFT, "interviewer", 0, revision=1)])
    (asked,) = of(events, QuestionAskedEvent)
    assert step.advisor.state.asked == [asked.id]
    (coverage,) = of(events, CoverageEvent)
    assert sum(s["asked"] for s in coverage.stages.values()) == 1
    assert of(events, SuggestionEvent)[0].after_utterance == 1  # after the latest utterance heard
    # The same speaker again changes nothing: nothing emitted, nothing counted twice.
    assert run_step(step, [said(DRIFT, "interviewer", 0, revision=2)]) == []
    assert step.advisor.state.asked == [asked.id]


def test_text_revision_withdraws_the_alert_and_the_report_shows_the_settled_state(step, tmp_path):
    record = tmp_path / "session.jsonl"
    sink = JsonlSink(path=record)
    events = run_step(step, [said("By the way, how old", "interviewer", 0, final=False),
                               said(FORBIDDEN, "interviewer", 0),
                               said(NO_MONITORING, "interviewer", 1),
                               said(DRIFT, "interviewer", 0, revision=1),  # the second pass heard better
                               said(NO_MONITORING, "candidate", 1, revision=1)])  # the speaker settled
    for event in events:
        sink.write(event)
    sink.close()
    withdrawn = of(events, WithdrawnEvent)
    assert [(w.of, w.reason) for w in withdrawn] == [("compliance", "text")]
    report = render_report(load_session(record))
    compliance = report.split("## Compliance alerts")[1].split("##")[0]
    assert "_None" in compliance and "Age" not in compliance
    questions = report.split("## Questions asked")[1].split("## Competencies")[0]
    drift = next(e for e in of(events, QuestionAskedEvent) if e.utterance_id == 0)
    assert drift.text.replace("?", "")[:30] in questions.replace("\\", "")
    assert "(1)" in questions  # one question: the statement asked nothing
    flags = report.split("## Red flags")[1].split("## Compliance")[0]
    assert "Cannot explain how to monitor" in flags


def test_report_counts_a_confirmed_alert_once_and_never_a_provisional_one(step, tmp_path):
    record = tmp_path / "session.jsonl"
    sink = JsonlSink(path=record)
    for event in run_step(step, [said("By the way, how old", "interviewer", 0, final=False),
                                   said(FORBIDDEN, "interviewer", 0),
                                   said("Are you planning to have children", "interviewer", 1, final=False)]):
        sink.write(event)  # the session ends before utterance 1's final: its alert stays provisional
    sink.close()
    session = load_session(record)
    assert [(e["id"], e["provisional"]) for e in session.settled("compliance")] == [("age", False)]
    assert render_report(session).count("### Age") == 1


# -- the terminal --------------------------------------------------------------------


def scripted(step):
    return run_step(step, [said("By the way, how old", "interviewer", 0, final=False),
                             said(FORBIDDEN, "interviewer", 0),
                             said("By the way, how old", "interviewer", 1, final=False),
                             said("By the way, how old is your data pipeline?", "interviewer", 1)])


def test_line_printer_shows_each_alert_once_and_takes_back_what_it_printed(step):
    out = io.StringIO()
    printer = LinePrinter(Console(file=out, width=200, color_system=None))
    events = scripted(step)
    for event in events:
        printer.write(event)
    lines = out.getvalue().splitlines()
    alerts = of(events, ComplianceEvent)
    assert len(alerts) == 3 and len({a.key for a in alerts}) == 2  # provisional + confirmation, provisional
    shown = [line for line in lines if "do not ask Age" in line]
    assert len(shown) == 2 and all("(still being asked)" in line for line in shown)  # each key printed once
    assert [w.key for w in of(events, WithdrawnEvent)] == [alerts[2].key]
    assert sum("✗ withdrawn do not ask age" in line for line in lines) == 1


def test_live_view_replaces_the_provisional_alert_in_place(step):
    console = Console(file=io.StringIO(), width=100, height=30, color_system=None)
    view = LiveView(console)
    events = scripted(step)
    for event in events[:1]:
        view.write(event)
    assert [str(view._alerts(2))] == ["⚠ do not ask Age (still being asked) Ask instead: Are you at least eighteen "
                                      "years old?"]
    for event in events[1:]:
        view.write(event)
    view.close()
    shown = str(view._alerts(2)).splitlines()
    assert len(shown) == 1 and "do not ask Age" in shown[0] and "still being asked" not in shown[0]


def test_team_summary_counts_what_stands(step, tmp_path):
    from pipeline.batch.summary import Team, read_interview

    record = tmp_path / "interview.jsonl"
    sink = JsonlSink(path=record)
    for event in [*run_step(step, [said("By the way, how old", "interviewer", 0, final=False),
                                     said(FORBIDDEN, "interviewer", 0),
                                     said("By the way, how old", "interviewer", 1, final=False),
                                     said("By the way, how old is your data pipeline?", "interviewer", 1),
                                     said(NO_MONITORING, "interviewer", 2)]),
                  *run_step(step, [said(NO_MONITORING, "candidate", 2, revision=1)])]:
        sink.write(event)
    sink.close()
    interview = read_interview(record, Team())
    assert [a["id"] for a in interview.compliance] == ["age"]  # confirmed once; the withdrawn one not at all
    assert dict(interview.red_flags) == {"no-monitoring": 1} and not interview.questions
