"""Whisper's log-mel features in numpy, as the end-of-turn model (Smart Turn v3) was trained on them.

The model expects exactly what `transformers.WhisperFeatureExtractor(chunk_length=8)` computes
with `do_normalize=True`: 8 s of 16 kHz audio, the waveform scaled to zero mean and unit
variance, a centred 400-point STFT every 160 samples with a periodic Hann window, 80 Slaney mel
bands from 0 to 8 kHz, log10, the last frame dropped, a floor 8 below the peak and (x + 4) / 4.
Written here after reading pipecat-ai 1.14.0's `pipecat/audio/turn/smart_turn/_whisper_features.py`
(BSD-2-Clause, Daily; itself derived from Hugging Face Transformers, Apache-2.0), so the run time
needs neither pipecat nor transformers. tests/test_turn_end_model.py checks the features through
the model's answers.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from pipeline.audio import SAMPLE_RATE

N_FFT = 400
HOP = 160
N_MELS = 80


def _hz_to_mel(hz: np.ndarray) -> np.ndarray:
    """Slaney's mel scale: linear below 1 kHz, logarithmic above."""
    hz = np.asarray(hz, dtype=np.float64)
    step = np.log(6.4) / 27.0
    return np.where(hz < 1000.0, 3.0 * hz / 200.0, 15.0 + np.log(np.maximum(hz, 1e-12) / 1000.0) / step)


def _mel_to_hz(mel: np.ndarray) -> np.ndarray:
    mel = np.asarray(mel, dtype=np.float64)
    step = np.log(6.4) / 27.0
    return np.where(mel < 15.0, 200.0 * mel / 3.0, 1000.0 * np.exp(step * (mel - 15.0)))


@lru_cache(maxsize=1)
def mel_filters() -> np.ndarray:
    """(N_FFT // 2 + 1, N_MELS) triangles between mel-spaced edges, each scaled to unit area (Slaney)."""
    edges = _mel_to_hz(np.linspace(_hz_to_mel(0.0), _hz_to_mel(SAMPLE_RATE / 2), N_MELS + 2))
    bins = np.linspace(0, SAMPLE_RATE // 2, N_FFT // 2 + 1)
    lower, centre, upper = edges[:-2], edges[1:-1], edges[2:]
    rising = (bins[:, None] - lower) / (centre - lower)
    falling = (upper - bins[:, None]) / (upper - centre)
    return np.maximum(0.0, np.minimum(rising, falling)) * (2.0 / (upper - lower))


@lru_cache(maxsize=1)
def _window() -> np.ndarray:
    return np.hanning(N_FFT + 1)[:-1]  # periodic, as torch.hann_window


def fit_window(audio: np.ndarray, seconds: float) -> np.ndarray:
    """The last `seconds` of audio, zero-padded at the front when shorter (the model hears the end)."""
    n = int(seconds * SAMPLE_RATE)
    audio = np.asarray(audio, dtype=np.float32)[-n:]
    return np.pad(audio, (n - len(audio), 0)) if len(audio) < n else audio


def log_mel(audio: np.ndarray) -> np.ndarray:
    """(N_MELS, len(audio) // HOP) float32 features of 16 kHz audio (normalised waveform first)."""
    x = np.asarray(audio, dtype=np.float32)
    x = (x - x.mean()) / np.sqrt(x.var() + 1e-7)
    padded = np.pad(x.astype(np.float64), N_FFT // 2, mode="reflect")
    frames = np.lib.stride_tricks.sliding_window_view(padded, N_FFT)[::HOP]
    power = np.abs(np.fft.rfft(frames * _window(), axis=-1)) ** 2  # (frames, bins)
    mel = np.log10(np.maximum(power @ mel_filters(), 1e-10)).T[:, :-1]
    mel = np.maximum(mel, mel.max() - 8.0)
    return ((mel + 4.0) / 4.0).astype(np.float32)
