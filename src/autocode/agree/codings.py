"""Codings to compare: one coder's spans and scope, read from a file or made from machine decisions,
and the conversions between a segment decision matrix and spans."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from autocode.codebook import Codebook
from autocode.errors import AutocodeError
from autocode.io.codings import Span
from autocode.io.study import Study
from autocode.segment import Segment


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


def codes_of(row: np.ndarray, codebook: Codebook) -> list[str]:
    """The codes set in one row of a decision matrix, in codebook order."""
    return [c for j, c in enumerate(codebook.ids) if row[j]]


def most_specific(codes: set[str], codebook: Codebook) -> list[str]:
    """The codes of a closed set that have no child in the set, in codebook order."""
    return [c for c in codebook.ids if c in codes and not any(ch in codes for ch in codebook.by_id[c].children)]


# -- reading -----------------------------------------------------------------------------------
def is_segments_file(path: Path) -> bool:
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
    if not is_segments_file(path):
        return Coding(name or path.stem, spans, {s.transcript for s in spans}, str(path), "human")
    transcripts, confidence = _segment_records(path)
    default = "machine" if path.stem == "segments" else path.stem
    return Coding(name or default, spans, transcripts, str(path), "machine", confidence, _training_transcripts(path))


def _segment_records(path: Path) -> tuple[set[str], dict[tuple[str, int, int], dict[str, float]]]:
    """The transcripts of a segments.jsonl and the confidences of each of its segments."""
    transcripts, confidence = set(), {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            transcripts.add(row["transcript"])
            confidence[(row["transcript"], int(row["start"]), int(row["end"]))] = {
                k: float(v) for k, v in (row.get("confidence") or {}).items()}
    return transcripts, confidence


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
        codes = codes_of(Y[i], codebook)
        spans.extend(Span(seg.transcript, seg.start, seg.end, c, name) for c in codes)
        if P is not None:
            confidence[(seg.transcript, seg.start, seg.end)] = {c: float(P[i, codebook.index[c]]) for c in codes}
    return Coding(name, spans, {s.transcript for s in segments}, "", "machine", confidence if P is not None else None,
                  trained_on)


def unique_names(codings: list[Coding]) -> None:
    """Rename repeated coder names in place: the second ``x`` becomes ``x_2``, and so on."""
    seen: dict[str, int] = {}
    for c in codings:
        if c.name in seen:
            seen[c.name] += 1
            c.name = f"{c.name}_{seen[c.name]}"
        else:
            seen[c.name] = 1


# -- machine confidence ------------------------------------------------------------------------
class Confidence:
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


def confidence_source(machine_confidence, codings: list[Coding], study: Study) -> Confidence | None:
    """The machine confidences for the disagreement listing: from ``machine_confidence`` (a
    :class:`Coding` or a run's segments.jsonl), else from the first machine coding with some."""
    if machine_confidence is not None:
        return Confidence(_confidence_records(machine_confidence, study) or {})
    for c in codings:
        if c.kind == "machine" and c.confidence:
            return Confidence(c.confidence)
    return None


def _confidence_records(source, study: Study) -> dict | None:
    if isinstance(source, Coding):
        return source.confidence
    path = Path(source)
    if not path.is_file() or not is_segments_file(path):
        raise AutocodeError("machine confidence must come from a run's segments.jsonl", path)
    return read_coding(path, study).confidence


# -- segments to spans -------------------------------------------------------------------------
def segments_to_spans(segments: Sequence[Segment], Y: np.ndarray, codebook: Codebook, coder: str) -> list[Span]:
    """Spans along segment boundaries for the most specific codes of each segment; contiguous
    segments of one turn with the same code are joined into one span."""
    Y = codebook.closure(Y)
    open_: dict[str, list] = {}
    spans: list[Span] = []
    previous = None
    for i, seg in enumerate(segments):
        key = (seg.transcript, seg.turn)
        codes = set(most_specific(set(codes_of(Y[i], codebook)), codebook))
        if key != previous:
            spans.extend(_close_all(open_, coder))
            open_ = {}
            previous = key
        _extend_runs(open_, spans, seg, codes, coder)
    spans.extend(_close_all(open_, coder))
    return sorted(spans)


def _close_all(open_: dict[str, list], coder: str) -> list[Span]:
    return [Span(t, s, e, c, coder) for c, (t, s, e) in open_.items()]


def _extend_runs(open_: dict[str, list], spans: list[Span], seg: Segment, codes: set[str], coder: str) -> None:
    """Close the open runs of codes this segment lacks; extend or open a run for each of its codes."""
    for code in list(open_):
        if code not in codes:
            t, s, e = open_.pop(code)
            spans.append(Span(t, s, e, code, coder))
    for code in codes:
        if code in open_:
            open_[code][2] = seg.end
        else:
            open_[code] = [seg.transcript, seg.start, seg.end]
