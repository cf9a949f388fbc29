"""What `s2q bench` and its hearing levers measure: the demo, the radio and real-speech sets, or files."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from pipeline.bench.radiospeech import load_radio_speech_set
from pipeline.bench.realspeech import load_real_speech_set
from pipeline.demo import DEMO


@dataclass
class Input:
    path: Path
    speakers: list[str]
    reference: str | None  # what was said, for WER
    group: str  # demo | real_speech | file


def default_inputs(real_speech: bool) -> tuple[list[Input], str | None]:
    script = json.loads(DEMO.with_suffix(".json").read_text())
    inputs = [Input(DEMO, ["interviewer", "candidate"], " ".join(t["text"] for t in script["turns"]), "demo")]
    notes = []

    try:  # small (under 3 min of audio): always measured when installed
        inputs += [Input(c.path, ["candidate"], c.text, "radio_speech") for c in load_radio_speech_set()]
    except RuntimeError as exc:
        notes.append(f"radio-speech set skipped: {exc}")
    if real_speech:
        try:
            inputs += [Input(c.path, ["candidate"], c.text, "real_speech") for c in load_real_speech_set()]
        except RuntimeError as exc:
            notes.append(f"real-speech set skipped: {exc}")
    return inputs, "; ".join(notes) or None


def parse_inputs(specs: list[str]) -> list[Input]:
    out = []
    for spec in specs:
        path, _, channels = spec.partition(":")
        speakers = channels.split(",") if channels else ["unknown"]
        txt = Path(path).with_suffix(".txt")
        out.append(Input(Path(path), speakers, txt.read_text() if txt.exists() else None, "file"))
    return out
