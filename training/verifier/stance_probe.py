"""Fits the stance probe (pipeline/retrieval/stance_probe.py) for an embedder and writes its .npz.

    .venv/bin/python training/verifier/stance_probe.py [--embedder multilingual-e5-small]

A logistic regression (pipeline.retrieval.logreg, as the bank's classifiers) over the embedder's vectors
of the verifier's English rows (training/verifier/data: flag | healthy), each row embedded with its
question and without it, so the probe works when no question is known. Italian rows are never used:
what it does on Italian is cross-lingual transfer, measured on the Italian bank and the held-out
Italian test set (benchmarks/README.md). C is chosen on the verifier's validation split (train.py's
`split`, same seed), then the probe is refitted on every row. Vectors are cached in build/ by the
embedder's key, so a rerun takes seconds.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))  # a build script run from a checkout, as train.py

from pipeline.retrieval import logreg  # noqa: E402
from pipeline.retrieval.embedder import embedder_for  # noqa: E402
from pipeline.retrieval.index import AlertClassifier  # noqa: E402
from pipeline.retrieval.stance_probe import BUNDLED, FLAG, probe_path, probe_text  # noqa: E402
from train import read_rows, split  # noqa: E402  (this folder's verifier training script)

SEED = 13
GRID = (0.1, 1.0, 10.0)
TARGET_FALSE_ALARMS = 0.05


def texts_and_labels(rows: list[dict]) -> tuple[list[str], list[str]]:
    texts, labels = [], []
    for r in rows:
        label = FLAG if r["label"] == "flag" else "healthy"
        for question in {r["question"] or None, None}:
            texts.append(probe_text(question, r["answer"]))
            labels.append(label)
    return texts, labels


def embed(embedder, texts: list[str]) -> np.ndarray:
    cache = ROOT / "build" / f"stance-probe-{embedder.key}.npz"
    known: dict[str, np.ndarray] = {}
    if cache.exists():
        with np.load(cache) as data:
            known = dict(zip((str(t) for t in data["texts"]), data["vectors"]))
    missing = [t for t in dict.fromkeys(texts) if t not in known]
    if missing:
        known.update(zip(missing, embedder.encode(missing)))
        cache.parent.mkdir(exist_ok=True)
        np.savez(cache, texts=np.array(list(known)), vectors=np.stack(list(known.values())))
    return np.stack([known[t] for t in texts]).astype(np.float32)


def flag_probability(fitted, vectors: np.ndarray) -> np.ndarray:
    """`logreg.fit`'s (classes, coef, intercept) read as the probe reads it at run time."""
    model = AlertClassifier(list(fitted[0]), fitted[1], fitted[2])
    return model.probabilities(vectors)[:, model.classes.index(FLAG)]


def recall_at(probs: np.ndarray, labels: np.ndarray, false_alarms: float) -> tuple[float, float]:
    """(threshold at which at most `false_alarms` of the healthy rows fire, share of flags caught)."""
    healthy = np.sort(probs[~labels])
    threshold = float(healthy[min(len(healthy) - 1, int(np.ceil((1 - false_alarms) * len(healthy))))])
    return threshold, float(np.mean(probs[labels] > threshold))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--embedder", default="multilingual-e5-small")
    parser.add_argument("--out", type=Path, default=BUNDLED)
    args = parser.parse_args()
    embedder = embedder_for(args.embedder).load()
    train_rows, val_rows = split(read_rows(), SEED)
    train_texts, train_labels = texts_and_labels(train_rows)
    val_texts, val_labels = texts_and_labels(val_rows)
    x_train, x_val = embed(embedder, train_texts), embed(embedder, val_texts)
    is_flag = np.array([label == FLAG for label in val_labels])
    best = None
    for c in GRID:
        threshold, recall = recall_at(flag_probability(logreg.fit(x_train, train_labels, c=c), x_val), is_flag,
                                      TARGET_FALSE_ALARMS)
        print(f"C={c:<5} validation recall {recall:.3f} at {TARGET_FALSE_ALARMS:.0%} false alarms (threshold {threshold:.3f})")
        if best is None or recall > best[1]:
            best = (c, recall)
    c = best[0]
    classes, coef, intercept = logreg.fit(np.concatenate([x_train, x_val]), train_labels + val_labels, c=c)
    path = probe_path(embedder.name, args.out)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, classes=np.array(classes), coef=coef.astype(np.float32), intercept=intercept.astype(np.float32),
             embedder_key=np.array(embedder.key), c=np.array(c))
    print(f"wrote {path} (C={c}, {len(train_rows) + len(val_rows)} rows)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
