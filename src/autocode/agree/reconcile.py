"""Reconciliation: every segment where the coders differ (disagreements.csv), and the filled-in
CSV read back as a coding that ``autocode train`` can learn from."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Container, Sequence

import numpy as np

from autocode.agree.codings import Coding, Confidence, codes_of, most_specific, read_coding, segments_to_spans
from autocode.agree.context import Context
from autocode.codebook import Codebook
from autocode.errors import AutocodeError
from autocode.io.atomic import write_text
from autocode.io.codings import Span, spans_to_jsonl
from autocode.labels import project_spans
from autocode.segment import Segment

NO_CODE = {"none", "-", "(none)"}
RECONCILED_COLUMNS = {"transcript", "start", "end", "reconciled"}

Decisions = dict[tuple[str, int, int], set[str] | None]


# -- disagreements -----------------------------------------------------------------------------
def disagreements(ctx: Context, coders: list[Coding], confidence: Confidence | None) -> tuple[list[dict], list[str]]:
    """The rows and columns of disagreements.csv: every segment two or more coders coded differently."""
    columns = ["transcript", "participant", "segment", "start", "end", "text",
               *[f"codes:{c.name}" for c in coders], "differing", "machine_confidence", "reconciled"]
    rows = []
    for i, seg in enumerate(ctx.segments):
        present = [c for c in coders if seg.transcript in c.transcripts]
        if len(present) < 2:
            continue
        sets = {c.name: set(codes_of(ctx.Y[c.name][i], ctx.cb)) for c in present}
        union, shared = set.union(*sets.values()), set.intersection(*sets.values())
        if union != shared:
            rows.append(_disagreement_row(seg, coders, sets, most_specific(union - shared, ctx.cb), ctx.cb, confidence))
    return rows, columns


def _disagreement_row(seg: Segment, coders: list[Coding], sets: dict[str, set[str]], differing: list[str],
                      cb: Codebook, confidence: Confidence | None) -> dict:
    row = {"transcript": seg.transcript, "participant": seg.participant, "segment": seg.id, "start": seg.start,
           "end": seg.end, "text": seg.text, "differing": "; ".join(differing), "reconciled": ""}
    for c in coders:
        row[f"codes:{c.name}"] = "; ".join(most_specific(sets[c.name], cb)) if c.name in sets else "n/a"
    row["machine_confidence"] = ""
    conf = confidence.at(seg.transcript, seg.start, seg.end) if confidence is not None else None
    if conf is not None:
        row["machine_confidence"] = "; ".join(
            f"{code}={conf[code]:.2f}" if code in conf else f"{code}=not assigned" for code in differing)
    return row


# -- reading the reconciled CSV back -----------------------------------------------------------
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
    reader = _open_reconciled(path)
    decisions, recoded = _read_decisions(reader, study.texts(), cb, path)
    segments = segments_for(study, study.config.segment, only=set(base.transcripts) | recoded)
    Y = project_spans(segments, base.spans, cb, study.config.projection)
    _apply_decisions(Y, segments, decisions, cb, path)
    return segments_to_spans(segments, cb.closure(Y), cb, coder)


def _open_reconciled(path: Path) -> csv.DictReader:
    if not path.is_file():
        raise AutocodeError("reconciled CSV not found; pass the disagreements.csv you filled in", path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise AutocodeError("reconciled CSV is not UTF-8; save it as UTF-8 CSV", path) from None
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or not RECONCILED_COLUMNS <= set(reader.fieldnames):
        raise AutocodeError(f"reconciled CSV needs the columns {', '.join(sorted(RECONCILED_COLUMNS))} "
                            "(as disagreements.csv has)", path)
    return reader


def _read_decisions(reader: csv.DictReader, texts: Container[str], cb: Codebook, path: Path) -> tuple[Decisions, set[str]]:
    """Each listed segment's decision (None: keep the base codes), and the transcripts recoded."""
    decisions: Decisions = {}
    recoded: set[str] = set()
    for number, row in enumerate(reader, 2):
        tid = (row.get("transcript") or "").strip()
        if tid not in texts:
            raise AutocodeError(f"line {number}: transcript {tid!r} is not in the study", path)
        try:
            start, end = int(row["start"]), int(row["end"])
        except (TypeError, ValueError):
            raise AutocodeError(f"line {number}: start and end must be whole numbers", path) from None
        cell = (row.get("reconciled") or "").strip()
        decisions[(tid, start, end)] = _parse_cell(cell, cb, number, path) if cell else None
        if cell:
            recoded.add(tid)
    return decisions, recoded


def _parse_cell(cell: str, cb: Codebook, number: int, path: Path) -> set[str]:
    codes = set()
    for code in (c.strip() for c in cell.replace(",", ";").split(";")):
        if not code or code.lower() in NO_CODE:
            continue
        if code not in cb.index:
            raise AutocodeError(f"line {number}: code {code!r} is not in the codebook", path)
        codes.add(code)
    return codes


def _apply_decisions(Y: np.ndarray, segments: Sequence[Segment], decisions: Decisions, cb: Codebook, path: Path) -> None:
    """Recode ``Y`` in place where a decision gives codes."""
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


def write_reconciled(spans: Sequence[Span], path, study_dir=None, *, texts=None) -> Path:
    """Write a coding as codings JSONL (atomically), with the quoted text when the study or its
    texts are given, e.g. into STUDY/codings/reconciled.jsonl for ``autocode train``."""
    if texts is None and study_dir is not None:
        from autocode.pipeline import open_study

        texts = open_study(study_dir).texts()
    path = Path(path)
    write_text(path, spans_to_jsonl(sorted(spans), texts))
    return path
