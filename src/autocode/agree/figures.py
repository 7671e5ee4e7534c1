"""Figures as the report holds them: plain floats (None for undefined), bootstrap intervals, and
per-code rows with per-level means for a family of measures."""

from __future__ import annotations

import math

import numpy as np

from autocode.agreement import level_codes
from autocode.agreement_levels import level_means, percentile_ci
from autocode.codebook import Codebook


def finite(x) -> float | None:
    """A float for JSON: None where the figure is undefined (NaN)."""
    x = float(x)
    return None if math.isnan(x) else x


def ci_pair(lo, hi) -> list:
    return [finite(lo), finite(hi)]


def interval(samples: np.ndarray, level: float) -> list:
    """The percentile interval of one figure's bootstrap replicates (a 1-D array)."""
    lo, hi = percentile_ci(np.asarray(samples)[:, None], level)
    return ci_pair(lo[0], hi[0])


def cells(table_row) -> tuple[int, int, int, int]:
    """A code's 2x2 table ``[n11, n10, n01, n00]`` as whole numbers."""
    n11, n10, n01, n00 = (int(x) for x in table_row)
    return n11, n10, n01, n00


def alpha_stack(o: np.ndarray) -> np.ndarray:
    """Nominal alpha of a stack of coincidence matrices (..., V, V)."""
    o = np.asarray(o, dtype=float)
    n_c = o.sum(-1)
    n = n_c.sum(-1)
    expected = n * n - (n_c ** 2).sum(-1)
    trace = np.trace(o, axis1=-2, axis2=-1)
    ok = (n > 1) & (expected > 1e-12)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(ok, 1 - (n - 1) * (n - trace) / np.where(ok, expected, 1), np.nan)


# -- a family of measures: per-code rows and per-level summaries -------------------------------
def family(cb: Codebook, level: float, values: dict[str, np.ndarray], boot: dict[str, np.ndarray] | None,
           extra_levels=None) -> tuple[list[dict], dict]:
    """Per-code rows and per-level means of ``values`` (name: per-code array), with intervals
    from ``boot`` (name: replicates x codes); ``extra_levels`` adds (value, interval) figures
    per level."""
    rows = _code_rows(cb, level, values, boot)
    levels = _level_rows(cb, level, values, boot)
    for name, figures in (extra_levels or {}).items():
        for k, (value, ci) in figures.items():
            levels[name][k] = finite(value)
            levels[name]["ci"][k] = ci if ci is not None else [None, None]
    return rows, levels


def _code_rows(cb: Codebook, level: float, values: dict[str, np.ndarray], boot: dict[str, np.ndarray] | None) -> list[dict]:
    per_code_ci = {k: percentile_ci(v, level) for k, v in (boot or {}).items()}
    rows = []
    for j, code in enumerate(cb.codes):
        row = {"code": code.id, "level": cb.level_name(code.id)}
        for k, v in values.items():
            row[k] = finite(v[j])
        row["ci"] = {k: ci_pair(*(x[j] for x in per_code_ci[k])) if k in per_code_ci else [None, None] for k in values}
        rows.append(row)
    return rows


def _level_rows(cb: Codebook, level: float, values: dict[str, np.ndarray], boot: dict[str, np.ndarray] | None) -> dict:
    levels: dict[str, dict] = {name: {"codes": len(codes), "ci": {}} for name, codes in level_codes(cb).items()}
    for k, v in values.items():
        means = level_means(v, cb)
        boot_means = level_means(boot[k], cb) if boot and k in boot else None
        for name in levels:
            levels[name][k] = finite(means[name])
            levels[name]["ci"][k] = [None, None]
            if boot_means is not None:
                levels[name]["ci"][k] = interval(boot_means[name], level)
    return levels


def micro_f1(cb: Codebook, tables: np.ndarray, boot_tables: np.ndarray | None, level: float) -> dict[str, dict]:
    """Micro-averaged F1 over each level's codes, as extra level figures for :func:`family`."""
    out = {}
    for name, codes in level_codes(cb).items():
        cols = [cb.index[c] for c in codes]
        ci = None
        if boot_tables is not None and len(boot_tables):
            ci = interval(_micro(boot_tables, cols), level)
        out[name] = {"micro_f1": (_micro(tables, cols), ci)}
    return out


def _micro(tables: np.ndarray, cols: list[int]) -> np.ndarray:
    s = tables[..., cols, :].sum(-2)
    den = 2 * s[..., 0] + s[..., 1] + s[..., 2]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, 2 * s[..., 0] / np.where(den > 0, den, 1), np.nan)
