"""Agreement metrics: hand-computed golden cases (degenerate ones included) and properties
checked against independent implementations (scikit-learn, the krippendorff package)."""

from __future__ import annotations

import math
import os
import warnings

import krippendorff
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.metrics import cohen_kappa_score

from autocode import agreement as ag
from autocode.agreement_levels import (bootstrap_weights, count_summary, grade_index, grade_match_summary, percentile_ci,
                                       presence_tables)
from autocode.agreement_units import (alpha_binary_unitized, alpha_from_binary_coincidences, binary_coincidence_stats,
                                      char_counts, code_masks, cu_alpha, cu_coincidences, merged_units, overlap_agreement,
                                      overlap_counts, unitizing_stats)
from autocode.codebook import Codebook
from autocode.config import GradingConfig
from autocode.grading import GradeRow, grade_for_share
from autocode.io.codings import Span

# 40 examples keep the default suite fast; AUTOCODE_HYPOTHESIS_EXAMPLES=2000 for a deeper run.
FAST = settings(max_examples=int(os.environ.get("AUTOCODE_HYPOTHESIS_EXAMPLES", "40")), deadline=None, suppress_health_check=[HealthCheck.too_slow])


def close(x, y, tol=1e-9) -> bool:
    if isinstance(x, str) or isinstance(y, str):
        return x == y
    return (math.isnan(x) and math.isnan(y)) or abs(x - y) <= tol


def table(a, b):
    return ag.contingency(np.array(a, bool), np.array(b, bool))


# -- golden: segment level -------------------------------------------------------------------
# The two coders of ATLAS.ti's percent-agreement example: ten segments, one code.
A10 = [1, 1, 0, 0, 0, 0, 0, 0, 0, 0]
B10 = [0, 1, 1, 0, 0, 1, 0, 1, 0, 0]


def test_golden_two_by_two():
    t = table(A10, B10)
    assert t.tolist() == [1, 1, 3, 5]  # both, only A, only B, neither
    m = ag.metrics_from_counts(t)
    assert m["percent"] == pytest.approx(0.6)
    # kappa: pa = .2, pb = .4, pe = .2*.4 + .8*.6 = .56, (0.6 - .56) / .44 = 1/11
    assert m["kappa"] == pytest.approx(1 / 11)
    # alpha: N = 20 values, d = 4 disagreements, n1 = 2*1 + 4 = 6, n0 = 2*5 + 4 = 14: 1 - 19*4/84 = 2/21
    assert m["alpha"] == pytest.approx(2 / 21)
    # AC1: pi = (.2 + .4)/2 = .3, pe = 2*.3*.7 = .42, (.6 - .42)/.58 = 9/29
    assert m["ac1"] == pytest.approx(9 / 29)
    assert (m["precision"], m["recall"], m["f1"]) == pytest.approx((1 / 4, 1 / 2, 1 / 3))
    # the existing functions agree
    assert ag.cohen_kappa(np.array(A10), np.array(B10)) == pytest.approx(1 / 11)
    assert ag.gwet_ac1(np.array(A10), np.array(B10)) == pytest.approx(9 / 29)
    assert ag.krippendorff_alpha_binary(np.array(A10), np.array(B10)) == pytest.approx(2 / 21)


def test_golden_perfect_agreement():
    m = ag.metrics_from_counts(table([1, 0, 1, 0], [1, 0, 1, 0]))
    assert all(m[k] == pytest.approx(1.0) for k in ("percent", "kappa", "alpha", "ac1", "precision", "recall", "f1"))


def test_golden_code_no_coder_used():
    m = ag.metrics_from_counts(table([0, 0, 0, 0], [0, 0, 0, 0]))
    assert m["percent"] == 1.0 and m["ac1"] == 1.0  # AC1's chance agreement is 0 when nobody codes
    for k in ("kappa", "alpha", "precision", "recall", "f1"):
        assert math.isnan(m[k]), k


def test_golden_code_every_coder_used_everywhere():
    m = ag.metrics_from_counts(table([1, 1, 1], [1, 1, 1]))
    assert math.isnan(m["kappa"]) and math.isnan(m["alpha"]) and m["ac1"] == 1.0 and m["f1"] == 1.0


def test_golden_total_disagreement():
    m = ag.metrics_from_counts(table([1, 1, 0, 0], [0, 0, 1, 1]))
    assert m["percent"] == 0.0 and m["kappa"] == pytest.approx(-1.0)
    # alpha: N = 8, d = 4, n0 = n1 = 4: 1 - 7*4/16 = -0.75
    assert m["alpha"] == pytest.approx(-0.75)


