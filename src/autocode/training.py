"""``autocode train``: grouped cross-validation, tuned thresholds, final fit and a saved model."""

from __future__ import annotations

import inspect
from pathlib import Path

import numpy as np


from autocode import agreement
from autocode.classifiers.base import DEFAULT_FOLDS, Model, decide, make_classifier, model_inputs, tune_thresholds
from autocode.errors import AutocodeError
from autocode.evaluation import cross_validate
from autocode.io.atomic import output_dir, write_json, write_text
from autocode.labels import project_spans
from autocode.pipeline import TrainResult, open_study, pick_coder, predict, segments_for
from autocode.progress import silent
from autocode.quantify import fit_quantification


def train(study_dir, out_dir, kind: str = "tfidf", *, force=False, codebook=None, config=None, coder=None,
          folds: int | None = None, seed: int = 0, include_heldout: bool = False, params: dict | None = None,
          progress=silent) -> TrainResult:
    """Train a ``kind`` model on a study's human coding and save it with its metrics.

    With ``folds`` > 0 (the default for every type but the transformer) thresholds are tuned on
    grouped cross-validation; with 0, on the model's own grouped validation split.
    """
    study = open_study(study_dir, codebook, config)
    coder = pick_coder(study, coder)
    if coder is None:
        raise AutocodeError("the study has no human coding to learn from; add codings/<coder>.jsonl", study.root)
    book, seg_config = study.codebook, study.config.segment
    heldout = set() if include_heldout else set(study.settings.heldout)
    scope = study.coder_transcripts(coder) - heldout
    if len(scope) < 2:
        raise AutocodeError(f"coder {coder!r} coded fewer than two training transcripts; training needs more", study.root)
    folds = DEFAULT_FOLDS.get(kind, 5) if folds is None else folds
    segments = segments_for(study, seg_config, only=scope, progress=progress)
    Y = project_spans(segments, study.codings[coder], book, study.config.projection)
    groups = [s.transcript for s in segments]

    def make():
        return make_classifier(kind, codebook=book, seed=seed, **(params or {})) if _takes_seed(kind) else \
            make_classifier(kind, codebook=book, **(params or {}))

    items = model_inputs(make(), segments)
    metrics: dict = {}
    if folds > 0:
        cv = cross_validate(make, items, Y, groups, book, folds, seed, progress)
        thresholds = cv.thresholds
        metrics["cross_validation"] = {"folds": int(cv.folds.max() + 1), "transcripts": len(scope),
                                       "segments": len(segments), "levels": cv.summary,
                                       "per_code": _per_code(Y, cv.decisions, book)}
    classifier = make().fit(items, Y, groups=groups, progress=None if progress is silent else progress)
    if folds == 0:
        thresholds, metrics["validation"] = _validation(classifier, book)
        rows = classifier.validation_["rows"]
        quantification = fit_quantification([segments[i] for i in rows], classifier.validation_["P"],
                                             decide(classifier.validation_["P"], thresholds, book), Y[rows], book)
    else:
        quantification = fit_quantification(segments, cv.oof, cv.decisions, Y, book)
    model = Model(kind, classifier, list(book.ids), thresholds)
    evaluate_on = (study.coder_transcripts(coder) & heldout) if heldout else set()
    if evaluate_on:
        metrics["heldout"] = _heldout(study, coder, model, evaluate_on, seg_config)
    model.meta = {
        "training": {
            "study": study.name, "coder": coder, "seed": seed, "params": _params(classifier),
            "segment": seg_config.model_dump(), "projection": study.config.projection.model_dump(),
            "transcripts": {t.id: t.checksum for t in study.transcripts if t.id in scope},
            "heldout_excluded": sorted(heldout), "threshold_source": "cross-validation" if folds else "validation split",
        },
        "metrics": metrics,
        "quantification": quantification,
    }
    with output_dir(out_dir, force, protected=[study.root]) as tmp:
        model.save(tmp, book)
        write_json(tmp / "metrics.json", metrics)
        write_text(tmp / "README.md", model_card(model, metrics))
    return TrainResult(Path(out_dir), metrics, len(segments), len(scope))


