"""Which coding unit reproduces human coding best? (issue: segmentation default)

For each unit (sentence, windows of 2 and 3 sentences, whole turn) this measures, on the
corpus's training split with the first coder:

- ceiling: human spans projected onto segments and back to characters, against the human
  spans (how much coding is lost by the unit alone);
- TF-IDF: grouped 5-fold cross-validated decisions (cross-fitted thresholds) mapped back to
  characters, against the human spans.

Scores are character-level F1 per code, macro-averaged at category and fine level, plus the
segment-level macro-F1 that the model sees. Writes docs/segmentation.md.

    .venv/bin/python benchmarks/segment_unit.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

from autocode.agreement import level_codes
from autocode.classifiers.base import make_classifier
from autocode.config import SegmentConfig
from autocode.evaluation import cross_validate
from autocode.io.study import load_study
from autocode.labels import project_spans
from autocode.segment import segment_all

ROOT = Path(__file__).resolve().parents[1]
UNITS = [("sentence", 1), ("window", 2), ("window", 3), ("turn", 1)]


def char_masks(study, spans, book, tids):
    """Per transcript, a (n_codes, n_chars) mask of the characters the human coded (closed)."""
    masks = {t.id: np.zeros((len(book), len(t.text)), dtype=bool) for t in study.transcripts if t.id in tids}
    for s in spans:
        if s.transcript in masks:
            for code in [s.code] + book.ancestors(s.code):
                masks[s.transcript][book.index[code], s.start : s.end] = True
    return masks


def segment_masks(segments, Y, shapes):
    masks = {tid: np.zeros(shape, dtype=bool) for tid, shape in shapes.items()}
    for seg, row in zip(segments, Y):
        masks[seg.transcript][row, seg.start : seg.end] = True
    return masks


def char_f1(human, machine, book, codes):
    scores = []
    for code in codes:
        j = book.index[code]
        tp = sum(int((human[t][j] & machine[t][j]).sum()) for t in human)
        total = sum(int(human[t][j].sum() + machine[t][j].sum()) for t in human)
        if total:
            scores.append(2 * tp / total)
    return float(np.mean(scores))


def main(study_dir=ROOT / "training_data", coder="coder_a") -> None:
    study = load_study(study_dir)
    book = study.codebook
    tids = study.coder_transcripts(coder) - set(study.settings.heldout)
    spans = study.codings[coder]
    human = char_masks(study, spans, book, tids)
    shapes = {t: m.shape for t, m in human.items()}
    levels = level_codes(book)
    rows = []
    for unit, window in UNITS:
        start = time.time()
        config = SegmentConfig(unit=unit, window=window)
        segments = segment_all([t for t in study.transcripts if t.id in tids], config)
        Y = project_spans(segments, spans, book, study.config.projection)
        cv = cross_validate(lambda: make_classifier("tfidf"), [s.text for s in segments], Y,
                            [s.transcript for s in segments], book)
        ceiling = segment_masks(segments, Y, shapes)
        machine = segment_masks(segments, cv.decisions, shapes)
        name = unit if unit != "window" else f"window of {window}"
        rows.append((name, len(segments), char_f1(human, ceiling, book, levels["category"]),
                     char_f1(human, machine, book, levels["category"]), char_f1(human, machine, book, levels["fine"]),
                     cv.summary["category"]["macro_f1"], time.time() - start))
        print(rows[-1], file=sys.stderr)
    lines = [
        "# Choosing the coding unit", "",
        "Measured by `benchmarks/segment_unit.py` on the corpus's training split "
        f"({len(tids)} interviews, coder `{coder}`), TF-IDF baseline, 5-fold cross-validation grouped by "
        "interview with cross-fitted thresholds. Character-level F1 compares the characters a unit's "
        "segments mark with the characters the human coded; 'ceiling' projects the human coding onto the "
        "unit and back, so it shows what the unit alone loses.", "",
        "| unit | segments | ceiling char-F1 (category) | TF-IDF char-F1 (category) | TF-IDF char-F1 (fine) | TF-IDF segment macro-F1 (category) | seconds |",
        "|---|---|---|---|---|---|---|",
    ]
    lines += [f"| {r[0]} | {r[1]} | {r[2]:.3f} | {r[3]:.3f} | {r[4]:.3f} | {r[5]:.3f} | {r[6]:.0f} |" for r in rows]
    best = max(rows, key=lambda r: r[3])
    lines += ["", f"Best at reproducing the human coding (TF-IDF char-F1, category level): **{best[0]}**.", ""]
    (ROOT / "docs" / "segmentation.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
