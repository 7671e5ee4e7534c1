"""Agreement at the participant and grade levels, and bootstrap intervals over participants.

- **Participant level**: for each participant and code, did each coder find the code in the
  participant's interview (present / absent), and how often (occurrences: runs of coded
  segments within a turn, as the grader counts them). Presence gives a 2x2 table per code with
  one unit per participant; counts are compared by their differences and by Krippendorff's
  alpha (interval).
- **Grade level**: spread, depth and grade of every code for each coder, side by side, whether
  the grades match, and the share of codes whose grades match, per level and overall.
- **Bootstrap**: participants are drawn with replacement; every figure is recomputed from the
  participants' additive tables; the interval is the percentile interval of the replicates.
"""

from __future__ import annotations

import math
import warnings
from fractions import Fraction
from typing import Callable, Sequence

import numpy as np

from autocode.agreement import contingency, krippendorff_alpha, level_codes
from autocode.codebook import Codebook
from autocode.config import GradingConfig
from autocode.grading import MODERATE, STRONG, WEAKER, GradeRow, count_occurrences, grade
from autocode.segment import Segment


# -- participant level -------------------------------------------------------------------------
def occurrence_matrix(segments: Sequence[Segment], Y: np.ndarray, codebook: Codebook,
                      participants: Sequence[str] | None = None) -> tuple[list[str], np.ndarray]:
    """Occurrences of every code (closed up the hierarchy) per participant: (participants, counts)."""
    counts = count_occurrences(segments, codebook.closure(Y))
    people = list(participants) if participants is not None else sorted(counts)
    zero = np.zeros(len(codebook), dtype=int)
    return people, np.array([counts.get(p, zero) for p in people], dtype=int).reshape(len(people), len(codebook))


def presence_tables(counts_a: np.ndarray, counts_b: np.ndarray) -> np.ndarray:
    """(participants, codes, 4): each participant's 2x2 presence table per code (a single unit)."""
    a, b = np.asarray(counts_a) > 0, np.asarray(counts_b) > 0
    return np.stack([a & b, a & ~b, ~a & b, ~a & ~b], axis=-1).astype(float)


def count_alpha(counts_a: np.ndarray, counts_b: np.ndarray) -> np.ndarray:
    """Per code, Krippendorff's alpha (interval) of the two coders' occurrence counts per
    participant; NaN where the counts do not vary."""
    a, b = np.asarray(counts_a, dtype=float), np.asarray(counts_b, dtype=float)
    return np.array([krippendorff_alpha(np.vstack([a[:, j], b[:, j]]), "interval") for j in range(a.shape[1])])


