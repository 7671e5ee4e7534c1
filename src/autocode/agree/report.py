"""The agreement report: :func:`agreement_report` computes it, :class:`AgreementReport` holds it
and writes its files."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from autocode import __version__
from autocode.agree.codings import Coding, Confidence, confidence_source, read_coding, unique_names
from autocode.agree.context import Context
from autocode.agree.pair import compare_all, compare_pair
from autocode.agree.reconcile import disagreements
from autocode.agreement import level_codes
from autocode.agreement_units import UNIVERSES, code_masks, merged_units, universe_mask
from autocode.errors import AutocodeError
from autocode.io.atomic import output_dir, write_json, write_text
from autocode.io.study import Study
from autocode.labels import project_spans
from autocode.progress import silent

SEGMENT_METRICS = ("percent", "kappa", "alpha", "ac1", "precision", "recall", "f1")
FILES = ("agreement.md", "agreement.json", "agreement.html", "agreement.csv", "disagreements.csv")


@dataclass
class AgreementReport:
    """All five levels of agreement. ``data`` is what agreement.json holds; ``disagreements``
    the rows of disagreements.csv."""

    data: dict
    disagreements: list[dict]
    disagreement_columns: list[str]
    out: Path | None = None
    files: list[str] = field(default_factory=list)

    @property
    def pairs(self) -> list[dict]:
        return self.data["pairs"]

    def pair(self, coder: str | None = None) -> dict:
        """The comparison of the reference with ``coder`` (default: the first other coder)."""
        for p in self.pairs:
            if coder is None or p["b"] == coder:
                return p
        raise KeyError(coder)

    def headline(self, coder: str | None = None, level: str = "category") -> dict:
        """The main figures of one comparison at one level (default: category)."""
        p = self.pair(coder)
        seg, char, unit = (p[k]["levels"][level] for k in ("segment", "character", "unitizing"))
        return {
            "segment_kappa": seg["kappa"], "segment_alpha": seg["alpha"], "segment_ac1": seg["ac1"],
            "segment_f1": seg["f1"],
            "character_kappa": char["kappa"], "character_alpha": char["alpha"],
            "alpha_binary": unit["alpha_binary"], "cu_alpha": unit.get("cu_alpha"),
            "overlap_agreement": p["unitizing"]["overlap"]["levels"][level]["agreement"],
            "participant_kappa": p["participant"]["levels"][level]["kappa"],
            "grade_match_share": p["grade"]["levels"][level]["share"],
            "grade_match_share_all": p["grade"]["levels"]["all"]["share"],
        }

    def markdown(self) -> str:
        from autocode.reports.agreement_md import report_markdown

        return report_markdown(self.data)

    def html(self) -> str:
        from autocode.reports.html import report_html

        return report_html(self.data)

    def csv(self) -> str:
        from autocode.reports.agreement_md import report_csv

        return report_csv(self.data)

    def disagreements_csv(self) -> str:
        return _csv(self.disagreements, self.disagreement_columns)

    def write(self, folder) -> list[str]:
        """Write the report's files into ``folder`` (each file atomically)."""
        folder = Path(folder)
        write_text(folder / "agreement.md", self.markdown())
        write_json(folder / "agreement.json", self.data)
        write_text(folder / "agreement.html", self.html())
        write_text(folder / "agreement.csv", self.csv())
        write_text(folder / "disagreements.csv", self.disagreements_csv())
        return list(FILES)


def _csv(rows: list[dict], columns: list[str]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, columns, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("" if v is None else v) for k, v in row.items()})
    return buf.getvalue()


def agreement_report(study_dir, codings: Sequence, out_dir=None, *, codebook=None, config=None,
                     machine_confidence=None, force: bool = False, exclude_uncoded: bool = False,
                     universe: str = "participant", overlap_threshold: float = 0.9, n_boot: int = 1000,
                     ci: float = 0.95, seed: int = 0, min_occurrences: int = 10, title: str | None = None,
                     segments=None, progress=silent) -> AgreementReport:
    """Agreement of two or more codings of a study at five levels; write it when ``out_dir`` is given.

    ``codings``: paths (human codings JSONL, or a run's segments.jsonl) or :class:`Coding`
    objects; the first is the reference. ``machine_confidence``: a run's segments.jsonl whose
    confidences go into the disagreement listing (default: the first machine coding given).
    ``exclude_uncoded``: character level without text that no coder coded. ``universe``:
    the characters that count at character and unitizing level, "participant" (participant
    turns) or "transcript" (the whole file, as NVivo). ``overlap_threshold``: share of overlap
    for the segment-overlap match. ``n_boot`` bootstrap replicates over participants (0: none)
    for ``ci`` intervals. ``min_occurrences``: fewer coded segments than this from either coder
    flags a code's kappa as unstable. Writes agreement.md, .json, .html, .csv and
    disagreements.csv atomically into a fresh ``out_dir`` (replacing one only with ``force``).
    ``study_dir`` may be a loaded :class:`Study`, and ``segments`` its segments under the study's
    segment settings, when the caller has them already.
    """
    from autocode.pipeline import open_study

    _check_options(overlap_threshold, universe, n_boot, ci)
    study = study_dir if isinstance(study_dir, Study) else open_study(study_dir, codebook, config)
    loaded = _load_codings(codings, study)
    confidence = confidence_source(machine_confidence, loaded, study)
    _check_shared(loaded)
    settings = {**_study_settings(study), "universe": universe, "exclude_uncoded": exclude_uncoded,
                "overlap_threshold": overlap_threshold, "n_boot": n_boot, "ci": ci, "seed": seed,
                "min_occurrences": min_occurrences}
    ctx = _context(study, loaded, settings, progress, segments)
    pairs = [compare_pair(ctx, loaded[0], other) for other in progress(loaded[1:], description="comparing")]
    pooled = compare_all(ctx, loaded) if len(loaded) >= 3 else None
    rows, columns = disagreements(ctx, loaded, confidence)
    report = AgreementReport(_report_data(ctx, loaded, confidence, title, pairs, pooled, len(rows)), rows, columns)
    if out_dir is not None:
        _write(report, out_dir, force, protected=[study.root] + [Path(c) for c in codings if not isinstance(c, Coding)])
    return report


