"""Code a batch of transcripts a group at a time, keeping each transcript's result.

Every transcript's segments and probabilities go to ``coded/<transcript>.json`` in the run's
work folder as soon as its group is coded, with a record of what produced them: the model's
fingerprint (its metadata, thresholds and weight checksums), the segment settings, and a key
of the parsed transcript (text, turns, speakers and participants). A run with ``resume``
reuses every file whose record matches and codes only the rest, so an interrupted batch, or
one that gained new transcripts, picks up where it stopped. Only segments of one group (and
never every spaCy document or encoder batch at once) are in flight, so memory stays flat.
Probabilities are rounded to six decimals as they leave the model (in every run, fresh or
resumed) and stored as JSON numbers, which read back exactly: a resumed run writes the same
bytes as a fresh one, and the coded files stay small.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from autocode import __version__
from autocode.classifiers.base import Model
from autocode.codebook import Codebook
from autocode.config import SegmentConfig
from autocode.io.atomic import write_text
from autocode.io.transcripts import Transcript
from autocode.progress import silent
from autocode.segment import Segment, segment_transcript

CODED = "coded"
DECIMALS = 6  # probabilities are kept to this many decimals (far finer than any threshold)
GROUP_SEGMENTS = 2048  # segments coded together: enough for well-filled, length-sorted encoder batches, few enough to stay small


def _digest(value) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()


def model_fingerprint(model: Model, codebook: Codebook) -> str:
    """Identifies what the model would output: its type, metadata (with weight checksums),
    thresholds and, for models built from the codebook's wording, that wording."""
    wording = [asdict(c) for c in codebook.codes]
    return _digest({"type": model.kind, "codes": model.codes, "thresholds": [float(t) for t in model.thresholds],
                    "meta": model.meta, "codebook": wording})


def transcript_key(transcript: Transcript) -> str:
    """Identifies a transcript as parsed: its text, its turns and who speaks each."""
    turns = [[t.speaker, t.start, t.end, t.is_interviewer, "" if t.is_interviewer else transcript.participant_of(t)]
             for t in transcript.turns]
    return _digest({"id": transcript.id, "text": transcript.checksum, "turns": turns})


def _record(transcript: Transcript, fingerprint: str, seg_config: SegmentConfig) -> dict:
    return {"transcript": transcript.id, "input": transcript_key(transcript), "model": fingerprint,
            "segment": seg_config.model_dump()}


def read_coded(folder: Path, transcript: Transcript, record: dict) -> tuple[list[Segment], np.ndarray] | None:
    """A transcript's earlier result when its record matches this run's, else None."""
    try:
        data, segments, P = _load(folder / f"{transcript.id}.json")
        if {k: data.get(k) for k in record} != record:
            return None
    except (OSError, ValueError, TypeError, KeyError):
        return None
    if any(transcript.text[s.start : s.end] != s.text for s in segments):
        return None
    return segments, P


def write_coded(folder: Path, record: dict, segments: list[Segment], P: np.ndarray) -> None:
    data = {**record, "autocode_version": __version__, "segments": [asdict(s) for s in segments],
            "probabilities": [[float(x) for x in row] for row in P]}
    write_text(folder / f"{record['transcript']}.json", json.dumps(data, ensure_ascii=False) + "\n")


def carry_over(previous: Path, work: Path) -> None:
    """Copy the coded files of an earlier, finished run into this run's work folder."""
    source = previous / CODED
    if not source.is_dir():
        return
    (work / CODED).mkdir(exist_ok=True)
    for path in source.glob("*.json"):
        target = work / CODED / path.name
        if not target.exists():
            shutil.copy2(path, target)


@dataclass
class Coded:
    transcript: Transcript
    segments: list[Segment]
    P: np.ndarray  # probabilities, closed up the hierarchy
    reused: bool = False


def code_transcripts(transcripts: list[Transcript], model: Model, codebook: Codebook, seg_config: SegmentConfig,
                     work: Path, progress=silent) -> Iterator[Coded]:
    """Each transcript's segments and probabilities, in study order, reusing a matching file in
    ``work/coded`` and coding the rest a group of about GROUP_SEGMENTS segments at a time; each
    newly coded transcript's file is written before it is yielded. Holds one group at a time."""
    folder = work / CODED
    folder.mkdir(exist_ok=True)
    fingerprint = model_fingerprint(model, codebook)
    ids = {t.id for t in transcripts}
    pending: list[tuple[Transcript, dict, list[Segment] | Coded]] = []
    count = 0
    for t in progress(transcripts, description="coding"):
        record = _record(t, fingerprint, seg_config)
        hit = read_coded(folder, t, record)
        if hit is not None and not pending:
            yield Coded(t, *hit, reused=True)
            continue
        item = Coded(t, *hit, reused=True) if hit is not None else segment_transcript(t, seg_config)
        pending.append((t, record, item))
        count += 0 if hit is not None else len(item)
        if count >= GROUP_SEGMENTS:
            yield from _code_group(pending, model, codebook, folder)
            pending, count = [], 0
    yield from _code_group(pending, model, codebook, folder)
    for path in folder.glob("*.json"):  # transcripts no longer in the study, from an earlier run
        if path.stem not in ids:
            path.unlink()


def _code_group(pending: list, model: Model, codebook: Codebook, folder: Path) -> Iterator[Coded]:
    """Code the new transcripts of a group together; yield the group's transcripts in order."""
    P = _predict(model, [s for _, _, item in pending if not isinstance(item, Coded) for s in item], codebook)
    row = 0
    for t, record, item in pending:
        if isinstance(item, Coded):
            yield item
            continue
        part = P[row : row + len(item)]
        row += len(item)
        write_coded(folder, record, item, part)
        yield Coded(t, item, part)


def read_coded_file(work: Path, transcript_id: str) -> tuple[list[Segment], np.ndarray]:
    """A coded file this run has written (its record unchecked)."""
    return _load(work / CODED / f"{transcript_id}.json")[1:]


def _load(path: Path) -> tuple[dict, list[Segment], np.ndarray]:
    data = json.loads(path.read_text(encoding="utf-8"))
    segments = [Segment(**s) for s in data["segments"]]
    return data, segments, np.asarray(data["probabilities"], dtype=float).reshape(len(segments), -1)


def _predict(model: Model, segments: list[Segment], codebook: Codebook) -> np.ndarray:
    return np.round(model.scores(segments, codebook), DECIMALS)
