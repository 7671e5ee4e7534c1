"""One pass over a study for ``autocode run``: code each transcript, write it out, tally it.

Transcripts come one at a time from :func:`autocode.batch.code_transcripts` (in study order,
coded a group at a time or reused from ``coded/``). Each transcript's segments go straight to
segments.jsonl and segments.csv and into a :class:`~autocode.grading.Tally` of participant
counts, from which the grades are computed; the segments are then dropped. Only what needs a
whole coding at once is kept: the human coder's transcripts (for the comparison and the
agreement report) and, for a REFI-QDA export, the machine's coded spans. The review list is
built afterwards by re-reading the coded files of the participants it names. So a run's memory
does not grow with the number of segments it codes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from autocode.batch import code_transcripts, read_coded_file
from autocode.classifiers.base import Model
from autocode.codebook import Codebook
from autocode.config import SegmentConfig
from autocode.grading import GradeRow, Tally, grade_tally, tally_for
from autocode.io.atomic import write_text
from autocode.io.study import Study
from autocode.progress import silent
from autocode.reports.tables import csv_writer, to_csv
from autocode.segment import Segment

SEGMENT_COLUMNS = ["id", "transcript", "participant", "speaker", "turn", "start", "end", "text", "codes", "confidence"]
REVIEW_COLUMNS = ["code", "grade", "grade_probability", "participant", "presence_probability", "segment", "confidence",
                  "text"]


@dataclass
class Pass:
    tally: Tally
    segments: int = 0
    reused: int = 0
    kept: list[tuple[list[Segment], np.ndarray, np.ndarray]] = field(default_factory=list)  # the coder's transcripts
    spans: list = field(default_factory=list)  # for the REFI-QDA export: coded spans and their confidences
    confidences: list[float] = field(default_factory=list)

    def joined(self, n_codes: int) -> tuple[list[Segment], np.ndarray, np.ndarray]:
        """The kept transcripts' segments, probabilities and decisions, as one coding."""
        segments = [s for segs, _, _ in self.kept for s in segs]
        if not self.kept:
            return segments, np.zeros((0, n_codes)), np.zeros((0, n_codes), dtype=bool)
        return segments, np.vstack([P for _, P, _ in self.kept]), np.vstack([Y for _, _, Y in self.kept])


def code_study(folder: Path, study: Study, model: Model, seg_config: SegmentConfig, by: Sequence[str],
               keep: set[str], export_as: str | None = None, progress=silent) -> Pass:
    """Code every transcript of ``study`` into ``folder`` (segments.jsonl, segments.csv, coded/),
    tallying participant counts; keep the transcripts in ``keep`` whole, and with ``export_as``
    (the machine coder's name) the spans a REFI-QDA export needs."""
    book = study.codebook
    result = Pass(tally_for(book, study.participants, by))
    with SegmentsWriter(folder, book) as out:
        for item in code_transcripts(study.transcripts, model, book, seg_config, folder, progress):
            Y = model.decide(item.P, book)
            out.write(item.segments, item.P, Y)
            add_to_tally(result.tally, item.segments, item.P, Y, model, book)
            result.segments += len(item.segments)
            result.reused += item.reused
            if item.transcript.id in keep:
                result.kept.append((item.segments, item.P, Y))
            if export_as:
                from autocode.io.refi import machine_coding

                spans, confidences = machine_coding(item.segments, item.P, Y, book, export_as)
                result.spans += spans
                result.confidences += confidences
    return result


class SegmentsWriter:
    """segments.jsonl and segments.csv, written a transcript at a time (the folder is swapped in whole)."""

    def __init__(self, folder: Path, codebook: Codebook):
        self.folder, self.codebook = folder, codebook

    def __enter__(self) -> "SegmentsWriter":
        self.lines = open(self.folder / "segments.jsonl", "w", encoding="utf-8", newline="\n")
        self.table = open(self.folder / "segments.csv", "w", encoding="utf-8", newline="")
        self.write_row = csv_writer(self.table, SEGMENT_COLUMNS)
        return self

    def __exit__(self, *exc) -> None:
        self.lines.close()
        self.table.close()

    def write(self, segments: Sequence[Segment], P: np.ndarray, Y: np.ndarray) -> None:
        ids = self.codebook.ids
        for i, seg in enumerate(segments):
            codes = [ids[j] for j in np.flatnonzero(Y[i])]
            confidence = {c: round(float(P[i, self.codebook.index[c]]), 4) for c in codes}
            record = {"id": seg.id, "transcript": seg.transcript, "participant": seg.participant,
                      "speaker": seg.speaker, "turn": seg.turn, "start": seg.start, "end": seg.end,
                      "text": seg.text, "codes": codes, "confidence": confidence}
            self.lines.write(json.dumps(record, ensure_ascii=False) + "\n")
            self.write_row({**record, "codes": ";".join(codes),
                            "confidence": ";".join(f"{c}={p:.4f}" for c, p in confidence.items())})


# -- grades from the tally -----------------------------------------------------------------------
def add_to_tally(tally: Tally, segments: Sequence[Segment], P: np.ndarray, Y: np.ndarray, model: Model,
                 codebook: Codebook) -> None:
    """Count one transcript's machine coding (with calibrated probabilities where the model
    has a participant-level estimator)."""
    quantification = model.meta.get("quantification")
    if quantification:
        from autocode.machine_grades import calibrated

        tally.add(segments, Y, calibrated(P, codebook, quantification))
    else:
        tally.add(segments, Y)


def machine_grades(tally: Tally, estimate, study: Study, by: Sequence[str]) -> list[GradeRow]:
    """Grades of machine coding: from the model's participant-level ``estimate`` when it has one
    (with intervals and review flags; see :func:`estimate_of`), else by counting runs as for human coding."""
    config = study.config.grading
    if estimate is None:
        return grade_tally(tally, study.codebook, config, study.participants, by)
    from autocode.machine_grades import grade_from_estimate

    return grade_from_estimate(estimate, study.codebook, config, study.participants, by, config.review_below)


def grades_of(segments: Sequence[Segment], P: np.ndarray, Y: np.ndarray, model: Model, study: Study,
              by: Sequence[str]) -> list[GradeRow]:
    """:func:`machine_grades` of a coding held in memory."""
    tally = tally_for(study.codebook, study.participants, by)
    add_to_tally(tally, segments, P, Y, model, study.codebook)
    return machine_grades(tally, estimate_of(tally, model, study), study, by)


def estimate_of(tally: Tally, model: Model, study: Study):
    """The participant-level estimate (:class:`autocode.machine_grades.Estimate`) of a tallied
    machine coding, or None for a model without an estimator."""
    quantification = model.meta.get("quantification")
    if not quantification:
        return None
    from autocode.machine_grades import estimate_counts
    from autocode.quantify import counts_of

    return estimate_counts(counts_of(tally), study.codebook, quantification, study.config.grading.estimator)


def write_review(folder: Path, tally: Tally, estimate, study: Study, grades: Sequence[GradeRow]) -> None:
    """review.csv, for a model with an estimator: for each code whose machine grade is uncertain,
    what a person should read (re-reading from ``coded/`` the transcripts of the participants it names)."""
    if estimate is None:
        return
    from autocode.machine_grades import review_rows, review_targets

    targets = review_targets(estimate, study.codebook, grades)
    needed = {t for _, pid, _ in targets for t in tally.transcripts[pid]}
    coded = (read_coded_file(folder, t.id) for t in study.transcripts if t.id in needed)
    write_text(folder / "review.csv", to_csv(review_rows(targets, study.codebook, coded), REVIEW_COLUMNS))
