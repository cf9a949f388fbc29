"""Voice embeddings (who is speaking, not what is said), with numpy and ONNX Runtime, never torch.

The model is Resemblyzer's GE2E speaker encoder (Wan et al. 2018; a 3-layer
LSTM over 40 mel bands, 256-d output, 1.4 M weights). Its ONNX graph ships in
the package (`pipeline/assets/voices/ge2e.onnx`, written at build time from the
`resemblyzer` wheel's checkpoint by `pipeline/audio/voice_graph.py`, no torch
and no `onnx` package); the mel front end is numpy and ONNX Runtime, which the
text embedder already needs, runs the network. A numpy LSTM gave the same
vectors but took ~0.3 s per 6 s utterance. `tests/test_speakers.py` checks the
result against Resemblyzer's own torch forward pass when torch is installed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipeline.audio.voice_graph import N_MELS, voice_graph

SAMPLE_RATE = 16000
N_FFT = 400  # 25 ms window
HOP = 160  # 10 ms step
PARTIAL_FRAMES = 160  # 1.6 s of audio per partial embedding, as the model was trained
TARGET_DBFS = -30.0  # Resemblyzer's volume normalisation (raised only)


@dataclass
class VoiceOptions:
    """How an utterance becomes one voice vector.

    Attributes:
      rate: partial windows (1.6 s each) per second of audio; their mean is the utterance's vector.
      min_coverage: a last partial window shorter than this share of 1.6 s is dropped
        (kept when it is the only one).
      weights: a GE2E checkpoint in Resemblyzer's format; None: the bundled graph
        (`pipeline/assets/voices/ge2e.onnx`, built from the `resemblyzer` wheel's checkpoint).
      threads: ONNX Runtime threads for one embedding (Whisper needs the other cores).
    """

    rate: float = 1.3
    min_coverage: float = 0.75
    weights: Path | None = None
    threads: int = 1


def _mel_filters() -> np.ndarray:
    """Slaney-style mel filterbank (librosa's default, which Resemblyzer used): (N_MELS, N_FFT//2+1)."""
    f_sp, min_log_hz, logstep = 200.0 / 3, 1000.0, np.log(6.4) / 27.0
    min_log_mel = min_log_hz / f_sp

    def hz_to_mel(f):
        return np.where(f >= min_log_hz, min_log_mel + np.log(np.maximum(f, 1e-10) / min_log_hz) / logstep, f / f_sp)

    def mel_to_hz(m):
        return np.where(m >= min_log_mel, min_log_hz * np.exp(logstep * (m - min_log_mel)), f_sp * m)

    fft_freqs = np.linspace(0, SAMPLE_RATE / 2, N_FFT // 2 + 1)
    mel_f = mel_to_hz(np.linspace(hz_to_mel(0.0), hz_to_mel(SAMPLE_RATE / 2.0), N_MELS + 2))
    fdiff = np.diff(mel_f)
    ramps = mel_f[:, None] - fft_freqs[None, :]
    lower = -ramps[:-2] / fdiff[:-1, None]
    upper = ramps[2:] / fdiff[1:, None]
    weights = np.maximum(0, np.minimum(lower, upper))
    weights *= (2.0 / (mel_f[2:N_MELS + 2] - mel_f[:N_MELS]))[:, None]
    return weights.astype(np.float32)


class VoiceEncoder:
    """16 kHz mono audio -> a unit-length 256-d voice vector (cosine similarity compares voices)."""

    def __init__(self, options: VoiceOptions | None = None) -> None:
        self.opts = options or VoiceOptions()
        graph = voice_graph(self.opts.weights)
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = self.opts.threads
        options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(graph, options, providers=["CPUExecutionProvider"])
        self.mel = _mel_filters()
        self.window = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(N_FFT) / N_FFT)).astype(np.float32)

    def mel_frames(self, audio: np.ndarray) -> np.ndarray:
        """Power mel spectrogram (not log), (frames, N_MELS), centred frames as librosa makes them."""
        padded = np.pad(audio.astype(np.float32), N_FFT // 2)
        n = 1 + (len(padded) - N_FFT) // HOP
        frames = np.lib.stride_tricks.as_strided(padded, (n, N_FFT), (padded.strides[0] * HOP, padded.strides[0]))
        spectrum = np.abs(np.fft.rfft(frames * self.window, axis=1)) ** 2
        return (spectrum.astype(np.float32) @ self.mel.T).astype(np.float32)

    def forward(self, mels: np.ndarray) -> np.ndarray:
        """(batch, frames, N_MELS) -> (batch, EMBEDDING_SIZE), unit length."""
        feed = np.ascontiguousarray(mels.transpose(1, 0, 2), dtype=np.float32)
        return self.session.run(["voice"], {"mels": feed})[0]

    def partials(self, audio: np.ndarray) -> tuple[np.ndarray, list[tuple[int, int]]]:
        """One vector per 1.6 s window (windows overlap), and each window's sample span."""
        audio = normalise_volume(audio)
        n_frames = int(np.ceil((len(audio) + 1) / HOP))
        step = max(1, round(SAMPLE_RATE / self.opts.rate / HOP))
        starts = list(range(0, max(1, n_frames - PARTIAL_FRAMES + step + 1), step))
        last = starts[-1] * HOP
        if len(starts) > 1 and (len(audio) - last) / (PARTIAL_FRAMES * HOP) < self.opts.min_coverage:
            starts.pop()
        need = (starts[-1] + PARTIAL_FRAMES) * HOP
        if need > len(audio):
            audio = np.pad(audio, (0, need - len(audio)))
        mel = self.mel_frames(audio)
        mels = np.stack([mel[s:s + PARTIAL_FRAMES] for s in starts])
        return self.forward(mels), [(s * HOP, (s + PARTIAL_FRAMES) * HOP) for s in starts]

    def warm_up(self) -> VoiceEncoder:
        """The first run allocates ONNX Runtime's buffers (~0.5 s): done before any audio arrives."""
        self.embed(np.zeros(SAMPLE_RATE, np.float32))
        return self

    def embed(self, audio: np.ndarray) -> np.ndarray:
        """The utterance's voice: the normalised mean of its partial vectors."""
        vectors, _ = self.partials(audio)
        mean = vectors.mean(axis=0)
        return (mean / max(float(np.linalg.norm(mean)), 1e-9)).astype(np.float32)


def unit(v: np.ndarray) -> np.ndarray:
    """Voice vectors (along the last axis) scaled to length 1, so a dot product is a cosine."""
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-9)


def normalise_volume(audio: np.ndarray) -> np.ndarray:
    """Quiet audio raised to TARGET_DBFS (the model sees power, not log power); loud audio kept."""
    audio = np.asarray(audio, np.float32)
    rms = float(np.sqrt(np.mean(audio.astype(np.float64) ** 2))) if len(audio) else 0.0
    if rms <= 1e-9:
        return audio
    change = TARGET_DBFS - 20 * np.log10(rms)
    return audio * np.float32(10 ** (change / 20)) if change > 0 else audio
