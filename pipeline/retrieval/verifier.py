"""Reads an answer for the candidate's stance: do they show a red flag, or only talk about its topic?

Retrieval (`AlertClassifier`) is good at the topic of an answer and blind to its stance: "secrets live
in a secrets manager" and "I keep the keys in the repo" are both about secrets. The verifier is MiniLM-L6
fine-tuned by `training/verifier/train.py` and shipped as int8 ONNX in `pipeline/assets/verifier/`. It
reads the question and the answer together, so "No, not really." after "How did you monitor it after
launch?" reads differently from the same words after "Any questions for us?". The shipped model is one
stance shared by every flag (`reads_flag` false: retrieval names the flag); a model trained to read the
flag's name too takes the same triples. It runs only on the few flags retrieval proposes for an answer.

`pair()` is the one definition of the model's input: training and run time both call it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipeline.errors import S2QError
from pipeline.retrieval.embedder import bert_feed
from pipeline.retrieval.text import clean_speech

BUNDLED = Path(__file__).resolve().parents[1] / "assets" / "verifier"
MAX_TOKENS = 128  # the flag's name, the question and the answer; longer answers keep their start and end
SEPARATOR = " [SEP] "  # the tokenizer reads it as BERT's separator: flag | question | answer


def pair(statement: str | None, question: str | None, answer: str) -> tuple[str, str]:
    """The model's two segments: (flag [SEP] question, answer), fillers removed as the matcher does.

    `statement` None: a shared stance model that reads no flag (question, answer) - retrieval alone
    then names the flag.
    """
    parts = [p for p in (statement, clean_speech(question) if question else None) if p]
    return SEPARATOR.join(parts), clean_speech(answer)


@dataclass(frozen=True)
class VerifierInfo:
    """What `verifier.json` says of the shipped model (written by the training script).

    Attributes:
        sha256: of `model.onnx`, checked by the tests against the file.
        threshold: the stance probability at which validation negatives fire at most 2% (the
            training script's figure, for the record; what the listener applies is `matching.red_flag`).
        seed: the training seed, for reproducing the file.
        reads_flag: whether the model reads the flag's name (a cross-encoder per flag) or only the
            question and answer (one stance shared by every flag; retrieval names the flag).
    """

    sha256: str
    threshold: float
    seed: int
    reads_flag: bool = True


class Verifier:
    """(flag statement, question, answer) triples -> probability that the answer shows the flag."""

    def __init__(self, folder: Path = BUNDLED, threads: int = 1) -> None:
        self.folder = Path(folder)
        self.threads = threads
        self._session = None
        self._tokenizer = None
        self._reads_flag = True

    @property
    def available(self) -> bool:
        return (self.folder / "model.onnx").exists()

    def info(self) -> VerifierInfo:
        meta = json.loads((self.folder / "verifier.json").read_text())
        return VerifierInfo(sha256=meta.get("sha256", ""), threshold=float(meta.get("threshold", 0.5)),
                            seed=int(meta.get("seed", 0)), reads_flag=bool(meta.get("reads_flag", True)))

    def load(self) -> "Verifier":
        if self._session is not None:
            return self
        if not self.available:
            raise S2QError(f"the red-flag verifier is missing ({self.folder / 'model.onnx'}): reinstall s2q, "
                           "or run `make verifier` in a checkout")
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.log_severity_level = 3
        self._session = ort.InferenceSession(str(self.folder / "model.onnx"), options,
                                             providers=["CPUExecutionProvider"])
        self._tokenizer = tokenizer(self.folder / "tokenizer.json")
        self._reads_flag = self.info().reads_flag
        self.scores([("warm up", None, "warm up")])
        return self

    def scores(self, triples: list[tuple[str, str | None, str]]) -> np.ndarray:
        """One probability per (statement, question, answer), in one batch; identical inputs run once (a
        model that reads no flag sees the same question and answer for every flag proposed)."""
        if not triples:
            return np.zeros(0, np.float32)
        self.load()
        pairs = [pair(s if self._reads_flag else None, q, a) for s, q, a in triples]
        unique = list(dict.fromkeys(pairs))
        logits = self._session.run(None, bert_feed(self._tokenizer.encode_batch(unique)))[0].reshape(-1)
        probs = dict(zip(unique, (1.0 / (1.0 + np.exp(-logits))).astype(np.float32)))
        return np.array([probs[p] for p in pairs], np.float32)


def tokenizer(path: Path):
    """The pair tokenizer both training and run time use: truncation keeps the answer's share fair."""
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(path))
    tok.enable_truncation(MAX_TOKENS, strategy="longest_first")
    tok.enable_padding()
    return tok