def test_golden_krippendorff_reliability_data():
    """Krippendorff's (2011) worked example: 4 coders, 12 units, missing values, nominal alpha 0.743."""
    nan = np.nan
    data = np.array([
        [1, 2, 3, 3, 2, 1, 4, 1, 2, nan, nan, nan],
        [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, nan, 3],
        [nan, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, nan],
        [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, nan],
    ])
    assert ag.krippendorff_alpha(data) == pytest.approx(0.743, abs=5e-4)
    values = np.where(np.isnan(data), -1, data).astype(int)
    assert ag.alpha_from_coincidences(ag.coincidences(values)) == pytest.approx(0.743, abs=5e-4)


def test_golden_single_coder_is_undefined():
    assert math.isnan(ag.krippendorff_alpha(np.array([[1, 0, 1]])))
    assert math.isnan(ag.alpha_from_coincidences(ag.coincidences(np.array([[1, 0, 1]]))))
    one = [np.array([[True, False, True, True]])]
    assert np.isnan(alpha_from_binary_coincidences(binary_coincidence_stats(one, np.ones(4, bool)))).all()
    assert np.isnan(alpha_binary_unitized(unitizing_stats(one, np.ones(4, bool)))).all()


def test_existing_agreement_api_unchanged(mini_codebook):
    rng = np.random.default_rng(1)
    Ya, Yb = rng.random((30, len(mini_codebook))) < 0.3, rng.random((30, len(mini_codebook))) < 0.3
    old = ag.per_code(Ya, Yb, mini_codebook)
    new = ag.per_code_full(Ya, Yb, mini_codebook)
    for o, n in zip(old, new):
        assert isinstance(n, ag.CodeAgreement)
        for f in ("code", "level", "n", "count_a", "count_b", "percent", "kappa", "precision", "recall", "f1"):
            assert close(getattr(o, f), getattr(n, f)), f
    assert set(ag.summarise(old, mini_codebook, Ya, Yb)) == {"dimension", "category", "code", "fine"}


# -- golden: character level and unitizing ----------------------------------------------------
def masks_of(*intervals_per_coder, length=10):
    out = []
    for intervals in intervals_per_coder:
        m = np.zeros((1, length), dtype=bool)
        for s, e in intervals:
            m[0, s:e] = True
        out.append(m)
    return out


def test_golden_character_level():
    a, b = masks_of([(0, 4)], [(2, 6)])
    u = np.ones(10, dtype=bool)
    t = char_counts(a, b, u)[0]
    assert t.tolist() == [2, 2, 2, 4]
    m = ag.metrics_from_counts(t)
    assert m["percent"] == pytest.approx(0.6)
    assert m["kappa"] == pytest.approx(1 / 6)  # pe = .4*.4 + .6*.6 = .52
    assert m["alpha"] == pytest.approx(20 / 96)  # 1 - 19*4/(8*12)
    # without the text nobody coded (characters 6-9) agreement drops: kappa (1/3 - 5/9)/(4/9) = -1/2
    t2 = char_counts(a, b, u, exclude_uncoded=True)[0]
    assert t2.tolist() == [2, 2, 2, 0]
    assert ag.kappa_from_counts(t2) == pytest.approx(-0.5)
    assert ag.percent_from_counts(t2) == pytest.approx(1 / 3)
    # the multi-coder coincidence form gives the same alpha
    assert alpha_from_binary_coincidences(binary_coincidence_stats([a, b], u))[0] == pytest.approx(20 / 96)


def test_golden_unitizing_alpha_binary():
    """Units [0,4) and [2,6) on a continuum of 10: o11 = 4, o10 = 4, o00 = 8; l = 20, l1 = 8,
    S = 32, l0 = 12, D = 400 - 32 - 12 = 356; e11 = 20*32/356, e00 = 20*132/356;
    alpha = 1 - 8 / (20 - 3280/356) = 1 - 2848/3840 = 31/120."""
    stats = unitizing_stats(masks_of([(0, 4)], [(2, 6)]), np.ones(10, dtype=bool))[0]
    assert stats.tolist() == [4, 4, 8, 20, 8, 32, 2]
    assert alpha_binary_unitized(stats) == pytest.approx(31 / 120)


def test_golden_unitizing_degenerate():
    u = np.ones(10, dtype=bool)
    assert alpha_binary_unitized(unitizing_stats(masks_of([(2, 5)], [(2, 5)]), u))[0] == pytest.approx(1.0)
    assert np.isnan(alpha_binary_unitized(unitizing_stats(masks_of([], []), u))[0])  # nobody used the code


