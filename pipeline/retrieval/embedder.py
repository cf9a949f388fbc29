"""Sentence embeddings from the bundled all-MiniLM-L6-v2, normalised for cosine search.

At run time the model runs through ONNX Runtime with the `tokenizers` package:
it loads in under a second and embeds a sentence in a few milliseconds, where
importing sentence-transformers/torch alone takes seconds. The ONNX file is
exported once from the bundled weights (mean pooling and normalisation included,
as in the model's sentence-transformers config) and kept in the user's cache.
`tests/test_embedder.py` checks it against sentence-transformers itself.
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

import numpy as np

from pipeline.models import DEFAULT_EMBEDDER, resolve_model

MAX_TOKENS = 256  # all-MiniLM-L6-v2's max_seq_length
DIMENSIONS = 384


def default_onnx_dir() -> Path:
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("s2q")) / "onnx"


class Embedder:
    """Text -> unit-length float32 vectors. Loads lazily; `load()` warms it up."""

    def __init__(self, model: str = DEFAULT_EMBEDDER, onnx_dir: Path | None = None, threads: int = 1) -> None:
        self.name = model
        self.path = Path(resolve_model(model, "embedder"))
        self.onnx_dir = Path(onnx_dir or default_onnx_dir())
        self.threads = threads
        self._session = None
        self._tokenizer = None

    @property
    def key(self) -> str:
        """Identifies the embedder for caches: its name and its weights' config."""
        h = hashlib.sha256(self.name.encode())
        for f in ("config.json", "modules.json", "tokenizer.json"):
            p = self.path / f
            if p.exists():
                h.update(p.read_bytes())
        return h.hexdigest()[:12]

    @property
    def onnx_path(self) -> Path:
        return self.onnx_dir / f"{self.name}-{self.key}.onnx"

    def load(self) -> "Embedder":
        if self._session is not None:
            return self
        import onnxruntime as ort
        from tokenizers import Tokenizer

        if not self.onnx_path.exists():
            export_onnx(self.path, self.onnx_path)
        options = ort.SessionOptions()
        if self.threads:
            options.intra_op_num_threads = self.threads
        options.log_severity_level = 3
        self._session = ort.InferenceSession(str(self.onnx_path), options, providers=["CPUExecutionProvider"])
        tokenizer = Tokenizer.from_file(str(self.path / "tokenizer.json"))
        tokenizer.enable_truncation(MAX_TOKENS)
        tokenizer.enable_padding()
        self._tokenizer = tokenizer
        self.encode(["warm up"])
        return self

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        if not texts:
            return np.zeros((0, DIMENSIONS), np.float32)
        self.load()
        out = []
        for i in range(0, len(texts), batch_size):
            encodings = self._tokenizer.encode_batch(texts[i : i + batch_size])
            feed = {
                "input_ids": np.array([e.ids for e in encodings], np.int64),
                "attention_mask": np.array([e.attention_mask for e in encodings], np.int64),
                "token_type_ids": np.array([e.type_ids for e in encodings], np.int64),
            }
            out.append(self._session.run(None, feed)[0])
        return np.ascontiguousarray(np.concatenate(out), dtype=np.float32)


def export_onnx(model_dir: Path, target: Path) -> None:
    """One-time export of the transformer with mean pooling and L2 normalisation, via torch."""
    print(f"s2q: preparing the embedder for fast start-up (once): {target}", file=sys.stderr)
    import torch
    from transformers import AutoModel
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    model = AutoModel.from_pretrained(str(model_dir), local_files_only=True).eval()

    class Pooled(torch.nn.Module):
        def __init__(self, encoder):
            super().__init__()
            self.encoder = encoder

        def forward(self, input_ids, attention_mask, token_type_ids):
            hidden = self.encoder(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            mean = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(mean, dim=-1)

    ids = torch.ones((2, 8), dtype=torch.int64)
    axes = {"b": 0, "s": 1}
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(f".{os.getpid()}.tmp")
    import warnings

    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            Pooled(model),
            (ids, torch.ones_like(ids), torch.zeros_like(ids)),
            str(tmp),
            input_names=["input_ids", "attention_mask", "token_type_ids"],
            output_names=["embedding"],
            dynamic_axes={
                "input_ids": dict(zip(axes.values(), axes)),
                "attention_mask": dict(zip(axes.values(), axes)),
                "token_type_ids": dict(zip(axes.values(), axes)),
                "embedding": {0: "b"},
            },
            opset_version=17,
            dynamo=False,
        )
    os.replace(tmp, target)
