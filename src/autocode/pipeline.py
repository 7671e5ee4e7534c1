"""The library behind each CLI command: run, train, grade_study and agree.

Each function takes paths and options, returns a small result object and writes its outputs
atomically into a fresh folder (replacing an existing one only with ``force=True``).
"""

from __future__ import annotations

import json
import platform
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from autocode import __version__, agreement
from autocode.classifiers.base import Model, load_model
from autocode.codebook import Codebook
from autocode.config import SegmentConfig, load_config
from autocode.errors import AutocodeError
from autocode.grading import GradeRow, grade
from autocode.batch import CODED, carry_over
from autocode.coding_pass import code_study, estimate_of, grades_of, machine_grades, write_review
from autocode.io.atomic import output_dir, resumable_dir, write_json, write_text
from autocode.io.codings import Span
from autocode.io.study import Study, load_study
from autocode.labels import project_spans
from autocode.progress import silent
from autocode.reports import grades as grade_report
from autocode.reports.tables import to_csv
from autocode.resources import default_model_path
from autocode.segment import Segment, segment_all

Progress = Callable


@dataclass
class RunResult:
    out: Path
    segments: int
    transcripts: int
    grades: list[GradeRow]
    comparison: dict | None = None
    files: list[str] = field(default_factory=list)
    reused: int = 0


@dataclass
class TrainResult:
    out: Path
    metrics: dict
    segments: int
    transcripts: int


# -- shared steps ---------------------------------------------------------------------------
def open_study(study_dir, codebook=None, config=None) -> Study:
    return load_study(study_dir, codebook, load_config(config) if config else None)


def pick_coder(study: Study, coder: str | None) -> str | None:
    if coder is None:
        return sorted(study.codings)[0] if study.codings else None
    if coder not in study.codings:
        have = ", ".join(sorted(study.codings)) or "none"
        raise AutocodeError(f"no codings/{coder}.jsonl in the study (coders found: {have})", study.root)
    return coder


def segments_for(study: Study, config: SegmentConfig, only: set[str] | None = None, progress: Progress = silent) -> list[Segment]:
    transcripts = [t for t in study.transcripts if only is None or t.id in only]
    return segment_all(progress(transcripts, description="segmenting"), config)


def predict(model: Model, segments: Sequence[Segment], codebook: Codebook, progress: Progress = silent,
            batch: int = 256) -> tuple[np.ndarray, np.ndarray]:
    parts = [model.scores(segments[i : i + batch], codebook)
             for i in progress(range(0, len(segments), batch), description="coding")]
    P = np.vstack(parts) if parts else np.zeros((0, len(codebook)))
    return P, model.decide(P, codebook)


def attribute_columns(study: Study, by: Sequence[str] | None) -> list[str]:
    columns = {k for attrs in study.participants.values() for k in attrs}
    if by is None:
        return ["role"] if "role" in columns else []
    missing = [c for c in by if c not in columns]
    if missing:
        raise AutocodeError(f"participants.csv has no column {', '.join(missing)} to break grades down by", study.root)
    return list(by)


# -- run -------------------------------------------------------------------------------------
def run(study_dir, out_dir, model_dir=None, *, force=False, resume=False, codebook=None, config=None, coder=None,
        by: Sequence[str] | None = None, export: str | None = None, profile: str = "generic",
        progress: Progress = silent) -> RunResult:
    """Code every participant turn of a study, grade the codes, and compare with human coding.

    Each transcript's result is kept in ``coded/`` as soon as it is coded; ``resume=True`` reuses
    those of an earlier or interrupted run into ``out_dir`` that match the model and the input
    (see :mod:`autocode.batch`) and codes only the rest. ``export="qdpx"`` also writes
    ``project.qdpx`` (a REFI-QDA project with the transcripts, codebook, human codings and the
    machine coding under its own user) and the machine's confidences in
    ``project.confidence.csv``; ``profile`` adapts it to one tool's quirks.
    """
    if export not in (None, "qdpx"):
        raise AutocodeError(f"unknown export format {export!r}; the one supported is qdpx")
    study = open_study(study_dir, codebook, config)
    model_dir, model = resolve_model(model_dir, study.codebook)
    seg_config = SegmentConfig(**model.meta.get("training", {}).get("segment", {})) if not config else study.config.segment
    columns, coder = attribute_columns(study, by), pick_coder(study, coder)
    if resume:
        _check_resumable(Path(out_dir))
    with resumable_dir(out_dir, force, resume, keep=CODED, protected=[study.root, model_dir]) as tmp:
        if resume:
            carry_over(Path(out_dir), tmp)
        keep = study.coder_transcripts(coder) if coder is not None else set()
        done = code_study(tmp, study, model, seg_config, columns, keep, model_dir.name if export else None, progress)
        estimate = estimate_of(done.tally, model, study)  # once: grades and the review list share it
        grades = machine_grades(done.tally, estimate, study, columns)
        write_text(tmp / "grades.csv", grade_report.grades_csv(grades))
        write_text(tmp / "grades.md", grade_report.grades_markdown(grades, f"Machine grades: {study.name}"))
        write_review(tmp, done.tally, estimate, study, grades)
        comparison = None
        if coder is not None:
            segments, P, Y = done.joined(len(study.codebook))
            comparison = write_comparison(tmp, study, coder, segments, P, Y, model)
            embed_agreement(tmp / "agreement", study, coder, segments, P, Y, model, seg_config, progress)
        if export == "qdpx":
            from autocode.io.refi import export_qdpx

            export_qdpx(study, tmp / "project.qdpx", done.spans, done.confidences, profile=profile)
        write_json(tmp / "run.json", run_record(study, model_dir, model, seg_config, coder))
        files = sorted(p.name for p in tmp.iterdir())
    return RunResult(Path(out_dir), done.segments, len(study.transcripts), grades, comparison, files, done.reused)


