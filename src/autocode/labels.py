"""Project human character spans onto segments: the documented overlap rule.

A segment takes code C when C's spans (merged) cover at least ``min_segment_share`` of the
segment's characters, or when the segment holds at least ``min_span_share`` of any one C span
(so a short span inside a long segment still labels it). Labels are then closed upwards: a
code implies its category and dimension.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Iterable, Sequence

import numpy as np

from autocode.codebook import Codebook
from autocode.config import ProjectionConfig
from autocode.io.codings import Span
from autocode.segment import Segment


def merge_intervals(intervals: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[list[int]] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(a, b) for a, b in merged]


def _overlap(a: int, b: int, c: int, d: int) -> int:
    return max(0, min(b, d) - max(a, c))


def project_spans(
    segments: Sequence[Segment],
    spans: Iterable[Span],
    codebook: Codebook,
    config: ProjectionConfig | None = None,
) -> np.ndarray:
    """Return a boolean (n_segments, n_codes) matrix in codebook order, closed upwards."""
    config = config or ProjectionConfig()
    by_key: dict[tuple[str, str], list[tuple[int, int]]] = defaultdict(list)
    for span in spans:
        by_key[(span.transcript, span.code)].append((span.start, span.end))
    codes_in: dict[str, list[tuple[int, list, list]]] = defaultdict(list)
    for (tid, code), raw in by_key.items():
        codes_in[tid].append((codebook.index[code], merge_intervals(raw), raw))
    Y = np.zeros((len(segments), len(codebook)), dtype=bool)
    for i, seg in enumerate(segments):
        length = seg.end - seg.start
        for j, merged, raw in codes_in.get(seg.transcript, ()):
            covered = sum(_overlap(seg.start, seg.end, a, b) for a, b in merged if a < seg.end and b > seg.start)
            if covered >= config.min_segment_share * length or any(
                _overlap(seg.start, seg.end, a, b) >= config.min_span_share * (b - a) for a, b in raw
                if a < seg.end and b > seg.start
            ):
                Y[i, j] = True
    return codebook.closure(Y)
