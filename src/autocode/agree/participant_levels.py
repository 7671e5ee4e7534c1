"""Levels 4 and 5, the participants: presence and occurrences of each code in each participant's
interview, and the grades (spread, depth, grade) each coding gives every code."""

from __future__ import annotations

import numpy as np

from autocode.agree.context import Context, PairScope
from autocode.agree.figures import cells, family, finite, interval
from autocode.agreement import level_codes, metrics_from_counts
from autocode.agreement_levels import (count_alpha, count_summary, grade_index, grade_match_summary, grade_pair,
                                       occurrence_matrix, presence_tables)

PRESENCE_METRICS = ("percent", "kappa", "alpha", "ac1")


# -- 4. participant level ----------------------------------------------------------------------
def occurrences(ctx: Context, p: PairScope) -> tuple[np.ndarray, np.ndarray]:
    """(participants, codes) occurrence counts of each coder."""
    _, occ_a = occurrence_matrix(p.segs, p.Ya, ctx.cb, p.groups)
    _, occ_b = occurrence_matrix(p.segs, p.Yb, ctx.cb, p.groups)
    return occ_a, occ_b


def participant_level(ctx: Context, p: PairScope, occ_a: np.ndarray, occ_b: np.ndarray) -> dict:
    pres = presence_tables(occ_a, occ_b)
    total = pres.sum(0)
    boot_tables = p.replicates(pres)
    pboot = metrics_from_counts(boot_tables) if p.boot else None
    values = {k: v for k, v in metrics_from_counts(total).items() if k in PRESENCE_METRICS}
    rows, levels = family(ctx.cb, ctx.ci, values, {k: pboot[k] for k in values} if p.boot else None)
    counts = count_summary(occ_a, occ_b)
    calpha = count_alpha(occ_a, occ_b)
    for j, row in enumerate(rows):
        n11, n10, n01, n00 = cells(total[j])
        row.update({"both": n11, "only_a": n10, "only_b": n01, "neither": n00,
                    "occurrences_a": int(counts["occurrences_a"][j]), "occurrences_b": int(counts["occurrences_b"][j]),
                    "mean_abs_diff": finite(counts["mean_abs_diff"][j]), "same_count": finite(counts["same_count"][j]),
                    "count_alpha": finite(calpha[j])})
    return {"participants": p.groups, "codes": rows, "levels": levels,
            "matrix": {"participants": p.groups, "codes": list(ctx.cb.ids), "a": occ_a.tolist(), "b": occ_b.tolist()}}


# -- 5. grade level ----------------------------------------------------------------------------
def grade_level(ctx: Context, p: PairScope, occ_a: np.ndarray, occ_b: np.ndarray) -> dict:
    ga, gb = grade_pair(p.segs, p.Ya, p.Yb, ctx.cb, ctx.study.config.grading)
    levels = grade_match_summary(ga, gb, ctx.cb)
    for v in levels.values():
        v["ci"] = [None, None]
    if p.boot:
        for name, ci in _grade_match_intervals(ctx, p.W, occ_a, occ_b).items():
            levels[name]["ci"] = ci
    return {"rows": [_grade_row(ra, rb) for ra, rb in zip(ga, gb)], "levels": levels}


def _grade_row(ra, rb) -> dict:
    row = {"code": ra.code, "level": ra.level, "label": ra.label, "participants": ra.participants}
    for side, r in (("a", ra), ("b", rb)):
        row.update({f"{side}_spread": r.spread, f"{side}_share": r.share, f"{side}_occurrences": r.occurrences,
                    f"{side}_depth": r.depth, f"{side}_grade": r.grade, f"{side}_flag": r.flag})
    row["match"] = ra.grade == rb.grade
    return row


def _grade_match_intervals(ctx: Context, W: np.ndarray, occ_a: np.ndarray, occ_b: np.ndarray) -> dict[str, list]:
    """Bootstrap intervals of the share of codes whose grades match, per level and overall."""
    cb, config = ctx.cb, ctx.study.config.grading
    total = W.sum(1)[:, None]
    ia = grade_index(W @ (occ_a > 0), total, config)
    ib = grade_index(W @ (occ_b > 0), total, config)
    match = (ia == ib).astype(float)
    out = {}
    for name, codes in [*level_codes(cb).items(), ("all", cb.ids)]:
        cols = [cb.index[c] for c in codes]
        out[name] = interval(match[:, cols].mean(1), ctx.ci)
    return out
