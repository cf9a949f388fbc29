"""Reads an answer's stance in a language the verifier cannot read, from the role's own embedder.

The verifier (`verifier.py`) is an English MiniLM: on Italian answers it finds 0 of 10 red flags.
multilingual-e5 places an Italian answer near its English paraphrase, so a linear model fitted over e5
vectors of the verifier's English training rows (training/verifier/data: flag vs healthy answers, each
with its question) reads the stance of Italian answers too: cross-lingual transfer, no Italian row
trained on. `training/verifier/stance_probe.py` fits it and writes `pipeline/assets/stance_probe/<embedder>.npz`;
the figures are in benchmarks/README.md ("Italian"). Same `scores()` as the verifier, so the matcher
reads either.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pipeline.errors import ModelNotFoundError
from pipeline.retrieval.index import AlertClassifier
from pipeline.retrieval.text import clean_speech

BUNDLED = Path(__file__).resolve().parents[1] / "assets" / "stance_probe"
FLAG = "flag"  # the class whose probability is the stance


def probe_text(question: str | None, answer: str) -> str:
    """What the probe embeds: the question and the answer, fillers removed (training and run time)."""
    return clean_speech(f"{question} {answer}" if question else answer)


def probe_path(embedder_name: str, folder: Path = BUNDLED) -> Path:
    return Path(folder) / f"{embedder_name}.npz"


def stance_reader(role, embedder):
    """What reads red flags' stance for a role (`Role.stance_reader`), loaded; None when the role reads none."""
    if not role.verify_red_flags:
        return None
    if role.stance_reader == "probe":
        return StanceProbe(embedder).load()
    from pipeline.retrieval.verifier import Verifier  # lazy: keeps pydantic off start-up

    return Verifier().load()


class StanceProbe:
    """(flag statement, question, answer) triples -> probability that the answer shows a red flag.

    One stance shared by every flag (the statement is not read: retrieval names the flag), as the
    shipped verifier does.
    """

    def __init__(self, embedder, folder: Path = BUNDLED) -> None:
        self.embedder = embedder
        self.path = probe_path(embedder.name, folder)
        self._model: AlertClassifier | None = None  # the same linear model the bank's classifiers are
        self._flag = 0

    def load(self) -> "StanceProbe":
        if self._model is not None:
            return self
        if not self.path.exists():
            raise ModelNotFoundError(f"no stance probe for the embedder {self.embedder.name!r} ({self.path}): "
                                     "run `python training/verifier/stance_probe.py` in a checkout")
        with np.load(self.path) as data:
            if str(data["embedder_key"]) != self.embedder.key:
                raise ModelNotFoundError(f"{self.path} was fitted on another version of {self.embedder.name!r}: "
                                         "run `python training/verifier/stance_probe.py` again")
            self._model = AlertClassifier([str(c) for c in data["classes"]], data["coef"], data["intercept"])
        self._flag = self._model.classes.index(FLAG)
        return self

    def scores(self, triples: list[tuple[str, str | None, str]]) -> np.ndarray:
        if not triples:
            return np.zeros(0, np.float32)
        self.load()
        texts = [probe_text(q, a) for _, q, a in triples]
        unique = list(dict.fromkeys(texts))
        probs = dict(zip(unique, self._model.probabilities(self.embedder.encode(unique))[:, self._flag]))
        return np.array([probs[t] for t in texts], np.float32)
