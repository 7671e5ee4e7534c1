"""Agreement on the text itself: character level, unitizing alpha and segment-overlap matching.

These measures need no segmentation. They compare where each coder put each code in the
characters of a transcript, so they also work for coders who draw different span boundaries.

- **Character level** (as NVivo's coding comparison and QualCoder compute it): every character
  of the text in scope is a unit, coded or not with code C by each coder. Percent agreement,
  Cohen's kappa and Krippendorff's alpha of the resulting 2x2 table. ``exclude_uncoded`` drops
  the characters that no coder coded with any code.
- **Unitizing alpha** (Krippendorff, Mathet, Bouvry and Widlöcher 2016; ATLAS.ti's "alpha
  binary" and "cu-alpha"): the continuum of each transcript is divided by every coder into
  coded units and gaps. Observed coincidences are lengths of intersections, as at character
  level; expected coincidences treat each coded unit as one indivisible piece (its length
  squared is taken out of the chance pairs), and gaps as divisible.
- **Segment overlap** (as MAXQDA and QDA Miner match codings): a coded unit of one coder
  matches when the other coder has a unit of the same code in the same transcript overlapping
  it by at least ``threshold`` of the two units' combined extent (intersection over union).

All of these are computed per transcript as additive tables, so they pool over transcripts
and bootstrap over participants by weighted sums. A code's units are closed up the hierarchy:
text coded with a code counts for its category and dimension; a coder's units of one code are
merged where they overlap or touch.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Iterable, Mapping, Sequence

import numpy as np

from autocode.agreement import alpha_from_coincidences, coincidences
from autocode.codebook import Codebook
from autocode.io.codings import Span
from autocode.io.transcripts import Transcript
from autocode.labels import merge_intervals  # the projection's interval merge: one rule for both

UNIVERSES = ("participant", "transcript")


# -- masks -----------------------------------------------------------------------------------
def universe_mask(transcript: Transcript, universe: str = "participant") -> np.ndarray:
    """The characters that count: participant turns (default) or the whole transcript text."""
    if universe not in UNIVERSES:
        raise ValueError(f"universe must be one of {UNIVERSES}, not {universe!r}")
    mask = np.zeros(len(transcript.text), dtype=bool)
    if universe == "transcript":
        mask[:] = True
        return mask
    for turn in transcript.turns:
        if not turn.is_interviewer:
            mask[turn.start : turn.end] = True
    return mask


def code_masks(spans: Iterable[Span], codebook: Codebook, lengths: Mapping[str, int]) -> dict[str, np.ndarray]:
    """Per transcript in ``lengths``, a boolean (n_codes, length) matrix: which characters each
    code covers, closed up the hierarchy. Spans of other transcripts are ignored."""
    marks: dict[str, np.ndarray] = {tid: np.zeros((len(codebook), n + 1), dtype=np.int32) for tid, n in lengths.items()}
    for span in spans:
        diff = marks.get(span.transcript)
        if diff is None:
            continue
        j = codebook.index[span.code]
        diff[j, span.start] += 1
        diff[j, span.end] -= 1
    out = {}
    for tid, diff in marks.items():
        mask = np.cumsum(diff, axis=1)[:, :-1] > 0
        out[tid] = codebook.closure(mask.T).T
    return out


# -- character level ---------------------------------------------------------------------------
def char_counts(mask_a: np.ndarray, mask_b: np.ndarray, universe: np.ndarray, exclude_uncoded: bool = False) -> np.ndarray:
    """Per code ``[n11, n10, n01, n00]`` over the characters of ``universe``.

    With ``exclude_uncoded`` only characters that at least one coder coded (with any code)
    count, so text nobody coded cannot inflate agreement.
    """
    u = universe.copy()
    if exclude_uncoded:
        u &= mask_a.any(0) | mask_b.any(0)
    a, b = mask_a & u, mask_b & u
    n11 = (a & b).sum(1)
    n10 = (a & ~b).sum(1)
    n01 = (~a & b).sum(1)
    n00 = int(u.sum()) - n11 - n10 - n01
    return np.stack([n11, n10, n01, n00], axis=1).astype(float)


def binary_coincidence_stats(masks: Sequence[np.ndarray], universe: np.ndarray, exclude_uncoded: bool = False) -> np.ndarray:
    """For m >= 2 coders, per code ``[o11, o10, o00]``: the binary coincidence matrix of
    characters (o01 = o10). Every coder is taken to have coded every character in scope."""
    m = len(masks)
    if m < 2:  # a single coder: nothing to pair, every figure undefined
        return np.zeros((masks[0].shape[0] if masks else 0, 3))
    u = universe.copy()
    if exclude_uncoded:
        u &= np.any([mk.any(0) for mk in masks], axis=0)
    k = np.sum([mk & u for mk in masks], axis=0).astype(float)  # (n_codes, L): coders coding each char
    w = u.astype(float)
    o11 = (k * (k - 1) * w).sum(1) / (m - 1)
    o10 = (k * (m - k) * w).sum(1) / (m - 1)
    o00 = ((m - k) * (m - k - 1) * w).sum(1) / (m - 1)
    return np.stack([o11, o10, o00], axis=1)


def alpha_from_binary_coincidences(stats) -> np.ndarray:
    """Nominal alpha from ``[o11, o10, o00]`` (array of any leading shape)."""
    s = np.asarray(stats, dtype=float)
    o11, o10, o00 = s[..., 0], s[..., 1], s[..., 2]
    n1, n0 = o11 + o10, o00 + o10
    n = n1 + n0
    den = n1 * n0 * 2
    out = np.full(n.shape, np.nan)
    ok = (den > 0) & (n > 1)
    np.divide((n - 1) * 2 * o10, den, out=out, where=ok)
    return np.where(ok, 1 - out, np.nan)


# -- unitizing alpha ---------------------------------------------------------------------------
UNIT_FIELDS = ("o11", "o10", "o00", "total", "coded", "squares", "units")


def unit_runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Runs of True along the last axis of a 2-D mask: (row, start, end) arrays."""
    mask = np.atleast_2d(mask)
    padded = np.zeros((mask.shape[0], mask.shape[1] + 2), dtype=np.int8)
    padded[:, 1:-1] = mask
    d = np.diff(padded, axis=1)
    rows, starts = np.nonzero(d == 1)
    _, ends = np.nonzero(d == -1)
    return rows, starts, ends


