"""Real-speech set beyond Asterisk: Codec 2's sample recordings (Debian `codec2-examples`, LGPL-2.1).

Several real speakers, 8 kHz telephone band: read Harvard-style sentences, and amateur-radio
calls that are spontaneous speech (a 112 s monologue, a CQ call, a test count). The
references live in benchmarks/data/codec2_speech.tsv: the read sentences are the published
ones; the radio calls were drafted from Whisper base and tiny (whole clip, beam 5), agreed
where they agree and corrected by hand for names (Sackville, Bay of Fundy, Moncton, Codec 2);
they were not checked by listening, so read this set's WER as relative, not absolute.

    apt-get install codec2-examples
    python -m pipeline.bench.radiospeech        # clip count, minutes, tiny.en whole-clip WER
"""

from __future__ import annotations

import csv
import sys
import wave
from pathlib import Path

import numpy as np

from pipeline.bench import DATA
from pipeline.bench.realspeech import RealClip, audio_duration, transcribe_clips
from pipeline.bench.wer import wer

APT_PACKAGE = "codec2-examples"
ROOT = Path("/usr/share/codec2")
REFERENCES = DATA / "codec2_speech.tsv"
RAW_RATE = 8000  # the .raw files are headerless 16-bit mono at 8 kHz
CACHE = Path.home() / ".cache" / "s2q" / "radiospeech"


def _as_wav(path: Path) -> Path:
    """Headerless .raw -> a cached .wav that the audio decoder can read."""
    if path.suffix != ".raw":
        return path
    out = CACHE / (path.stem + ".wav")
    if not out.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        pcm = np.fromfile(path, "<i2")
        with wave.open(str(out), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(RAW_RATE)
            w.writeframes(pcm.tobytes())
    return out


def load_radio_speech_set(root: Path = ROOT) -> list[RealClip]:
    """Every clip of the reference list that is installed, in list order."""
    if not root.is_dir():
        raise RuntimeError(f"Radio-speech set: {root} is missing; install it with:\n    apt-get install -y {APT_PACKAGE}")
    clips = []
    with open(REFERENCES, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            path = root / row["file"]
            if path.exists():
                wav = _as_wav(path)
                clips.append(RealClip(path=wav, text=row["text"], duration=audio_duration(wav) or 0.0,
                                      id=Path(row["file"]).stem))
    if not clips:
        raise RuntimeError(f"Radio-speech set: no clips under {root}; install with:\n    apt-get install -y {APT_PACKAGE}")
    return clips


def main() -> int:
    try:
        clips = load_radio_speech_set()
    except RuntimeError as e:
        print(e, file=sys.stderr)
        return 2
    hyps = transcribe_clips(clips)
    print(f"{len(clips)} clips, {sum(c.duration for c in clips) / 60:.2f} min; "
          f"tiny.en whole clip greedy WER {wer([c.text for c in clips], hyps):.2%}")
    for c, h in zip(clips, hyps):
        print(f"  {wer([c.text], [h]):6.1%} {c.id}: {h}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
