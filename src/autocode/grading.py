"""The spread-and-depth grader, one function for human and machine coding alike.

For each code at every level of the hierarchy:

- occurrences: runs of contiguous coded segments within one turn (so finer segmentation does
  not inflate depth);
- spread: participants with at least one occurrence, and its share of all participants in
  scope (every participant with at least one segment in the coding);
- depth: occurrences / spread;
- grade: Strong / Moderate / Weaker / below by share, with the boundary rule from
  :class:`~autocode.config.GradingConfig`; a depth outside the configured range is flagged.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from fractions import Fraction
from typing import Mapping, Sequence

import numpy as np

from autocode.codebook import Codebook
from autocode.config import GradingConfig
from autocode.segment import Segment

STRONG, MODERATE, WEAKER = "Strong", "Moderate", "Weaker"


@dataclass(frozen=True)
class GradeRow:
    code: str
    level: str
    label: str
    group: str  # "all" or "<column>=<value>"
    participants: int  # participants in scope
    spread: int
    occurrences: int
    depth: float | None
    grade: str
    flag: str
    spread_low: int | None = None  # machine coding: 80% interval of the spread
    spread_high: int | None = None
    grade_probability: float | None = None  # machine coding: chance that the grade is right
    review: bool = False  # machine coding: uncertain grade, worth a human read

    @property
    def share(self) -> float:
        return self.spread / self.participants if self.participants else 0.0


def grade_for_share(spread: int, total: int, config: GradingConfig) -> str:
    """Exact (rational) comparison of spread/total with the configured thresholds."""
    if total == 0:
        return config.below_weaker
    share = Fraction(spread, total)
    for name, threshold in ((STRONG, config.strong), (MODERATE, config.moderate), (WEAKER, config.weaker)):
        limit = Fraction(str(threshold))
        if share > limit or (share == limit and config.boundary == "lower"):
            return name
    return config.below_weaker


def depth_flag(depth: float | None, config: GradingConfig) -> str:
    if depth is None:
        return ""
    if depth < config.depth_min:
        return f"depth {depth:.2f} below {config.depth_min:g}"
    if depth > config.depth_max:
        return f"depth {depth:.2f} above {config.depth_max:g}"
    return ""


def count_occurrences(segments: Sequence[Segment], Y: np.ndarray) -> dict[str, np.ndarray]:
    """Per participant, the number of runs of each code (columns of ``Y``)."""
    Y = np.asarray(Y, dtype=bool)
    counts: dict[str, np.ndarray] = defaultdict(lambda: np.zeros(Y.shape[1], dtype=int))
    previous = np.zeros(Y.shape[1], dtype=bool)
    last_key = None
    for i, seg in enumerate(segments):
        key = (seg.transcript, seg.turn)
        if key != last_key:
            previous = np.zeros(Y.shape[1], dtype=bool)
            last_key = key
        counts[seg.participant] += Y[i] & ~previous
        previous = Y[i]
    for seg in segments:  # participants with segments but no codes still count in scope
        counts[seg.participant]
    return dict(counts)


def transcript_level(column: str, participants: Mapping[str, Mapping[str, str]] | None) -> dict[str, str] | None:
    """``transcript id -> value`` when ``column`` is a transcript-level attribute (the setting:
    interview or focus group, see ``io.study.Participants``), else None."""
    per_transcript = getattr(participants, "transcript_attributes", None) or {}
    if not any(column in attrs for attrs in per_transcript.values()):
        return None
    return {tid: attrs.get(column, "") for tid, attrs in per_transcript.items()}


def participant_groups(pids: list[str], participants: Mapping[str, Mapping[str, str]] | None,
                       by: Sequence[str]) -> dict[str, list[str]]:
    """'all', then one group per value of each ``by`` column of participants.csv.

    For a transcript-level column a participant's value lists every value they spoke under
    (``focus group; interview``), and they join the group of each."""
    groups = {"all": list(pids)}
    for column in by:
        several = transcript_level(column, participants) is not None
        values: dict[str, list[str]] = defaultdict(list)
        for pid in pids:
            value = (participants or {}).get(pid, {}).get(column, "") or "(blank)"
            for part in ([v.strip() for v in value.split(";") if v.strip()] or ["(blank)"]) if several else [value]:
                values[part].append(pid)
        for value in sorted(values):
            groups[f"{column}={value}"] = values[value]
    return groups


def talk_groups(column: str, values: Mapping[str, str], segments: Sequence[Segment],
                Y: np.ndarray) -> dict[str, dict[str, np.ndarray]]:
    """The groups of a transcript-level column, formed from talk: ``column=value`` -> occurrences
    per participant, counted on the segments of that value's transcripts only, so a participant
    who spoke under two values counts in both, each with the talk given under it."""
    rows: dict[str, list[int]] = defaultdict(list)
    for i, seg in enumerate(segments):
        rows[values.get(seg.transcript, "") or "(blank)"].append(i)
    return {f"{column}={value}": count_occurrences([segments[i] for i in rows[value]], Y[rows[value]])
            for value in sorted(rows)}


class Tally:
    """Participant-level counts of one coding, added a transcript (or several) at a time.

    Occurrences never cross a turn, so never a transcript: the counts of separate transcripts
    simply add up, and a batch can be graded without holding its segments. ``talk`` maps each
    transcript-level column (see :func:`transcript_level`) to its transcript -> value table.
    With ``P`` (a machine's calibrated probabilities), :meth:`add` also sums each participant's
    predicted positives and probabilities for the participant-level estimators.
    """

    def __init__(self, n_codes: int, talk: Mapping[str, Mapping[str, str]] | None = None):
        self.n_codes, self.talk_values = n_codes, dict(talk or {})
        self.runs: dict[str, np.ndarray] = {}
        self.talk: dict[str, dict[str, dict[str, np.ndarray]]] = {c: {} for c in self.talk_values}
        self.positives: dict[str, np.ndarray] = {}
        self.expected: dict[str, np.ndarray] = {}
        self.segments: dict[str, int] = {}
        self.transcripts: dict[str, dict[str, None]] = {}  # participant -> transcripts they speak in

    def add(self, segments: Sequence[Segment], Y: np.ndarray, P: np.ndarray | None = None) -> "Tally":
        Y = np.asarray(Y, dtype=bool)
        _merge(self.runs, count_occurrences(segments, Y))
        for column, values in self.talk_values.items():
            for group, counts in talk_groups(column, values, segments, Y).items():
                _merge(self.talk[column].setdefault(group, {}), counts)
        zero = np.zeros(self.n_codes)
        for i, seg in enumerate(segments):
            pid = seg.participant
            self.transcripts.setdefault(pid, {})[seg.transcript] = None
            self.segments[pid] = self.segments.get(pid, 0) + 1
            if P is not None:
                self.positives[pid] = self.positives.get(pid, zero) + Y[i]
                self.expected[pid] = self.expected.get(pid, zero) + P[i]
        return self

    def groups(self, participants: Mapping[str, Mapping[str, str]] | None,
               by: Sequence[str]) -> dict[str, dict[str, np.ndarray]]:
        """Occurrences per participant in 'all' and in each group of each ``by`` column."""
        groups: dict[str, dict[str, np.ndarray]] = {"all": self.runs}
        for column in by:
            if column in self.talk:
                groups.update(sorted(self.talk[column].items()))
                continue
            for group, pids in participant_groups(list(self.runs), participants, [column]).items():
                if group != "all":
                    groups[group] = {p: self.runs[p] for p in pids}
        return groups


def _merge(total: dict[str, np.ndarray], part: Mapping[str, np.ndarray]) -> None:
    for pid, counts in part.items():
        total[pid] = total[pid] + counts if pid in total else counts


def tally_for(codebook: Codebook, participants: Mapping[str, Mapping[str, str]] | None,
              by: Sequence[str]) -> Tally:
    """An empty tally that can group talk by each transcript-level column among ``by``."""
    talk = {c: values for c in by if (values := transcript_level(c, participants)) is not None}
    return Tally(len(codebook), talk)


def grade(
    segments: Sequence[Segment],
    Y: np.ndarray,
    codebook: Codebook,
    config: GradingConfig | None = None,
    participants: Mapping[str, Mapping[str, str]] | None = None,
    by: Sequence[str] = (),
) -> list[GradeRow]:
    """Grade every code for all participants, then for each value of each ``by`` column.

    A ``by`` column is a participant attribute: each participant counts in the group of their
    value. A transcript-level column (the setting) groups talk instead (:func:`talk_groups`).
    ``segments`` must be in text order within each transcript, as segmentation returns them.
    ``Y`` is a boolean (n_segments, n_codes) matrix in codebook order, closed upwards.
    """
    tally = tally_for(codebook, participants, by).add(segments, codebook.closure(Y))
    return grade_tally(tally, codebook, config, participants, by)


def grade_tally(tally: Tally, codebook: Codebook, config: GradingConfig | None = None,
                participants: Mapping[str, Mapping[str, str]] | None = None, by: Sequence[str] = ()) -> list[GradeRow]:
    """:func:`grade` from counts already tallied (``Y`` closed upwards)."""
    config = config or GradingConfig()
    rows = []
    for group, group_counts in tally.groups(participants, by).items():
        pids = list(group_counts)
        matrix = np.array([group_counts[p] for p in pids]) if pids else np.zeros((0, len(codebook)), dtype=int)
        for j, code in enumerate(codebook.codes):
            column = matrix[:, j] if len(pids) else np.zeros(0, dtype=int)
            spread = int((column > 0).sum())
            occurrences = int(column.sum())
            depth = occurrences / spread if spread else None
            rows.append(
                GradeRow(code.id, codebook.level_name(code.id), code.label, group, len(pids), spread,
                         occurrences, depth, grade_for_share(spread, len(pids), config), depth_flag(depth, config))
            )
    return rows
