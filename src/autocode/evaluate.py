"""``autocode evaluate``: compare model types honestly on a study with human coding.

For each model type: cross-validation grouped by interview on the training transcripts
(cross-fitted thresholds), a fit on all of them scored on the held-out transcripts, a learning
curve (held-out F1 against the number of training interviews) and the agreement of the
machine's spread-and-depth grades with the human grades. Results go to a Markdown report and
a JSON file beside it.
"""

from __future__ import annotations

import os
import platform
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from autocode import agreement
from autocode.classifiers.base import DEFAULT_FOLDS, Model, available_types, decide, make_classifier, model_inputs
from autocode.errors import AutocodeError
from autocode.evaluation import cross_validate
from autocode.grading import grade
from autocode.io.atomic import write_json, write_text
from autocode.labels import project_spans
from autocode.pipeline import open_study, pick_coder, predict, segments_for
from autocode.training import validation_thresholds
from autocode.fidelity import cross_fitted, fidelity
from autocode.machine_grades import estimate
from autocode.progress import silent
from autocode.quantify import METHODS, brier, calibrate, expected_calibration_error, fit_quantification


@dataclass
class Data:
    segments: list
    Y: np.ndarray
    groups: list[str]


def _data(study, coder, transcripts) -> Data:
    segments = segments_for(study, study.config.segment, only=transcripts)
    Y = project_spans(segments, study.codings[coder], study.codebook, study.config.projection)
    return Data(segments, Y, [s.transcript for s in segments])


def _subset(data: Data, transcripts: set[str]) -> Data:
    keep = [i for i, g in enumerate(data.groups) if g in transcripts]
    return Data([data.segments[i] for i in keep], data.Y[keep], [data.groups[i] for i in keep])


def _fit(kind: str, book, data: Data, folds: int, seed: int, progress=silent):
    """Fit on ``data``; thresholds and estimators from grouped CV (folds > 0) or the model's
    validation split. Returns the model, the CV result (or None) and the quantification."""
    def make():
        return make_classifier(kind, codebook=book, **({"seed": seed} if kind != "zeroshot" else {}))

    items = model_inputs(make(), data.segments)
    cv = None
    if folds > 0:
        cv = cross_validate(make, items, data.Y, data.groups, book, folds, seed, progress)
    classifier = make().fit(items, data.Y, groups=data.groups)
    if cv is not None:
        thresholds = cv.thresholds
        quant = fit_quantification(data.segments, cv.oof, cv.decisions, data.Y, book)
    else:
        val = classifier.validation_
        thresholds = validation_thresholds(val, book)  # as autocode train tunes them
        rows = val["rows"]
        quant = fit_quantification([data.segments[i] for i in rows], val["P"], decide(val["P"], thresholds, book),
                                   val["Y"], book)
    return Model(kind, classifier, list(book.ids), thresholds), cv, quant


def _score(book, Y, D) -> dict:
    rows = agreement.per_code(Y, D, book)
    return {"levels": agreement.summarise(rows, book, Y, D),
            "per_code_f1": {r.code: r.f1 for r in rows}}


def grade_agreement(study, data: Data, D: np.ndarray) -> dict:
    """Share of codes whose machine grade equals the human grade, overall and per level."""
    book = study.codebook
    human = {r.code: r for r in grade(data.segments, data.Y, book, study.config.grading)}
    machine = {r.code: r for r in grade(data.segments, D, book, study.config.grading)}
    by_level: dict[str, list[bool]] = {}
    for code in book.ids:
        by_level.setdefault(book.level_name(code), []).append(human[code].grade == machine[code].grade)
    spread_error = float(np.mean([abs(human[c].spread - machine[c].spread) for c in book.ids]))
    return {"match": float(np.mean([m for v in by_level.values() for m in v])),
            "match_by_level": {k: float(np.mean(v)) for k, v in by_level.items()},
            "spread_mean_abs_error": spread_error}


def learning_curve(kind, study, train: Data, test: Data, sizes: Sequence[int], seed: int) -> list[dict]:
    names = sorted(set(train.groups))
    rng = np.random.default_rng(seed)
    order = list(rng.permutation(names))
    points = []
    for n in sizes:
        sub = _subset(train, set(order[:n]))
        folds = min(DEFAULT_FOLDS.get(kind, 5), n)
        model, _, _ = _fit(kind, study.codebook, sub, folds, seed)
        _, D = predict(model, test.segments, study.codebook)
        points.append({"interviews": n, "category_macro_f1": _score(study.codebook, test.Y, D)["levels"]["category"]["macro_f1"]})
    return points


