"""The ``autocode`` command line: parses options, calls one library function, reports errors.

Heavy libraries (spaCy, scikit-learn, torch) are imported inside the commands, so that
``autocode --help`` is instant.
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path
from typing import List, Optional

import typer

from autocode.errors import AutocodeError

app = typer.Typer(
    help="Offline auto-coder for qualitative interviews: code, grade and compare.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
codebook_app = typer.Typer(help="Show or check a codebook file.", no_args_is_help=True)
app.add_typer(codebook_app, name="codebook")

STUDY = typer.Argument(..., help="Study folder (transcripts/, participants.csv, codings/).")
FORCE = typer.Option(False, "--force", help="Replace the output folder if it exists.")
CODEBOOK = typer.Option(None, "--codebook", help="Codebook YAML (default: the study's, else the shipped one).")
CONFIG = typer.Option(None, "--config", help="Settings YAML overriding the study's (see docs/formats.md).")
BY = typer.Option(None, "--by", help="participants.csv column to break grades down by (repeatable; default: role).")


def _fail(message: str, code: int = 1) -> None:
    typer.echo(f"Error: {message}", err=True)
    raise typer.Exit(code)


def friendly(func):
    """Turn AutocodeError into one line on stderr and exit 1; Ctrl-C into exit 130."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except AutocodeError as exc:
            _fail(str(exc))
        except KeyboardInterrupt:
            _fail("interrupted; no output was written", 130)

    return wrapper


def _progress():
    from autocode.progress import bar, silent

    return bar if sys.stderr.isatty() else silent


@app.command()
@friendly
def run(
    study: Path = STUDY,
    out: Path = typer.Option(..., "--out", "-o", help="Folder to write coded segments, grades and comparison."),
    model: Optional[Path] = typer.Option(None, "--model", "-m", help="Model folder (default: the shipped TF-IDF "
                                         "model), or 'zeroshot' to code from the codebook's definitions alone."),
    coder: Optional[str] = typer.Option(None, "--coder", help="Human coder to compare with (default: first found)."),
    by: Optional[List[str]] = BY,
    export: Optional[str] = typer.Option(None, "--export", help="Also write the coding for a QDA tool: qdpx."),
    profile: str = typer.Option("generic", "--profile", help="qdpx flavour: generic, atlasti, maxqda, nvivo, qualcoder."),
    codebook: Optional[Path] = CODEBOOK,
    config: Optional[Path] = CONFIG,
    force: bool = FORCE,
    resume: bool = typer.Option(False, "--resume", help="Continue an interrupted or extended batch into --out: "
                                "reuse transcripts already coded there by the same model from the same input."),
):
    """Code every participant turn of a study, grade each code, compare with human coding."""
    from autocode.pipeline import run as run_study

    try:
        result = run_study(study, out, model, force=force, resume=resume, codebook=codebook, config=config,
                           coder=coder, by=by, export=export, profile=profile, progress=_progress())
    except KeyboardInterrupt:
        _fail("interrupted; no output was written (the same command with --resume keeps the transcripts "
              "already coded)", 130)
    reused = f" ({result.reused} reused from an earlier run)" if result.reused else ""
    typer.echo(f"Coded {result.segments} segments from {result.transcripts} transcripts{reused} into {result.out}/")
    typer.echo("Wrote " + ", ".join(result.files))
    if result.comparison:
        for key, scope in (("summary", "all coded transcripts"), ("summary_unseen", "transcripts unseen in training")):
            cat = result.comparison.get(key, {}).get("category")
            if cat:
                typer.echo(f"Human ({result.comparison['coder']}) vs machine, category level, {scope}: "
                           f"macro-F1 {cat['macro_f1']:.3f}, kappa {cat['kappa']:.3f}")


