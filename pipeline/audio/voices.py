"""Voice embeddings (who is speaking, not what is said), with numpy and ONNX Runtime, never torch.

The model is Resemblyzer's GE2E speaker encoder (Wan et al. 2018; a 3-layer
LSTM over 40 mel bands, 256-d output, 1.4 M weights), whose trained weights
ship inside the `resemblyzer` wheel on PyPI (`resemblyzer/pretrained.pt`,
Apache-2.0). Only that file is used: the package is installed `--no-deps`
and never imported (it would import torch and librosa). The checkpoint is in
torch's legacy pickle format; `read_legacy_checkpoint` reads its tensors with
`pickle` and numpy, the mel front end is numpy, and the network is written
as an ONNX graph from those arrays (built in memory in milliseconds, no
export step) and run by ONNX Runtime, which the text embedder already needs.
A numpy LSTM gave the same vectors but took ~0.3 s per 6 s utterance. `tests/test_speakers.py`
checks the result against Resemblyzer's own torch forward pass when torch is
installed.
"""

from __future__ import annotations

import importlib.util
import pickle
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipeline.errors import S2QError

SAMPLE_RATE = 16000
N_FFT = 400  # 25 ms window
HOP = 160  # 10 ms step
N_MELS = 40
PARTIAL_FRAMES = 160  # 1.6 s of audio per partial embedding, as the model was trained
EMBEDDING_SIZE = 256
TARGET_DBFS = -30.0  # Resemblyzer's volume normalisation (raised only)


@dataclass
class VoiceOptions:
    """How an utterance becomes one voice vector.

    Attributes:
      rate: partial windows (1.6 s each) per second of audio; their mean is the utterance's vector.
      min_coverage: a last partial window shorter than this share of 1.6 s is dropped
        (kept when it is the only one).
      weights: a GE2E checkpoint in Resemblyzer's format; None: the one in the `resemblyzer` wheel.
      threads: ONNX Runtime threads for one embedding (Whisper needs the other cores).
    """

    rate: float = 1.3
    min_coverage: float = 0.75
    weights: Path | None = None
    threads: int = 1


def bundled_weights() -> Path:
    """`pretrained.pt` inside the installed `resemblyzer` package, found without importing it."""
    spec = importlib.util.find_spec("resemblyzer")
    locations = list(spec.submodule_search_locations or []) if spec else []
    for folder in locations:
        path = Path(folder) / "pretrained.pt"
        if path.exists():
            return path
    raise S2QError("the voice model is missing: install it with "
                   "`pip install --no-deps resemblyzer==0.1.4` (its wheel carries the weights)")


# -- reading torch's legacy checkpoint format without torch --------------------

_DTYPES = {"FloatStorage": np.float32, "DoubleStorage": np.float64, "LongStorage": np.int64,
           "IntStorage": np.int32, "HalfStorage": np.float16, "ByteStorage": np.uint8, "BoolStorage": np.bool_}


@dataclass
class _Lazy:
    storage: str
    offset: int
    size: tuple
    stride: tuple


def _rebuild_tensor(storage, offset, size, stride, *_):
    return _Lazy(storage, offset, tuple(size), tuple(stride))


def _rebuild_parameter(data, *_):
    return data


class _Unpickler(pickle.Unpickler):
    def __init__(self, f, storages: dict) -> None:
        super().__init__(f)
        self.storages = storages

    def find_class(self, module, name):
        if module == "collections" and name == "OrderedDict":
            import collections

            return collections.OrderedDict
        if module == "torch._utils" and name == "_rebuild_tensor_v2":
            return _rebuild_tensor
        if module == "torch._utils" and name == "_rebuild_parameter":
            return _rebuild_parameter
        if module == "torch" and name in _DTYPES:
            return name
        raise pickle.UnpicklingError(f"unexpected {module}.{name} in a voice checkpoint")

    def persistent_load(self, pid):
        typename, dtype_name, key, _location, _numel, view = pid
        if typename != "storage" or view is not None:
            raise pickle.UnpicklingError("unsupported storage in a voice checkpoint")
        self.storages[key] = np.dtype(_DTYPES[dtype_name])
        return key


