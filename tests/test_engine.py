"""pipeline.engine: stopping (Ctrl-C keeps the speech in progress, within a bounded time), and the
second pass on its own thread (a final never waits for a revision)."""

from __future__ import annotations

import os
import threading
import time

from conftest import compose, silence, write_wav

from pipeline.audio.sources import FileSource
from pipeline.engine import Engine, EngineOptions
from pipeline.events import StatusEvent, Transcript, TranscriptEvent


class SlowTranscriber:
    """Stands in for Whisper when the point is time, not text: every utterance takes `seconds`."""

    languages = None  # one language, fixed (not `auto`)

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def reset(self) -> None: ...

    def remember(self, utterance, text: str) -> None: ...

    def transcribe(self, utterance) -> Transcript:
        time.sleep(self.seconds)
        return Transcript(utterance, f"{utterance.duration:.1f} seconds of speech")

    def redecode(self, utterance, context: str, beam_size: int, fit_window: bool) -> str:
        return self.transcribe(utterance).text

    def twin(self, model: str = "") -> "SlowTranscriber":
        return SlowTranscriber(self.seconds)


def run_and_finish(path, transcriber, finish_after_s: float, timeout_s: float) -> list:
    engine = Engine([FileSource(path, ["candidate"], realtime=True)], transcriber,
                    options=EngineOptions(speculate=False, finish_timeout_s=timeout_s))
    threading.Timer(finish_after_s, engine.finish).start()
    return list(engine.events())


def test_finish_transcribes_the_speech_in_progress(monologue, workdir, transcriber):
    path = write_wav(workdir / "monologue-engine.wav", monologue.audio)
    events = run_and_finish(path, transcriber, finish_after_s=monologue.spans[1][1], timeout_s=10)
    finals = [e for e in events if isinstance(e, TranscriptEvent) and e.final]
    assert finals and finals[-1].end < monologue.spans[-1][0]  # stopped early, and kept what was said
    assert "built models for sales" in " ".join(e.text for e in finals).lower()  # said just before Ctrl-C
    assert not [e for e in events if isinstance(e, StatusEvent) and e.state == "cut"]


def test_finish_gives_up_after_its_timeout_and_says_so(monologue, workdir):
    path = write_wav(workdir / "monologue-engine.wav", monologue.audio)
    started = time.monotonic()
    events = run_and_finish(path, SlowTranscriber(30.0), finish_after_s=monologue.spans[1][1], timeout_s=0.5)
    assert time.monotonic() - started < 25  # did not wait for the 30 s transcription
    assert isinstance(events[-1], StatusEvent) and events[-1].state == "cut"


class HeldRevisions(SlowTranscriber):
    """The first pass at once; every revision is held until the test lets it go (or 30 s)."""

    def __init__(self) -> None:
        super().__init__(0.0)
        self.release = threading.Event()

    def twin(self, model: str = "") -> "HeldRevisions":
        return self

    def redecode(self, utterance, context: str, beam_size: int, fit_window: bool) -> str:
        self.release.wait(30)
        return "revised " + self.transcribe(utterance).text


def test_a_final_never_waits_behind_a_revision(tts, workdir):
    """Live, the second pass runs on its own thread with its own model: while it is still revising the
    first answer, the second answer's final goes out (the old worker would have held it)."""
    speech = compose([silence(0.3), "We trained the model every week.", silence(1.5),
                      "Then we checked the results.", silence(1.5)], tts)
    path = write_wav(workdir / "held-revisions.wav", speech.audio)
    transcriber = HeldRevisions()
    engine = Engine([FileSource(path, ["candidate"], realtime=True)], transcriber,
                    options=EngineOptions(speculate=False))
    order = []
    for event in engine.events():
        if isinstance(event, TranscriptEvent) and event.final:
            order.append((event.utterance_id, event.revision))
            if len({uid for uid, _ in order}) == 2:
                transcriber.release.set()  # the second final is out: let the revisions finish
    first, second = sorted({uid for uid, _ in order})
    assert order.index((second, 0)) < order.index((first, 1))  # the final did not wait
    assert (second, 1) in order  # every final still got its pass, at the end of the input


def test_the_second_pass_model_computes_at_idle_priority(transcriber):
    """The twin's native threads run only when a CPU would idle; the caller's thread keeps its
    priority (an idle thread holding the GIL could stall the process)."""
    def threads() -> set[int]:
        return {int(t) for t in os.listdir("/proc/self/task")}

    from pipeline.audio.transcriber import Transcriber

    fresh = Transcriber(transcriber.opts)  # the shared one's twin may exist already
    before = threads()
    twin = fresh.twin()
    twin.warm_up()  # its thread pool starts with the first decode
    started = threads() - before
    assert started and all(os.sched_getscheduler(t) == os.SCHED_IDLE for t in started)
    assert os.sched_getscheduler(0) == os.SCHED_OTHER
    assert fresh.twin() is twin  # made once


class NoRoomForATwin(SlowTranscriber):
    def twin(self, model: str = ""):
        raise RuntimeError("cannot allocate memory for a second model")


def test_a_failed_second_pass_does_not_end_the_session(tts, workdir):
    speech = compose([silence(0.3), "We trained the model every week.", silence(1.5),
                      "Then we checked the results.", silence(1.5)], tts)
    path = write_wav(workdir / "no-twin.wav", speech.audio)
    engine = Engine([FileSource(path, ["candidate"], realtime=True)], NoRoomForATwin(0.0),
                    options=EngineOptions(speculate=False))
    events = list(engine.events())
    off = [e for e in events if isinstance(e, StatusEvent) and e.state == "second_pass_off"]
    assert len(off) == 1 and "cannot allocate memory" in off[0].message
    assert len([e for e in events if isinstance(e, TranscriptEvent) and e.final]) >= 2  # every answer heard