def test_golden_cu_alpha():
    """Domain with codes x, y. A: x on 0-4, y on 4-8; B: x on 0-6, y on 6-8. Where both coded
    (8 characters): xx 4, yx 2, yy 2, so o_xx = 8, o_yy = 4, o_xy = o_yx = 2, n = 16,
    alpha = 1 - 15*4 / (256 - 100 - 36) = 0.5."""
    a = np.zeros((2, 10), dtype=bool)
    b = np.zeros((2, 10), dtype=bool)
    a[0, 0:4], a[1, 4:8] = True, True
    b[0, 0:6], b[1, 6:8] = True, True
    pairs = cu_coincidences([a, b], np.ones(10, dtype=bool), [0, 1])
    assert pairs == {(1, 1): 8.0, (1, 2): 2.0, (2, 1): 2.0, (2, 2): 4.0}
    assert cu_alpha(pairs) == pytest.approx(0.5)
    assert cu_alpha(cu_coincidences([a, a], np.ones(10, dtype=bool), [0, 1])) == pytest.approx(1.0)


def test_golden_overlap_match(mini_codebook):
    a = [Span("M01", 0, 100, "tension.beds", "a"), Span("M01", 200, 250, "tension.beds", "a")]
    b = [Span("M01", 5, 100, "tension.beds", "b"), Span("M01", 210, 250, "tension.beds", "b")]
    ua, ub = merged_units(a, mini_codebook), merged_units(b, mini_codebook)
    j = mini_codebook.index["tension.beds"]
    # overlaps: 95/100 (a match at 90%) and 40/50 (no match at 90%, a match at 80%)
    at90 = overlap_counts(ua, ub, "M01", mini_codebook, 0.9)
    assert at90[j].tolist() == [2, 1, 2, 1] and overlap_agreement(at90[j]) == pytest.approx(0.5)
    assert overlap_agreement(overlap_counts(ua, ub, "M01", mini_codebook, 0.8)[j]) == pytest.approx(1.0)
    # the parent code gets the same units (closed up the hierarchy); an unused code is undefined
    assert at90[mini_codebook.index["tension"]].tolist() == [2, 1, 2, 1]
    assert math.isnan(overlap_agreement(at90[mini_codebook.index["strategy"]]))


# -- golden: participant and grade level ------------------------------------------------------
def test_golden_participant_level():
    counts_a = np.array([[2, 0], [1, 1], [0, 0]])
    counts_b = np.array([[1, 0], [0, 1], [0, 1]])
    t = presence_tables(counts_a, counts_b).sum(0)
    assert t.tolist() == [[1, 1, 0, 1], [1, 0, 1, 1]]
    # po = 2/3, pa = 2/3, pb = 1/3, pe = 4/9: kappa = (2/9) / (5/9) = 0.4
    assert ag.kappa_from_counts(t).tolist() == pytest.approx([0.4, 0.4])
    s = count_summary(counts_a, counts_b)
    assert s["occurrences_a"].tolist() == [3, 1] and s["occurrences_b"].tolist() == [1, 2]
    assert s["mean_abs_diff"].tolist() == pytest.approx([1.0, 0.5])
    assert s["same_count"].tolist() == pytest.approx([0.0, 0.5])


def test_golden_grade_index_and_match(mini_codebook):
    config = GradingConfig()
    # 3/5 = 60% Strong (lower boundary), 2/5 Moderate, 1/5 Weaker, 0 below
    assert grade_index(np.array([3, 2, 1, 0]), 5, config).tolist() == [0, 1, 2, 3]
    upper = GradingConfig(boundary="upper")
    assert grade_index(np.array([3, 2, 1]), 5, upper).tolist() == [1, 2, 3]

    def rows(grades):
        return [GradeRow(c.id, mini_codebook.level_name(c.id), c.label, "all", 5, 0, 0, None, g, "")
                for c, g in zip(mini_codebook.codes, grades)]

    same = ["Strong"] * len(mini_codebook)
    other = ["Weaker"] + same[1:]
    summary = grade_match_summary(rows(same), rows(other), mini_codebook)
    assert summary["all"] == {"codes": 8, "matching": 7, "share": 7 / 8}
    assert summary["dimension"]["matching"] == 1 and summary["category"]["share"] == 1.0
    assert grade_match_summary(rows(same), rows(same), mini_codebook)["all"]["share"] == 1.0