def _write(report: AgreementReport, out_dir, force: bool, protected: list[Path]) -> None:
    """Write the report's files into a fresh ``out_dir`` (replacing one only with ``force``)."""
    with output_dir(out_dir, force, protected=protected) as tmp:
        report.files = report.write(tmp)
    report.out = Path(out_dir)


def _study_settings(study: Study) -> dict:
    return {"segment": study.config.segment.model_dump(), "projection": study.config.projection.model_dump(),
            "grading": study.config.grading.model_dump()}


def _check_options(overlap_threshold: float, universe: str, n_boot: int, ci: float) -> None:
    if not 0 < overlap_threshold <= 1:
        raise AutocodeError(f"overlap threshold must be a share between 0 and 1 (e.g. 0.9), not {overlap_threshold}")
    if universe not in UNIVERSES:
        raise AutocodeError(f"universe must be one of {', '.join(UNIVERSES)}, not {universe!r}")
    if n_boot < 0:
        raise AutocodeError(f"bootstrap replicates must be 0 or more, not {n_boot}")
    if not 0 < ci < 1:
        raise AutocodeError(f"confidence level must be between 0 and 1 (e.g. 0.95), not {ci}")


def _load_codings(codings: Sequence, study: Study) -> list[Coding]:
    loaded = [c if isinstance(c, Coding) else read_coding(c, study) for c in codings]
    if len(loaded) < 2:
        raise AutocodeError("agreement needs at least two codings; pass a second coder's codings or a run's segments.jsonl")
    unique_names(loaded)
    return loaded


def _check_shared(codings: list[Coding]) -> None:
    ref = codings[0]
    for other in codings[1:]:
        if not ref.transcripts & other.transcripts:
            raise AutocodeError(f"codings {ref.name!r} and {other.name!r} share no transcript; "
                                "agreement needs transcripts that both coded")


def _context(study: Study, codings: list[Coding], settings: dict, progress, segments=None) -> Context:
    """Segments, decisions, character masks and units of every coder over the transcripts that
    two or more coders coded."""
    from autocode.pipeline import segments_for

    cb = study.codebook
    covered: dict[str, int] = defaultdict(int)
    for c in codings:
        for t in c.transcripts:
            covered[t] += 1
    scope_all = {t for t, n in covered.items() if n >= 2}
    if segments is None:
        segments = segments_for(study, study.config.segment, only=scope_all, progress=progress)
    else:
        segments = [s for s in segments if s.transcript in scope_all]
    Y = {c.name: project_spans(segments, c.spans, cb, study.config.projection) for c in codings}
    by_id = {t.id: t for t in study.transcripts}
    uni = {tid: universe_mask(by_id[tid], settings["universe"]) for tid in scope_all}
    lengths = {tid: len(by_id[tid].text) for tid in scope_all}
    masks = {c.name: code_masks(c.spans, cb, {t: n for t, n in lengths.items() if t in c.transcripts}) for c in codings}
    units = {c.name: merged_units(c.spans, cb) for c in codings}
    return Context(study, cb, segments, Y, uni, masks, units, settings)


def _report_data(ctx: Context, codings: list[Coding], confidence: Confidence | None, title: str | None,
                 pairs: list[dict], pooled: dict | None, n_disagreements: int) -> dict:
    """What agreement.json holds."""
    study, cb = ctx.study, ctx.cb
    return {
        "title": title or f"Inter-coder agreement: {study.name}",
        "study": study.name,
        "autocode_version": __version__,
        "codebook": {"name": cb.name, "hash": cb.structure_hash(),
                     "codes": [{"code": c.id, "label": c.label, "level": cb.level_name(c.id), "depth": c.depth}
                               for c in cb.codes]},
        "levels": dict(level_codes(cb)),
        "settings": ctx.settings,
        "coders": [{"name": c.name, "kind": c.kind, "source": c.source, "transcripts": len(c.transcripts),
                    "spans": len(c.spans)} for c in codings],
        "reference": codings[0].name,
        "machine_confidence": confidence is not None,
        "pairs": pairs,
        "pooled": pooled,
        "disagreements": n_disagreements,
    }
