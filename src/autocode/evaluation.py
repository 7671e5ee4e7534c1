"""Cross-validation grouped by transcript, so that no interview is in training and test data.

Thresholds are cross-fitted: the predictions of each test fold are thresholded with values
tuned on the other folds' out-of-fold predictions, so reported scores never see their own
labels twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from autocode import agreement
from autocode.classifiers.base import Classifier, decide, tune_thresholds
from autocode.codebook import Codebook
from autocode.errors import AutocodeError


@dataclass
class CVResult:
    oof: np.ndarray  # out-of-fold probabilities
    folds: np.ndarray  # fold index of each row
    decisions: np.ndarray  # cross-fitted binary decisions
    thresholds: np.ndarray  # tuned on all out-of-fold predictions (for the final model)
    summary: dict[str, dict]


def group_folds(groups: Sequence[str], n_folds: int, seed: int = 0) -> np.ndarray:
    """Assign whole groups to folds, balancing rows per fold (largest groups first)."""
    names = sorted(set(groups))
    if len(names) < 2:
        raise AutocodeError("cross-validation needs at least two coded transcripts")
    n_folds = min(n_folds, len(names))
    rng = np.random.default_rng(seed)
    sizes = {g: 0 for g in names}
    for g in groups:
        sizes[g] += 1
    order = sorted(names, key=lambda g: (-sizes[g], rng.random()))
    load = np.zeros(n_folds)
    fold_of = {}
    for g in order:
        k = int(np.argmin(load))
        fold_of[g] = k
        load[k] += sizes[g]
    return np.array([fold_of[g] for g in groups])


def cross_validate(
    make: Callable[[], Classifier],
    texts: Sequence[str],
    Y: np.ndarray,
    groups: Sequence[str],
    codebook: Codebook,
    n_folds: int = 5,
    seed: int = 0,
    progress: Callable = lambda it, **_: it,
) -> CVResult:
    texts = list(texts)
    Y = np.asarray(Y, dtype=bool)
    folds = group_folds(groups, n_folds, seed)
    oof = np.zeros(Y.shape, dtype=float)
    for k in progress(range(folds.max() + 1), description="cross-validation"):
        train, test = folds != k, folds == k
        model = make().fit([t for t, m in zip(texts, train) if m], Y[train],
                           groups=[g for g, m in zip(groups, train) if m])
        oof[test] = model.predict_proba([t for t, m in zip(texts, test) if m])
    decisions = np.zeros(Y.shape, dtype=bool)
    for k in range(folds.max() + 1):
        others = folds != k
        thresholds = tune_thresholds(Y[others], oof[others])
        decisions[folds == k] = decide(oof[folds == k], thresholds, codebook)
    rows = agreement.per_code(Y, decisions, codebook)
    summary = agreement.summarise(rows, codebook, Y, decisions)
    return CVResult(oof, folds, decisions, tune_thresholds(Y, oof), summary)
