"""Grades of machine coding from participant-level estimates, with their uncertainty.

A model trained by autocode carries a calibration and presence estimators (see
:mod:`autocode.quantify`). For each code, every participant gets a probability that they
raised it; the spread is then a sum of independent chances (a Poisson-binomial
distribution), which gives the estimated spread (its expectation), an 80% interval, the
chance that the grade is right, and a review flag when that chance is low.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

import numpy as np

from autocode.codebook import Codebook
from autocode.config import GradingConfig
from autocode.grading import GradeRow, depth_flag, grade_for_share, participant_groups
from autocode.quantify import Counts, Estimator, calibrate, participant_counts, poisson_binomial, spread_interval


@dataclass
class Estimate:
    counts: object  # quantify.Counts
    present: np.ndarray  # (participants, codes): the estimator's decision
    probability: np.ndarray  # (participants, codes): chance the participant raised the code
    occurrences: np.ndarray  # (participants, codes): estimated occurrences, should they have raised it


def calibrated(P: np.ndarray, codebook: Codebook, quantification: dict) -> np.ndarray:
    """Segment probabilities as the estimators read them: calibrated, closed up the hierarchy."""
    return codebook.closure_max(calibrate(P, quantification.get("calibration")))


def estimate(segments: Sequence, P: np.ndarray, D: np.ndarray, codebook: Codebook, quantification: dict,
             method: str) -> Estimate:
    counts = participant_counts(segments, calibrated(P, codebook, quantification), D)
    return estimate_counts(counts, codebook, quantification, method)


def estimate_counts(counts: Counts, codebook: Codebook, quantification: dict, method: str) -> Estimate:
    """:func:`estimate` from participant counts (see :func:`autocode.quantify.counts_of`)."""
    est = Estimator.from_dict(quantification["estimators"][method])
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
    e = estimate(segments, P, D, codebook, quantification, method)
    return grade_from_estimate(e, codebook, config, participants, by, review_below)


def grade_from_estimate(e: Estimate, codebook: Codebook, config: GradingConfig | None = None,
                        participants: Mapping[str, Mapping[str, str]] | None = None, by: Sequence[str] = (),
                        review_below: float = 0.8) -> list[GradeRow]:
    config = config or GradingConfig()
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


def review_targets(e: Estimate, codebook: Codebook, grades: Sequence[GradeRow]) -> list[tuple[GradeRow, str, float]]:
    """For each code flagged for review: its uncertain participants (0.1 < presence < 0.9, or with
    a coded segment), each with their presence probability."""
    out = []
    for row in grades:
        if row.group != "all" or not row.review:
            continue
        j = codebook.index[row.code]
        for r, pid in enumerate(e.counts.participants):
            q = float(e.probability[r, j])
            if 0.1 < q < 0.9 or e.counts.positives[r, j] > 0:
                out.append((row, pid, q))
    return out


def review_rows(targets: Sequence[tuple[GradeRow, str, float]], codebook: Codebook,
                coded: Iterable[tuple[Sequence, np.ndarray]], per_participant: int = 3) -> list[dict]:
    """What to read for each review target: the participant's ``per_participant`` segments most
    likely to carry the code (ties: the earlier segment), from ``coded`` (segments and
    probabilities, transcript by transcript in study order), which is read once."""
    wanted: dict[str, list[int]] = {}
    for row, pid, _ in targets:
        wanted.setdefault(pid, []).append(codebook.index[row.code])
    best: dict[tuple[str, int], list] = {}
    order = 0
    for segments, P in coded:
        for i, seg in enumerate(segments):
            order += 1
            for j in wanted.get(seg.participant, ()):
                heap = best.setdefault((seg.participant, j), [])
                entry = (float(P[i, j]), -order, seg.id, seg.text)
                if len(heap) < per_participant:
                    heapq.heappush(heap, entry)
                elif entry > heap[0]:
                    heapq.heapreplace(heap, entry)
    out = []
    for row, pid, q in targets:
        for p, _, sid, text in sorted(best.get((pid, codebook.index[row.code]), []), reverse=True):
            out.append({"code": row.code, "grade": row.grade, "grade_probability": row.grade_probability,
                        "participant": pid, "presence_probability": round(q, 3), "segment": sid,
                        "confidence": round(p, 4), "text": text})
    return out