@given(st.integers(0, 40), st.integers(1, 40), st.sampled_from(["lower", "upper"]))
@FAST
def test_grade_index_matches_grader(spread, total, boundary):
    spread = min(spread, total)
    config = GradingConfig(boundary=boundary)
    names = ["Strong", "Moderate", "Weaker", config.below_weaker]
    assert names[int(grade_index(np.array([spread]), total, config)[0])] == grade_for_share(spread, total, config)


def test_bootstrap_helpers():
    w = bootstrap_weights(8, 50, seed=3)
    assert w.shape == (50, 8) and (w.sum(1) == 8).all()
    assert (bootstrap_weights(8, 50, seed=3) == w).all()  # reproducible
    lo, hi = percentile_ci(np.full((100, 2), 0.7))
    assert lo.tolist() == pytest.approx([0.7, 0.7]) and hi.tolist() == pytest.approx([0.7, 0.7])
    mostly_nan = np.full((100, 1), np.nan)
    mostly_nan[:10] = 0.5
    assert np.isnan(percentile_ci(mostly_nan)[0]).all()


# -- properties ---------------------------------------------------------------------------------
binary = st.lists(st.tuples(st.booleans(), st.booleans()), min_size=2, max_size=60)


@given(binary)
@FAST
def test_kappa_matches_sklearn(pairs):
    a, b = np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs])
    ours = float(ag.kappa_from_counts(ag.contingency(a, b)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = cohen_kappa_score(a, b)
    if math.isnan(ours):
        assert (a == a[0]).all() and (b == a[0]).all()  # undefined only when both coders are constant and equal
    else:
        assert ours == pytest.approx(theirs, abs=1e-9)


@given(binary)
@FAST
def test_alpha_matches_krippendorff_package(pairs):
    a, b = np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs])
    ours = float(ag.alpha_from_counts(ag.contingency(a, b)))
    if len(set(a) | set(b)) < 2:
        assert math.isnan(ours)
        return
    theirs = krippendorff.alpha(reliability_data=np.vstack([a, b]).astype(float), level_of_measurement="nominal")
    assert ours == pytest.approx(theirs, abs=1e-9)
    assert ag.krippendorff_alpha(np.vstack([a, b]).astype(float)) == pytest.approx(theirs, abs=1e-9)


@given(st.integers(2, 4), st.integers(2, 25), st.integers(2, 4), st.randoms(use_true_random=False))
@FAST
def test_coincidence_alpha_matches_package_with_missing(m, n, v, rnd):
    values = np.array([[rnd.randrange(-1, v) for _ in range(n)] for _ in range(m)])
    ours = ag.alpha_from_coincidences(ag.coincidences(values, v))
    data = np.where(values < 0, np.nan, values).astype(float)
    pairable = (values >= 0).sum(0) >= 2
    present = set(values[:, pairable][values[:, pairable] >= 0].tolist())
    if not pairable.any() or len(present) < 2:
        assert math.isnan(ours)
        return
    theirs = krippendorff.alpha(reliability_data=data[:, pairable], level_of_measurement="nominal")
    assert ours == pytest.approx(theirs, abs=1e-9)


@given(binary)
@FAST
def test_symmetry(pairs):
    a, b = np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs])
    ab, ba = ag.metrics_from_counts(ag.contingency(a, b)), ag.metrics_from_counts(ag.contingency(b, a))
    for k in ("percent", "kappa", "alpha", "ac1", "f1"):
        assert close(float(ab[k]), float(ba[k])), k
    assert close(float(ab["precision"]), float(ba["recall"]))


@given(st.lists(st.integers(0, 2), min_size=3, max_size=40), st.lists(st.integers(0, 2), min_size=3, max_size=40))
@FAST
def test_character_alpha_matches_package(xs, ys):
    n = min(len(xs), len(ys))
    a = np.array([x == 1 for x in xs[:n]])[None]
    b = np.array([y == 1 for y in ys[:n]])[None]
    u = np.ones(n, dtype=bool)
    ours = float(ag.alpha_from_counts(char_counts(a, b, u))[0])
    if len(set(a[0]) | set(b[0])) < 2:
        assert math.isnan(ours)
        return
    theirs = krippendorff.alpha(reliability_data=np.vstack([a[0], b[0]]).astype(float), level_of_measurement="nominal")
    assert ours == pytest.approx(theirs, abs=1e-9)
    # m-coder coincidence form, for 2 coders, is the same figure
    assert float(alpha_from_binary_coincidences(binary_coincidence_stats([a, b], u))[0]) == pytest.approx(theirs, abs=1e-9)