@app.command()
@friendly
def train(
    study: Path = STUDY,
    out: Path = typer.Option(..., "--out", "-o", help="Model folder to create, e.g. models/mine."),
    model: str = typer.Option("tfidf", "--model", help="Model type: tfidf, transformer, fewshot or zeroshot."),
    coder: Optional[str] = typer.Option(None, "--coder", help="Human coder to learn from (default: first found)."),
    folds: Optional[int] = typer.Option(None, "--folds", min=0, help="Cross-validation folds grouped by transcript "
                                        "(default 5; 0 for the transformer, which tunes on a validation split)."),
    base: Optional[str] = typer.Option(None, "--base", help="Encoder folder (or hub id when online) for "
                                       "transformer, fewshot and zeroshot; default: the packaged MiniLM."),
    context: bool = typer.Option(False, "--context", help="Transformer: read the interviewer's question as context."),
    epochs: Optional[int] = typer.Option(None, "--epochs", min=1, help="Transformer: most training epochs."),
    quantize: bool = typer.Option(False, "--int8", help="Transformer: code with int8 weights on the CPU (about 2x "
                                  "faster, slightly less accurate; see docs/quantization.md)."),
    seed: int = typer.Option(0, "--seed", help="Random seed."),
    include_heldout: bool = typer.Option(False, "--include-heldout", help="Also train on the study's held-out transcripts."),
    codebook: Optional[Path] = CODEBOOK,
    config: Optional[Path] = CONFIG,
    force: bool = FORCE,
):
    """Train a model on a study's human coding, with cross-validation grouped by interview."""
    from autocode.training import train as train_model

    params = {k: v for k, v in (("base", base), ("epochs", epochs)) if v is not None}
    if context:
        params["context"] = True
    if quantize:
        params["quantize"] = "int8"
    result = train_model(study, out, model, force=force, codebook=codebook, config=config, coder=coder,
                         folds=folds, seed=seed, include_heldout=include_heldout, params=params,
                         progress=_progress())
    typer.echo(f"Trained on {result.segments} segments from {result.transcripts} transcripts; saved {result.out}/")
    for name in ("cross_validation", "validation", "heldout"):
        cat = result.metrics.get(name, {}).get("levels", {}).get("category")
        if cat:
            typer.echo(f"{name}, category level: macro-F1 {cat['macro_f1']:.3f}, kappa {cat['kappa']:.3f}")


@app.command()
@friendly
def evaluate(
    study: Path = STUDY,
    models: str = typer.Option("tfidf,fewshot,zeroshot", "--models", help="Comma-separated model types to compare."),
    report: Path = typer.Option(Path("results.md"), "--report", help="Markdown report; the JSON goes beside it."),
    coder: Optional[str] = typer.Option(None, "--coder", help="Reference human coder (default: first found)."),
    folds: Optional[int] = typer.Option(None, "--folds", min=0, help="Grouped CV folds (default 5; transformer 0)."),
    curve: bool = typer.Option(True, "--curve/--no-curve", help="Compute the learning curve (slow for transformers)."),
    curve_models: Optional[str] = typer.Option(None, "--curve-models", help="Only these model types get a learning curve."),
    seed: int = typer.Option(0, "--seed", help="Random seed."),
    codebook: Optional[Path] = CODEBOOK,
    config: Optional[Path] = CONFIG,
    force: bool = typer.Option(False, "--force", help="Replace an existing report."),
):
    """Compare model types: grouped cross-validation, held-out split, learning curve, grade agreement."""
    from autocode.evaluate import evaluate as run_evaluation

    kinds = [k.strip() for k in models.split(",") if k.strip()]
    if curve and curve_models:
        curve = [k.strip() for k in curve_models.split(",")]
    results = run_evaluation(study, kinds, report, coder=coder, folds=folds, seed=seed, curve=curve, force=force,
                             codebook=codebook, config=config, progress=_progress())
    for kind, res in results["models"].items():
        cat = res.get("heldout", res.get("cross_validation", {})).get("levels", {}).get("category", {})
        typer.echo(f"{kind}: category macro-F1 {cat.get('macro_f1', float('nan')):.3f}, "
                   f"kappa {cat.get('kappa', float('nan')):.3f}")
    typer.echo(f"Wrote {report} and {report.with_suffix('.json')}")


@app.command()
@friendly
def grade(
    study: Path = STUDY,
    coding: Path = typer.Option(..., "--coding", help="A codings JSONL or a run's segments.jsonl."),
    by: Optional[List[str]] = BY,
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Write grades.csv and grades.md here."),
    codebook: Optional[Path] = CODEBOOK,
    config: Optional[Path] = CONFIG,
    force: bool = FORCE,
):
    """Grade any coding by spread and depth (Strong / Moderate / Weaker)."""
    from autocode.pipeline import write_grades

    typer.echo(write_grades(study, coding, out, by=by, codebook=codebook, config=config, force=force), nl=False)


