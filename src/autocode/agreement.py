"""Segment-level agreement between two codings of the same segments.

Per code: percent agreement, Cohen's kappa, and precision, recall and F1 with coding A as the
reference; then macro averages (and micro-F1) per level of the hierarchy. Undefined values
(a code neither coder used) are NaN and left out of averages.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from autocode.codebook import Codebook


@dataclass(frozen=True)
class CodeAgreement:
    code: str
    level: str
    n: int
    count_a: int
    count_b: int
    percent: float
    kappa: float
    precision: float
    recall: float
    f1: float


def _ratio(num: float, den: float) -> float:
    return num / den if den else math.nan


def cohen_kappa(a: np.ndarray, b: np.ndarray) -> float:
    """Cohen's kappa for two binary vectors; NaN when chance agreement is total."""
    a, b = np.asarray(a, dtype=bool), np.asarray(b, dtype=bool)
    n = len(a)
    if n == 0:
        return math.nan
    po = float((a == b).mean())
    pa, pb = a.mean(), b.mean()
    pe = float(pa * pb + (1 - pa) * (1 - pb))
    if pe >= 1.0:
        return math.nan
    return (po - pe) / (1 - pe)


def binary_agreement(code: str, level: str, a: np.ndarray, b: np.ndarray) -> CodeAgreement:
    a, b = np.asarray(a, dtype=bool), np.asarray(b, dtype=bool)
    tp = int((a & b).sum())
    precision = _ratio(tp, int(b.sum()))
    recall = _ratio(tp, int(a.sum()))
    f1 = _ratio(2 * tp, int(a.sum()) + int(b.sum()))
    percent = float((a == b).mean()) if len(a) else math.nan
    return CodeAgreement(code, level, len(a), int(a.sum()), int(b.sum()), percent, cohen_kappa(a, b), precision, recall, f1)


def per_code(Ya: np.ndarray, Yb: np.ndarray, codebook: Codebook) -> list[CodeAgreement]:
    Ya, Yb = codebook.closure(Ya), codebook.closure(Yb)
    return [binary_agreement(c.id, codebook.level_name(c.id), Ya[:, j], Yb[:, j]) for j, c in enumerate(codebook.codes)]


def _nanmean(values: list[float]) -> float:
    values = [v for v in values if not math.isnan(v)]
    return float(np.mean(values)) if values else math.nan


def level_codes(codebook: Codebook) -> dict[str, list[str]]:
    """Codes per reporting level: each named level by depth, plus 'fine' (every leaf)."""
    levels: dict[str, list[str]] = {}
    for code in codebook.codes:
        levels.setdefault(codebook.level_name(code.id), []).append(code.id)
    levels["fine"] = codebook.leaves()
    return levels


def summarise(rows: list[CodeAgreement], codebook: Codebook, Ya: np.ndarray, Yb: np.ndarray) -> dict[str, dict]:
    """Macro F1, macro kappa, mean percent agreement and micro-F1 per level."""
    Ya, Yb = codebook.closure(Ya), codebook.closure(Yb)
    by_code = {r.code: r for r in rows}
    out = {}
    for level, codes in level_codes(codebook).items():
        cols = [codebook.index[c] for c in codes]
        tp = int((Ya[:, cols] & Yb[:, cols]).sum())
        out[level] = {
            "codes": len(codes),
            "macro_f1": _nanmean([by_code[c].f1 for c in codes]),
            "micro_f1": _ratio(2 * tp, int(Ya[:, cols].sum() + Yb[:, cols].sum())),
            "kappa": _nanmean([by_code[c].kappa for c in codes]),
            "percent": _nanmean([by_code[c].percent for c in codes]),
        }
    return out


# -- more segment-level metrics (added for the agreement report) -----------------------------
#
# Everything below works on 2x2 tables of two binary codings, stored as the last axis of an
# array: ``[n11, n10, n01, n00]`` (both coded, only A, only B, neither). Tables add up over
# transcripts and participants, so a bootstrap over participants is one weighted sum, and every
# function here accepts arrays of tables of any shape (NaN where a figure is undefined).

COUNT_FIELDS = ("n11", "n10", "n01", "n00")


