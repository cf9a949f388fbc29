"""pipeline.engine: stopping. Ctrl-C keeps the speech in progress, within a bounded time."""

from __future__ import annotations

import threading
import time

from conftest import write_wav

from pipeline.audio.sources import FileSource
from pipeline.engine import Engine, EngineOptions
from pipeline.events import StatusEvent, Transcript, TranscriptEvent


class SlowTranscriber:
    """Stands in for Whisper when the point is time, not text: every utterance takes `seconds`."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def reset(self) -> None: ...

    def remember(self, utterance, text: str) -> None: ...

    def transcribe(self, utterance) -> Transcript:
        time.sleep(self.seconds)
        return Transcript(utterance, f"{utterance.duration:.1f} seconds of speech")

    def redecode(self, utterance, context: str, beam_size: int, fit_window: bool) -> str:
        return self.transcribe(utterance).text


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
