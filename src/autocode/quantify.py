"""From segment scores to participant-level counts: calibration and presence estimators.

Counting predicted segments inflates spread: with ~100 segments a participant and a per-code
false-positive rate f, the chance of one spurious hit is 1 - (1 - f)^100. This module
estimates, per participant and code, whether the code is present and how often, with
parameters learned on out-of-fold (or validation) predictions grouped by interview.

Estimators (``method``):

- ``cc``: classify and count; present when one predicted run exists.
- ``min_evidence``: present when at least ``k`` predicted runs exist; ``k`` (one per level of
  the hierarchy) is tuned for participant-level presence kappa.
- ``pcc``: probabilistic classify and count; present when the sum of calibrated segment
  probabilities reaches ``tau`` (tuned likewise).
- ``adjusted``: adjusted classify and count; the participant's predicted positive segments
  are corrected with the code's measured true- and false-positive rates,
  ``(k - fpr * n) / (tpr - fpr)``, and the code is present when that reaches ``m``.
- ``likelihood``: a mixture model. With the code's segment-level rates, ``k`` predicted
  positives among ``n`` segments are Binomial(n, fpr) for a participant who did not raise the
  code, and Binomial(m, tpr) + Binomial(n - m, fpr) for one who did (``m``: the typical number
  of coded segments of a participant who raised it). The prevalence is fitted by EM over the
  participants in scope, giving each participant a posterior probability.

Every estimator also learns, per code, its participant-level true- and false-positive rates
(shrunk towards the rates pooled over all codes). At coding time these correct the share of
participants it calls present (adjusted count, which does not assume the training prevalence)
and, by Bayes' rule with that corrected prevalence, turn each decision into the probability that
the participant raised the code; the grader uses those probabilities for the spread, its
interval and the grade's uncertainty.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from autocode.agreement import cohen_kappa
from autocode.codebook import Codebook
from autocode.grading import Tally

METHODS = ("cc", "min_evidence", "pcc", "adjusted", "likelihood")
GRIDS = {"min_evidence": np.arange(1, 7), "pcc": np.round(np.arange(0.25, 6.01, 0.25), 2),
         "adjusted": np.round(np.arange(0.25, 6.01, 0.25), 2)}


# -- calibration ------------------------------------------------------------------------------
def _logit(P: np.ndarray) -> np.ndarray:
    P = np.clip(P, 1e-6, 1 - 1e-6)
    return np.log(P / (1 - P))


def fit_calibration(P: np.ndarray, Y: np.ndarray) -> dict:
    """Per-code Platt scaling ``sigmoid(a * logit(p) + b)`` fitted on held-apart predictions."""
    from sklearn.linear_model import LogisticRegression

    a, b = np.ones(P.shape[1]), np.zeros(P.shape[1])
    for j in range(P.shape[1]):
        if 0 < Y[:, j].sum() < len(Y):
            lr = LogisticRegression(C=1.0).fit(_logit(P[:, [j]]), Y[:, j])
            a[j], b[j] = lr.coef_[0, 0], lr.intercept_[0]
    return {"a": a.round(6).tolist(), "b": b.round(6).tolist()}


def calibrate(P: np.ndarray, calibration: dict | None) -> np.ndarray:
    if not calibration:
        return P
    z = np.asarray(calibration["a"]) * _logit(P) + np.asarray(calibration["b"])
    return 1.0 / (1.0 + np.exp(-z))


def brier(P: np.ndarray, Y: np.ndarray) -> float:
    return float(np.mean((P - Y) ** 2))


def expected_calibration_error(P: np.ndarray, Y: np.ndarray, bins: int = 10) -> float:
    p, y = P.ravel(), np.asarray(Y, dtype=float).ravel()
    which = np.minimum((p * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        sel = which == b
        if sel.any():
            total += sel.mean() * abs(p[sel].mean() - y[sel].mean())
    return float(total)


# -- participant features ----------------------------------------------------------------------
@dataclass
class Counts:
    """Per participant (rows, in ``participants`` order) and code (columns)."""

    participants: list[str]
    runs: np.ndarray  # predicted runs of coded segments
    positives: np.ndarray  # predicted positive segments
    expected: np.ndarray  # sum of calibrated probabilities
    segments: np.ndarray  # number of segments (same for every code)


def participant_counts(segments: Sequence, P: np.ndarray, D: np.ndarray) -> Counts:
    return counts_of(Tally(D.shape[1]).add(segments, D, P))


def counts_of(tally: Tally) -> Counts:
    """The estimators' inputs from a tally built with probabilities."""
    pids, n = list(tally.runs), tally.n_codes
    zero = np.zeros(n)

    def matrix(table: dict) -> np.ndarray:
        return np.array([table.get(p, zero) for p in pids], dtype=float).reshape(len(pids), n)

    return Counts(pids, np.array([tally.runs[p] for p in pids]).reshape(len(pids), n), matrix(tally.positives),
                  matrix(tally.expected), np.array([[tally.segments[p]] for p in pids], dtype=float).reshape(-1, 1))


