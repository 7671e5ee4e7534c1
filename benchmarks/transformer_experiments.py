"""Why the fine-tuned transformer does not beat TF-IDF on the held-out split (issue #4), and what helps.

Trains the transformer on the study's training split once per configuration and keeps its
validation and held-out probabilities in a work folder, so that threshold strategies are compared
on the same trained model without retraining. Held-out transcripts (study.yaml ``heldout``) are
only ever scored: every choice is made on the validation split or by cross-validation.

    .venv/bin/python benchmarks/transformer_experiments.py                  # default configurations
    .venv/bin/python benchmarks/transformer_experiments.py --configs base e10p2 --work /tmp/tfexp
    .venv/bin/python benchmarks/transformer_experiments.py --report-only    # re-render from the work folder

The default run (six trainings, 3-9 min each) took about 40 minutes on 2 shared cores; every
training runs in float32 (``quantize=None``) with seed 0 unless the configuration says otherwise.
TF-IDF is trained once (5-fold grouped CV) for its own figure and for the probability average.
Configurations already in the work folder (``NAME/probs.npz``) are reused, never retrained, and
the report covers every configuration found there.
The ``base`` configuration also saves its model (``base/model``), which benchmarks/quantize.py
can reuse. Writes docs/transformer-experiments.md and docs/transformer-experiments.json.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("HF_HUB_OFFLINE", "1")
GRID = np.round(np.arange(0.02, 0.99, 0.01), 2)

CONFIGS = {
    "base": {},
    "e10p2": {"epochs": 10, "patience": 2},
    "context": {"context": True},
    "lr5e-5": {"lr": 5e-5},
    "lr1.5e-4": {"lr": 1.5e-4},
    "pw3": {"pos_weight_max": 3.0},
    "val25": {"val_fraction": 0.25},
    "val15": {"val_fraction": 0.15},
    "context_e10p2": {"context": True, "epochs": 10, "patience": 2},
    "seed1": {"seed": 1},  # another validation split (and initialisation): a second look at the strategies
}
DEFAULT_RUN = ["base", "e10p2", "context", "lr1.5e-4", "context_e10p2", "seed1"]  # about 40 min on 2 shared cores


# -- threshold strategies: (Y_val, P_val, codebook) -> per-code thresholds ---------------------
def _tune(Y, P):
    from autocode.classifiers.base import tune_thresholds

    return tune_thresholds(Y, P, GRID)


def _macro_f1(Y, D) -> float:
    tp, den = (Y & D).sum(0), Y.sum(0) + D.sum(0)
    f1 = np.where(den > 0, 2 * tp / np.maximum(den, 1), np.nan)
    return float(np.nanmean(f1)) if np.isfinite(f1).any() else 0.0


def per_code_raw(Y, P, book):
    """What training.py did: per code, on the raw validation probabilities."""
    return _tune(Y, P)


def per_code(Y, P, book):
    """Per code, on the probabilities as prediction sees them (closure_max)."""
    return _tune(book.closure(Y), book.closure_max(P))


def global_threshold(Y, P, book):
    Yc, Pc = book.closure(Y), book.closure_max(P)
    scores = [_macro_f1(Yc, book.closure(Pc >= t)) for t in GRID]
    return np.full(Y.shape[1], GRID[int(np.argmax(scores))])


def shrunk(k: float):
    def strategy(Y, P, book):
        n = book.closure(Y).sum(0)
        return (n * np.minimum(per_code(Y, P, book), 1.0) + k * global_threshold(Y, P, book)) / (n + k)
    return strategy


def prevalence(Y, P, book):
    """Per code, the threshold that marks as many validation segments as the coder did."""
    Yc, Pc = book.closure(Y), book.closure_max(P)
    rate = Yc.mean(0)
    return np.array([np.quantile(Pc[:, j], 1 - rate[j]) if rate[j] > 0 else 1.01 for j in range(Y.shape[1])])


def hierarchical(base):
    """Leaves from ``base``; each parent then tuned for its own F1 given its decided descendants
    (a parent is on wherever a descendant is): F1-optimal at category and dimension level."""
    def strategy(Y, P, book):
        Yc, Pc, t = book.closure(Y), book.closure_max(P), base(Y, P, book).copy()
        D = Pc >= t
        for depth in sorted({c.depth for c in book.codes if c.children}, reverse=True):
            for code in (c for c in book.codes if c.depth == depth and c.children):
                j = book.index[code.id]
                below = [book.index[c] for c in book.ids if code.id in book.ancestors(c)]
                score = np.where(D[:, below].any(1), 1.0, Pc[:, j])
                t[j] = _tune(Yc[:, [j]], score[:, None])[0]
                D[:, j] = score >= t[j]
        return t
    return strategy


STRATEGIES = {
    "per_code_raw (former)": per_code_raw, "per_code": per_code, "global": global_threshold,
    "shrunk_k5": shrunk(5), "shrunk_k10": shrunk(10), "shrunk_k25": shrunk(25), "prevalence": prevalence,
    "hier_per_code": hierarchical(per_code), "hier_shrunk_k10": hierarchical(shrunk(10)),
    "hier_global": hierarchical(global_threshold),
}


def score(book, Y, P, t) -> dict:
    """Agreement with the coder of decisions made as ``pipeline.predict`` makes them."""
    from autocode import agreement

    D = book.closure(book.closure_max(P) >= t)
    levels = agreement.summarise(agreement.per_code(Y, D, book), book, Y, D)
    return {lv: {"macro_f1": round(levels[lv]["macro_f1"], 4), "kappa": round(levels[lv]["kappa"], 4)}
            for lv in ("fine", "category", "dimension")}


def loo_score(strategy, Y, P, groups, book) -> dict:
    """Tune on all validation interviews but one, decide that one; score the pooled decisions."""
    groups = np.asarray(groups)
    D = np.zeros(Y.shape, dtype=bool)
    for g in sorted(set(groups)):
        held = groups == g
        t = strategy(Y[~held], P[~held], book)
        D[held] = book.closure(book.closure_max(P[held]) >= t)
    return score(book, Y, D.astype(float), np.full(Y.shape[1], 0.5))


def load_splits():
    from autocode.evaluate import _data
    from autocode.pipeline import open_study, pick_coder

    study = open_study(ROOT / "training_data")
    coder = pick_coder(study, "coder_a")
    coded = study.coder_transcripts(coder)
    heldout = coded & set(study.settings.heldout)
    return study, _data(study, coder, coded - heldout), _data(study, coder, heldout)


def train_config(name: str, params: dict, study, train, test, work: Path) -> None:
    """Fit one configuration; save validation/held-out probabilities (and the base model)."""
    import torch

    from autocode.classifiers.base import Model, make_classifier, model_inputs, tune_thresholds

    torch.set_num_threads(2)
    book = study.codebook
    clf = make_classifier("transformer", codebook=book, **{"seed": 0, "quantize": None, **params})  # float32
    start = time.time()
    clf.fit(model_inputs(clf, train.segments), train.Y, groups=train.groups)
    seconds = time.time() - start
    val = clf.validation_
    P_test = clf.predict_proba(model_inputs(clf, test.segments))
    folder = work / name
    folder.mkdir(parents=True, exist_ok=True)
    np.savez(folder / "probs.npz", val_P=val["P"], val_Y=val["Y"], val_rows=val["rows"], test_P=P_test)
    info = {"params": params, "train_seconds": round(seconds, 1), "epoch_scores": val["history"],
            "epochs_run": len(val["history"]), "val_groups": sorted({train.groups[i] for i in val["rows"]})}
    (folder / "info.json").write_text(json.dumps(info, indent=2))
    if name == "base":
        Model("transformer", clf, list(book.ids), tune_thresholds(val["Y"], val["P"])).save(folder / "model", book)


def tfidf_probs(study, train, test, work: Path) -> dict:
    """TF-IDF on the training split: grouped-CV out-of-fold probabilities, CV thresholds, held-out probabilities."""
    path = work / "tfidf.npz"
    if not path.exists():
        from autocode.classifiers.base import model_inputs
        from autocode.evaluate import _fit

        start = time.time()
        model, cv, _ = _fit("tfidf", study.codebook, train, 5, 0)
        seconds = time.time() - start
        P_test = model.classifier.predict_proba(model_inputs(model.classifier, test.segments))
        np.savez(path, oof=cv.oof, thresholds=cv.thresholds, test_P=P_test, seconds=seconds)
    return dict(np.load(path))


def analyse(name: str, study, train, test, tfidf: dict, work: Path) -> dict:
    book = study.codebook
    probs = dict(np.load(work / name / "probs.npz"))
    info = json.loads((work / name / "info.json").read_text())
    Yv, Pv, rows = probs["val_Y"], probs["val_P"], probs["val_rows"]
    groups = [train.groups[i] for i in rows]
    out = {**info, "strategies": {}}
    for key, strategy in STRATEGIES.items():
        t = strategy(Yv, Pv, book)
        out["strategies"][key] = {"heldout": score(book, test.Y, probs["test_P"], t),
                                  "validation_in_sample": score(book, Yv, Pv, t),
                                  "validation_leave_one_interview_out": loo_score(strategy, Yv, Pv, groups, book)}
    out["blend"] = blend(book, train, test, tfidf, Yv, Pv, rows, probs["test_P"], groups)
    return out


def blend(book, train, test, tfidf, Yv, Pv, rows, P_test, groups) -> dict:
    """Mean of TF-IDF and transformer probabilities (information only: not the transformer)."""
    Pb_val = (tfidf["oof"][rows] + Pv) / 2  # out-of-fold TF-IDF scores of the validation rows
    Pb_test = (tfidf["test_P"] + P_test) / 2
    out = {}
    for key in ("per_code", "global", "shrunk_k10"):
        strategy = STRATEGIES[key]
        out[f"validation_{key}"] = {"heldout": score(book, test.Y, Pb_test, strategy(Yv, Pb_val, book)),
                                    "validation_leave_one_interview_out": loo_score(strategy, Yv, Pb_val, groups, book)}
    out["tfidf_cv_thresholds"] = {"heldout": score(book, test.Y, Pb_test, tfidf["thresholds"])}
    return out


def tfidf_alone(book, train, test, tfidf) -> dict:
    """TF-IDF as autocode trains it, and the threshold strategies on its out-of-fold probabilities
    (20 training interviews: a second, larger test bed for the strategies, leave-one-interview-out)."""
    strategies = {key: {"oof_leave_one_interview_out": loo_score(f, train.Y, tfidf["oof"], train.groups, book),
                        "heldout": score(book, test.Y, tfidf["test_P"], f(train.Y, tfidf["oof"], book))}
                  for key, f in STRATEGIES.items()}
    return {"heldout": score(book, test.Y, tfidf["test_P"], tfidf["thresholds"]),
            "train_seconds": round(float(tfidf["seconds"]), 1), "strategies": strategies}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", nargs="+", default=DEFAULT_RUN, choices=sorted(CONFIGS))
    parser.add_argument("--work", type=Path, default=Path("/tmp/autocode-tf-exp"))
    parser.add_argument("--report-only", action="store_true", help="no training; report what the work folder has")
    parser.add_argument("--note", action="append", default=[],
                        help="a paragraph for the write-up (repeatable; default: the notes already in the JSON)")
    args = parser.parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    study, train, test = load_splits()
    tfidf = tfidf_probs(study, train, test, args.work)
    for name in args.configs:
        if not args.report_only and not (args.work / name / "probs.npz").exists():
            print(f"training {name} {CONFIGS[name]}", flush=True)
            train_config(name, CONFIGS[name], study, train, test, args.work)
    done = [n for n in CONFIGS if (args.work / n / "probs.npz").exists()]
    results = {"machine": _machine(), "training_interviews": len(set(train.groups)),
               "heldout_interviews": len(set(test.groups)), "heldout_segments": len(test.segments),
               "tfidf": tfidf_alone(study.codebook, train, test, tfidf), "notes": args.note or _old_notes(),
               "configs": {n: analyse(n, study, train, test, tfidf, args.work) for n in done}}
    (ROOT / "docs" / "transformer-experiments.json").write_text(json.dumps(results, indent=2) + "\n")
    (ROOT / "docs" / "transformer-experiments.md").write_text(render(results))
    print(render(results))


def _old_notes() -> list[str]:
    path = ROOT / "docs" / "transformer-experiments.json"
    return json.loads(path.read_text()).get("notes", []) if path.exists() else []


def _machine() -> str:
    from autocode.evaluate import machine

    return machine() + ", torch threads 2"


LEGEND = (
    "*per_code_raw (former)*: per code, F1-optimal on the raw validation probabilities (training.py before "
    "this change); *per_code*: the same on closure_max probabilities; *global*: one threshold for every code, "
    "maximising validation macro-F1 over all codes; *shrunk_kK*: per code, (n*t_code + K*t_global)/(n+K) with n "
    "the code's validation positives (codes absent from validation get the global threshold instead of never "
    "being predicted; *shrunk_k10* is the new default, `training.validation_thresholds`); *prevalence*: per code, "
    "the threshold that marks as many validation segments as the coder did; *hier_X*: leaf codes from X, then "
    "each category and dimension tuned for its own F1 given its decided descendants (F1-optimal at category level)."
)


def _f(row: dict, level: str = "category") -> str:
    return f"{row[level]['macro_f1']:.3f} | {row[level]['kappa']:.3f}"


def _summary(r: dict) -> list[str]:
    """Each strategy's mean over every trained configuration: the choice is by the validation columns."""
    lines = ["", "## Threshold strategies, averaged over the trainings above", "",
             "| strategy | mean validation LOIO category F1 | TF-IDF OOF LOIO category F1 | mean held-out category F1 "
             "| mean held-out fine F1 |", "|---|---|---|---|---|"]
    for key in STRATEGIES:
        rows = [c["strategies"][key] for c in r["configs"].values()]
        loio = np.mean([x["validation_leave_one_interview_out"]["category"]["macro_f1"] for x in rows])
        held = np.mean([x["heldout"]["category"]["macro_f1"] for x in rows])
        fine = np.mean([x["heldout"]["fine"]["macro_f1"] for x in rows])
        oof = r["tfidf"]["strategies"][key]["oof_leave_one_interview_out"]["category"]["macro_f1"]
        lines.append(f"| {key} | {loio:.3f} | {oof:.3f} | {held:.3f} | {fine:.3f} |")
    return lines


