"""Pieces shared by the models with a linear head: one logistic regression per code."""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np


def text_only(items: Sequence) -> list[str]:
    """Texts from items that may be (text, context) pairs, for models that read no context."""
    return [t if isinstance(t, str) else t[0] for t in items]


def fit_one_vs_rest(X, Y: np.ndarray, make: Callable) -> tuple[np.ndarray, np.ndarray]:
    """Fit ``make()`` (a binary logistic regression) per column of ``Y``; a column with one
    class only gets a constant score, the log-odds of its smoothed rate."""
    Y = np.asarray(Y, dtype=bool)
    coef = np.zeros((Y.shape[1], X.shape[1]), dtype=np.float32)
    intercept = np.zeros(Y.shape[1], dtype=np.float32)
    for j in range(Y.shape[1]):
        positives = int(Y[:, j].sum())
        if positives in (0, len(Y)):
            rate = (positives + 0.5) / (len(Y) + 1.0)
            intercept[j] = np.log(rate / (1 - rate))
            continue
        lr = make().fit(X, Y[:, j])
        coef[j], intercept[j] = lr.coef_[0], lr.intercept_[0]
    return coef, intercept


def sigmoid_scores(X, coef: np.ndarray, intercept: np.ndarray) -> np.ndarray:
    scores = X @ coef.T + intercept[None, :]
    return 1.0 / (1.0 + np.exp(-np.asarray(scores, dtype=np.float64)))
