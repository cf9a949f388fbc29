"""Sentence embeddings from the bundled all-MiniLM-L6-v2, normalised for cosine search.

At run time the model runs through ONNX Runtime with the `tokenizers` package:
it loads in under a second and embeds a sentence in a few milliseconds, where
importing sentence-transformers/torch alone takes seconds. The ONNX file is
exported once from the bundled weights (mean pooling and normalisation included,
as in the model's sentence-transformers config) and kept in the user's cache.
`tests/test_embedder.py` checks it against sentence-transformers itself.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

from pipeline.errors import S2QError
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

        options = ort.SessionOptions()
        if self.threads:
            options.intra_op_num_threads = self.threads
        options.log_severity_level = 3
        self._session = self._open_session(ort, options)
        tokenizer = Tokenizer.from_file(str(self.path / "tokenizer.json"))
        tokenizer.enable_truncation(MAX_TOKENS)
        tokenizer.enable_padding()
        self._tokenizer = tokenizer
        self.encode(["warm up"])
        return self

    def _open_session(self, ort, options):
        """The cached ONNX file; a missing or damaged one is exported (again), into a temp dir if need be."""
        path = self.onnx_path
        for attempt in range(2):
            scratch = None
            if not path.exists():
                path, scratch = export_onnx(self.path, path)
            try:
                return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
            except Exception as exc:  # onnxruntime's own error types (InvalidProtobuf, Fail, ...)
                if attempt:
                    raise S2QError(f"{path}: cannot load the exported embedder ({str(exc).splitlines()[0]})") from None
                print(f"s2q: note: {path} is damaged; exporting it again", file=sys.stderr)
                try:
                    path.unlink()
                except OSError:
                    path = Path(tempfile.mkdtemp(prefix="s2q-onnx-")) / path.name  # read-only cache
            finally:
                if scratch:  # the session holds the model in memory
                    shutil.rmtree(scratch, ignore_errors=True)
        raise AssertionError("unreachable")

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


def export_onnx(model_dir: Path, target: Path) -> tuple[Path, Path | None]:
    """One-time export of the transformer with mean pooling and L2 normalisation, via torch.

    Returns where it was written and, when the cache was not writable, the temp
    folder used instead (for the caller to remove). Concurrent exports each write
    a temp file of their own and rename it into place.
    """
    scratch = None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        os.close(fd)
    except OSError as exc:
        scratch = Path(tempfile.mkdtemp(prefix="s2q-onnx-"))
        print(f"s2q: note: cannot write to {target.parent} ({exc.strerror or exc}); "
              "preparing the embedder in a temporary folder this time", file=sys.stderr)
        target = scratch / target.name
        tmp_name = str(target) + ".tmp"
    tmp = Path(tmp_name)
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
    import warnings

    with warnings.catch_warnings(), torch.no_grad(), _removed_on_error(tmp):
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
    return target, scratch


@contextlib.contextmanager
def _removed_on_error(path: Path):
    try:
        yield
    except BaseException:
        path.unlink(missing_ok=True)
        raise
