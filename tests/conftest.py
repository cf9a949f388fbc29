"""Shared fixtures: real speech made with espeak-ng, files made with sox/PyAV, one Whisper model.

Everything is built once per session under pytest's tmp_path_factory; tests use
real parts only (espeak-ng, sox, PyAV, webrtcvad, faster-whisper tiny.en).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pytest


def pytest_configure(config):
    """`make test` started as a background job (nohup, a runner without job control) inherits SIGINT
    ignored, and so would every s2q the tests start: their Ctrl-C tests would then see an s2q that
    cannot be interrupted. Python's own handler here makes children start with SIGINT at its default."""
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


os.environ.setdefault("HF_HUB_OFFLINE", "1")

SR = 16000
VOICE = "en-us"
# Above sox's dither (a few LSB), below any spoken sound espeak makes.
SPEECH_THRESHOLD = 1e-3

# Simple sentences that tiny.en transcribes well from espeak's voice.
SENTENCE_A = "Please tell me about your last job."
SENTENCE_B = "I like to read books in the morning."
SENTENCE_C = "We built a model to predict sales."
SENTENCE_D = "The dog ran to the park."
MONOLOGUE = [
    "I started my career as a data analyst at a small company.",
    "Then I moved into machine learning and built models for sales.",
    "We trained the models every week and checked the results.",
    "Later I led a team of four engineers working on search.",
    "We shipped a new ranking system that made users happier.",
    "I also care about testing and monitoring in production.",
    "My favourite project was a forecast for the warehouse.",
    "It saved the company a lot of money every month.",
]


def run(cmd: list[str]) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[0]} failed ({proc.returncode}): {proc.stderr.strip()}")


# -- audio helpers (independent of pipeline.audio, so they can check it) --------


def read_wav(path: str | Path) -> tuple[np.ndarray, int]:
    """16-bit PCM wav -> float32 (channels, samples), rate."""
    with wave.open(str(path)) as w:
        ch, rate, n = w.getnchannels(), w.getframerate(), w.getnframes()
        assert w.getsampwidth() == 2, "helpers only read 16-bit wav"
        data = np.frombuffer(w.readframes(n), "<i2").astype(np.float32) / 32768.0
    return data.reshape(-1, ch).T.copy(), rate


def write_wav(path: str | Path, audio: np.ndarray, rate: int = SR) -> Path:
    """float32 (samples,) or (channels, samples) -> 16-bit PCM wav."""
    audio = np.atleast_2d(np.asarray(audio, dtype=np.float32))
    pcm = (np.clip(audio, -1.0, 1.0) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(audio.shape[0])
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.T.copy().tobytes())
    return Path(path)


def wav_duration(path: str | Path) -> float:
    with wave.open(str(path)) as w:
        return w.getnframes() / w.getframerate()


def speech_bounds(x: np.ndarray, threshold: float = SPEECH_THRESHOLD) -> tuple[int, int]:
    """First and one-past-last sample louder than the threshold."""
    loud = np.nonzero(np.abs(x) > threshold)[0]
    assert len(loud), "no sound in clip"
    return int(loud[0]), int(loud[-1]) + 1


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(round(seconds * SR)), np.float32)


def white_noise(seconds: float, dbfs: float, seed: int = 0) -> np.ndarray:
    """Gaussian white noise with the given RMS level."""
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(int(round(seconds * SR))) * 10 ** (dbfs / 20)).astype(np.float32)


def dbfs(x: np.ndarray) -> float:
    return 20 * np.log10(float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) + 1e-12)