def render(r: dict) -> str:
    tf = r["tfidf"]["heldout"]
    lines = ["# Transformer experiments (issue #4)", "",
             "Made by `.venv/bin/python benchmarks/transformer_experiments.py` (see its docstring). Machine: "
             f"{r['machine']}. Training split: {r['training_interviews']} interviews; held-out split: "
             f"{r['heldout_interviews']} interviews, {r['heldout_segments']} segments; coder_a is the reference.", "",
             f"TF-IDF (5-fold grouped-CV thresholds): held-out category macro-F1 **{tf['category']['macro_f1']:.3f}**, "
             f"kappa {tf['category']['kappa']:.3f} (fine {tf['fine']['macro_f1']:.3f}); trained in "
             f"{r['tfidf']['train_seconds']} s with its CV. The issue's goal is the transformer at >= "
             f"{tf['category']['macro_f1'] + 0.05:.3f}.", "", *[x for note in r.get("notes", []) for x in (note, "")],
             "Threshold strategies, all tuned on the transformer's own validation split (whole interviews held "
             "out of its training by `grouped_split`), all applied as `pipeline.predict` applies them (probabilities "
             "closed up the hierarchy with `closure_max`, decisions with `closure`): " + LEGEND, "",
             "'validation LOIO' scores each strategy honestly on the validation split: thresholds tuned on all "
             "validation interviews but one, applied to that one, decisions pooled. It is the figure to choose "
             "by; the held-out figures are reported, never used to choose.", "",
             "## Trainings", "",
             "Held-out figures with the former thresholds (*per_code_raw*) and with the new default (*shrunk_k10*).", "",
             "| configuration | changes | epochs run | validation mAP per epoch | train s | category F1, kappa: former "
             "| fine F1 former | category F1, kappa: new | fine F1 new |", "|---|---|---|---|---|---|---|---|---|"]
    for name, c in r["configs"].items():
        h, n = c["strategies"]["per_code_raw (former)"]["heldout"], c["strategies"]["shrunk_k10"]["heldout"]
        lines.append(f"| {name} | {json.dumps(c['params'])} | {c['epochs_run']} | {c['epoch_scores']} | "
                     f"{c['train_seconds']:.0f} | {_f(h).replace(' |', ',')} | {h['fine']['macro_f1']:.3f} | "
                     f"{_f(n).replace(' |', ',')} | {n['fine']['macro_f1']:.3f} |")
    lines += _summary(r)
    for name, c in r["configs"].items():
        lines += ["", f"## Threshold strategies on `{name}` (validation interviews: {', '.join(c['val_groups'])})", "",
                  "| strategy | held-out category F1 | kappa | held-out fine F1 | validation LOIO category F1 | "
                  "validation in-sample category F1 |", "|---|---|---|---|---|---|"]
        for key, s in c["strategies"].items():
            lines.append(f"| {key} | {_f(s['heldout'])} | {s['heldout']['fine']['macro_f1']:.3f} | "
                         f"{s['validation_leave_one_interview_out']['category']['macro_f1']:.3f} | "
                         f"{s['validation_in_sample']['category']['macro_f1']:.3f} |")
        lines += ["", "Mean of TF-IDF and transformer probabilities (information only, not the transformer):", "",
                  "| thresholds | held-out category F1 | kappa | held-out fine F1 | validation LOIO category F1 |",
                  "|---|---|---|---|---|"]
        for key, s in c["blend"].items():
            loio = s.get("validation_leave_one_interview_out", {}).get("category", {}).get("macro_f1")
            lines.append(f"| {key} | {_f(s['heldout'])} | {s['heldout']['fine']['macro_f1']:.3f} | "
                         f"{'' if loio is None else f'{loio:.3f}'} |")
    lines += ["", "## The strategies on TF-IDF's out-of-fold probabilities (information)", "",
              "TF-IDF's 5-fold grouped-CV out-of-fold probabilities of the 20 training interviews: strategy tuned on 19 "
              "interviews, applied to the 20th (LOIO); and tuned on all 20, applied to the held-out split. TF-IDF's "
              "own thresholds in autocode are the per-code ones over the CV.", "",
              "| strategy | OOF LOIO category F1 | held-out category F1 | kappa | held-out fine F1 |", "|---|---|---|---|---|"]
    for key, s in r["tfidf"]["strategies"].items():
        lines.append(f"| {key} | {s['oof_leave_one_interview_out']['category']['macro_f1']:.3f} | {_f(s['heldout'])} | "
                     f"{s['heldout']['fine']['macro_f1']:.3f} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