def read_legacy_checkpoint(path: Path) -> dict:
    """Tensors of a checkpoint written by `torch.save` before torch 1.6 (no zip), as numpy arrays."""
    with open(path, "rb") as f:
        for _ in range(3):  # magic number, protocol version, system info
            pickle.load(f)
        dtypes: dict[str, np.dtype] = {}
        result = _Unpickler(f, dtypes).load()
        arrays = {}
        for key in pickle.load(f):
            (count,) = struct.unpack("<q", f.read(8))
            arrays[key] = np.frombuffer(f.read(count * dtypes[key].itemsize), dtype=dtypes[key])

    def realise(obj):
        if isinstance(obj, _Lazy):
            flat = arrays[obj.storage]
            item = flat.itemsize
            return np.lib.stride_tricks.as_strided(flat[obj.offset:], obj.size, [s * item for s in obj.stride]).copy()
        if isinstance(obj, dict):
            return {k: realise(v) for k, v in obj.items()}
        return obj

    return realise(result)


# -- the model ------------------------------------------------------------------


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


def lstm_graph(state: dict) -> bytes:
    """The encoder as an ONNX model, written from the checkpoint's arrays (no torch export needed):
    three ONNX `LSTM` nodes (gate order i, o, f, c; torch's is i, f, c, o), then linear, ReLU, L2 norm.
    Input `mels` (frames, batch, N_MELS); output `voice` (batch, EMBEDDING_SIZE)."""
    from onnx import TensorProto, helper, numpy_helper

    def reorder(w):  # torch (i, f, g, o) -> ONNX (i, o, f, g), along the first axis
        i, f, g, o = np.split(w, 4, axis=0)
        return np.concatenate([i, o, f, g], axis=0)

    inits, nodes, x = [], [], "mels"
    for k in range(3):
        w = reorder(state[f"lstm.weight_ih_l{k}"])[None]
        r = reorder(state[f"lstm.weight_hh_l{k}"])[None]
        b = np.concatenate([reorder(state[f"lstm.bias_ih_l{k}"]), reorder(state[f"lstm.bias_hh_l{k}"])])[None]
        for name, arr in (("W", w), ("R", r), ("B", b)):
            inits.append(numpy_helper.from_array(arr.astype(np.float32), f"{name}{k}"))
        nodes.append(helper.make_node("LSTM", [x, f"W{k}", f"R{k}", f"B{k}"], [f"Y{k}", f"H{k}"],
                                      hidden_size=int(r.shape[-1])))
        inits.append(numpy_helper.from_array(np.array([1], np.int64), f"axis{k}"))
        nodes.append(helper.make_node("Squeeze", [f"Y{k}", f"axis{k}"], [f"X{k}"]))
        x = f"X{k}"
    inits += [numpy_helper.from_array(state["linear.weight"].T.astype(np.float32), "LW"),
              numpy_helper.from_array(state["linear.bias"].astype(np.float32), "LB"),
              numpy_helper.from_array(np.array([0], np.int64), "axis_h")]
    nodes += [helper.make_node("Squeeze", ["H2", "axis_h"], ["h"]),
              helper.make_node("MatMul", ["h", "LW"], ["lin"]),
              helper.make_node("Add", ["lin", "LB"], ["pre"]),
              helper.make_node("Relu", ["pre"], ["raw"]),
              helper.make_node("LpNormalization", ["raw"], ["voice"], axis=1, p=2)]
    graph = helper.make_graph(
        nodes, "ge2e", [helper.make_tensor_value_info("mels", TensorProto.FLOAT, ["frames", "batch", N_MELS])],
        [helper.make_tensor_value_info("voice", TensorProto.FLOAT, ["batch", EMBEDDING_SIZE])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model.SerializeToString()


class VoiceEncoder:
    """16 kHz mono audio -> a unit-length 256-d voice vector (cosine similarity compares voices)."""

    def __init__(self, options: VoiceOptions | None = None) -> None:
        self.opts = options or VoiceOptions()
        path = self.opts.weights or bundled_weights()
        state = read_legacy_checkpoint(path)["model_state"]
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = self.opts.threads
        options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(lstm_graph(state), options, providers=["CPUExecutionProvider"])
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
