"""The GE2E voice encoder as an ONNX file, written from Resemblyzer's checkpoint with numpy only.

Resemblyzer's trained weights (`resemblyzer/pretrained.pt`, Apache-2.0) ship in
the `resemblyzer` wheel, in torch's legacy pickle format, next to code that
imports torch and librosa. At build time (`make onnx`, `tools/build_voice_onnx.py`)
the checkpoint is read with `pickle` and numpy and the network is written as an
ONNX graph into `pipeline/assets/voices/ge2e.onnx`, which the package ships: run
time needs neither torch, nor the `resemblyzer` wheel, nor the `onnx` package.
The graph's protobuf is written here by hand (a few message types of onnx.proto),
so a checkout whose asset is not built yet can still write it in memory, in
milliseconds, when `resemblyzer` is installed.
"""

from __future__ import annotations

import importlib.util
import pickle
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipeline.errors import S2QError

N_MELS = 40
EMBEDDING_SIZE = 256
BUNDLED = Path(__file__).resolve().parents[1] / "assets" / "voices" / "ge2e.onnx"
RESEMBLYZER = "resemblyzer==0.1.4"


def bundled_weights() -> Path:
    """`pretrained.pt` inside the installed `resemblyzer` package, found without importing it."""
    spec = importlib.util.find_spec("resemblyzer")
    locations = list(spec.submodule_search_locations or []) if spec else []
    for folder in locations:
        path = Path(folder) / "pretrained.pt"
        if path.exists():
            return path
    raise S2QError(f"the voice model is missing ({BUNDLED} is not built): run `make onnx` in a checkout, "
                   f"install a wheel from `make dist`, or `pip install --no-deps {RESEMBLYZER}`")


def voice_graph(weights: Path | None = None) -> bytes:
    """The encoder's ONNX bytes: from `weights` (a checkpoint) when given, else the bundled file,
    else written from the `resemblyzer` wheel's checkpoint."""
    if weights is None and BUNDLED.exists():
        return BUNDLED.read_bytes()
    return lstm_graph(read_legacy_checkpoint(weights or bundled_weights())["model_state"])


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


# -- a few ONNX protobuf messages, by hand (field numbers from onnx/onnx.proto) ---

def _varint(n: int) -> bytes:
    n &= (1 << 64) - 1  # negative int64 as two's complement
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _int(field: int, n: int) -> bytes:
    return _varint(field << 3) + _varint(n)


def _bytes(field: int, data: bytes | str) -> bytes:
    data = data.encode() if isinstance(data, str) else data
    return _varint(field << 3 | 2) + _varint(len(data)) + data


_FLOAT, _INT64 = 1, 7  # TensorProto.DataType
_ATTR_INT = 2  # AttributeProto.AttributeType


def _tensor(name: str, array: np.ndarray) -> bytes:
    kind = {np.dtype(np.float32): _FLOAT, np.dtype(np.int64): _INT64}[array.dtype]
    dims = b"".join(_int(1, d) for d in array.shape)
    raw = np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<")).tobytes()
    return dims + _int(2, kind) + _bytes(8, name) + _bytes(9, raw)


def _node(op: str, inputs: list[str], outputs: list[str], **ints: int) -> bytes:
    attrs = b"".join(_bytes(5, _bytes(1, k) + _int(3, v) + _int(20, _ATTR_INT)) for k, v in ints.items())
    return b"".join(_bytes(1, i) for i in inputs) + b"".join(_bytes(2, o) for o in outputs) + _bytes(4, op) + attrs


def _value_info(name: str, dims: list[int | str]) -> bytes:
    shape = b"".join(_bytes(1, _int(1, d) if isinstance(d, int) else _bytes(2, d)) for d in dims)
    return _bytes(1, name) + _bytes(2, _bytes(1, _int(1, _FLOAT) + _bytes(2, shape)))


def _model(nodes: list[bytes], inits: list[bytes], inputs: list[bytes], outputs: list[bytes]) -> bytes:
    graph = (b"".join(_bytes(1, n) for n in nodes) + _bytes(2, "ge2e") + b"".join(_bytes(5, t) for t in inits)
             + b"".join(_bytes(11, v) for v in inputs) + b"".join(_bytes(12, v) for v in outputs))
    opset = _bytes(1, "") + _int(2, 17)
    return _int(1, 8) + _bytes(2, "s2q") + _bytes(7, graph) + _bytes(8, opset)  # IR version 8, opset 17


def lstm_graph(state: dict) -> bytes:
    """The encoder as an ONNX model, written from the checkpoint's arrays (no torch export needed):
    three ONNX `LSTM` nodes (gate order i, o, f, c; torch's is i, f, c, o), then linear, ReLU, L2 norm.
    Input `mels` (frames, batch, N_MELS); output `voice` (batch, EMBEDDING_SIZE)."""

    def reorder(w):  # torch (i, f, g, o) -> ONNX (i, o, f, g), along the first axis
        i, f, g, o = np.split(w, 4, axis=0)
        return np.concatenate([i, o, f, g], axis=0)

    inits, nodes, x = [], [], "mels"
    for k in range(3):
        w = reorder(state[f"lstm.weight_ih_l{k}"])[None]
        r = reorder(state[f"lstm.weight_hh_l{k}"])[None]
        b = np.concatenate([reorder(state[f"lstm.bias_ih_l{k}"]), reorder(state[f"lstm.bias_hh_l{k}"])])[None]
        for name, arr in (("W", w), ("R", r), ("B", b)):
            inits.append(_tensor(f"{name}{k}", arr.astype(np.float32)))
        nodes.append(_node("LSTM", [x, f"W{k}", f"R{k}", f"B{k}"], [f"Y{k}", f"H{k}"], hidden_size=int(r.shape[-1])))
        inits.append(_tensor(f"axis{k}", np.array([1], np.int64)))
        nodes.append(_node("Squeeze", [f"Y{k}", f"axis{k}"], [f"X{k}"]))
        x = f"X{k}"
    inits += [_tensor("LW", state["linear.weight"].T.astype(np.float32)),
              _tensor("LB", state["linear.bias"].astype(np.float32)),
              _tensor("axis_h", np.array([0], np.int64))]
    nodes += [_node("Squeeze", ["H2", "axis_h"], ["h"]),
              _node("MatMul", ["h", "LW"], ["lin"]),
              _node("Add", ["lin", "LB"], ["pre"]),
              _node("Relu", ["pre"], ["raw"]),
              _node("LpNormalization", ["raw"], ["voice"], axis=1, p=2)]
    return _model(nodes, inits, [_value_info("mels", ["frames", "batch", N_MELS])],
                  [_value_info("voice", ["batch", EMBEDDING_SIZE])])
