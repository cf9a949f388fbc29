"""Voice a labelled utterance set with two espeak-ng voices and keep what the audio pipeline heard.

Each sentence goes through `spoken.voiced` (cached synthesis) -> segmenter -> transcriber, exactly
as `benchmarks.spoken` does, and the transcript is written beside the set, so the matcher
comparison (`benchmarks.understand`) scores transcripts without re-running ASR:

    python -m benchmarks.voiced_set benchmarks/data/test/ml-engineer.tsv

writes `benchmarks/data/test/heard/ml-engineer.tsv` (columns speaker, label, text = what was heard,
voice, said). A row is only rewritten when its sentence or voice changed.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import numpy as np

from pipeline.audio import SAMPLE_RATE
from benchmarks.matcher_eval import read_tsv
from benchmarks.spoken import VOICES, voiced

TEST_VOICES = (VOICES[0], VOICES[2])  # en-us at 175 wpm, en+f3 (a female variant)
FIELDS = ("speaker", "label", "question", "text", "voice", "said")  # the question as written, not voiced


def heard_path(path: Path) -> Path:
    return path.parent / "heard" / path.name


def heard_text(audio: np.ndarray, transcriber, speaker: str) -> str:
    from pipeline.audio.segmenter import Segmenter

    seg = Segmenter(speaker)
    transcriber.reset()
    utterances = [*seg.feed(np.concatenate([audio, np.zeros(SAMPLE_RATE, np.float32)])), *seg.flush()]
    return " ".join(t for u in utterances if not u.speculative and (t := transcriber.transcribe(u).text))


def voice_set(path: Path, transcriber=None) -> Path:
    out = heard_path(path)
    done: dict[tuple[str, str], dict] = {}
    if out.exists():
        with open(out, newline="", encoding="utf-8") as f:
            done = {(r["said"], r["voice"]): r for r in csv.DictReader(f, delimiter="\t")}
    if transcriber is None:
        from pipeline.audio.transcriber import Transcriber

        transcriber = Transcriber()
    rows = []
    for row in read_tsv(path):
        for voice in TEST_VOICES:
            old = done.get((row.text, voice.label))
            text = old["text"] if old else heard_text(voiced(row.text, voice), transcriber, row.speaker)
            rows.append({"speaker": row.speaker, "label": row.label, "question": row.question, "text": text,
                         "voice": voice.label,
                         "said": row.text})
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, FIELDS, delimiter="\t", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return out


def main() -> int:
    for arg in sys.argv[1:]:
        print(voice_set(Path(arg)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