def contingency(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``[n11, n10, n01, n00]`` of two binary vectors (or column-wise for two matrices)."""
    a, b = np.asarray(a, dtype=bool), np.asarray(b, dtype=bool)
    return np.stack([(a & b).sum(0), (a & ~b).sum(0), (~a & b).sum(0), (~a & ~b).sum(0)], axis=-1).astype(float)


def _split(counts) -> tuple[np.ndarray, ...]:
    t = np.asarray(counts, dtype=float)
    return t[..., 0], t[..., 1], t[..., 2], t[..., 3]


def _div(num, den) -> np.ndarray:
    num, den = np.asarray(num, dtype=float), np.asarray(den, dtype=float)
    out = np.full(np.broadcast(num, den).shape, np.nan)
    np.divide(num, den, out=out, where=den != 0)
    return out


def percent_from_counts(counts) -> np.ndarray:
    n11, n10, n01, n00 = _split(counts)
    return _div(n11 + n00, n11 + n10 + n01 + n00)


def kappa_from_counts(counts) -> np.ndarray:
    """Cohen's kappa; NaN where chance agreement is total (both coders constant and equal)."""
    n11, n10, n01, n00 = _split(counts)
    n = n11 + n10 + n01 + n00
    po = _div(n11 + n00, n)
    pa, pb = _div(n11 + n10, n), _div(n11 + n01, n)
    pe = pa * pb + (1 - pa) * (1 - pb)
    with np.errstate(invalid="ignore"):
        out = _div(po - pe, 1 - pe)
        return np.where(np.isclose(pe, 1.0), np.nan, out)


def ac1_from_counts(counts) -> np.ndarray:
    """Gwet's AC1 for two coders and two categories: chance agreement 2*pi*(1-pi), where pi
    is the mean share of units the two coders coded."""
    n11, n10, n01, n00 = _split(counts)
    n = n11 + n10 + n01 + n00
    po = _div(n11 + n00, n)
    pi = _div(2 * n11 + n10 + n01, 2 * n)
    pe = 2 * pi * (1 - pi)
    return _div(po - pe, 1 - pe)


def alpha_from_counts(counts) -> np.ndarray:
    """Krippendorff's alpha (nominal) for two coders who both coded every unit.

    With n units there are N = 2n pairable values; the coincidence matrix holds 2*n11 and
    2*n00 on its diagonal and d = n10 + n01 off it, so alpha = 1 - (N - 1) d / (n_0 n_1).
    NaN where only one value occurs.
    """
    n11, n10, n01, n00 = _split(counts)
    big_n = 2 * (n11 + n10 + n01 + n00)
    d = n10 + n01
    n1 = 2 * n11 + d
    n0 = 2 * n00 + d
    return 1 - _div((big_n - 1) * d, n0 * n1)


def prf_from_counts(counts) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Precision, recall and F1 with coder A as the reference."""
    n11, n10, n01, _ = _split(counts)
    return _div(n11, n11 + n01), _div(n11, n11 + n10), _div(2 * n11, 2 * n11 + n10 + n01)


def metrics_from_counts(counts) -> dict[str, np.ndarray]:
    """Every figure of a 2x2 table (or of an array of them), by name."""
    precision, recall, f1 = prf_from_counts(counts)
    return {"percent": percent_from_counts(counts), "kappa": kappa_from_counts(counts),
            "alpha": alpha_from_counts(counts), "ac1": ac1_from_counts(counts),
            "precision": precision, "recall": recall, "f1": f1}


def gwet_ac1(a: np.ndarray, b: np.ndarray) -> float:
    """Gwet's AC1 for two binary vectors."""
    return float(ac1_from_counts(contingency(a, b)))


def krippendorff_alpha_binary(a: np.ndarray, b: np.ndarray) -> float:
    """Krippendorff's alpha (nominal) for two binary vectors with no missing values."""
    return float(alpha_from_counts(contingency(a, b)))


def coincidences(values: np.ndarray, n_values: int | None = None) -> np.ndarray:
    """Krippendorff's coincidence matrix of (coders x units) integer values; -1 is missing.

    Each unit with m_u >= 2 values adds every ordered pair of its values from different coders,
    weighted 1 / (m_u - 1). Units with fewer than two values are not pairable and add nothing.
    """
    values = np.asarray(values, dtype=int)
    if values.ndim != 2:
        raise ValueError("values must be a (coders, units) matrix")
    v = int(n_values if n_values is not None else (values.max() + 1 if values.size else 0))
    o = np.zeros((v, v))
    if values.size == 0 or v == 0:
        return o
    counts = np.stack([(values == k).sum(0) for k in range(v)], axis=1).astype(float)  # (units, values)
    m = counts.sum(1)
    keep = m >= 2
    counts, m = counts[keep], m[keep]
    if len(m):
        o = np.einsum("u,uc,uk->ck", 1 / (m - 1), counts, counts) - np.diag((counts / (m - 1)[:, None]).sum(0))
    return o


def alpha_from_coincidences(o: np.ndarray) -> float:
    """Nominal Krippendorff's alpha from a coincidence matrix: 1 - (n-1)(n - trace) / (n^2 - sum n_c^2)."""
    o = np.asarray(o, dtype=float)
    n_c = o.sum(1)
    n = float(n_c.sum())
    expected = n * n - float((n_c ** 2).sum())
    if n <= 1 or expected <= 1e-12:
        return math.nan
    return 1 - (n - 1) * (n - float(np.trace(o))) / expected


def krippendorff_alpha(values, level: str = "nominal") -> float:
    """Krippendorff's alpha of (coders x units) data, NaN for missing, via the ``krippendorff``
    package; NaN (instead of an error) where fewer than two distinct values or no pairable
    unit occur."""
    import krippendorff

    data = np.asarray(values, dtype=float)
    if data.ndim != 2 or data.shape[0] < 2:
        return math.nan
    pairable = (~np.isnan(data)).sum(0) >= 2
    if not pairable.any():
        return math.nan
    data = data[:, pairable]
    present = data[~np.isnan(data)]
    if len(np.unique(present)) < 2:
        return math.nan
    return float(krippendorff.alpha(reliability_data=data, level_of_measurement=level))


@dataclass(frozen=True)
class SegmentCodeAgreement(CodeAgreement):
    """:class:`CodeAgreement` plus Krippendorff's alpha and Gwet's AC1."""

    alpha: float = math.nan
    ac1: float = math.nan


def per_code_full(Ya: np.ndarray, Yb: np.ndarray, codebook: Codebook) -> list[SegmentCodeAgreement]:
    """Like :func:`per_code`, with Krippendorff's alpha and Gwet's AC1 for every code."""
    Ya, Yb = codebook.closure(Ya), codebook.closure(Yb)
    table = contingency(Ya, Yb).reshape(len(codebook), 4)
    m = metrics_from_counts(table)
    rows = []
    for j, code in enumerate(codebook.codes):
        n11, n10, n01, n00 = (int(x) for x in table[j])
        rows.append(SegmentCodeAgreement(
            code.id, codebook.level_name(code.id), n11 + n10 + n01 + n00, n11 + n10, n11 + n01,
            float(m["percent"][j]), float(m["kappa"][j]), float(m["precision"][j]), float(m["recall"][j]),
            float(m["f1"][j]), float(m["alpha"][j]), float(m["ac1"][j])))
    return rows
