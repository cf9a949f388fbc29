"""The live path, for real: a short two-channel clip replayed at real-time pace (not `--fast`)
through the real engine (speculation, partials, pieced turns, early end of turn, the second pass
on its own thread), real Whisper and the real interview step.

The clip (about 22 s): the interviewer asks a forbidden question in one long breath (espeak), while
the candidate laughs on their own channel (synthesized laughter); a pause; the candidate's long
answer from the demo (Piper's voice, 11 s: committed in pieces). The second pass is the real one
behind a hold: its first revision waits until a later final has gone out (so a ready final is
seen not to wait for it), and every revision hears one word more (so a revision is certain).
"""

from __future__ import annotations

import io
import threading

import numpy as np
import pytest
from conftest import compose, silence, write_wav

from pipeline.audio import SAMPLE_RATE
from pipeline.audio.sources import FileSource, decode_file
from benchmarks.nonspeech import synthesized
from pipeline.demo import DEMO
from pipeline.events import ComplianceEvent, RetractedEvent, TranscriptEvent

QUESTION = "How old are you now, since our team likes to plan the whole schedule around everyone's age and family life."
ANSWER_S = (51.0, 62.4)  # the demo's accuracy-only answer
LAUGH_AT = 1.0  # s: the candidate laughs while the question is asked


class HeldSecondPass:
    """The real transcriber whose second pass (its real twin) holds its first revision until
    `release` and hears one more word in every revision."""

    def __init__(self, real) -> None:
        self.real = real
        self.started, self.release = threading.Event(), threading.Event()

    def __getattr__(self, name):
        return getattr(self.real, name)

    def twin(self, model: str = ""):
        return HeldTwin(self.real.twin(model), self)


class HeldTwin:
    def __init__(self, real, held: HeldSecondPass) -> None:
        self.real, self.held = real, held

    def __getattr__(self, name):
        return getattr(self.real, name)

    def redecode(self, utterance, context, beam_size, fit_window):
        self.held.started.set()
        self.held.release.wait(30)
        return self.real.redecode(utterance, context, beam_size, fit_window) + " Indeed."


@pytest.fixture(scope="module")
def clip(tts, workdir):
    question = compose([silence(0.3), QUESTION, silence(2.0)], tts).audio
    answer = decode_file(DEMO, 2)[1, int(ANSWER_S[0] * SAMPLE_RATE): int(ANSWER_S[1] * SAMPLE_RATE)]
    laugh = next(c for c in synthesized() if c.name.startswith("laugh 1")).audio
    n = len(question) + len(answer) + SAMPLE_RATE
    stereo = np.zeros((2, n), np.float32)
    stereo[0, : len(question)] = question
    at = int(LAUGH_AT * SAMPLE_RATE)
    stereo[1, at: at + len(laugh)] += laugh
    stereo[1, len(question): len(question) + len(answer)] = answer
    return write_wav(workdir / "live-path.wav", stereo), LAUGH_AT, LAUGH_AT + len(laugh) / SAMPLE_RATE


@pytest.fixture(scope="module")
def run(clip, loaded_transcriber):
    """The clip through `engine_for(..., "paced")` as `s2q replay` runs it; every event, in order,
    and how many first finals went out while the first revision was held."""
    from pipeline.interview import build_interview_step
    from pipeline.session.build import engine_for
    from pipeline.session.config import PARTIAL_EVERY_S, SessionConfig

    loaded_transcriber.reset()
    held = HeldSecondPass(loaded_transcriber)
    engine = engine_for(SessionConfig(partial_every_s=PARTIAL_EVERY_S), "paced",
                        [FileSource(clip[0], ["interviewer", "candidate"], realtime=True)], held,
                        build_interview_step())
    events, out_while_held = [], 0
    for event in engine.events():
        events.append(event)
        if isinstance(event, TranscriptEvent) and event.final and not event.revision and held.started.is_set() \
                and not held.release.is_set():
            out_while_held += 1
            held.release.set()  # a final went out while a revision was running: let it finish
    held.release.set()
    return events, out_while_held, clip[1:]


