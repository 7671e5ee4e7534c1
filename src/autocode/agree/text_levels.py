"""Levels 2 and 3, the text itself: character level, unitizing alpha (alpha-binary and cu-alpha
per semantic domain) and the segment-overlap match."""

from __future__ import annotations

import math
import warnings
from collections import defaultdict

import numpy as np

from autocode.agree.context import Context, PairScope
from autocode.agree.figures import alpha_stack, cells, family, finite, interval
from autocode.agreement import metrics_from_counts
from autocode.agreement_levels import resample
from autocode.agreement_units import (alpha_binary_unitized, char_counts, coincidence_matrix, cu_coincidences, domains,
                                      overlap_agreement, overlap_counts, unitizing_stats, value_label)


# -- 2. character level ------------------------------------------------------------------------
def character_level(ctx: Context, p: PairScope) -> dict:
    s = ctx.settings
    ma, mb = ctx.masks[p.a.name], ctx.masks[p.b.name]
    char_t = {t: char_counts(ma[t], mb[t], ctx.universe[t], s["exclude_uncoded"]) for t in p.scope}
    char_groups = p.by_group(ctx, 4, char_t.__getitem__)
    total = char_groups.sum(0)
    boot_tables = p.replicates(char_groups)
    rows, levels = family(ctx.cb, ctx.ci, metrics_from_counts(total),
                          metrics_from_counts(boot_tables) if p.boot else None)
    for j, row in enumerate(rows):
        n11, n10, n01, n00 = cells(total[j])
        row.update({"characters": n11 + n10 + n01 + n00, "chars_a": n11 + n10, "chars_b": n11 + n01, "both": n11})
    return {"characters": int(total[0].sum()) if len(ctx.cb) else 0, "universe": s["universe"],
            "exclude_uncoded": s["exclude_uncoded"], "codes": rows, "levels": levels,
            "by_transcript": _by_transcript(ctx, p.scope, char_t)}


def _by_transcript(ctx: Context, scope: list[str], char_t: dict[str, np.ndarray]) -> list[dict]:
    """Percent agreement and kappa of every code some coder used in each transcript."""
    out = []
    for t in scope:
        m = metrics_from_counts(char_t[t])
        for j, code in enumerate(ctx.cb.ids):
            if char_t[t][j, :3].sum() > 0:
                out.append({"transcript": t, "code": code, "characters": int(char_t[t][j].sum()),
                            "percent": finite(m["percent"][j]), "kappa": finite(m["kappa"][j])})
    return out


# -- 3. unitizing and overlap ------------------------------------------------------------------
def unitizing_level(ctx: Context, p: PairScope) -> dict:
    ma, mb = ctx.masks[p.a.name], ctx.masks[p.b.name]
    unit_groups = p.by_group(ctx, 7, lambda t: unitizing_stats([ma[t], mb[t]], ctx.universe[t]))
    boot_tables = p.replicates(unit_groups)
    ub = {"alpha_binary": alpha_binary_unitized(boot_tables)} if p.boot else None
    domain_rows, domain_levels = domain_agreement(ctx, [p.a, p.b], p.scope, p.groups, p.gindex, p.W)
    urows, ulevels = family(ctx.cb, ctx.ci, {"alpha_binary": alpha_binary_unitized(unit_groups.sum(0))}, ub,
                            domain_levels)
    overlap = _overlap(ctx, p)
    for row, orow in zip(urows, overlap["codes"]):
        row.update({"units_a": orow["units_a"], "units_b": orow["units_b"]})
    return {"codes": urows, "levels": ulevels, "domains": domain_rows, "overlap": overlap}


def _overlap(ctx: Context, p: PairScope) -> dict:
    """The segment-overlap match of MAXQDA and QDA Miner."""
    threshold = ctx.settings["overlap_threshold"]
    ua, ub = ctx.units[p.a.name], ctx.units[p.b.name]
    ov_groups = p.by_group(ctx, 4, lambda t: overlap_counts(ua, ub, t, ctx.cb, threshold))
    total = ov_groups.sum(0)
    boot_tables = p.replicates(ov_groups)
    ob = {"agreement": overlap_agreement(boot_tables)} if p.boot else None
    rows, levels = family(ctx.cb, ctx.ci, {"agreement": overlap_agreement(total)}, ob)
    for j, row in enumerate(rows):
        units_a, matched_a, units_b, matched_b = cells(total[j])
        row.update({"units_a": units_a, "matched_a": matched_a, "units_b": units_b, "matched_b": matched_b})
    return {"threshold": threshold, "codes": rows, "levels": levels}


# -- cu-alpha per semantic domain --------------------------------------------------------------
def domain_agreement(ctx: Context, coders, scope, groups, gindex, W) -> tuple[list[dict], dict]:
    """cu-alpha of every semantic domain, with intervals; level means as extra level figures."""
    cb = ctx.cb
    rows = []
    by_level: dict[str, list[tuple[float, np.ndarray | None]]] = defaultdict(list)
    for domain, children in domains(cb):
        values, mats = _domain_coincidences(ctx, coders, scope, groups, gindex, [cb.index[c] for c in children])
        row, alpha, boot = _domain_row(ctx, values, mats, W, children)
        rows.append({"domain": domain or "(top level)", **row})
        by_level[row["level"]].append((alpha, boot))
    return rows, {level: {"cu_alpha": _mean_alpha(items, ctx.ci)} for level, items in by_level.items()}


def _domain_coincidences(ctx: Context, coders, scope, groups, gindex, idx) -> tuple[list[int], np.ndarray]:
    """The domain's values and each participant's coincidence matrix of them (groups, V, V)."""
    per_group: list[dict] = [defaultdict(float) for _ in groups]
    for t in scope:
        pairs = cu_coincidences([ctx.masks[c.name][t] for c in coders], ctx.universe[t], idx)
        target = per_group[gindex[ctx.participant_of[t]]]
        for k, w in pairs.items():
            target[k] += w
    values = sorted({k for g in per_group for pair in g for k in pair})
    if not values:
        return values, np.zeros((len(groups), 0, 0))
    return values, np.array([coincidence_matrix(g, values)[1] for g in per_group])


def _domain_row(ctx: Context, values, mats, W, children) -> tuple[dict, float, np.ndarray | None]:
    """A domain's row (without its name), its cu-alpha and the alpha's bootstrap replicates."""
    total = mats.sum(0) if len(mats) else np.zeros((0, 0))
    alpha = alpha_stack(total[None])[0] if values else math.nan
    boot = resample(mats, W, alpha_stack) if (W is not None and len(W) and values) else None
    ci = interval(boot, ctx.ci) if boot is not None else [None, None]
    row = {"level": ctx.cb.level_name(children[0]), "codes": len(children),
           "values": [value_label(v, children) for v in values],
           "characters": finite(total.sum() / 2) if values else 0.0,
           "cu_alpha": finite(alpha), "ci": {"cu_alpha": ci}}
    return row, alpha, boot


def _mean_alpha(items: list[tuple[float, np.ndarray | None]], level: float) -> tuple[float, list | None]:
    """Mean cu-alpha of a level's domains (undefined ones left out), with its interval."""
    alphas = [x for x, _ in items if not math.isnan(x)]
    mean = float(np.mean(alphas)) if alphas else math.nan
    boots = [bt for _, bt in items if bt is not None]
    if not boots:
        return mean, None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        stack = np.nanmean(np.column_stack(boots), axis=1)
    return mean, interval(stack, level)