def _check_resumable(out: Path) -> None:
    if out.is_dir() and any(out.iterdir()) and not (out / "run.json").is_file():
        raise AutocodeError("--resume continues an earlier 'autocode run' into this folder, but it holds no "
                            "run.json; choose another --out, or --force to replace it", out)


def resolve_model(model_dir, codebook: Codebook) -> tuple[Path, Model]:
    """A saved model folder, the shipped default, or ``zeroshot``: coding from the codebook alone."""
    if str(model_dir) == "zeroshot" and not Path("zeroshot").exists():
        from autocode.classifiers.zeroshot import ZeroShotClassifier, code_descriptions

        classifier = ZeroShotClassifier(code_descriptions(codebook)).fit()
        return Path("zeroshot"), Model("zeroshot", classifier, list(codebook.ids), np.full(len(codebook), 0.5),
                                       {"training": {"segment": SegmentConfig().model_dump()}})
    model_dir = Path(model_dir) if model_dir else default_model_path()
    return model_dir, load_model(model_dir, codebook)


def write_comparison(folder: Path, study: Study, coder: str, segments: Sequence[Segment], P: np.ndarray,
                     Y: np.ndarray, model: Model) -> dict:
    scope = study.coder_transcripts(coder)
    keep = np.array([s.transcript in scope for s in segments], dtype=bool)
    scoped = [s for s, k in zip(segments, keep) if k]
    Yh = project_spans(scoped, study.codings[coder], study.codebook, study.config.projection)
    Ym = Y[keep]
    human = grade(scoped, Yh, study.codebook, study.config.grading, study.participants)
    machine = grades_of(scoped, P[keep], Ym, model, study, ())
    per_code = agreement.per_code(Yh, Ym, study.codebook)
    summary = agreement.summarise(per_code, study.codebook, Yh, Ym)
    rows = grade_report.comparison_rows(human, machine, per_code)
    notes = [f"Human coder: {coder}; {len(scope)} transcripts, {len(scoped)} segments."]
    trained_on = model.meta.get("training", {}).get("transcripts", {})
    seen = {t.id for t in study.transcripts if t.id in scope and trained_on.get(t.id) == t.checksum}
    result = {"coder": coder, "summary": summary, "seen_in_training": len(seen)}
    extra = {}
    if seen:
        notes.append(f"{len(seen)} of these transcripts were in the model's training data, so agreement on them "
                     "is optimistic; the table below the first one leaves them out.")
        unseen = np.array([s.transcript not in seen for s in scoped], dtype=bool)
        if unseen.any():
            rows_unseen = agreement.per_code(Yh[unseen], Ym[unseen], study.codebook)
            result["summary_unseen"] = agreement.summarise(rows_unseen, study.codebook, Yh[unseen], Ym[unseen])
            extra[f"transcripts not in the model's training data ({len(scope) - len(seen)})"] = result["summary_unseen"]
    write_text(folder / "comparison.csv", to_csv(rows, grade_report.COMPARISON_COLUMNS))
    title = f"Human ({coder}) vs machine: {study.name}"
    write_text(folder / "comparison.md", grade_report.comparison_markdown(rows, summary, title, notes, extra))
    return result


def embed_agreement(folder: Path, study: Study, coder: str, segments, P, Y, model: Model, seg_config: SegmentConfig,
                    progress) -> None:
    """The full five-level agreement report (human vs machine) inside a run's output."""
    from autocode.agree_report import Coding, agreement_report, machine_coding

    human = Coding(coder, list(study.codings[coder]), study.coder_transcripts(coder))
    machine = machine_coding(segments, Y, study.codebook, P,
                             trained_on=model.meta.get("training", {}).get("transcripts"))
    same = seg_config == study.config.segment  # then the run's segments are the report's too
    report = agreement_report(study, [human, machine], n_boot=200, segments=segments if same else None,
                              progress=progress)
    report.write(folder)