def unitizing_stats(masks: Sequence[np.ndarray], universe: np.ndarray) -> np.ndarray:
    """Additive statistics of the binary unitizing alpha ("alpha binary") for m >= 2 coders.

    Per code: ``o11, o10, o00`` (length coincidences, as at character level), ``total``
    (m times the length of the continuum), ``coded`` (summed length of all coders' units),
    ``squares`` (summed squared unit lengths) and ``units`` (number of units). A unit is a run
    of characters of the continuum that a coder coded with the code.
    """
    m = len(masks)
    n_codes = masks[0].shape[0]
    if m < 2:  # a single coder: nothing to pair, alpha undefined
        return np.zeros((n_codes, len(UNIT_FIELDS)))
    co = binary_coincidence_stats(masks, universe)
    squares = np.zeros(n_codes)
    units = np.zeros(n_codes)
    coded = np.zeros(n_codes)
    for mk in masks:
        rows, starts, ends = unit_runs(mk & universe)
        lengths = (ends - starts).astype(float)
        squares += np.bincount(rows, weights=lengths ** 2, minlength=n_codes)
        units += np.bincount(rows, minlength=n_codes)
        coded += np.bincount(rows, weights=lengths, minlength=n_codes)
    total = np.full(n_codes, float(m * universe.sum()))
    return np.column_stack([co, total, coded, squares, units])


def alpha_binary_unitized(stats) -> np.ndarray:
    """Krippendorff's binary unitizing alpha (ATLAS.ti's "alpha binary") from
    :func:`unitizing_stats` (summed over transcripts; any leading shape).

    With l = total, l1 = coded length, l0 = l - l1 and S = sum of squared unit lengths, the
    expected coincidences are e11 = l (l1^2 - S) / D and e00 = l (l0^2 - l0) / D with
    D = l^2 - S - l0; alpha = 1 - (l - o11 - o00) / (l - e11 - e00). If every unit were one
    character long this is exactly the character-level alpha.
    """
    s = np.asarray(stats, dtype=float)
    o11, o00, total, coded, squares = s[..., 0], s[..., 2], s[..., 3], s[..., 4], s[..., 5]
    l0 = total - coded
    den = total ** 2 - squares - l0
    with np.errstate(invalid="ignore", divide="ignore"):
        e11 = np.where(den > 0, total * (coded ** 2 - squares) / np.where(den > 0, den, 1), np.nan)
        e00 = np.where(den > 0, total * (l0 ** 2 - l0) / np.where(den > 0, den, 1), np.nan)
        observed = total - o11 - o00
        expected = total - e11 - e00
        ok = expected > 1e-9 * np.maximum(total, 1)
        return np.where(ok, 1 - observed / np.where(ok, expected, 1), np.nan)


def domains(codebook: Codebook) -> list[tuple[str, list[str]]]:
    """Semantic domains for cu-alpha: the top-level codes (domain ``""``), then every code with
    children, each with its child codes."""
    out = [("", [c.id for c in codebook.codes if c.parent is None])]
    out += [(c.id, list(c.children)) for c in codebook.codes if c.children]
    return out