def _takes_seed(kind: str) -> bool:
    from autocode.classifiers.base import _class_for

    return "seed" in inspect.signature(_class_for(kind).__init__).parameters


def _params(classifier) -> dict:
    params = getattr(classifier, "params", dict)()
    params.pop("descriptions", None)  # the codebook holds them
    return params


VALIDATION_SHRINK = 10.0


def validation_thresholds(val: dict, book) -> np.ndarray:
    """Thresholds from a model's own validation split (a few interviews): tuned on the probabilities
    as prediction sees them (closed up the hierarchy) and, per code, shrunk toward one common
    threshold, so that codes with few or no validation positives are not tuned on noise or never
    predicted. Chosen on validation and cross-validation, not on the held-out split; see
    docs/transformer-experiments.md."""
    return tune_thresholds(book.closure(val["Y"]), book.closure_max(val["P"]), shrink=VALIDATION_SHRINK)


def _validation(classifier, book) -> tuple[np.ndarray, dict]:
    val = getattr(classifier, "validation_", None)
    if not val:
        raise AutocodeError("training with --folds 0 needs a validation split; the study has too few transcripts")
    thresholds = validation_thresholds(val, book)
    D = decide(book.closure_max(val["P"]), thresholds, book)
    summary = agreement.summarise(agreement.per_code(val["Y"], D, book), book, val["Y"], D)
    return thresholds, {"segments": int(len(val["Y"])), "levels": summary, "epoch_scores": val.get("history"),
                        "note": "thresholds were tuned on this split, so these figures are optimistic"}


def _per_code(Y, D, book) -> dict:
    return {r.code: {"f1": r.f1, "kappa": r.kappa, "support": r.count_a} for r in agreement.per_code(Y, D, book)}


def _heldout(study, coder, model, transcripts, seg_config) -> dict:
    segments = segments_for(study, seg_config, only=transcripts)
    Y = project_spans(segments, study.codings[coder], study.codebook, study.config.projection)
    P, D = predict(model, segments, study.codebook)
    summary = agreement.summarise(agreement.per_code(Y, D, study.codebook), study.codebook, Y, D)
    return {"transcripts": len(transcripts), "segments": len(segments), "levels": summary,
            "per_code": _per_code(Y, D, study.codebook)}


def model_card(model: Model, metrics: dict) -> str:
    training = model.meta["training"]
    lines = [
        f"# autocode model: {model.kind}", "",
        f"Trained on the human coding of `{training['coder']}` in the study `{training['study']}`: "
        f"{len(training['transcripts'])} transcripts (unit: {training['segment']['unit']}); thresholds tuned on "
        f"the {training['threshold_source']}.",
        f"Held-out transcripts excluded from training: {', '.join(training['heldout_excluded']) or 'none'}.", "",
        "## Intended use", "",
        "Suggesting codes for participant talk in interviews coded with the same codebook, for a researcher "
        "to review. Not a replacement for human judgement; check the agreement figures below first.", "",
        "## Metrics", "",
        "| evaluation | level | macro-F1 | micro-F1 | mean kappa |", "|---|---|---|---|---|",
    ]
    for name in ("cross_validation", "validation", "heldout"):
        for level, row in metrics.get(name, {}).get("levels", {}).items():
            lines.append(f"| {name} | {level} | {row['macro_f1']:.3f} | {row['micro_f1']:.3f} | {row['kappa']:.3f} |")
    lines += ["", "## Limits", "",
              "Scores come from grouped cross-validation (no interview in both training and test folds) with "
              "cross-fitted thresholds, and from the held-out split where one is declared. A corpus written "
              "for the project is not real interview data: expect lower agreement on real transcripts.", ""]
    return "\n".join(lines)


