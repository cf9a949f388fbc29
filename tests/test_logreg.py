"""The numpy alert-classifier trainer against scikit-learn's LogisticRegression (the model it replaces)."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.retrieval import logreg


def _clustered(seed: int, classes: int, per_class: int, dims: int = 384):
    """Unit vectors around a centre per class, imbalanced like the bank (many `none` rows)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(classes, dims))
    rows, labels = [], []
    for c in range(classes):
        n = per_class * (6 if c == 0 else 1)
        rows.append(centres[c] + 1.5 * rng.normal(size=(n, dims)))
        labels += ["none" if c == 0 else f"flag-{c}"] * n
    x = np.concatenate(rows)
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32), labels


@pytest.mark.parametrize("seed,classes", [(0, 2), (1, 6), (2, 12)])
def test_matches_scikit_learn(seed, classes):
    from sklearn.linear_model import LogisticRegression

    x, labels = _clustered(seed, classes, per_class=12)
    ref = LogisticRegression(C=10.0, class_weight="balanced", max_iter=5000, tol=1e-8).fit(x, labels)
    ours_classes, coef, intercept = logreg.fit(x, labels, c=10.0, tol=1e-7)  # the optimum itself
    assert ours_classes == list(ref.classes_)
    test_x, _ = _clustered(seed + 100, classes, per_class=5)
    logits = test_x @ coef.T + intercept
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    theirs = ref.predict_proba(test_x)
    if classes == 2:  # scikit-learn fits one binary vector (C counts twice); compare the decision only
        assert (p.argmax(1) == theirs.argmax(1)).mean() > 0.97
        return
    np.testing.assert_allclose(p, theirs, atol=2e-3)
    assert (p.argmax(1) == theirs.argmax(1)).all()


def test_a_bank_sized_fit_separates_its_classes():
    """About 1,300 phrases and 20 alert ids, as a bank build trains (its speed is in the bank-scale benchmark)."""
    x, labels = _clustered(3, 20, per_class=30)
    classes, coef, intercept = logreg.fit(x, labels, c=10.0)
    test_x, test_labels = _clustered(3, 20, per_class=5)
    predicted = [classes[i] for i in (test_x @ coef.T + intercept).argmax(axis=1)]
    assert np.mean([p == t for p, t in zip(predicted, test_labels)]) > 0.9