# -- the estimator ----------------------------------------------------------------------------
@dataclass
class Estimator:
    method: str = "min_evidence"
    cutoff: dict[str, float] = field(default_factory=dict)  # per level name
    tpr: list[float] = field(default_factory=list)
    fpr: list[float] = field(default_factory=list)
    ppv: list[float] = field(default_factory=list)  # P(raised | called present), per code
    fomr: list[float] = field(default_factory=list)  # P(raised | called absent), per code
    typical: list[float] = field(default_factory=list)  # coded segments of a participant who raised it
    count_ratio: list[float] = field(default_factory=list)  # human runs / machine runs when both present

    def score(self, c: Counts) -> np.ndarray:
        if self.method in ("cc", "min_evidence"):
            return c.runs.astype(float)
        if self.method == "pcc":
            return c.expected
        tpr, fpr = np.asarray(self.tpr), np.asarray(self.fpr)
        return (c.positives - fpr * c.segments) / np.maximum(tpr - fpr, 0.05)

    def posterior(self, c: Counts, iterations: int = 100) -> np.ndarray:
        """``likelihood``: each participant's chance of having raised each code (EM over them)."""
        from scipy.stats import binom

        n = c.segments.astype(int)
        k = c.positives.astype(int)
        tpr, fpr = np.asarray(self.tpr)[None, :], np.asarray(self.fpr)[None, :]
        m = np.minimum(np.rint(np.asarray(self.typical))[None, :], n).astype(int)
        absent = binom.pmf(k, n, fpr)
        present = np.zeros_like(absent)
        for j in range(k.shape[1]):  # convolve Binomial(m, tpr) with Binomial(n - m, fpr)
            for t in range(int(m[0, j]) + 1):
                present[:, j] += binom.pmf(t, m[:, j], tpr[0, j]) * binom.pmf(k[:, j] - t, n[:, 0] - m[:, j], fpr[0, j])
        pi = np.full(k.shape[1], 0.5)
        for _ in range(iterations):
            q = pi * present / np.maximum(pi * present + (1 - pi) * absent, 1e-300)
            pi = np.clip(q.mean(axis=0), 1e-4, 1 - 1e-4)
        return q

    def presence(self, c: Counts, codebook: Codebook) -> np.ndarray:
        if self.method == "likelihood":
            return self.posterior(c) >= 0.5
        cut = np.array([self.cutoff.get(codebook.level_name(code), 1.0) for code in codebook.ids])
        if self.method == "cc":
            cut = np.ones(len(codebook))
        return self.score(c) >= cut - 1e-9

    def probability(self, present: np.ndarray) -> np.ndarray:
        """Chance that each participant raised each code, given the estimator's decision."""
        return np.where(present, np.asarray(self.ppv)[None, :], np.asarray(self.fomr)[None, :])

    def occurrences(self, c: Counts) -> np.ndarray:
        """Estimated occurrences for each participant, should they have raised the code."""
        ratio = np.asarray(self.count_ratio) if self.count_ratio else np.ones(c.runs.shape[1])
        return np.maximum(1.0, c.runs * ratio)

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in ("method", "cutoff", "tpr", "fpr", "ppv", "fomr", "typical",
                                              "count_ratio")}

    @classmethod
    def from_dict(cls, data: dict) -> "Estimator":
        return cls(**data)