@given(st.integers(2, 3), st.lists(st.integers(0, 29), min_size=0, max_size=12), st.randoms(use_true_random=False))
@FAST
def test_unitizing_alpha_with_one_character_units_is_character_alpha(m, spots, rnd):
    """If every unit is a single character (no two coded characters touch), units and gaps are
    alike and alpha-binary must equal the nominal alpha of the characters (the package)."""
    length = 30
    even = sorted({s - s % 2 for s in spots})  # even positions never touch
    masks = []
    for _ in range(m):
        mk = np.zeros((1, length), dtype=bool)
        for s in even:
            mk[0, s] = rnd.random() < 0.6
        masks.append(mk)
    u = np.ones(length, dtype=bool)
    ours = float(alpha_binary_unitized(unitizing_stats(masks, u))[0])
    data = np.vstack([mk[0] for mk in masks]).astype(float)
    if len(np.unique(data)) < 2:
        assert math.isnan(ours)
        return
    theirs = krippendorff.alpha(reliability_data=data, level_of_measurement="nominal")
    assert ours == pytest.approx(theirs, abs=1e-9)


@given(st.lists(st.integers(0, 2), min_size=4, max_size=40), st.lists(st.integers(0, 2), min_size=4, max_size=40))
@FAST
def test_cu_alpha_matches_package_on_exclusive_codes(xs, ys):
    """With mutually exclusive codes, cu-alpha is nominal alpha over the characters both coded."""
    n = min(len(xs), len(ys))
    a, b = np.zeros((2, n), bool), np.zeros((2, n), bool)
    for i in range(n):
        if xs[i]:
            a[xs[i] - 1, i] = True
        if ys[i]:
            b[ys[i] - 1, i] = True
    ours = cu_alpha(cu_coincidences([a, b], np.ones(n, bool), [0, 1]))
    both = [i for i in range(n) if xs[i] and ys[i]]
    data = np.array([[xs[i] for i in both], [ys[i] for i in both]], dtype=float)
    if not both or len(np.unique(data)) < 2:
        assert math.isnan(ours)
        return
    assert ours == pytest.approx(krippendorff.alpha(reliability_data=data, level_of_measurement="nominal"), abs=1e-9)


def _book(names: dict[str, str], order=1) -> Codebook:
    """A 2 x 2 hierarchy; ``names`` renames the ids; ``order`` -1 lists siblings reversed."""
    tree = {"r1": ["r1.x", "r1.y"], "r2": ["r2.x", "r2.y"]}
    codes = []
    for root in list(tree)[::order]:
        children = [{"id": names[c], "label": c, "definition": c} for c in tree[root][::order]]
        codes.append({"id": names[root], "label": root, "definition": root, "children": children})
    return Codebook.from_spec({"name": "t", "codes": codes})


span_lists = st.lists(st.tuples(st.integers(0, 50), st.integers(1, 15), st.sampled_from(["r1", "r1.x", "r1.y", "r2.x", "r2.y"])),
                      max_size=8)


@given(span_lists, span_lists)
@FAST
def test_renaming_codes_leaves_figures_unchanged(raw_a, raw_b):
    identity = {c: c for c in ["r1", "r1.x", "r1.y", "r2", "r2.x", "r2.y"]}
    renamed = {"r1": "q", "r1.x": "q.m", "r1.y": "q.n", "r2": "z", "r2.x": "z.k", "r2.y": "z.a"}
    results = []
    for names, order in ((identity, 1), (renamed, -1)):
        book = _book(names, order)
        a = [Span("T", s, min(s + n, 60), names[c], "a") for s, n, c in raw_a]
        b = [Span("T", s, min(s + n, 60), names[c], "b") for s, n, c in raw_b]
        ma, mb = code_masks(a, book, {"T": 60})["T"], code_masks(b, book, {"T": 60})["T"]
        u = np.ones(60, dtype=bool)
        chars = ag.metrics_from_counts(char_counts(ma, mb, u))
        units = alpha_binary_unitized(unitizing_stats([ma, mb], u))
        over = overlap_agreement(overlap_counts(merged_units(a, book), merged_units(b, book), "T", book, 0.9))
        cu = cu_alpha(cu_coincidences([ma, mb], u, [book.index[names["r1.x"]], book.index[names["r1.y"]]]))
        by_code = {orig: (chars["kappa"][book.index[new]], chars["alpha"][book.index[new]], units[book.index[new]],
                          over[book.index[new]]) for orig, new in names.items()}
        results.append((by_code, cu))
    (first, cu1), (second, cu2) = results
    for code in first:
        assert all(close(float(x), float(y)) for x, y in zip(first[code], second[code])), code
    assert close(cu1, cu2)
