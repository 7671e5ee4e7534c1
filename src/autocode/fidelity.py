"""Grade fidelity: does the machine give each code the grade, spread and depth the humans do?

Used by ``autocode evaluate`` for every model type and estimator, on the held-out split and
in grouped cross-validation (with estimators cross-fitted across folds).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from autocode.agreement import cohen_kappa
from autocode.codebook import Codebook
from autocode.config import GradingConfig
from autocode.grading import grade_for_share
from autocode.machine_grades import Estimate, estimate
from autocode.quantify import METHODS, fit_quantification, participant_counts

GRADES = ("Strong", "Moderate", "Weaker")


def _concat(parts: list[Estimate]) -> Estimate:
    from autocode.quantify import Counts

    counts = Counts(sum((p.counts.participants for p in parts), []),
                    *(np.vstack([getattr(p.counts, k) for p in parts]) for k in ("runs", "positives", "expected", "segments")))
    return Estimate(counts, *(np.vstack([getattr(p, k) for p in parts]) for k in ("present", "probability", "occurrences")))


def cross_fitted(segments: Sequence, P: np.ndarray, D: np.ndarray, Y: np.ndarray, folds: np.ndarray,
                 codebook: Codebook, method: str) -> Estimate:
    """Estimates for each fold's participants from an estimator fitted on the other folds."""
    parts = []
    for k in range(int(folds.max()) + 1):
        train, test = folds != k, folds == k
        seg_train = [s for s, m in zip(segments, train) if m]
        quant = fit_quantification(seg_train, P[train], D[train], Y[train], codebook)
        seg_test = [s for s, m in zip(segments, test) if m]
        parts.append(estimate(seg_test, P[test], D[test], codebook, quant, method))
    return _concat(parts)


def fidelity(segments: Sequence, Y: np.ndarray, e: Estimate, codebook: Codebook, config: GradingConfig) -> dict:
    """Participant-level presence kappa, spread and depth errors, grade agreement and confusion."""
    human = participant_counts(segments, Y.astype(float), Y.astype(bool))
    order = [human.participants.index(p) for p in e.counts.participants]
    truth = human.runs[order] > 0
    n = len(order)
    out: dict = {"participants": n, "levels": {}}
    for level in dict.fromkeys(codebook.level_name(c) for c in codebook.ids):
        cols = [j for j, c in enumerate(codebook.ids) if codebook.level_name(c) == level]
        out["levels"][level] = _level(cols, truth, human.runs[order], e, n, config)
    return out


def _level(cols, truth, human_runs, e: Estimate, n: int, config: GradingConfig) -> dict:
    spread_h = truth[:, cols].sum(0)
    q = e.probability[:, cols]
    spread_m = np.rint(q.sum(0)).astype(int)
    depth_h = np.where(spread_h > 0, (human_runs[:, cols] * truth[:, cols]).sum(0) / np.maximum(spread_h, 1), np.nan)
    depth_m = (q * e.occurrences[:, cols]).sum(0) / np.maximum(q.sum(0), 1e-9)
    grades_h = [grade_for_share(int(s), n, config) for s in spread_h]
    grades_m = [grade_for_share(int(s), n, config) for s in spread_m]
    labels = list(GRADES) + [config.below_weaker]
    confusion = {h: {m: sum(a == h and b == m for a, b in zip(grades_h, grades_m)) for m in labels} for h in labels}
    both = ~np.isnan(depth_h) & (spread_m > 0)
    return {
        "presence_kappa": cohen_kappa(truth[:, cols].ravel(), e.present[:, cols].ravel()),
        "spread_mae": float(np.mean(np.abs(spread_h - spread_m))),
        "depth_mae": float(np.mean(np.abs(depth_h[both] - depth_m[both]))) if both.any() else float("nan"),
        "grade_match": float(np.mean([a == b for a, b in zip(grades_h, grades_m)])),
        "confusion": confusion,
    }


__all__ = ["METHODS", "cross_fitted", "fidelity"]
