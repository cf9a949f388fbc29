"""Each step alone, without threads (`pipeline.steps.run_step`): real audio, real models."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import SR

from pipeline.audio.segmenter import Segmenter
from pipeline.audio.sources import AudioChunk
from pipeline.events import (
    ComplianceEvent,
    QuestionAskedEvent,
    RedFlagEvent,
    SuggestionEvent,
    Transcript,
    Utterance,
)
from pipeline.steps import run_step


def chunks(audio: np.ndarray, speaker: str, size: int = 480):
    for i in range(0, len(audio), size):
        yield AudioChunk(speaker, audio[i : i + size], i / SR)


def test_segmenter_alone_cuts_two_sentences(two_sentences):
    seg = Segmenter("candidate")
    utterances = run_step(seg.feed, chunks(two_sentences.audio, "candidate"), flush=seg.flush)
    assert len(utterances) == 2
    assert all(u.speaker == "candidate" and u.final for u in utterances)
    assert utterances[0].end < utterances[1].start  # in order, not overlapping


def transcript(text: str, speaker: str, uid: int) -> Transcript:
    u = Utterance(id=uid, speaker=speaker, start=float(uid), end=float(uid) + 2.0, audio=np.zeros(SR, np.float32))
    return Transcript(utterance=u, text=text)


@pytest.fixture(scope="module")
def interview_step():
    from pipeline.interview import build_interview_step

    return build_interview_step()


def test_matcher_alone_decides_per_sentence(interview_step):
    matcher = interview_step.matcher
    inputs = [("By the way, how old are you?", "interviewer"),
              ("Honestly we never monitored the model after it shipped.", "candidate"),
              ("Thanks, that's all from me today.", "interviewer")]
    results = run_step(lambda item: [matcher.match(*item)], inputs)
    assert [h.id for h in results[0].compliance] == ["age"]
    assert [h.id for h in results[1].red_flags] == ["no-monitoring"]
    assert not (results[2].questions or results[2].compliance or results[2].red_flags)


def test_interview_step_alone_turns_transcripts_into_events(interview_step):
    step = interview_step.fresh()
    events = run_step(step, [
        transcript("Tell me about a model you took to production.", "interviewer", 0),
        transcript("Honestly we never monitored the model after it shipped.", "candidate", 1),
    ])
    asked = [e for e in events if isinstance(e, QuestionAskedEvent)]
    flags = [e for e in events if isinstance(e, RedFlagEvent)]
    assert len(asked) == 1 and asked[0].speaker == "interviewer"
    assert [f.id for f in flags] == ["no-monitoring"]
    assert not [e for e in events if isinstance(e, ComplianceEvent)]
    last = [e for e in events if isinstance(e, SuggestionEvent)][-1]
    assert last.items and last.items[0]["kind"] == "probe"  # the red flag just raised is probed first
