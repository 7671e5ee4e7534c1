"""The agreement report: five levels of agreement between two or more codings of a study.

:func:`agreement_report` compares every coding with the first (the reference) over the
transcripts both coded, and, with three or more coders, pools them all where alpha is defined:

1. segment level: percent agreement, Cohen's kappa, Krippendorff's alpha, Gwet's AC1, and
   precision, recall and F1 with the reference as truth, on the study's segments;
2. character level, as NVivo and QualCoder compute it (optionally without uncoded text);
3. unitizing: Krippendorff's alpha-binary and cu-alpha (as ATLAS.ti reports them) and the
   segment-overlap match of MAXQDA and QDA Miner;
4. participant level: presence or absence of each code in each participant's interview, and
   how often it occurs;
5. grade level: spread, depth and grade per code for each coder, and whether grades match.

Every figure comes per code and as a mean per level of the hierarchy, with a bootstrap interval
over participants. The report also lists every segment where the coders differ (with the
machine's confidence where a machine coding is at hand) as ``disagreements.csv`` for a
reconciliation meeting; :func:`read_reconciled` reads the filled-in CSV back as a coding that
``autocode train`` can learn from (:func:`write_reconciled`). Definitions: docs/agreement.md.
"""

from __future__ import annotations

import csv
import io
import json
import math
import warnings
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Sequence

import numpy as np

from autocode import __version__
from autocode.agreement import krippendorff_alpha, level_codes, metrics_from_counts
from autocode.agreement_levels import (bootstrap_weights, count_alpha, count_summary, grade_index, grade_match_summary,
                                       grade_pair, level_means, occurrence_matrix, percentile_ci, presence_tables,
                                       resample, segment_tables_by_group)
from autocode.agreement_units import (alpha_binary_unitized, alpha_from_binary_coincidences, binary_coincidence_stats,
                                      char_counts, code_masks, coincidence_matrix, cu_coincidences, domains,
                                      merged_units, overlap_agreement, overlap_counts, unitizing_stats, universe_mask,
                                      UNIVERSES, value_label)
from autocode.codebook import Codebook
from autocode.errors import AutocodeError
from autocode.io.atomic import output_dir, write_json, write_text
from autocode.io.codings import Span, spans_to_jsonl
from autocode.io.study import Study
from autocode.labels import project_spans
from autocode.progress import silent
from autocode.segment import Segment

SEGMENT_METRICS = ("percent", "kappa", "alpha", "ac1", "precision", "recall", "f1")
FILES = ("agreement.md", "agreement.json", "agreement.html", "agreement.csv", "disagreements.csv")
NO_CODE = {"none", "-", "(none)"}


# -- codings -----------------------------------------------------------------------------------
@dataclass
class Coding:
    """One coder's coding of a study: character spans and the transcripts it covers.

    ``transcripts`` is the coder's scope: a transcript in scope with no span of the coder means
    "nothing to code here", not "not coded". ``confidence`` (machine codings) maps a segment's
    (transcript, start, end) to the confidence of each code assigned there.
    """

    name: str
    spans: list[Span]
    transcripts: set[str]
    source: str = ""
    kind: str = "human"
    confidence: dict[tuple[str, int, int], dict[str, float]] | None = None
    trained_on: dict[str, str] | None = None
    """Machine codings: the model's training transcripts and their SHA-256, when known, so that
    agreement on transcripts the model learnt from can be flagged as optimistic."""


def _is_segments_file(path: Path) -> bool:
    first = next((line for line in path.read_text(encoding="utf-8-sig").splitlines() if line.strip()), "")
    try:
        return "codes" in json.loads(first)
    except (json.JSONDecodeError, TypeError):
        return False


