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


# -- a session on speech, advice on: what the engine holds stays flat --------------------------------

SESSION = """
import json, sys, tracemalloc
from pathlib import Path

tracemalloc.start(1)  # numpy reports its buffers to tracemalloc too: the audio an engine keeps is counted
from pipeline.audio.sources import FileSource
from pipeline.session.build import build_engine
from pipeline.session.config import SessionConfig

from pipeline.audio.second_pass import SecondPassOptions

# Advice on: matcher, verifier, advisor, alerts. The archive second pass is off: "fast" keeps every final's
# audio until its revision (none shed, by design), which grows with the file and is not what this guards.
config = SessionConfig(channels=["interviewer", "candidate"], second_pass=SecondPassOptions(enabled=False))
engine = build_engine([FileSource(Path(sys.argv[1]), speakers=config.channels, realtime=False)], config, "fast")
marks, held, finals = [float(m) for m in sys.argv[2:]], {}, 0
for event in engine.events():
    finals += event.type == "transcript" and event.final
    end = getattr(event, "end", None) or 0.0
    for mark in marks:
        if end >= mark and mark not in held:
            held[mark] = tracemalloc.get_traced_memory()[0] / 1e6
print(json.dumps({"held_mb": [held.get(m) for m in marks], "finals": finals}))
"""


def test_memory_stays_flat_over_a_repeated_interview(tmp_path):
    """The demo's first 100 s (questions, answers, a red flag, a forbidden question) twice over, advice
    on: what Python holds (numpy's audio included) after the second pass is no more than after the
    first. Measured: 3.0 MB less (start-up buffers freed); keeping every utterance's audio instead of
    the last eight: 3.0 MB more. Allowed: 1 MB more.

    The 30-minute test in tests/test_hardening.py replays noise with --no-advice, where Whisper, the
    matcher and the stored finals never work; this one is short enough for every run (about 13 s)."""
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    from conftest import write_wav
    from demo_checks import DEMO

    from pipeline.audio.decode import decode_file

    clip = write_wav(tmp_path / "demo-100s-x2.wav", np.tile(decode_file(DEMO, 2)[:, : 100 * 16000], 2))
    root = Path(__file__).resolve().parents[1]
    proc = subprocess.run([sys.executable, "-c", SESSION, str(clip), "99", "199"], capture_output=True, text=True,
                          cwd=root, timeout=600, env={**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(root)})
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    first, second = result["held_mb"]
    print(f"\nheld after the first pass {first:.1f} MB, after the second {second:.1f} MB; {result['finals']} finals")
    assert result["finals"] >= 2 * 12, result  # the speech was heard each time (14 turns a pass)
    assert second - first < 1.0, result
