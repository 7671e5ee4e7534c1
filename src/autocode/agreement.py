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
