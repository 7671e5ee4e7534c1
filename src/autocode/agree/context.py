"""What every comparison works from: the study's segments, each coder's decisions, character masks
and units (:class:`Context`), and the scope of one pair of coders (:class:`PairScope`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from autocode.agree.codings import Coding
from autocode.agreement_levels import bootstrap_weights, resample
from autocode.codebook import Codebook
from autocode.io.study import Study
from autocode.segment import Segment


@dataclass
class Context:
    """The study's segments and, per coder name, decisions ``Y``, character ``masks`` and merged
    ``units``; ``universe`` the characters that count per transcript; ``settings`` the report's."""

    study: Study
    cb: Codebook
    segments: list[Segment]
    Y: dict[str, np.ndarray]
    universe: dict[str, np.ndarray]
    masks: dict[str, dict[str, np.ndarray]]
    units: dict[str, dict]
    settings: dict
    participant_of: dict[str, str] = field(init=False)
    checksums: dict[str, str] = field(init=False)

    def __post_init__(self):
        self.participant_of = {t.id: t.participant for t in self.study.transcripts}
        self.checksums = {t.id: t.checksum for t in self.study.transcripts}

    @property
    def ci(self) -> float:
        return self.settings["ci"]


@dataclass
class PairScope:
    """Two coders over the transcripts both coded: their participants (the bootstrap's groups),
    the bootstrap weights ``W`` and the segments in scope with each coder's decisions."""

    a: Coding
    b: Coding
    scope: list[str]
    groups: list[str]
    gindex: dict[str, int]
    W: np.ndarray
    segs: list[Segment]
    Ya: np.ndarray
    Yb: np.ndarray

    @property
    def boot(self) -> bool:
        return len(self.W) > 0

    def by_group(self, ctx: Context, width: int, table_of: Callable[[str], np.ndarray]) -> np.ndarray:
        """(groups, codes, width): the per-transcript tables ``table_of(t)`` summed per participant."""
        out = np.zeros((len(self.groups), len(ctx.cb), width))
        for t in self.scope:
            out[self.gindex[ctx.participant_of[t]]] += table_of(t)
        return out

    def replicates(self, groups: np.ndarray) -> np.ndarray | None:
        """The per-participant tables summed for every bootstrap replicate; None without bootstrap."""
        return resample(groups, self.W, lambda t: t) if self.boot else None


def pair_scope(ctx: Context, a: Coding, b: Coding) -> PairScope:
    scope = sorted(a.transcripts & b.transcripts)
    scope_set = set(scope)
    groups = sorted({ctx.participant_of[t] for t in scope})
    W = bootstrap_weights(len(groups), ctx.settings["n_boot"], ctx.settings["seed"])
    keep = np.array([seg.transcript in scope_set for seg in ctx.segments], dtype=bool)
    segs = [seg for seg, k in zip(ctx.segments, keep) if k]
    return PairScope(a, b, scope, groups, {p: i for i, p in enumerate(groups)}, W, segs,
                     ctx.Y[a.name][keep], ctx.Y[b.name][keep])