def fit_estimator(method: str, segments: Sequence, P: np.ndarray, D: np.ndarray, Y: np.ndarray,
                  codebook: Codebook) -> Estimator:
    """Learn an estimator's parameters from held-apart predictions ``P``/``D`` and human ``Y``."""
    if method not in METHODS:
        raise ValueError(f"unknown estimator {method!r}; choose one of {', '.join(METHODS)}")
    c = participant_counts(segments, P, D)
    human = participant_counts(segments, Y.astype(float), Y.astype(bool))
    truth = human.runs > 0
    est = Estimator(method)
    positives, negatives = Y.sum(0), (~Y.astype(bool)).sum(0)
    est.tpr = (((D & Y.astype(bool)).sum(0) + 1) / (positives + 2)).round(6).tolist()
    est.fpr = (((D & ~Y.astype(bool)).sum(0) + 1) / (negatives + 2)).round(6).tolist()
    coded = participant_counts(segments, Y.astype(float), Y.astype(bool)).positives
    est.typical = np.where(truth.sum(0) > 0, (coded * truth).sum(0) / np.maximum(truth.sum(0), 1), 1.0).round(3).tolist()
    if method not in ("cc", "likelihood"):
        score = est.score(c)
        for level in dict.fromkeys(codebook.level_name(x) for x in codebook.ids):
            cols = [j for j, x in enumerate(codebook.ids) if codebook.level_name(x) == level]
            est.cutoff[level] = float(_best_cut(score[:, cols], truth[:, cols], GRIDS[method]))
    present = est.presence(c, codebook)
    est.ppv, est.fomr = _conditional_rates(present, truth)
    both = present & truth
    ratio = (human.runs * both).sum(0) / np.maximum((c.runs * both).sum(0), 1)
    est.count_ratio = np.where(both.sum(0) > 0, ratio, 1.0).round(4).tolist()
    return est


def _best_cut(score: np.ndarray, truth: np.ndarray, grid: np.ndarray) -> float:
    """The cut-off with the highest presence kappa (pooled over the codes); ties: the lowest."""
    kappas = [cohen_kappa(truth.ravel(), (score >= g - 1e-9).ravel()) for g in grid]
    kappas = [-1.0 if np.isnan(k) else k for k in kappas]
    return float(grid[int(np.argmax(kappas))])


def _conditional_rates(present: np.ndarray, truth: np.ndarray, strength: float = 4.0):
    """Per code P(raised | called present) and P(raised | called absent), shrunk to pooled rates."""
    pooled_ppv = (present & truth).sum() / max(present.sum(), 1)
    pooled_for = (~present & truth).sum() / max((~present).sum(), 1)
    ppv = ((present & truth).sum(0) + strength * pooled_ppv) / (present.sum(0) + strength)
    fomr = ((~present & truth).sum(0) + strength * pooled_for) / ((~present).sum(0) + strength)
    return ppv.round(6).tolist(), fomr.round(6).tolist()


# -- model-level bundle ------------------------------------------------------------------------
def fit_quantification(segments: Sequence, P: np.ndarray, D: np.ndarray, Y: np.ndarray, codebook: Codebook) -> dict:
    """Calibration and every estimator, learned from held-apart predictions (stored in model.json)."""
    Y = np.asarray(Y, dtype=bool)
    calibration = fit_calibration(P, Y)
    Pc = codebook.closure_max(calibrate(P, calibration))
    estimators = {m: fit_estimator(m, segments, Pc, D, Y, codebook).to_dict() for m in METHODS}
    return {"calibration": calibration, "estimators": estimators,
            "reliability": {"brier_raw": brier(P, Y), "brier_calibrated": brier(Pc, Y),
                            "ece_raw": expected_calibration_error(P, Y),
                            "ece_calibrated": expected_calibration_error(Pc, Y)}}


def poisson_binomial(q: np.ndarray) -> np.ndarray:
    """Distribution of the number of successes of independent trials with probabilities ``q``."""
    dist = np.zeros(len(q) + 1)
    dist[0] = 1.0
    for p in q:
        dist[1:] = dist[1:] * (1 - p) + dist[:-1] * p
        dist[0] *= 1 - p
    return dist


def spread_interval(dist: np.ndarray, mass: float = 0.8) -> tuple[int, int]:
    """The central interval of a spread distribution holding ``mass`` of the probability."""
    cdf = np.cumsum(dist)
    tail = (1 - mass) / 2
    return int(np.searchsorted(cdf, tail - 1e-12)), int(np.searchsorted(cdf, 1 - tail - 1e-12))