def domain_values(masks: Sequence[np.ndarray], universe: np.ndarray, children: Sequence[int]) -> np.ndarray:
    """(coders, characters-in-scope) value keys within a domain: a bit per child code applied
    (0 is "no code of the domain"). Two children on one character make a combined value."""
    weights = (1 << np.arange(len(children), dtype=np.int64))
    return np.stack([(mk[list(children)][:, universe].T.astype(np.int64) @ weights) for mk in masks])


def cu_coincidences(masks: Sequence[np.ndarray], universe: np.ndarray, children: Sequence[int]) -> dict[tuple[int, int], float]:
    """Coincidences of domain values over the characters that two or more coders coded within
    the domain (other coders are treated as missing there), keyed by (value, value)."""
    keys = domain_values(masks, universe, children)
    valued = (keys > 0).sum(0) >= 2
    keys = keys[:, valued]
    if keys.shape[1] == 0:
        return {}
    distinct = np.unique(keys[keys > 0])
    local = np.where(keys > 0, np.searchsorted(distinct, keys), -1)
    o = coincidences(local, len(distinct))
    out = {}
    for i, j in zip(*np.nonzero(o)):
        out[(int(distinct[i]), int(distinct[j]))] = float(o[i, j])
    return out


def cu_alpha(pairs: Mapping[tuple[int, int], float]) -> float:
    """Nominal alpha of a domain's value coincidences (ATLAS.ti's cu-alpha)."""
    return alpha_from_coincidences(coincidence_matrix(pairs)[1])


def coincidence_matrix(pairs: Mapping[tuple[int, int], float], values: Sequence[int] | None = None) -> tuple[list[int], np.ndarray]:
    values = sorted({k for pair in pairs for k in pair}) if values is None else list(values)
    index = {v: i for i, v in enumerate(values)}
    o = np.zeros((len(values), len(values)))
    for (a, b), w in pairs.items():
        o[index[a], index[b]] += w
    return values, o


def value_label(key: int, children: Sequence[str]) -> str:
    names = [children[i].rsplit(".", 1)[-1] for i in range(len(children)) if key >> i & 1]
    return "+".join(names) or "(none)"


# -- segment overlap (MAXQDA, QDA Miner) ------------------------------------------------------
def merged_units(spans: Iterable[Span], codebook: Codebook) -> dict[tuple[str, str], list[tuple[int, int]]]:
    """Each coder's units per (transcript, code), closed up the hierarchy, merged where they
    overlap or touch, in text order."""
    raw: dict[tuple[str, str], list[tuple[int, int]]] = defaultdict(list)
    for span in spans:
        for code in [span.code, *codebook.ancestors(span.code)]:
            raw[(span.transcript, code)].append((span.start, span.end))
    return {key: merge_intervals(intervals) for key, intervals in raw.items()}


def overlap_share(a: tuple[int, int], b: tuple[int, int]) -> float:
    """Intersection over union of two intervals."""
    inter = max(0, min(a[1], b[1]) - max(a[0], b[0]))
    union = (a[1] - a[0]) + (b[1] - b[0]) - inter
    return inter / union if union else 0.0


OVERLAP_FIELDS = ("units_a", "matched_a", "units_b", "matched_b")


def overlap_counts(units_a: Mapping[tuple[str, str], list[tuple[int, int]]],
                   units_b: Mapping[tuple[str, str], list[tuple[int, int]]],
                   transcript: str, codebook: Codebook, threshold: float = 0.9) -> np.ndarray:
    """Per code of one transcript: ``[units_a, matched_a, units_b, matched_b]``. A unit is
    matched when the other coder has a unit of the same code overlapping it by at least
    ``threshold`` (intersection over union; ``threshold`` is a share, 0.9 = 90%)."""
    out = np.zeros((len(codebook), 4))
    eps = 1e-12
    for j, code in enumerate(codebook.ids):
        ua, ub = units_a.get((transcript, code), []), units_b.get((transcript, code), [])
        matched_a = sum(any(overlap_share(u, v) >= threshold - eps for v in ub) for u in ua)
        matched_b = sum(any(overlap_share(v, u) >= threshold - eps for u in ua) for v in ub)
        out[j] = (len(ua), matched_a, len(ub), matched_b)
    return out


def overlap_agreement(counts) -> np.ndarray:
    """Share of all units (both coders) that found a match: (matched_a + matched_b) / (units_a + units_b)."""
    c = np.asarray(counts, dtype=float)
    num, den = c[..., 1] + c[..., 3], c[..., 0] + c[..., 2]
    out = np.full(num.shape, np.nan)
    np.divide(num, den, out=out, where=den > 0)
    return out