def count_summary(counts_a: np.ndarray, counts_b: np.ndarray) -> dict[str, np.ndarray]:
    """Per code: total occurrences of each coder, mean absolute difference per participant
    (over participants where either coder found the code) and the share of those participants
    with equal counts."""
    a, b = np.asarray(counts_a, dtype=float), np.asarray(counts_b, dtype=float)
    either = (a > 0) | (b > 0)
    n = either.sum(0)
    diff = np.abs(a - b) * either
    same = ((a == b) & either).sum(0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return {"occurrences_a": a.sum(0), "occurrences_b": b.sum(0), "participants_either": n,
                "mean_abs_diff": np.where(n > 0, diff.sum(0) / np.where(n > 0, n, 1), np.nan),
                "same_count": np.where(n > 0, same / np.where(n > 0, n, 1), np.nan)}


# -- grade level -------------------------------------------------------------------------------
def grade_pair(segments: Sequence[Segment], Ya: np.ndarray, Yb: np.ndarray, codebook: Codebook,
               config: GradingConfig | None = None) -> tuple[list[GradeRow], list[GradeRow]]:
    """Both codings graded on the same segments (all participants in scope)."""
    config = config or GradingConfig()
    ga = [r for r in grade(segments, Ya, codebook, config) if r.group == "all"]
    gb = [r for r in grade(segments, Yb, codebook, config) if r.group == "all"]
    return ga, gb


def grade_match_summary(ga: Sequence[GradeRow], gb: Sequence[GradeRow], codebook: Codebook) -> dict[str, dict]:
    """Codes and codes with matching grades, per level and overall ("all")."""
    match = {a.code: a.grade == b.grade for a, b in zip(ga, gb)}
    out = {}
    for level, codes in level_codes(codebook).items():
        hits = sum(match[c] for c in codes)
        out[level] = {"codes": len(codes), "matching": hits, "share": hits / len(codes) if codes else math.nan}
    hits = sum(match.values())
    out["all"] = {"codes": len(match), "matching": hits, "share": hits / len(match) if match else math.nan}
    return out


_GRADES = [STRONG, MODERATE, WEAKER]


def grade_index(spread: np.ndarray, total: np.ndarray, config: GradingConfig) -> np.ndarray:
    """Vectorised grade as an index: 0 Strong, 1 Moderate, 2 Weaker, 3 below; exact integer
    comparison of spread/total with each threshold, honouring the boundary rule."""
    spread = np.asarray(spread, dtype=np.int64)
    total = np.broadcast_to(np.asarray(total, dtype=np.int64), spread.shape)
    out = np.full(spread.shape, 3, dtype=int)
    for k in (2, 1, 0):
        limit = Fraction(str((config.weaker, config.moderate, config.strong)[2 - k]))
        lhs, rhs = spread * limit.denominator, total * limit.numerator
        hit = (lhs > rhs) | ((lhs == rhs) & (config.boundary == "lower"))
        out = np.where(hit & (total > 0), k, out)
    return out


# -- bootstrap ---------------------------------------------------------------------------------
def bootstrap_weights(n_groups: int, n_boot: int, seed: int = 0) -> np.ndarray:
    """(n_boot, n_groups) counts: how often each participant is drawn in each replicate."""
    if n_groups == 0 or n_boot <= 0:
        return np.zeros((0, n_groups))
    rng = np.random.default_rng(seed)
    return rng.multinomial(n_groups, np.full(n_groups, 1 / n_groups), size=n_boot).astype(float)


def resample(groups: np.ndarray, weights: np.ndarray, fn: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """Apply ``fn`` to the weighted sum of per-group tables for every replicate: (n_boot, ...)."""
    pooled = np.tensordot(weights, np.asarray(groups, dtype=float), axes=(1, 0))
    return fn(pooled)


def percentile_ci(samples: np.ndarray, level: float = 0.95, min_valid: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval along axis 0, ignoring NaN replicates; NaN where fewer than
    ``min_valid`` of the replicates are defined."""
    samples = np.asarray(samples, dtype=float)
    if samples.shape[0] == 0:
        nan = np.full(samples.shape[1:], np.nan)
        return nan, nan.copy()
    valid = (~np.isnan(samples)).mean(0)
    tail = (1 - level) / 2 * 100
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        lo = np.nanpercentile(samples, tail, axis=0)
        hi = np.nanpercentile(samples, 100 - tail, axis=0)
    bad = valid < min_valid
    return np.where(bad, np.nan, lo), np.where(bad, np.nan, hi)


def level_means(values: np.ndarray, codebook: Codebook) -> dict[str, np.ndarray]:
    """Mean over each level's codes of the last axis (NaN codes left out)."""
    values = np.asarray(values, dtype=float)
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for level, codes in level_codes(codebook).items():
            cols = [codebook.index[c] for c in codes]
            out[level] = np.nanmean(values[..., cols], axis=-1) if cols else np.full(values.shape[:-1], np.nan)
    return out


def segment_tables_by_group(segments: Sequence[Segment], Ya: np.ndarray, Yb: np.ndarray,
                            groups: Sequence[str]) -> np.ndarray:
    """(groups, codes, 4): each participant's segment-level 2x2 tables."""
    Ya, Yb = np.asarray(Ya, dtype=bool), np.asarray(Yb, dtype=bool)
    owner = np.array([s.participant for s in segments])
    out = np.zeros((len(groups), Ya.shape[1], 4))
    for g, pid in enumerate(groups):
        rows = owner == pid
        if rows.any():
            out[g] = contingency(Ya[rows], Yb[rows]).reshape(Ya.shape[1], 4)
    return out