@app.command()
@friendly
def agree(
    codings: List[Path] = typer.Argument(..., help="Two or more codings (codings JSONL or a run's segments.jsonl); "
                                         "the first is the reference."),
    study: Optional[Path] = typer.Option(None, "--study", help="Study folder (default: found from the codings)."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Write agreement.md/.json/.html/.csv and "
                                       "disagreements.csv here (default: print the Markdown report)."),
    exclude_uncoded: bool = typer.Option(False, "--exclude-uncoded", help="Character level: leave out text no coder coded."),
    overlap: float = typer.Option(0.9, "--overlap", help="Overlap share for the segment-overlap match (MAXQDA style)."),
    boot: int = typer.Option(1000, "--bootstrap", min=0, help="Bootstrap replicates over participants (0: none)."),
    codebook: Optional[Path] = CODEBOOK,
    config: Optional[Path] = CONFIG,
    force: bool = FORCE,
):
    """Agreement between coders at five levels: segment, character, unitizing, participant, grade."""
    from autocode.agree_report import agreement_report
    from autocode.pipeline import study_of

    report = agreement_report(study or study_of(codings), codings, out, codebook=codebook, config=config,
                              force=force, exclude_uncoded=exclude_uncoded, overlap_threshold=overlap, n_boot=boot,
                              progress=_progress())
    if out is None:
        typer.echo(report.markdown())
        return
    for pair in report.pairs:
        head = report.headline(pair["b"])
        typer.echo(f"{pair['a']} vs {pair['b']}, category level: segment kappa {head['segment_kappa']:.3f}, "
                   f"alpha {head['segment_alpha']:.3f}")
    typer.echo(f"Wrote the agreement report to {out}/")


@app.command("import")
@friendly
def import_(
    file: Path = typer.Argument(..., help="A .qdpx or .qdc (REFI-QDA), a codebook .csv (autocode's or Taguette's), "
                                "a .docx, .vtt, .srt, .txt/.md file, or a folder of transcripts."),
    out: Path = typer.Option(..., "--out", "-o", help="Study folder to create."),
    interviewer: Optional[List[str]] = typer.Option(None, "--interviewer", help="Speaker name(s) of the interviewer."),
    force: bool = FORCE,
):
    """Turn a QDA project, Word document, or Zoom/Teams captions into a study folder."""
    from autocode.io.importer import import_file

    result = import_file(file, out, force=force, interviewer=tuple(interviewer or ()))
    typer.echo(result.summary())


@codebook_app.command("show")
@friendly
def codebook_show(file: Path = typer.Argument(..., help="Codebook YAML file.")):
    """Print the code hierarchy."""
    from autocode.codebook import describe, load_codebook

    typer.echo(describe(load_codebook(file)))


@codebook_app.command("validate")
@friendly
def codebook_validate(file: Path = typer.Argument(..., help="Codebook YAML file.")):
    """Check a codebook file; exit 1 with the problem if it is invalid."""
    from autocode.codebook import load_codebook

    book = load_codebook(file)
    typer.echo(f"{file}: valid ({len(book)} codes, hash {book.structure_hash()})")


@codebook_app.command("export")
@friendly
def codebook_export(
    file: Path = typer.Argument(..., help="Codebook YAML file."),
    out: Path = typer.Option(..., "--out", "-o", help="File to write: .qdc (REFI-QDA) or .csv (Taguette, "
                             "spreadsheets; autocode imports it back whole)."),
    force: bool = typer.Option(False, "--force", help="Replace the file if it exists."),
):
    """Write a codebook as a REFI-QDA .qdc or a codebook .csv that QDA tools import."""
    from autocode.codebook import load_codebook
    from autocode.io.codebook_csv import write_codebook_csv
    from autocode.io.refi import export_qdc

    writers = {".qdc": export_qdc, ".csv": write_codebook_csv}
    writer = writers.get(out.suffix.lower())
    if writer is None:
        raise AutocodeError("the codebook export is a REFI-QDA codebook (.qdc) or a codebook CSV (.csv); "
                            "give --out a name ending in .qdc or .csv", out)
    typer.echo(f"Wrote {writer(load_codebook(file), out, force=force)}")


if __name__ == "__main__":
    app()
