"""FAISS indexes over the bank's phrasings, cached on disk.

Two indexes, one per side of `phrases.bank_phrases` (row i is phrase i), plus
the alert classifiers trained on them.
The cache is keyed by the bank's content hash and the embedder; individual
phrase vectors are cached too, so editing one entry re-embeds only that entry.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from pipeline.retrieval import logreg
from pipeline.retrieval.bank import content_hash
from pipeline.retrieval.embedder import DIMENSIONS, Embedder
from pipeline.retrieval.phrases import SIDES, Phrase, bank_phrases
from pipeline.retrieval.schema import Bank

__all__ = ["SIDES", "AlertClassifier", "BankIndex", "Phrase", "SideIndex", "bank_phrases", "default_cache_dir"]
# What reading a truncated or garbled cache file raises: such an entry is rebuilt, never fatal.
DAMAGED = (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile)


def default_cache_dir() -> Path:
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("s2q")) / "index"


class SideIndex:
    """One side's FAISS inner-product index and the phrase behind each row."""

    def __init__(self, phrases: list[Phrase], vectors: np.ndarray) -> None:
        import faiss

        self.phrases = phrases
        self.vectors = vectors
        self.index = faiss.IndexFlatIP(vectors.shape[1] if len(vectors) else DIMENSIONS)
        if len(vectors):
            self.index.add(vectors)

    def search(self, queries: np.ndarray, k: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        k = min(k or len(self.phrases), len(self.phrases))
        return self.index.search(queries, k)


class AlertClassifier:
    """One kind of alert (red flags, compliance) vs everything else said on that side.

    Logistic regression over the side's phrase embeddings: the kind's examples
    are labelled with their entry id, every other phrase is `none`. A red flag
    is often the negation of good practice ("we never monitored it" vs "we
    monitored it"), which nearest-neighbour similarity confuses; a linear model
    trained on examples and counter-examples separates them far better (see
    benchmarks/matcher_eval.py). Trained at index build and applied with
    numpy (`logreg.py`: the model scikit-learn fits, without scikit-learn at run time).
    """

    C = 10.0  # inverse regularisation strength
    # The topic classifier of a stance-read kind, whose probability is multiplied by the stance, for
    # embedders whose vectors sit in a narrow cone: multilingual-e5 (unrelated sentences at cosine 0.8)
    # at C=10 stays near uniform (red-flag topic probability median 0.30 on the Italian bank's own
    # examples, out of fold); at 1000 it reaches 0.66 with the same ranking (benchmarks/README.md,
    # "Italian"). Kinds decided on their own probability keep C, their thresholds fitted on its scale.
    TOPIC_C_FOR_EMBEDDER = {"multilingual-e5-small": 1000.0}
    CLASS_WEIGHT = "balanced"
    KINDS = {"red_flag": "candidate", "compliance": "interviewer"}
    # How many ordinary counter-examples one of a compliance entry's own counter-examples (its
    # `negative_examples` and lawful `alternative`: the near misses authors wrote) weighs. With
    # balanced class weights each of ~20 examples outweighs each of ~700 counter-examples about 35
    # to 1, so unweighted, 8 of the 88 near misses alerted on their own words ("What salary are you
    # expecting?"). Chosen with matching.compliance by 5-fold cross-validation over the bank's phrases
    # (benchmarks/README.md, "Spoken questions", has the figures).
    NEAR_MISS_WEIGHT = {"compliance": 10.0}
    # Kinds whose classifier learns the topic only when the role reads the stance with the verifier
    # (verifier.py): a red flag's negative examples ("we never shipped without alerts") are then on its
    # topic, not `none`. A role without the verifier (`verify_red_flags: false`) learns flag vs `none`.
    TOPIC_ONLY = ("red_flag",)

    def __init__(self, classes: list[str], coef: np.ndarray, intercept: np.ndarray) -> None:
        self.classes = classes
        self.coef = coef.astype(np.float32)
        self.intercept = intercept.astype(np.float32)

    @classmethod
    def train(cls, kind: str, phrases: list[Phrase], vectors: np.ndarray, role=None) -> "AlertClassifier | None":
        """`role` (schema.Role; None: the defaults) says whether red flags are read for their stance
        (`verify_red_flags`) and which embedder made the vectors."""
        entries = {p.entry_id for p in phrases if p.kind == kind}
        topic = (role is None or role.verify_red_flags) and kind in cls.TOPIC_ONLY
        labels = [p.entry_id if p.kind == kind or (topic and p.entry_id in entries) else "none" for p in phrases]
        if len(set(labels)) < 2:
            return None

        near_miss = cls.NEAR_MISS_WEIGHT.get(kind, 1.0)
        weights = np.array([near_miss if p.kind == "none" and p.entry_id in entries else 1.0 for p in phrases])
        c = cls.TOPIC_C_FOR_EMBEDDER.get(role.embedder, cls.C) if topic and role is not None else cls.C
        classes, coef, intercept = logreg.fit(vectors, labels, c=c, sample_weight=weights)
        return cls(classes, coef, intercept)

    def probabilities(self, vectors: np.ndarray) -> np.ndarray:
        logits = vectors @ self.coef.T + self.intercept
        logits -= logits.max(axis=1, keepdims=True)
        e = np.exp(logits)
        return e / e.sum(axis=1, keepdims=True)

    def save(self, path: Path) -> None:
        _atomic_write(path, lambda f: np.savez(f, classes=np.array(self.classes), coef=self.coef,
                                               intercept=self.intercept))

    @classmethod
    def load(cls, path: Path) -> "AlertClassifier | None":
        if not path.exists():
            return None
        with np.load(path) as data:
            return cls([str(c) for c in data["classes"]], data["coef"], data["intercept"])


class BankIndex:
    """Both sides' indexes for a bank, built or loaded from the cache."""

    def __init__(self, bank: Bank, sides: dict[str, SideIndex], key: str, rebuilt: bool, embedded: int,
                 classifiers: dict[str, AlertClassifier] | None = None) -> None:
        self.bank = bank
        self.sides = sides
        self.classifiers = classifiers or {}
        self.key = key
        self.rebuilt = rebuilt
        self.embedded = embedded  # phrases embedded during this build (0 when loaded from cache)

    @classmethod
    def build(cls, bank: Bank, embedder: Embedder, cache_dir: Path | None = None) -> "BankIndex":
        cache_dir = Path(cache_dir or default_cache_dir())
        settings = (f"C{AlertClassifier.C}-{AlertClassifier.CLASS_WEIGHT}-numpy-{AlertClassifier.NEAR_MISS_WEIGHT}"
                    f"-topic{AlertClassifier.TOPIC_ONLY if bank.role.verify_red_flags else ()}")
        if bank.role.embedder in AlertClassifier.TOPIC_C_FOR_EMBEDDER:
            settings += f"-topicC{AlertClassifier.TOPIC_C_FOR_EMBEDDER[bank.role.embedder]}"
        key = f"{bank.role.id}-{content_hash(bank)}-{embedder.key}-{hashlib.sha1(settings.encode()).hexdigest()[:6]}"
        folder = cache_dir / key
        phrases = bank_phrases(bank)
        if (folder / "meta.json").exists():
            try:
                sides = {s: SideIndex(phrases[s], np.load(folder / f"{s}.npy")) for s in SIDES}
                classifiers = {k: AlertClassifier.load(folder / f"{k}.npz") for k in AlertClassifier.KINDS}
                classifiers = {k: c for k, c in classifiers.items() if c is not None}
                expected = {k for k in AlertClassifier.KINDS if _has_kind(phrases, k)}
                if all(len(sides[s].phrases) == len(sides[s].vectors) for s in SIDES) and expected <= set(classifiers):
                    return cls(bank, sides, key, rebuilt=False, embedded=0, classifiers=classifiers)
            except DAMAGED:
                pass  # a damaged cache is rebuilt
        store = _VectorStore(cache_dir / f"phrases-{embedder.key}.npz")
        embedded = store.ensure([p.text for s in SIDES for p in phrases[s]], embedder)
        sides = {s: SideIndex(phrases[s], store.get([p.text for p in phrases[s]])) for s in SIDES}
        classifiers = {}
        for kind, side in AlertClassifier.KINDS.items():
            trained = AlertClassifier.train(kind, sides[side].phrases, sides[side].vectors, bank.role)
            if trained is not None:
                classifiers[kind] = trained
        rows = {s: [{"text": p.text, "kind": p.kind, "entry_id": p.entry_id} for p in phrases[s]] for s in SIDES}
        meta = {"role": bank.role.id, "key": key, "sides": rows}
        try:
            folder.mkdir(parents=True, exist_ok=True)
            for s in SIDES:
                _atomic_write(folder / f"{s}.npy", lambda f, s=s: np.save(f, sides[s].vectors))
            for kind, classifier in classifiers.items():
                classifier.save(folder / f"{kind}.npz")
            _atomic_write(folder / "meta.json", lambda f: f.write(json.dumps(meta).encode()))  # last: marks it done
            store.save()
        except OSError as exc:  # read-only or full: the index works from memory, only start-up is slower
            print(f"s2q: note: cannot write the index cache in {cache_dir} ({exc.strerror or exc}); "
                  "using it from memory this time", file=sys.stderr)
        return cls(bank, sides, key, rebuilt=True, embedded=embedded, classifiers=classifiers)


def _has_kind(phrases: dict[str, list[Phrase]], kind: str) -> bool:
    return any(p.kind == kind for side in phrases.values() for p in side)


class _VectorStore:
    """Embeddings of individual phrases by text hash, so unchanged phrases are never re-embedded."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.vectors: dict[str, np.ndarray] = {}
        if path.exists():
            try:
                with np.load(path) as data:
                    self.vectors = {k: data[k] for k in data.files}
            except DAMAGED:
                self.vectors = {}  # damaged: re-embedded

    @staticmethod
    def _key(text: str) -> str:
        return hashlib.sha1(text.encode("utf-8")).hexdigest()

    def ensure(self, texts: list[str], embedder: Embedder) -> int:
        missing = sorted({t for t in texts if self._key(t) not in self.vectors})
        if missing:
            for text, vec in zip(missing, embedder.encode(missing)):
                self.vectors[self._key(text)] = vec
        return len(missing)

    def get(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, DIMENSIONS), np.float32)
        return np.stack([self.vectors[self._key(t)] for t in texts]).astype(np.float32)

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        _atomic_write(self.path, lambda f: np.savez(f, **self.vectors))


def _atomic_write(path: Path, write) -> None:
    """write(file) into a temp file of its own next to `path`, then rename it over `path`.

    Several builds may run at once (two terminals, a test and a replay): each
    writes its own temp file and the rename is atomic, so readers see an old
    or a new file, never half of one, and no build removes another's temp file.
    """
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