def normalise_text(text: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9' ]", " ", text.lower()).split())


def wer(reference: str, hypothesis: str) -> float:
    import jiwer

    hyp = normalise_text(hypothesis)
    return jiwer.wer(normalise_text(reference), hyp if hyp else "<empty>")


def encode_mp3(src_wav: Path, dst: Path) -> Path:
    """sox here has no MP3 writer: encode with PyAV's libmp3lame instead."""
    import av

    audio, rate = read_wav(src_wav)
    layout = "mono" if audio.shape[0] == 1 else "stereo"
    pcm = (np.clip(audio, -1, 1) * 32767).astype(np.int16)
    with av.open(str(dst), "w", format="mp3") as out:
        stream = out.add_stream("libmp3lame", rate=rate, layout=layout)
        stream.bit_rate = 64000 if rate < 16000 else 128000
        frame = av.AudioFrame.from_ndarray(pcm, format="s16p", layout=layout)
        frame.sample_rate = rate
        for packet in stream.encode(frame):
            out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return dst


@dataclass
class Speech:
    """A synthetic recording and where the speech in it actually is (seconds)."""

    audio: np.ndarray  # float32 mono 16 kHz
    spans: list[tuple[float, float]]
    texts: list[str]

    @property
    def duration(self) -> float:
        return len(self.audio) / SR


def compose(parts: list[np.ndarray | str], say: Callable[[str], np.ndarray]) -> Speech:
    """Concatenate silences (arrays) and sentences (strings), noting each sentence's span."""
    chunks, spans, texts, pos = [], [], [], 0
    for part in parts:
        if isinstance(part, str):
            clip = say(part)
            spans.append((pos / SR, (pos + len(clip)) / SR))
            texts.append(part)
        else:
            clip = part
        chunks.append(clip)
        pos += len(clip)
    return Speech(np.concatenate(chunks).astype(np.float32), spans, texts)


# -- fixtures -------------------------------------------------------------------


@pytest.fixture(scope="session")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("s2q-audio")


@pytest.fixture(scope="session")
def tts(workdir) -> Callable[[str], np.ndarray]:
    """text -> float32 16 kHz mono speech, trimmed so speech starts at sample 0 and ends at the last."""
    assert shutil.which("espeak-ng"), "espeak-ng is required (apt-get install espeak-ng)"
    assert shutil.which("sox"), "sox is required (apt-get install sox)"
    cache: dict[str, np.ndarray] = {}

    def say(text: str) -> np.ndarray:
        if text not in cache:
            n = len(cache)
            raw, wav16 = workdir / f"tts{n}-raw.wav", workdir / f"tts{n}.wav"
            run(["espeak-ng", "-v", VOICE, "-s", "150", "-w", str(raw), text])
            run(["sox", str(raw), "-r", str(SR), "-c", "1", "-b", "16", str(wav16)])
            audio = read_wav(wav16)[0][0]
            a, b = speech_bounds(audio)
            cache[text] = audio[a:b].copy()
        return cache[text]

    return say


@pytest.fixture(scope="session")
def espeak_source(workdir) -> tuple[Path, float]:
    """espeak-ng's own output (22.05 kHz mono wav) and its exact duration: the source for format tests."""
    path = workdir / "source-22k.wav"
    run(["espeak-ng", "-v", VOICE, "-s", "150", "-w", str(path), "The weather is nice today, and the sun is out."])
    return path, wav_duration(path)


@pytest.fixture(scope="session")
def make_format(workdir, espeak_source) -> Callable[..., Path]:
    """(ext, rate, channels, side) -> the espeak clip in that format.

    Stereo files carry the speech on one side only (`side` "left" or "right"),
    the other channel silent.
    """
    src, _ = espeak_source
    cache: dict[tuple, Path] = {}

    def make(ext: str, rate: int, channels: int = 1, side: str = "left") -> Path:
        key = (ext, rate, channels, side)
        if key not in cache:
            base = workdir / f"fmt-{rate}-{channels}ch-{side}"
            wav = base.with_suffix(".wav")
            if not wav.exists():
                remix = [] if channels == 1 else (["remix", "1", "0"] if side == "left" else ["remix", "0", "1"])
                run(["sox", str(src), "-r", str(rate), "-b", "16", str(wav)] + remix)
            out = base.with_suffix("." + ext)
            if ext == "mp3":
                encode_mp3(wav, out)
            elif ext != "wav":
                run(["sox", str(wav), str(out)])
            cache[key] = out
        return cache[key]

    return make


@pytest.fixture(scope="session")
def reference_16k(workdir, espeak_source) -> np.ndarray:
    """The espeak source resampled to 16 kHz by sox: what decoding should give, near enough."""
    src, _ = espeak_source
    out = workdir / "reference-16k.wav"
    run(["sox", str(src), "-r", str(SR), "-b", "16", str(out)])
    return read_wav(out)[0][0]


@pytest.fixture(scope="session")
def two_sentences(tts) -> Speech:
    """Two sentences separated by 1.5 s of digital silence."""
    return compose([silence(0.5), SENTENCE_A, silence(1.5), SENTENCE_B, silence(1.0)], tts)


@pytest.fixture(scope="session")
def monologue(tts) -> Speech:
    """Eight sentences with 0.3-0.4 s pauses: a > 25 s monologue."""
    rng = np.random.default_rng(7)
    parts: list = [silence(0.5)]
    for sentence in MONOLOGUE:
        parts += [sentence, silence(float(rng.uniform(0.3, 0.4)))]
    parts.append(silence(1.0))
    speech = compose(parts, tts)
    assert speech.spans[-1][1] - speech.spans[0][0] > 25.0
    return speech


@pytest.fixture(scope="session")
def loaded_transcriber():
    """The default Transcriber (bundled tiny.en on CPU), loaded once."""
    from pipeline.audio.transcriber import Transcriber

    t = Transcriber()
    t.warm_up()
    return t


@pytest.fixture
def transcriber(loaded_transcriber):
    """The loaded Transcriber with no speaker context: each test starts as a new session would."""
    loaded_transcriber.reset()
    return loaded_transcriber


# -- files for the CLI -----------------------------------------------------------


@pytest.fixture(scope="session")
def mono_clip(workdir, tts) -> tuple[Path, Speech]:
    speech = compose([silence(0.5), SENTENCE_A, silence(1.0)], tts)
    return write_wav(workdir / "clip-mono.wav", speech.audio), speech


@pytest.fixture(scope="session")
def stereo_dialog(workdir, tts) -> tuple[Path, Speech, Speech]:
    """Left: SENTENCE_C from 0.5 s. Right: SENTENCE_D from 1.5 s (they overlap in time)."""
    left = compose([silence(0.5), SENTENCE_C], tts)
    right = compose([silence(1.5), SENTENCE_D], tts)
    n = max(len(left.audio), len(right.audio)) + SR
    audio = np.zeros((2, n), np.float32)
    audio[0, : len(left.audio)] = left.audio
    audio[1, : len(right.audio)] = right.audio
    return write_wav(workdir / "dialog-stereo.wav", audio), left, right


@pytest.fixture(scope="session")
def long_replay_clip(workdir, tts) -> tuple[Path, Speech]:
    """About 20 s: six sentences with 1.5 s gaps, for the paced Ctrl-C test."""
    parts: list = [silence(0.5)]
    for s in (SENTENCE_A, SENTENCE_B, SENTENCE_C, SENTENCE_D, SENTENCE_A, SENTENCE_B):
        parts += [s, silence(1.5)]
    speech = compose(parts, tts)
    assert speech.duration > 18
    return write_wav(workdir / "long-replay.wav", speech.audio), speech


@pytest.fixture(scope="session")
def s2q_command() -> list[str]:
    """The installed console script next to this interpreter, else `python -m pipeline`."""
    script = Path(sys.executable).with_name("s2q")
    return [str(script)] if script.exists() else [sys.executable, "-m", "pipeline"]


@pytest.fixture(scope="session")
def cli_env() -> dict[str, str]:
    env = dict(os.environ)
    env["HF_HUB_OFFLINE"] = "1"
    env["PYTHONUNBUFFERED"] = "1"
    env.pop("PYTHONWARNINGS", None)
    return env


@pytest.fixture(scope="session")
def s2q(s2q_command, cli_env, workdir) -> Callable[..., subprocess.CompletedProcess]:
    def call(*args: str, timeout: float = 120, module: bool = False) -> subprocess.CompletedProcess:
        cmd = [sys.executable, "-m", "pipeline"] if module else s2q_command
        return subprocess.run(
            cmd + [str(a) for a in args], capture_output=True, text=True, env=cli_env, cwd=workdir,
            timeout=timeout,
        )

    return call
