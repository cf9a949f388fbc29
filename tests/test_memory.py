"""What the engine remembers: revision numbers of earlier finals, and how much audio it holds."""

import numpy as np

from pipeline.events import Transcript, TranscriptEvent, Utterance
from pipeline.memory import Finals


def final(uid: int, text: str = "hello there", speaker: str = "unknown") -> Transcript:
    return Transcript(Utterance(uid, speaker, uid * 3.0, uid * 3.0 + 2.0, np.ones(32000, np.float32)), text)


def test_a_revision_carries_the_rest_over_and_counts_up():
    finals = Finals()
    first = finals.keep(final(0))
    assert first.revision == 0
    assert finals.revise(0, speaker="unknown") is None  # nothing changed: nothing to emit
    by_voice = finals.revise(0, speaker="candidate")
    better = finals.revise(0, text="hello, there.")
    assert (by_voice.revision, by_voice.utterance.speaker, by_voice.text) == (1, "candidate", "hello there")
    assert (better.revision, better.utterance.speaker, better.text) == (2, "candidate", "hello, there.")
    event = TranscriptEvent.from_transcript(better)
    assert (event.utterance_id, event.revision, event.start, event.speaker) == (0, 2, 0.0, "candidate")
    assert finals.revise(7, text="never heard") is None


def test_only_recent_utterances_keep_their_audio():
    finals = Finals(keep_audio=2)
    for uid in range(5):
        finals.keep(final(uid))
    assert [len(finals.get(uid).utterance.audio) for uid in range(5)] == [0, 0, 0, 32000, 32000]
