"""One comparison at all five levels (a coder against the reference), and all coders pooled."""

from __future__ import annotations

import numpy as np

from autocode.agree.codings import Coding
from autocode.agree.context import Context, pair_scope
from autocode.agree.figures import family
from autocode.agree.participant_levels import grade_level, occurrences, participant_level
from autocode.agree.segment_level import segment_level
from autocode.agree.text_levels import character_level, domain_agreement, unitizing_level
from autocode.agreement import krippendorff_alpha
from autocode.agreement_units import alpha_binary_unitized, alpha_from_binary_coincidences, binary_coincidence_stats, unitizing_stats


def compare_pair(ctx: Context, a: Coding, b: Coding) -> dict:
    """Coder ``b`` against coder ``a`` over the transcripts both coded, at all five levels."""
    p = pair_scope(ctx, a, b)
    segment, warnings_ = segment_level(ctx, p)
    character = character_level(ctx, p)
    unitizing = unitizing_level(ctx, p)
    occ_a, occ_b = occurrences(ctx, p)
    return {"a": a.name, "b": b.name, "transcripts": p.scope, "participants": len(p.groups),
            "segment": segment, "character": character, "unitizing": unitizing,
            "participant": participant_level(ctx, p, occ_a, occ_b), "grade": grade_level(ctx, p, occ_a, occ_b),
            "warnings": warnings_}


def compare_all(ctx: Context, coders: list[Coding]) -> dict:
    """All coders together: Krippendorff's alpha with missing data at segment level; character,
    unitizing and cu-alpha over the transcripts every coder coded."""
    common = sorted(set.intersection(*(c.transcripts for c in coders)) & set(ctx.universe))
    char, unit = _pooled_text_stats(ctx, coders, common)
    values = {"segment_alpha": _segment_alpha(ctx, coders), "character_alpha": alpha_from_binary_coincidences(char),
              "alpha_binary": alpha_binary_unitized(unit)}
    domain_rows, domain_levels = ([], {})
    if common:
        domain_rows, domain_levels = domain_agreement(ctx, coders, common, ["all"],
                                                      {ctx.participant_of[t]: 0 for t in common}, None)
    rows, levels = family(ctx.cb, ctx.ci, values, None, domain_levels)
    return {"coders": [c.name for c in coders], "segments": len(ctx.segments), "transcripts_all_coders": common,
            "codes": rows, "levels": levels, "domains": domain_rows}


def _segment_alpha(ctx: Context, coders: list[Coding]) -> np.ndarray:
    """Per code, alpha over all segments; a coder is missing on transcripts they did not code."""
    data = np.full((len(coders), len(ctx.segments), len(ctx.cb)), np.nan)
    for i, c in enumerate(coders):
        inside = np.array([seg.transcript in c.transcripts for seg in ctx.segments], dtype=bool)
        data[i][inside] = ctx.Y[c.name][inside]
    return np.array([krippendorff_alpha(data[:, :, j]) for j in range(len(ctx.cb))])


def _pooled_text_stats(ctx: Context, coders: list[Coding], common: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Character coincidences and unitizing statistics of all coders, summed over ``common``."""
    char = np.zeros((len(ctx.cb), 3))
    unit = np.zeros((len(ctx.cb), 7))
    for t in common:
        ms = [ctx.masks[c.name][t] for c in coders]
        char += binary_coincidence_stats(ms, ctx.universe[t], ctx.settings["exclude_uncoded"])
        unit += unitizing_stats(ms, ctx.universe[t])
    return char, unit
