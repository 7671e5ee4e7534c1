"""Grades of machine coding from participant-level estimates, with their uncertainty.

A model trained by autocode carries a calibration and presence estimators (see
:mod:`autocode.quantify`). For each code, every participant gets a probability that they
raised it; the spread is then a sum of independent chances (a Poisson-binomial
distribution), which gives the estimated spread (its expectation), an 80% interval, the
chance that the grade is right, and a review flag when that chance is low.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from autocode.codebook import Codebook
from autocode.config import GradingConfig
from autocode.grading import GradeRow, depth_flag, grade_for_share, participant_groups
from autocode.quantify import Estimator, calibrate, participant_counts, poisson_binomial, spread_interval


@dataclass
class Estimate:
    counts: object  # quantify.Counts
    present: np.ndarray  # (participants, codes): the estimator's decision
    probability: np.ndarray  # (participants, codes): chance the participant raised the code
    occurrences: np.ndarray  # (participants, codes): estimated occurrences, should they have raised it


def estimate(segments: Sequence, P: np.ndarray, D: np.ndarray, codebook: Codebook, quantification: dict,
             method: str) -> Estimate:
    Pc = codebook.closure_max(calibrate(P, quantification.get("calibration")))
    est = Estimator.from_dict(quantification["estimators"][method])
    counts = participant_counts(segments, Pc, D)
    if est.method == "likelihood":
        q = est.posterior(counts)
        return Estimate(counts, q >= 0.5, q, est.occurrences(counts))
    present = est.presence(counts, codebook)
    return Estimate(counts, present, est.probability(present), est.occurrences(counts))


def grade_probabilities(q: np.ndarray, config: GradingConfig) -> dict[str, float]:
    dist = poisson_binomial(q)
    out: dict[str, float] = {}
    for spread, mass in enumerate(dist):
        name = grade_for_share(spread, len(q), config)
        out[name] = out.get(name, 0.0) + float(mass)
    return out


def grade_estimated(segments: Sequence, P: np.ndarray, D: np.ndarray, codebook: Codebook, quantification: dict,
                    method: str, config: GradingConfig | None = None,
                    participants: Mapping[str, Mapping[str, str]] | None = None, by: Sequence[str] = (),
                    review_below: float = 0.8) -> list[GradeRow]:
    """Grade every code from participant-level estimates (machine coding)."""
    config = config or GradingConfig()
    e = estimate(segments, P, D, codebook, quantification, method)
    index = {p: i for i, p in enumerate(e.counts.participants)}
    rows = []
    for group, pids in participant_groups(e.counts.participants, participants, by).items():
        sel = [index[p] for p in pids]
        for j, code in enumerate(codebook.codes):
            rows.append(_row(code, codebook, group, e.probability[sel, j], e.occurrences[sel, j], config, review_below))
    return rows


def _row(code, codebook: Codebook, group: str, q: np.ndarray, occ: np.ndarray, config: GradingConfig,
         review_below: float) -> GradeRow:
    n = len(q)
    spread = int(round(float(q.sum())))
    weight = float(q.sum())
    depth = float((q * occ).sum() / weight) if spread else None
    grade = grade_for_share(spread, n, config)
    chance = grade_probabilities(q, config).get(grade, 0.0) if n else 1.0
    low, high = spread_interval(poisson_binomial(q)) if n else (0, 0)
    occurrences = int(round(depth * spread)) if depth is not None else 0
    return GradeRow(code.id, codebook.level_name(code.id), code.label, group, n, spread, occurrences, depth, grade,
                    depth_flag(depth, config), low, high, round(chance, 4), chance < review_below)


def review_rows(segments: Sequence, P: np.ndarray, D: np.ndarray, codebook: Codebook, quantification: dict,
                method: str, grades: Sequence[GradeRow], per_participant: int = 3) -> list[dict]:
    """For codes flagged for review: the uncertain participants and their most likely segments."""
    e = estimate(segments, P, D, codebook, quantification, method)
    index = {p: i for i, p in enumerate(e.counts.participants)}
    by_participant: dict[str, list[int]] = {}
    for i, seg in enumerate(segments):
        by_participant.setdefault(seg.participant, []).append(i)
    out = []
    for row in grades:
        if row.group != "all" or not row.review:
            continue
        j = codebook.index[row.code]
        for pid, r in index.items():
            q = float(e.probability[r, j])
            if not 0.1 < q < 0.9 and not D[by_participant[pid], j].any():
                continue
            best = sorted(by_participant[pid], key=lambda i: -P[i, j])[:per_participant]
            for i in best:
                out.append({"code": row.code, "grade": row.grade, "grade_probability": row.grade_probability,
                            "participant": pid, "presence_probability": round(q, 3), "segment": segments[i].id,
                            "confidence": round(float(P[i, j]), 4), "text": segments[i].text})
    return out