def read_coding(path, study: Study, name: str | None = None) -> Coding:
    """Read a human codings JSONL or the ``segments.jsonl`` of ``autocode run`` as a :class:`Coding`."""
    from autocode.pipeline import load_coding

    path = Path(path)
    spans = load_coding(path, study)
    if not _is_segments_file(path):
        return Coding(name or path.stem, spans, {s.transcript for s in spans}, str(path), "human")
    transcripts, confidence = set(), {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            transcripts.add(row["transcript"])
            confidence[(row["transcript"], int(row["start"]), int(row["end"]))] = {
                k: float(v) for k, v in (row.get("confidence") or {}).items()}
    default = "machine" if path.stem == "segments" else path.stem
    return Coding(name or default, spans, transcripts, str(path), "machine", confidence, _training_transcripts(path))


def _training_transcripts(segments_path: Path) -> dict[str, str] | None:
    """The training transcripts of the model named in the run.json beside a segments.jsonl."""
    try:
        run = json.loads((segments_path.parent / "run.json").read_text(encoding="utf-8"))
        model = json.loads((Path(run["model"]["path"]) / "model.json").read_text(encoding="utf-8"))
        return dict(model["training"]["transcripts"])
    except (OSError, KeyError, TypeError, ValueError):
        return None


def machine_coding(segments: Sequence[Segment], Y: np.ndarray, codebook: Codebook, P: np.ndarray | None = None,
                   name: str = "machine", trained_on: dict[str, str] | None = None) -> Coding:
    """A machine coding from decisions on segments (as ``autocode run`` makes them), without a
    file. ``trained_on``: the model's training transcripts and checksums (model.json's
    ``training.transcripts``), to flag agreement on them as optimistic."""
    Y = codebook.closure(Y)
    spans, confidence = [], {}
    for i, seg in enumerate(segments):
        codes = [c for j, c in enumerate(codebook.ids) if Y[i, j]]
        spans.extend(Span(seg.transcript, seg.start, seg.end, c, name) for c in codes)
        if P is not None:
            confidence[(seg.transcript, seg.start, seg.end)] = {c: float(P[i, codebook.index[c]]) for c in codes}
    return Coding(name, spans, {s.transcript for s in segments}, "", "machine", confidence if P is not None else None,
                  trained_on)


class _Confidence:
    """The machine's confidence at a place: the segment with these bounds, else the one that
    overlaps it most."""

    def __init__(self, records: dict[tuple[str, int, int], dict[str, float]]):
        self.exact = records
        self.by_transcript: dict[str, list[tuple[int, int, dict]]] = defaultdict(list)
        for (tid, start, end), conf in records.items():
            self.by_transcript[tid].append((start, end, conf))

    def at(self, tid: str, start: int, end: int) -> dict[str, float] | None:
        if (tid, start, end) in self.exact:
            return self.exact[(tid, start, end)]
        best, best_overlap = None, 0
        for s, e, conf in self.by_transcript.get(tid, ()):
            overlap = min(e, end) - max(s, start)
            if overlap > best_overlap:
                best, best_overlap = conf, overlap
        return best


# -- the report --------------------------------------------------------------------------------
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
        return {
            "segment_kappa": p["segment"]["levels"][level]["kappa"],
            "segment_alpha": p["segment"]["levels"][level]["alpha"],
            "segment_ac1": p["segment"]["levels"][level]["ac1"],
            "segment_f1": p["segment"]["levels"][level]["f1"],
            "character_kappa": p["character"]["levels"][level]["kappa"],
            "character_alpha": p["character"]["levels"][level]["alpha"],
            "alpha_binary": p["unitizing"]["levels"][level]["alpha_binary"],
            "cu_alpha": p["unitizing"]["levels"][level].get("cu_alpha"),
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


def _f(x) -> float | None:
    x = float(x)
    return None if math.isnan(x) else x


def _ci(lo, hi) -> list:
    return [_f(lo), _f(hi)]


def agreement_report(study_dir, codings: Sequence, out_dir=None, *, codebook=None, config=None,
                     machine_confidence=None, force: bool = False, exclude_uncoded: bool = False,
                     universe: str = "participant", overlap_threshold: float = 0.9, n_boot: int = 1000,
                     ci: float = 0.95, seed: int = 0, min_occurrences: int = 10, title: str | None = None,
                     progress=silent) -> AgreementReport:
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
    """
    from autocode.pipeline import open_study, segments_for

    if not 0 < overlap_threshold <= 1:
        raise AutocodeError(f"overlap threshold must be a share between 0 and 1 (e.g. 0.9), not {overlap_threshold}")
    if universe not in UNIVERSES:
        raise AutocodeError(f"universe must be one of {', '.join(UNIVERSES)}, not {universe!r}")
    if n_boot < 0:
        raise AutocodeError(f"bootstrap replicates must be 0 or more, not {n_boot}")
    if not 0 < ci < 1:
        raise AutocodeError(f"confidence level must be between 0 and 1 (e.g. 0.95), not {ci}")
    study = open_study(study_dir, codebook, config)
    cb = study.codebook
    loaded = [c if isinstance(c, Coding) else read_coding(c, study) for c in codings]
    if len(loaded) < 2:
        raise AutocodeError("agreement needs at least two codings; pass a second coder's codings or a run's segments.jsonl")
    _unique_names(loaded)
    paths = [Path(c) for c in codings if not isinstance(c, Coding)]
    confidence = _confidence_source(machine_confidence, loaded, study)
    ref = loaded[0]
    for other in loaded[1:]:
        if not ref.transcripts & other.transcripts:
            raise AutocodeError(f"codings {ref.name!r} and {other.name!r} share no transcript; "
                                "agreement needs transcripts that both coded")
    covered = defaultdict(int)
    for c in loaded:
        for t in c.transcripts:
            covered[t] += 1
    scope_all = {t for t, n in covered.items() if n >= 2}
    segments = segments_for(study, study.config.segment, only=scope_all, progress=progress)
    Y = {c.name: project_spans(segments, c.spans, cb, study.config.projection) for c in loaded}
    by_id = {t.id: t for t in study.transcripts}
    uni = {tid: universe_mask(by_id[tid], universe) for tid in scope_all}
    lengths = {tid: len(by_id[tid].text) for tid in scope_all}
    masks = {c.name: code_masks(c.spans, cb, {t: n for t, n in lengths.items() if t in c.transcripts}) for c in loaded}
    units = {c.name: merged_units(c.spans, cb) for c in loaded}
    settings = {
        "segment": study.config.segment.model_dump(), "projection": study.config.projection.model_dump(),
        "grading": study.config.grading.model_dump(), "universe": universe, "exclude_uncoded": exclude_uncoded,
        "overlap_threshold": overlap_threshold, "n_boot": n_boot, "ci": ci, "seed": seed,
        "min_occurrences": min_occurrences,
    }
    ctx = _Context(study, cb, segments, Y, uni, masks, units, settings)
    pairs = [ctx.pair(ref, other) for other in progress(loaded[1:], description="comparing")]
    pooled = ctx.pooled(loaded) if len(loaded) >= 3 else None
    rows, columns = _disagreements(ctx, loaded, confidence)
    data = {
        "title": title or f"Inter-coder agreement: {study.name}",
        "study": study.name,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "autocode_version": __version__,
        "codebook": {"name": cb.name, "hash": cb.structure_hash(),
                     "codes": [{"code": c.id, "label": c.label, "level": cb.level_name(c.id), "depth": c.depth}
                               for c in cb.codes]},
        "levels": {k: v for k, v in level_codes(cb).items()},
        "settings": settings,
        "coders": [{"name": c.name, "kind": c.kind, "source": c.source, "transcripts": len(c.transcripts),
                    "spans": len(c.spans)} for c in loaded],
        "reference": ref.name,
        "machine_confidence": confidence is not None,
        "pairs": pairs,
        "pooled": pooled,
        "disagreements": len(rows),
    }
    report = AgreementReport(data, rows, columns)
    if out_dir is not None:
        protected = [study.root] + [p for p in paths]
        with output_dir(out_dir, force, protected=protected) as tmp:
            report.files = report.write(tmp)
        report.out = Path(out_dir)
    return report


def _unique_names(codings: list[Coding]) -> None:
    seen: dict[str, int] = {}
    for c in codings:
        if c.name in seen:
            seen[c.name] += 1
            c.name = f"{c.name}_{seen[c.name]}"
        else:
            seen[c.name] = 1


def _confidence_source(machine_confidence, codings: list[Coding], study: Study) -> _Confidence | None:
    if machine_confidence is not None:
        if isinstance(machine_confidence, Coding):
            records = machine_confidence.confidence
        else:
            path = Path(machine_confidence)
            if not path.is_file() or not _is_segments_file(path):
                raise AutocodeError("machine confidence must come from a run's segments.jsonl", path)
            records = read_coding(path, study).confidence
        return _Confidence(records or {})
    for c in codings:
        if c.kind == "machine" and c.confidence:
            return _Confidence(c.confidence)
    return None


# -- computation -------------------------------------------------------------------------------
class _Context:
    def __init__(self, study, codebook, segments, Y, universe, masks, units, settings):
        self.study, self.cb, self.segments, self.Y = study, codebook, segments, Y
        self.universe, self.masks, self.units, self.settings = universe, masks, units, settings
        self.participant_of = {t.id: t.participant for t in study.transcripts}
        self.checksums = {t.id: t.checksum for t in study.transcripts}
        self.labels = {c.id: c.label for c in codebook.codes}

    # per-code rows and per-level summaries, with bootstrap intervals --------------------------
    def _family(self, values: dict[str, np.ndarray], boot: dict[str, np.ndarray] | None, extra_levels=None) -> tuple[list[dict], dict]:
        cb, level = self.cb, self.settings["ci"]
        per_code_ci = {k: percentile_ci(v, level) for k, v in (boot or {}).items()}
        rows = []
        for j, code in enumerate(cb.codes):
            row = {"code": code.id, "level": cb.level_name(code.id)}
            for k, v in values.items():
                row[k] = _f(v[j])
            row["ci"] = {k: _ci(*(x[j] for x in per_code_ci[k])) if k in per_code_ci else [None, None] for k in values}
            rows.append(row)
        levels: dict[str, dict] = {}
        for name, codes in level_codes(cb).items():
            levels[name] = {"codes": len(codes), "ci": {}}
        for k, v in values.items():
            means = level_means(v, cb)
            boot_means = level_means(boot[k], cb) if boot and k in boot else None
            for name in levels:
                levels[name][k] = _f(means[name])
                levels[name]["ci"][k] = [None, None]
                if boot_means is not None:
                    lo, hi = percentile_ci(boot_means[name][:, None], level)
                    levels[name]["ci"][k] = _ci(lo[0], hi[0])
        for name, figures in (extra_levels or {}).items():
            for k, (value, interval) in figures.items():
                levels[name][k] = _f(value)
                levels[name]["ci"][k] = interval if interval is not None else [None, None]
        return rows, levels

    def _micro_f1(self, tables: np.ndarray, boot_tables: np.ndarray | None) -> dict[str, dict]:
        out = {}
        for name, codes in level_codes(self.cb).items():
            cols = [self.cb.index[c] for c in codes]

            def micro(t):
                s = t[..., cols, :].sum(-2)
                den = 2 * s[..., 0] + s[..., 1] + s[..., 2]
                with np.errstate(invalid="ignore", divide="ignore"):
                    return np.where(den > 0, 2 * s[..., 0] / np.where(den > 0, den, 1), np.nan)

            interval = None
            if boot_tables is not None and len(boot_tables):
                lo, hi = percentile_ci(micro(boot_tables)[:, None], self.settings["ci"])
                interval = _ci(lo[0], hi[0])
            out[name] = {"micro_f1": (micro(tables), interval)}
        return out

    def pair(self, a, b) -> dict:
        cb, s = self.cb, self.settings
        scope = sorted(a.transcripts & b.transcripts)
        scope_set = set(scope)
        groups = sorted({self.participant_of[t] for t in scope})
        gindex = {p: i for i, p in enumerate(groups)}
        W = bootstrap_weights(len(groups), s["n_boot"], s["seed"])
        boot = len(W) > 0
        keep = np.array([seg.transcript in scope_set for seg in self.segments], dtype=bool)
        segs = [seg for seg, k in zip(self.segments, keep) if k]
        Ya, Yb = self.Y[a.name][keep], self.Y[b.name][keep]
        warnings_: list[str] = []

        # 1. segment level
        seg_groups = segment_tables_by_group(segs, Ya, Yb, groups)
        seg_total = seg_groups.sum(0)
        seg_boot = resample(seg_groups, W, lambda t: t) if boot else None
        values = metrics_from_counts(seg_total)
        boot_values = metrics_from_counts(seg_boot) if boot else None
        rows, levels = self._family(values, boot_values, self._micro_f1(seg_total, seg_boot))
        unused = []
        for j, row in enumerate(rows):
            n11, n10, n01, n00 = (int(x) for x in seg_total[j])
            row.update({"n": n11 + n10 + n01 + n00, "count_a": n11 + n10, "count_b": n11 + n01, "both": n11})
            row["warning"] = ""
            if row["count_a"] == 0 and row["count_b"] == 0:
                row["warning"] = "used by neither coder: kappa and alpha undefined"
                unused.append(row["code"])
            elif min(row["count_a"], row["count_b"]) < s["min_occurrences"]:
                few = a.name if row["count_a"] <= row["count_b"] else b.name
                row["warning"] = (f"too few occurrences for a stable kappa: {few} coded "
                                  f"{min(row['count_a'], row['count_b'])} segments (< {s['min_occurrences']})")
        flagged = [r["code"] for r in rows if r["warning"].startswith("too few")]
        if flagged:
            warnings_.append(f"{len(flagged)} codes have fewer than {s['min_occurrences']} coded segments from one coder; "
                             f"their kappa is unstable (read it with its interval): {', '.join(flagged)}")
        if unused:
            warnings_.append(f"{len(unused)} codes were used by neither coder (figures undefined): {', '.join(unused)}")
        for coder in (a, b):
            seen = [t for t in scope if coder.trained_on and coder.trained_on.get(t) == self.checksums.get(t)]
            if seen:
                warnings_.append(f"{len(seen)} of the {len(scope)} transcripts compared were in the training data of the "
                                 f"model behind {coder.name} ({', '.join(seen)}); agreement on them is optimistic")
        if len(groups) < 10:
            warnings_.append(f"only {len(groups)} participants are coded by both; bootstrap intervals over so few "
                             "participants are wide and can be too narrow")
        segment = {"segments": len(segs), "codes": rows, "levels": levels}

        # 2. character level
        char_t = {t: char_counts(self.masks[a.name][t], self.masks[b.name][t], self.universe[t], s["exclude_uncoded"])
                  for t in scope}
        char_groups = np.zeros((len(groups), len(cb), 4))
        for t, table in char_t.items():
            char_groups[gindex[self.participant_of[t]]] += table
        char_total = char_groups.sum(0)
        char_boot = resample(char_groups, W, lambda t: t) if boot else None
        crows, clevels = self._family(metrics_from_counts(char_total), metrics_from_counts(char_boot) if boot else None)
        for j, row in enumerate(crows):
            n11, n10, n01, n00 = (int(x) for x in char_total[j])
            row.update({"characters": n11 + n10 + n01 + n00, "chars_a": n11 + n10, "chars_b": n11 + n01, "both": n11})
        by_transcript = []
        for t in scope:
            m = metrics_from_counts(char_t[t])
            for j, code in enumerate(cb.ids):
                if char_t[t][j, :3].sum() > 0:
                    by_transcript.append({"transcript": t, "code": code, "characters": int(char_t[t][j].sum()),
                                          "percent": _f(m["percent"][j]), "kappa": _f(m["kappa"][j])})
        character = {"characters": int(char_total[0].sum()) if len(cb) else 0, "universe": s["universe"],
                     "exclude_uncoded": s["exclude_uncoded"], "codes": crows, "levels": clevels,
                     "by_transcript": by_transcript}

        # 3. unitizing and overlap
        unit_groups = np.zeros((len(groups), len(cb), 7))
        for t in scope:
            unit_groups[gindex[self.participant_of[t]]] += unitizing_stats(
                [self.masks[a.name][t], self.masks[b.name][t]], self.universe[t])
        unit_total = unit_groups.sum(0)
        ub = {"alpha_binary": alpha_binary_unitized(resample(unit_groups, W, lambda t: t))} if boot else None
        domain_rows, domain_levels = self._domains([a, b], scope, groups, gindex, W)
        urows, ulevels = self._family({"alpha_binary": alpha_binary_unitized(unit_total)}, ub, domain_levels)
        ov_groups = np.zeros((len(groups), len(cb), 4))
        for t in scope:
            ov_groups[gindex[self.participant_of[t]]] += overlap_counts(
                self.units[a.name], self.units[b.name], t, cb, s["overlap_threshold"])
        ov_total = ov_groups.sum(0)
        ob = {"agreement": overlap_agreement(resample(ov_groups, W, lambda t: t))} if boot else None
        orows, olevels = self._family({"agreement": overlap_agreement(ov_total)}, ob)
        for j, row in enumerate(orows):
            ua, ma, ubn, mb = (int(x) for x in ov_total[j])
            row.update({"units_a": ua, "matched_a": ma, "units_b": ubn, "matched_b": mb})
            urows[j].update({"units_a": ua, "units_b": ubn})
        unitizing = {"codes": urows, "levels": ulevels, "domains": domain_rows,
                     "overlap": {"threshold": s["overlap_threshold"], "codes": orows, "levels": olevels}}

        # 4. participant level
        _, occ_a = occurrence_matrix(segs, Ya, cb, groups)
        _, occ_b = occurrence_matrix(segs, Yb, cb, groups)
        pres = presence_tables(occ_a, occ_b)
        pres_total = pres.sum(0)
        pboot = metrics_from_counts(resample(pres, W, lambda t: t)) if boot else None
        pvalues = {k: v for k, v in metrics_from_counts(pres_total).items() if k in ("percent", "kappa", "alpha", "ac1")}
        prows, plevels = self._family(pvalues, {k: pboot[k] for k in pvalues} if boot else None)
        counts = count_summary(occ_a, occ_b)
        calpha = count_alpha(occ_a, occ_b)
        for j, row in enumerate(prows):
            n11, n10, n01, n00 = (int(x) for x in pres_total[j])
            row.update({"both": n11, "only_a": n10, "only_b": n01, "neither": n00,
                        "occurrences_a": int(counts["occurrences_a"][j]), "occurrences_b": int(counts["occurrences_b"][j]),
                        "mean_abs_diff": _f(counts["mean_abs_diff"][j]), "same_count": _f(counts["same_count"][j]),
                        "count_alpha": _f(calpha[j])})
        participant = {"participants": groups, "codes": prows, "levels": plevels,
                       "matrix": {"participants": groups, "codes": list(cb.ids),
                                  "a": occ_a.tolist(), "b": occ_b.tolist()}}

        # 5. grade level
        ga, gb = grade_pair(segs, Ya, Yb, cb, self.study.config.grading)
        grows = []
        for ra, rb in zip(ga, gb):
            grows.append({"code": ra.code, "level": ra.level, "label": ra.label, "participants": ra.participants,
                          "a_spread": ra.spread, "a_share": ra.share, "a_occurrences": ra.occurrences, "a_depth": ra.depth,
                          "a_grade": ra.grade, "a_flag": ra.flag,
                          "b_spread": rb.spread, "b_share": rb.share, "b_occurrences": rb.occurrences, "b_depth": rb.depth,
                          "b_grade": rb.grade, "b_flag": rb.flag, "match": ra.grade == rb.grade})
        glevels = grade_match_summary(ga, gb, cb)
        for v in glevels.values():
            v["ci"] = [None, None]
        if boot:
            config = self.study.config.grading
            total = W.sum(1)[:, None]
            ia = grade_index(W @ (occ_a > 0), total, config)
            ib = grade_index(W @ (occ_b > 0), total, config)
            match = (ia == ib).astype(float)
            for name, codes in [*level_codes(cb).items(), ("all", cb.ids)]:
                cols = [cb.index[c] for c in codes]
                lo, hi = percentile_ci(match[:, cols].mean(1)[:, None], s["ci"])
                glevels[name]["ci"] = _ci(lo[0], hi[0])
        grade = {"rows": grows, "levels": glevels}

        return {"a": a.name, "b": b.name, "transcripts": scope, "participants": len(groups),
                "segment": segment, "character": character, "unitizing": unitizing,
                "participant": participant, "grade": grade, "warnings": warnings_}

    def _domains(self, coders, scope, groups, gindex, W) -> tuple[list[dict], dict]:
        """cu-alpha of every semantic domain, with intervals; level means as extra level figures."""
        cb, s = self.cb, self.settings
        rows = []
        by_level: dict[str, list[tuple[float, np.ndarray | None]]] = defaultdict(list)
        for domain, children in domains(cb):
            idx = [cb.index[c] for c in children]
            per_group: list[dict] = [defaultdict(float) for _ in groups]
            for t in scope:
                pairs = cu_coincidences([self.masks[c.name][t] for c in coders], self.universe[t], idx)
                target = per_group[gindex[self.participant_of[t]]] if gindex is not None else per_group[0]
                for k, w in pairs.items():
                    target[k] += w
            values = sorted({k for g in per_group for pair in g for k in pair})
            mats = np.array([coincidence_matrix(g, values)[1] for g in per_group]) if values else np.zeros((len(groups), 0, 0))
            total = mats.sum(0) if len(mats) else np.zeros((0, 0))
            alpha = _alpha_stack(total[None])[0] if values else math.nan
            boot = _alpha_stack(np.tensordot(W, mats, axes=(1, 0))) if (W is not None and len(W) and values) else None
            interval = [None, None]
            if boot is not None:
                lo, hi = percentile_ci(boot[:, None], s["ci"])
                interval = _ci(lo[0], hi[0])
            level = cb.level_name(children[0])
            rows.append({"domain": domain or "(top level)", "level": level, "codes": len(children),
                         "values": [value_label(v, children) for v in values],
                         "characters": _f(total.sum() / 2) if values else 0.0,
                         "cu_alpha": _f(alpha), "ci": {"cu_alpha": interval}})
            by_level[level].append((alpha, boot))
        extra = {}
        for level, items in by_level.items():
            alphas = [x for x, _ in items if not math.isnan(x)]
            mean = float(np.mean(alphas)) if alphas else math.nan
            interval = None
            boots = [bt for _, bt in items if bt is not None]
            if boots:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)
                    stack = np.nanmean(np.column_stack(boots), axis=1)
                lo, hi = percentile_ci(stack[:, None], s["ci"])
                interval = _ci(lo[0], hi[0])
            extra[level] = {"cu_alpha": (mean, interval)}
        return rows, extra

    def pooled(self, coders) -> dict:
        """All coders together: Krippendorff's alpha with missing data at segment level; character,
        unitizing and cu-alpha over the transcripts every coder coded."""
        cb = self.cb
        covered = [seg for seg in self.segments]
        data = np.full((len(coders), len(covered), len(cb)), np.nan)
        for i, c in enumerate(coders):
            inside = np.array([seg.transcript in c.transcripts for seg in covered], dtype=bool)
            data[i][inside] = self.Y[c.name][inside]
        seg_alpha = np.array([krippendorff_alpha(data[:, :, j]) for j in range(len(cb))])
        common = sorted(set.intersection(*(c.transcripts for c in coders)) & set(self.universe))
        char = np.zeros((len(cb), 3))
        unit = np.zeros((len(cb), 7))
        for t in common:
            ms = [self.masks[c.name][t] for c in coders]
            char += binary_coincidence_stats(ms, self.universe[t], self.settings["exclude_uncoded"])
            unit += unitizing_stats(ms, self.universe[t])
        values = {"segment_alpha": seg_alpha, "character_alpha": alpha_from_binary_coincidences(char),
                  "alpha_binary": alpha_binary_unitized(unit)}
        domain_rows, domain_levels = ([], {})
        if common:
            domain_rows, domain_levels = self._domains(coders, common, ["all"], {self.participant_of[t]: 0 for t in common}, None)
        rows, levels = self._family(values, None, domain_levels)
        return {"coders": [c.name for c in coders], "segments": len(covered), "transcripts_all_coders": common,
                "codes": rows, "levels": levels, "domains": domain_rows}


def _alpha_stack(o: np.ndarray) -> np.ndarray:
    """Nominal alpha of a stack of coincidence matrices (..., V, V)."""
    o = np.asarray(o, dtype=float)
    n_c = o.sum(-1)
    n = n_c.sum(-1)
    expected = n * n - (n_c ** 2).sum(-1)
    trace = np.trace(o, axis1=-2, axis2=-1)
    ok = (n > 1) & (expected > 1e-12)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(ok, 1 - (n - 1) * (n - trace) / np.where(ok, expected, 1), np.nan)


# -- disagreements and reconciliation ----------------------------------------------------------
def most_specific(codes: set[str], codebook: Codebook) -> list[str]:
    """The codes of a closed set that have no child in the set, in codebook order."""
    return [c for c in codebook.ids if c in codes and not any(ch in codes for ch in codebook.by_id[c].children)]


def _disagreements(ctx: _Context, coders: list[Coding], confidence: _Confidence | None) -> tuple[list[dict], list[str]]:
    cb = ctx.cb
    columns = ["transcript", "participant", "segment", "start", "end", "text",
               *[f"codes:{c.name}" for c in coders], "differing", "machine_confidence", "reconciled"]
    rows = []
    for i, seg in enumerate(ctx.segments):
        present = [c for c in coders if seg.transcript in c.transcripts]
        if len(present) < 2:
            continue
        sets = {c.name: {code for j, code in enumerate(cb.ids) if ctx.Y[c.name][i, j]} for c in present}
        union = set.union(*sets.values())
        shared = set.intersection(*sets.values())
        if union == shared:
            continue
        differing = most_specific(union - shared, cb)
        row = {"transcript": seg.transcript, "participant": seg.participant, "segment": seg.id, "start": seg.start,
               "end": seg.end, "text": seg.text, "differing": "; ".join(differing), "reconciled": ""}
        for c in coders:
            row[f"codes:{c.name}"] = "; ".join(most_specific(sets[c.name], cb)) if c.name in sets else "n/a"
        row["machine_confidence"] = ""
        if confidence is not None:
            conf = confidence.at(seg.transcript, seg.start, seg.end)
            if conf is not None:
                row["machine_confidence"] = "; ".join(
                    f"{code}={conf[code]:.2f}" if code in conf else f"{code}=not assigned" for code in differing)
        rows.append(row)
    return rows, columns


def read_reconciled(csv_path, study_dir, base_coding, *, codebook=None, config=None, coder: str = "reconciled") -> list[Span]:
    """Read a reconciled disagreements.csv back as a coding (spans, codings JSONL form).

    The coding is ``base_coding`` (normally the reference coder's file) on the study's segments,
    with every segment listed in the CSV recoded by its ``reconciled`` cell: codes separated
    by ``;`` (any level of the hierarchy), ``none`` for no code, or blank to keep the base
    coder's codes there. Spans follow segment boundaries (contiguous segments of one turn with
    the same code make one span), so the result projects back onto exactly these segments.
    Read it with the segment settings the report was made with.
    """
    from autocode.pipeline import open_study, segments_for

    study = open_study(study_dir, codebook, config)
    cb = study.codebook
    base = read_coding(base_coding, study)
    path = Path(csv_path)
    if not path.is_file():
        raise AutocodeError("reconciled CSV not found; pass the disagreements.csv you filled in", path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise AutocodeError("reconciled CSV is not UTF-8; save it as UTF-8 CSV", path) from None
    reader = csv.DictReader(io.StringIO(text))
    need = {"transcript", "start", "end", "reconciled"}
    if not reader.fieldnames or not need <= set(reader.fieldnames):
        raise AutocodeError(f"reconciled CSV needs the columns {', '.join(sorted(need))} (as disagreements.csv has)", path)
    decisions: dict[tuple[str, int, int], set[str] | None] = {}
    scope = set(base.transcripts)
    texts = study.texts()
    for number, row in enumerate(reader, 2):
        tid = (row.get("transcript") or "").strip()
        if tid not in texts:
            raise AutocodeError(f"line {number}: transcript {tid!r} is not in the study", path)
        try:
            start, end = int(row["start"]), int(row["end"])
        except (TypeError, ValueError):
            raise AutocodeError(f"line {number}: start and end must be whole numbers", path) from None
        cell = (row.get("reconciled") or "").strip()
        if not cell:
            decisions[(tid, start, end)] = None
            continue
        codes = set()
        for code in (c.strip() for c in cell.replace(",", ";").split(";")):
            if not code or code.lower() in NO_CODE:
                continue
            if code not in cb.index:
                raise AutocodeError(f"line {number}: code {code!r} is not in the codebook", path)
            codes.add(code)
        decisions[(tid, start, end)] = codes
        scope.add(tid)
    segments = segments_for(study, study.config.segment, only=scope)
    Y = project_spans(segments, base.spans, cb, study.config.projection)
    where = {(s.transcript, s.start, s.end): i for i, s in enumerate(segments)}
    for (tid, start, end), codes in decisions.items():
        i = where.get((tid, start, end))
        if i is None:
            raise AutocodeError(f"no segment {tid} {start}-{end} in the study; read the CSV back with the segment "
                                "settings it was written with", path)
        if codes is None:
            continue
        Y[i] = False
        for code in codes:
            Y[i, cb.index[code]] = True
    return segments_to_spans(segments, cb.closure(Y), cb, coder)


def segments_to_spans(segments: Sequence[Segment], Y: np.ndarray, codebook: Codebook, coder: str) -> list[Span]:
    """Spans along segment boundaries for the most specific codes of each segment; contiguous
    segments of one turn with the same code are joined into one span."""
    Y = codebook.closure(Y)
    open_: dict[str, list] = {}
    spans: list[Span] = []
    previous = None
    for i, seg in enumerate(segments):
        key = (seg.transcript, seg.turn)
        codes = set(most_specific({c for j, c in enumerate(codebook.ids) if Y[i, j]}, codebook))
        if key != previous:
            spans.extend(Span(t, s, e, c, coder) for c, (t, s, e) in open_.items())
            open_ = {}
            previous = key
        for code in list(open_):
            if code not in codes:
                t, s, e = open_.pop(code)
                spans.append(Span(t, s, e, code, coder))
        for code in codes:
            if code in open_:
                open_[code][2] = seg.end
            else:
                open_[code] = [seg.transcript, seg.start, seg.end]
    spans.extend(Span(t, s, e, c, coder) for c, (t, s, e) in open_.items())
    return sorted(spans)


def write_reconciled(spans: Sequence[Span], path, study_dir=None, *, texts=None) -> Path:
    """Write a coding as codings JSONL (atomically), with the quoted text when the study or its
    texts are given, e.g. into STUDY/codings/reconciled.jsonl for ``autocode train``."""
    if texts is None and study_dir is not None:
        from autocode.pipeline import open_study

        texts = open_study(study_dir).texts()
    path = Path(path)
    write_text(path, spans_to_jsonl(sorted(spans), texts))
    return path