def evaluate_kind(kind, study, train: Data, test: Data | None, folds: int, seed: int, curve: bool, progress) -> dict:
    book, config = study.codebook, study.config.grading
    start = time.time()
    model, cv, quant = _fit(kind, book, train, folds, seed, progress)
    result: dict = {"train_seconds": round(time.time() - start, 1)}
    if cv is not None:
        result["cross_validation"] = {
            "folds": int(cv.folds.max() + 1), **_score(book, train.Y, cv.decisions),
            "grades": grade_agreement(study, train, cv.decisions),
            "fidelity": {m: fidelity(train.segments, train.Y, cross_fitted(train.segments, cv.oof, cv.decisions,
                                                                          train.Y, cv.folds, book, m), book, config)
                         for m in METHODS},
        }
    if test is not None:
        start = time.time()
        P, D = predict(model, test.segments, book)
        result["heldout"] = {
            **_score(book, test.Y, D), "grades": grade_agreement(study, test, D),
            "predict_seconds": round(time.time() - start, 2),
            "fidelity": {m: fidelity(test.segments, test.Y, estimate(test.segments, P, D, book, quant, m), book, config)
                         for m in METHODS},
            "reliability": _reliability(P, test.Y, quant, book),
        }
        if curve:
            n = len(set(train.groups))
            sizes = sorted({max(2, round(n * f)) for f in (0.25, 0.5, 0.75)} | {n})
            result["learning_curve"] = learning_curve(kind, study, train, test, sizes, seed)
    return result


def _reliability(P, Y, quant, book) -> dict:
    Pc = book.closure_max(calibrate(P, quant["calibration"]))
    return {"brier_raw": brier(P, Y), "brier_calibrated": brier(Pc, Y),
            "ece_raw": expected_calibration_error(P, Y), "ece_calibrated": expected_calibration_error(Pc, Y)}


def evaluate(study_dir, kinds: Sequence[str], report, *, coder=None, folds: int | None = None, seed: int = 0,
             curve: bool | Sequence[str] = True, force: bool = False, codebook=None, config=None,
             progress=silent) -> dict:
    """Evaluate each model type; write ``report`` (Markdown) and the same figures as JSON beside it.

    ``curve``: compute the learning curve for every model (True), none (False) or the named types.
    """
    unknown = [k for k in kinds if k not in available_types()]
    if unknown or not kinds:
        raise AutocodeError(f"unknown model type {', '.join(unknown) or '(none)'}; choose from {', '.join(available_types())}")
    report = Path(report)
    json_path = report.with_suffix(".json")
    for path in (report, json_path):
        if path.exists() and not force:
            raise AutocodeError("report file already exists; pass --force to replace it", path)
    study = open_study(study_dir, codebook, config)
    coder = pick_coder(study, coder)
    if coder is None:
        raise AutocodeError("evaluation needs human coding in codings/<coder>.jsonl", study.root)
    coded = study.coder_transcripts(coder)
    heldout = coded & set(study.settings.heldout)
    train = _data(study, coder, coded - heldout)
    test = _data(study, coder, heldout) if heldout else None
    results = {"study": study.name, "coder": coder, "machine": machine(), "unit": study.config.segment.model_dump(),
               "training_interviews": len(coded - heldout), "heldout_interviews": len(heldout), "models": {}}
    for kind in kinds:
        k_folds = DEFAULT_FOLDS.get(kind, 5) if folds is None else folds
        with_curve = curve if isinstance(curve, bool) else kind in curve
        results["models"][kind] = evaluate_kind(kind, study, train, test, k_folds, seed, with_curve, progress)
    human_human = _human_agreement(study, coder)
    if human_human:
        results["human_human"] = human_human
    from autocode.reports.results import results_markdown

    write_text(report, results_markdown(results))
    write_json(json_path, results)
    return results


def _human_agreement(study, coder) -> dict | None:
    others = [c for c in sorted(study.codings) if c != coder]
    if not others:
        return None
    scope = study.coder_transcripts(coder) & study.coder_transcripts(others[0])
    a = _data(study, coder, scope)
    Yb = project_spans(a.segments, study.codings[others[0]], study.codebook, study.config.projection)
    return {"coders": [coder, others[0]], "interviews": len(scope), **_score(study.codebook, a.Y, Yb),
            "grades": grade_agreement(study, a, Yb)}


def machine() -> str:
    cpu = "unknown CPU"
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    try:
        import torch

        gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    except ModuleNotFoundError:
        gpu = "no GPU"
    return f"{platform.system()} {platform.machine()}, {cpu}, {os.cpu_count()} cores, {gpu}, Python {platform.python_version()}"


