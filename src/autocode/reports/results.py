"""The Markdown report of ``autocode evaluate``."""

from __future__ import annotations

from autocode.reports.tables import fmt, to_markdown

LEVELS = ("fine", "code", "category", "dimension")


def _level_rows(results: dict, section: str) -> list[dict]:
    rows = []
    for kind, res in results["models"].items():
        block = res.get(section)
        if not block:
            continue
        for level in LEVELS:
            if level in block["levels"]:
                row = block["levels"][level]
                rows.append({"model": kind, "level": level, "macro_f1": row["macro_f1"], "micro_f1": row["micro_f1"],
                             "kappa": row["kappa"]})
    return rows


def results_markdown(results: dict) -> str:
    unit = results["unit"]
    unit_name = f"window of {unit['window']} sentences" if unit["unit"] == "window" else unit["unit"]
    out = [
        "# Model evaluation", "",
        f"Study `{results['study']}`, reference coder `{results['coder']}`: {results['training_interviews']} training "
        f"interviews, {results['heldout_interviews']} held-out interviews; coding unit: {unit_name}.", "",
        f"Machine: {results['machine']}.", "",
        "Cross-validation is grouped by interview (no interview in both training and test folds) with "
        "cross-fitted thresholds; held-out figures come from a model fitted on all training interviews. "
        "Kappa is Cohen's kappa per code averaged over the codes of a level; 'fine' is every leaf code.", "",
    ]
    for title, section in (("Held-out split", "heldout"), ("Grouped cross-validation", "cross_validation")):
        rows = _level_rows(results, section)
        if rows:
            out += [f"## {title}", "", to_markdown(rows, ["model", "level", "macro_f1", "micro_f1", "kappa"],
                                                   ["Model", "Level", "Macro-F1", "Micro-F1", "Mean kappa"])]
    hh = results.get("human_human")
    if hh:
        cat = hh["levels"]["category"]
        out += [f"Human-human agreement ({hh['coders'][0]} vs {hh['coders'][1]}, {hh['interviews']} interviews): "
                f"category macro-F1 {fmt(cat['macro_f1'])}, mean kappa {fmt(cat['kappa'])}.", ""]
    out += ["## Grades (spread and depth) against the human grades", "",
            to_markdown(_grade_rows(results), ["model", "split", "match", "category", "code", "spread_error"],
                        ["Model", "Split", "Grades equal (all codes)", "Category", "Fine code", "Mean abs. spread error"])]
    out += ["## Grade fidelity by participant-level estimator", "",
            "Presence kappa compares, per participant and code, whether the human coder and the estimator "
            "find the code; spread error is in participants; grades use the estimated spread. "
            "'none' counts predicted runs like human coding (no estimator). See docs/grade-fidelity.md.", "",
            to_markdown(_fidelity_rows(results), ["model", "split", "estimator", "kappa_cat", "kappa_code", "spread_cat",
                                                  "spread_code", "depth_code", "match_cat", "match_code"],
                        ["Model", "Split", "Estimator", "Presence kappa (category)", "Presence kappa (code)",
                         "Spread error (category)", "Spread error (code)", "Depth error (code)",
                         "Grades equal (category)", "Grades equal (code)"])]
    out += _confusion(results)
    rel = [{"model": k, **r["heldout"]["reliability"]} for k, r in results["models"].items()
           if r.get("heldout", {}).get("reliability")]
    if rel:
        out += ["## Calibration on the held-out split (segment level)", "",
                to_markdown(rel, ["model", "brier_raw", "brier_calibrated", "ece_raw", "ece_calibrated"],
                            ["Model", "Brier (raw)", "Brier (calibrated)", "ECE (raw)", "ECE (calibrated)"])]
    out += ["## Time", "", to_markdown(
        [{"model": k, "train": r["train_seconds"], "predict": r.get("heldout", {}).get("predict_seconds")}
         for k, r in results["models"].items()],
        ["model", "train", "predict"], ["Model", "Training incl. CV (s)", "Coding the held-out interviews (s)"])]
    curves = {k: r["learning_curve"] for k, r in results["models"].items() if r.get("learning_curve")}
    if curves:
        sizes = sorted({p["interviews"] for c in curves.values() for p in c})
        rows = [{"model": k, **{str(p["interviews"]): p["category_macro_f1"] for p in c}} for k, c in curves.items()]
        out += ["## Learning curve (held-out category macro-F1 by number of training interviews)", "",
                to_markdown(rows, ["model"] + [str(s) for s in sizes])]
    out += ["## Per-code F1 on the held-out split", "", _per_code(results)]
    return "\n".join(out)


def _fidelity_rows(results: dict) -> list[dict]:
    rows = []
    for kind, res in results["models"].items():
        for split in ("heldout", "cross_validation"):
            block = res.get(split, {})
            if block.get("grades"):
                g = block["grades"]["match_by_level"]
                rows.append({"model": kind, "split": split.replace("_", " "), "estimator": "none",
                             "match_cat": g.get("category"), "match_code": g.get("code")})
            for method, fid in block.get("fidelity", {}).items():
                cat, code = fid["levels"].get("category", {}), fid["levels"].get("code", {})
                rows.append({"model": kind, "split": split.replace("_", " "), "estimator": method,
                             "kappa_cat": cat.get("presence_kappa"), "kappa_code": code.get("presence_kappa"),
                             "spread_cat": cat.get("spread_mae"), "spread_code": code.get("spread_mae"),
                             "depth_code": code.get("depth_mae"), "match_cat": cat.get("grade_match"),
                             "match_code": code.get("grade_match")})
    return rows


def _confusion(results: dict, method: str = "pcc") -> list[str]:  # the default estimator
    out = []
    for kind, res in results["models"].items():
        fid = res.get("heldout", {}).get("fidelity", {}).get(method)
        if not fid:
            continue
        for level in ("category", "code"):
            table = fid["levels"][level]["confusion"]
            labels = list(table)
            rows = [{"human": h, **{m: table[h][m] for m in labels}} for h in labels]
            out += [f"Grade confusion, {kind}, {method}, held-out, {level} level (rows: human grade; "
                    "columns: machine grade):", "", to_markdown(rows, ["human"] + labels)]
    return out


def _grade_rows(results: dict) -> list[dict]:
    rows = []
    sources = [(k, r) for k, r in results["models"].items()]
    if results.get("human_human"):
        sources.append(("human (second coder)", {"heldout": results["human_human"]}))
    for kind, res in sources:
        for split in ("heldout", "cross_validation"):
            g = res.get(split, {}).get("grades")
            if g:
                rows.append({"model": kind, "split": split.replace("_", " "), "match": g["match"],
                             "category": g["match_by_level"].get("category"), "code": g["match_by_level"].get("code"),
                             "spread_error": g["spread_mean_abs_error"]})
    return rows


def _per_code(results: dict) -> str:
    kinds = [k for k, r in results["models"].items() if r.get("heldout")]
    if not kinds:
        return "(no held-out split)\n"
    codes = list(results["models"][kinds[0]]["heldout"]["per_code_f1"])
    rows = [{"code": c, **{k: results["models"][k]["heldout"]["per_code_f1"][c] for k in kinds}} for c in codes]
    return to_markdown(rows, ["code"] + kinds)
