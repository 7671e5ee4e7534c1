"""Participant-level estimation (issue: grade fidelity) on synthetic data with known error rates."""

import numpy as np
import pytest

from autocode.codebook import Codebook
from autocode.config import GradingConfig
from autocode.machine_grades import grade_estimated, grade_probabilities
from autocode.quantify import (METHODS, brier, calibrate, expected_calibration_error, fit_calibration,
                               fit_quantification, poisson_binomial, spread_interval)
from autocode.segment import Segment

BOOK = Codebook.from_spec({"name": "synthetic", "codes": [
    {"id": "a", "label": "A", "definition": "d", "children": [{"id": "a.x", "label": "X", "definition": "d"}]}]})


def synthetic(n_people=60, per_person=150, prevalence=0.4, tpr=0.7, fpr=0.01, seed=0):
    """Participants who raise code a.x (with 2 true segments each) or not; a classifier with
    known segment-level error rates; probabilities that are too confident."""
    rng = np.random.default_rng(seed)
    segments, truth, present = [], [], []
    for p in range(n_people):
        raises = rng.random() < prevalence
        present.append(raises)
        true_rows = set(rng.choice(per_person, 2, replace=False)) if raises else set()
        for i in range(per_person):
            segments.append(Segment(f"p{p}:{i}", f"T{p}", f"P{p}", "R", i, i * 10, i * 10 + 9, "x"))
            truth.append(i in true_rows)
    truth = np.array(truth)
    hit = np.where(truth, rng.random(len(truth)) < tpr, rng.random(len(truth)) < fpr)
    P1 = np.where(hit, rng.uniform(0.75, 0.99, len(truth)), rng.uniform(0.0, 0.3, len(truth)))
    Y = BOOK.closure(np.stack([truth, truth], axis=1))
    P = BOOK.closure_max(np.stack([P1, P1], axis=1))
    D = BOOK.closure(np.stack([hit, hit], axis=1))
    return segments, P, D, Y, np.array(present)


def test_counting_inflates_and_estimators_recover_the_prevalence():
    """Counting any predicted segment inflates the spread; every estimator, fitted on one draw,
    lands far closer to the truth on another (over four pairs of draws)."""
    setting = dict(n_people=200, per_person=100, tpr=0.8, fpr=0.003)
    count_error, errors = [], {m: [] for m in ("min_evidence", "pcc", "adjusted", "likelihood")}
    for seed in (1, 3, 5, 7):
        segments, P, D, Y, _ = synthetic(seed=seed, **setting)
        quant = fit_quantification(segments, P, D, Y, BOOK)
        test_segments, Pt, Dt, _, present = synthetic(seed=seed + 1, **setting)
        truth = int(present.sum())
        count_error.append(len({s.participant for s, d in zip(test_segments, Dt[:, 1]) if d}) - truth)
        for method in errors:
            rows = {r.code: r for r in grade_estimated(test_segments, Pt, Dt, BOOK, quant, method)}
            errors[method].append(abs(rows["a.x"].spread - truth))
    assert min(count_error) > 20  # 1 - 0.997**100: a quarter of non-raisers get a false hit
    for method, errs in errors.items():
        assert np.mean(errs) < 0.3 * np.mean(count_error), (method, errs, count_error)


def test_min_evidence_learns_more_than_one_run():
    segments, P, D, Y, _ = synthetic(seed=3)
    quant = fit_quantification(segments, P, D, Y, BOOK)
    assert quant["estimators"]["min_evidence"]["cutoff"]["category"] >= 2
    assert set(quant["estimators"]) == set(METHODS)


def test_calibration_lowers_the_brier_score():
    segments, P, D, Y, _ = synthetic(seed=4)
    cal = fit_calibration(P, Y)
    _, P2, _, Y2, _ = synthetic(seed=5)
    assert brier(calibrate(P2, cal), Y2) < brier(P2, Y2)
    assert expected_calibration_error(calibrate(P2, cal), Y2) < expected_calibration_error(P2, Y2)


def test_poisson_binomial_and_interval():
    dist = poisson_binomial(np.array([0.5, 0.5]))
    np.testing.assert_allclose(dist, [0.25, 0.5, 0.25])
    assert spread_interval(poisson_binomial(np.full(10, 0.5))) == (3, 7)
    assert spread_interval(poisson_binomial(np.ones(5))) == (5, 5)


def test_uncertainty_flags_grades_near_a_boundary():
    config = GradingConfig()
    sure = grade_probabilities(np.array([1.0] * 7 + [0.0] * 3), config)
    assert sure["Strong"] == pytest.approx(1.0) and sum(sure.values()) == pytest.approx(1.0)
    # expected spread 6 of 10 (Strong, at the boundary); one fewer is Moderate
    near = grade_probabilities(np.array([0.6] * 10), config)
    assert 0.3 < near["Strong"] < 0.8 and near["Moderate"] > 0.2
    # an estimator whose decisions carry no information: each of 10 participants raised the code
    # with chance 0.6 whatever it says, so the spread is 6 (Strong, on the boundary) with a
    # wide interval crossing into Moderate
    quant = {"calibration": None, "estimators": {"cc": {"method": "cc", "cutoff": {}, "tpr": [1, 1], "fpr": [0, 0],
                                                       "ppv": [0.6, 0.6], "fomr": [0.6, 0.6],
                                                       "count_ratio": [1, 1]}}}
    segments = [Segment(f"s{i}", f"T{i}", f"P{i}", "R", 0, 0, 5, "x") for i in range(10)]
    D = np.zeros((10, 2), dtype=bool)
    D[:6] = True
    rows = {r.code: r for r in grade_estimated(segments, D.astype(float), D, BOOK, quant, "cc")}
    row = rows["a.x"]
    assert row.spread == 6 and row.grade == "Strong" and row.review
    assert row.spread_low < 6 <= row.spread_high and row.grade_probability == pytest.approx(0.633, abs=0.01)
    # a perfect estimator: certain grade, no review
    quant["estimators"]["cc"].update(ppv=[1.0, 1.0], fomr=[0.0, 0.0])
    row = {r.code: r for r in grade_estimated(segments, D.astype(float), D, BOOK, quant, "cc")}["a.x"]
    assert row.spread == 6 and not row.review and row.grade_probability == pytest.approx(1.0)


def test_trained_models_carry_estimators_and_run_reports_uncertainty(mini, mini_model, tmp_path):
    import csv
    import json

    from autocode.pipeline import run

    meta = json.loads((mini_model / "model.json").read_text())
    quant = meta["quantification"]
    assert set(quant["estimators"]) == set(METHODS) and len(quant["calibration"]["a"]) == 8
    assert quant["reliability"]["brier_calibrated"] >= 0
    result = run(mini, tmp_path / "out", mini_model)
    rows = list(csv.DictReader(open(tmp_path / "out" / "grades.csv")))
    assert all(r["grade_probability"] != "" for r in rows)
    assert all(int(r["spread_low"]) <= int(r["spread"]) <= int(r["spread_high"]) for r in rows)
    assert (tmp_path / "out" / "review.csv").exists()
    flagged = [r for r in result.grades if r.review]
    assert all(r.grade_probability < 0.8 for r in flagged)
    (tmp_path / "cfg.yaml").write_text("grading:\n  estimator: likelihood\n")
    again = run(mini, tmp_path / "out2", mini_model, config=tmp_path / "cfg.yaml")
    assert len(again.grades) == len(result.grades)