def run_record(study: Study, model_dir: Path, model: Model, seg_config: SegmentConfig, coder: str | None) -> dict:
    from importlib.metadata import version

    return {
        "autocode_version": __version__,
        "study": str(study.root.resolve()),
        "model": {"path": str(Path(model_dir).resolve()), "type": model.kind,
                  "codebook_hash": model.meta.get("codebook", {}).get("hash")},
        "codebook": {"name": study.codebook.name, "hash": study.codebook.structure_hash()},
        "config": {**study.config.model_dump(), "segment": seg_config.model_dump()},
        "human_coder": coder,
        "inputs": {t.id: t.checksum for t in study.transcripts},
        "versions": {"python": platform.python_version(), "numpy": np.__version__,
                     "scikit-learn": version("scikit-learn"), "spacy": version("spacy")},
    }


# -- grade and agree -------------------------------------------------------------------------
def load_coding(path, study: Study) -> list[Span]:
    """Read a coding: human spans (codings JSONL) or the segments.jsonl that ``run`` writes."""
    from autocode.io.codings import parse_codings, read_segment_coding

    path = Path(path)
    if not path.is_file():
        raise AutocodeError("coding file not found; pass a codings JSONL or a run's segments.jsonl", path)
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except UnicodeDecodeError:
        raise AutocodeError("coding file is not UTF-8; re-save it as UTF-8 JSON lines", path) from None
    first = next((line for line in lines if line.strip()), "")
    try:
        keys = set(json.loads(first)) if first else set()
    except (json.JSONDecodeError, TypeError):
        raise AutocodeError("coding file is not JSON lines; expected one JSON object per line", path) from None
    if "codes" not in keys:
        return parse_codings(lines, path, study.texts(), study.codebook.ids)
    return read_segment_coding(lines, path, study.texts(), study.codebook.ids, path.parent.name)


def _coded(study: Study, spans: list[Span], scope: set[str]) -> tuple[list[Segment], np.ndarray]:
    segments = segments_for(study, study.config.segment, only=scope)
    return segments, project_spans(segments, spans, study.codebook, study.config.projection)


def grade_study(study_dir, coding, *, codebook=None, config=None, by: Sequence[str] | None = None) -> list[GradeRow]:
    """Grade any coding of a study (human spans or a run's segments.jsonl)."""
    study = open_study(study_dir, codebook, config)
    spans = load_coding(coding, study)
    segments, Y = _coded(study, spans, {s.transcript for s in spans})
    return grade(segments, Y, study.codebook, study.config.grading, study.participants, attribute_columns(study, by))


def agree(study_dir, coding_a, coding_b, *, codebook=None, config=None) -> tuple[list, dict, int]:
    """Segment-level agreement of two codings over the transcripts both coded."""
    study = open_study(study_dir, codebook, config)
    a, b = load_coding(coding_a, study), load_coding(coding_b, study)
    scope = {s.transcript for s in a} & {s.transcript for s in b}
    if not scope:
        raise AutocodeError(f"{coding_a} and {coding_b} share no transcript; agreement needs common transcripts")
    segments, Ya = _coded(study, a, scope)
    Yb = project_spans(segments, b, study.codebook, study.config.projection)
    rows = agreement.per_code(Ya, Yb, study.codebook)
    return rows, agreement.summarise(rows, study.codebook, Ya, Yb), len(scope)


def write_grades(study_dir, coding, out=None, *, by=None, codebook=None, config=None, force=False) -> str:
    """Grade a coding; write grades.csv/.md into ``out``, or return the Markdown table."""
    rows = grade_study(study_dir, coding, codebook=codebook, config=config, by=by)
    markdown = grade_report.grades_markdown(rows, f"Grades: {Path(coding).name}")
    if out is None:
        return markdown
    with output_dir(out, force, protected=[Path(study_dir), Path(coding)]) as tmp:
        write_text(tmp / "grades.csv", grade_report.grades_csv(rows))
        write_text(tmp / "grades.md", markdown)
    return f"Wrote grades.csv, grades.md to {out}/\n"


def study_of(codings: Sequence) -> Path:
    """The study folder that codings belong to: STUDY/codings/x.jsonl, or the study named in the
    run.json beside a run's segments.jsonl."""
    for path in map(Path, codings):
        if path.resolve().parent.name == "codings":
            return path.resolve().parent.parent
        record = path.resolve().parent / "run.json"
        if record.is_file():
            try:
                return Path(json.loads(record.read_text(encoding="utf-8"))["study"])
            except (ValueError, KeyError, TypeError):
                continue
    raise AutocodeError("cannot tell which study these codings belong to; pass --study STUDY_FOLDER")