def transcripts(events) -> list[TranscriptEvent]:
    return [e for e in events if isinstance(e, TranscriptEvent)]


def test_a_forbidden_question_warns_while_asked_and_is_confirmed(run):
    events, _, _ = run
    age = [e for e in events if isinstance(e, ComplianceEvent) and e.id == "age"]
    assert age and age[0].provisional, ([(e.provisional, e.quote) for e in age],
                                        [(e.final, e.text) for e in transcripts(events) if e.speaker == "interviewer"])
    assert not age[-1].provisional and age[-1].key == age[0].key  # the same alert, confirmed in place
    first_final = next(e for e in transcripts(events) if e.final and e.speaker == "interviewer")
    assert events.index(age[0]) < events.index(first_final)  # warned before the question's final line


def test_a_ready_final_goes_out_while_a_revision_is_running(run):
    _, out_while_held, _ = run
    assert out_while_held == 1


def test_a_revision_replaces_its_line(run):
    events, _, _ = run
    revised = [e for e in transcripts(events) if e.revision and e.text.endswith("Indeed.")]
    assert revised
    first = next(e for e in transcripts(events) if e.final and e.utterance_id == revised[0].utterance_id)
    assert first.revision == 0 and not first.text.endswith("Indeed.")
    assert (revised[0].start, revised[0].speaker) == (first.start, first.speaker)


def test_laughter_on_the_candidates_channel_writes_no_line(run):
    events, _, (laugh_start, laugh_end) = run
    heard = [e for e in transcripts(events) if e.speaker == "candidate" and e.start < laugh_end + 0.3]
    assert heard == [], [(e.start, e.text) for e in heard]
    answer = [e for e in transcripts(events) if e.speaker == "candidate" and e.final]
    assert answer and "accuracy" in answer[0].text.lower()  # the candidate's speech itself is heard


def test_every_partial_line_ends_in_a_final_or_a_retraction_with_its_id(run):
    events, _, _ = run
    partial_ids = {e.utterance_id for e in transcripts(events) if not e.final}
    assert partial_ids  # partials were sent (a long turn in pieces, a question with a tail)
    for uid in partial_ids:
        last_partial = max(i for i, e in enumerate(events) if isinstance(e, TranscriptEvent) and not e.final
                           and e.utterance_id == uid)
        ends = [e for e in events[last_partial:] if getattr(e, "utterance_id", None) == uid
                and (isinstance(e, RetractedEvent) or (isinstance(e, TranscriptEvent) and e.final))]
        assert ends, f"partial line {uid} never ended"


def test_the_terminal_view_keeps_no_partial_line_after_the_session(run):
    from rich.console import Console

    from pipeline.sinks.terminal import LiveView

    events, _, _ = run
    view = LiveView(Console(file=io.StringIO(), force_terminal=True, width=120, height=60))
    for event in events:
        view.write(event)
    view.close()
    assert view.partial == {}
    lines = {e.utterance_id: e.text for e in view.lines}
    revised = {e.utterance_id: e.text for e in transcripts(events) if e.final}  # the last of each
    assert lines == revised


def test_the_web_panel_keeps_no_partial_line_after_the_session(run, tmp_path):
    """The run's record served by `s2q serve` and played in Chromium: one line per final, as revised."""
    import json

    from playwright import sync_api
    from test_web import CHROMIUM, CHROMIUM_ARGS, Served, page_state, wait_for

    events, _, _ = run
    (tmp_path / "live.jsonl").write_text("".join(json.dumps(e.to_dict()) + "\n" for e in events))
    served = Served("serve", str(tmp_path), "--no-browser")
    try:
        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(served.url)
            page.click("a[href^='/s/live.jsonl/?']")  # its panel (the folder's name may say "panel" too)
            wait_for(page, "() => document.body.dataset.ended === 'true'")
            lines = page_state(page)["lines"]
            browser.close()
        assert errors == []
    finally:
        assert served.stop() == 0
    assert [line for line in lines if line["partial"]] == []
    finals = {e.utterance_id: e.text for e in transcripts(events) if e.final}  # the last of each
    assert {int(line["utterance"]): line["text"] for line in lines} == finals
