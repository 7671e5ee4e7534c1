"""Level 1, segments: percent agreement, kappa, alpha, AC1 and precision, recall and F1 per code,
with the warnings that say how far to trust them."""

from __future__ import annotations

from autocode.agree.context import Context, PairScope
from autocode.agree.figures import cells, family, micro_f1
from autocode.agreement import metrics_from_counts
from autocode.agreement_levels import segment_tables_by_group

TOO_FEW = "too few"


def segment_level(ctx: Context, p: PairScope) -> tuple[dict, list[str]]:
    """The segment level of one pair, and the pair's warnings."""
    seg_groups = segment_tables_by_group(p.segs, p.Ya, p.Yb, p.groups)
    total = seg_groups.sum(0)
    boot_tables = p.replicates(seg_groups)
    boot_values = metrics_from_counts(boot_tables) if p.boot else None
    rows, levels = family(ctx.cb, ctx.ci, metrics_from_counts(total), boot_values,
                          micro_f1(ctx.cb, total, boot_tables, ctx.ci))
    for j, row in enumerate(rows):
        _add_counts(row, total[j], p, ctx.settings["min_occurrences"])
    warnings_ = _code_warnings(rows, ctx.settings["min_occurrences"]) + _scope_warnings(ctx, p)
    return {"segments": len(p.segs), "codes": rows, "levels": levels}, warnings_


def _add_counts(row: dict, table_row, p: PairScope, min_occurrences: int) -> None:
    """A code's segment counts, and a warning where kappa is undefined or unstable."""
    n11, n10, n01, n00 = cells(table_row)
    row.update({"n": n11 + n10 + n01 + n00, "count_a": n11 + n10, "count_b": n11 + n01, "both": n11})
    row["warning"] = ""
    fewest = min(row["count_a"], row["count_b"])
    if row["count_a"] == 0 and row["count_b"] == 0:
        row["warning"] = "used by neither coder: kappa and alpha undefined"
    elif fewest < min_occurrences:
        few = p.a.name if row["count_a"] <= row["count_b"] else p.b.name
        row["warning"] = (f"{TOO_FEW} occurrences for a stable kappa: {few} coded "
                          f"{fewest} segments (< {min_occurrences})")


def _code_warnings(rows: list[dict], min_occurrences: int) -> list[str]:
    out = []
    flagged = [r["code"] for r in rows if r["warning"].startswith(TOO_FEW)]
    unused = [r["code"] for r in rows if r["count_a"] == 0 and r["count_b"] == 0]
    if flagged:
        out.append(f"{len(flagged)} codes have fewer than {min_occurrences} coded segments from one coder; "
                   f"their kappa is unstable (read it with its interval): {', '.join(flagged)}")
    if unused:
        out.append(f"{len(unused)} codes were used by neither coder (figures undefined): {', '.join(unused)}")
    return out


def _scope_warnings(ctx: Context, p: PairScope) -> list[str]:
    """Transcripts a model behind a coder was trained on, and too few participants."""
    out = []
    for coder in (p.a, p.b):
        seen = [t for t in p.scope if coder.trained_on and coder.trained_on.get(t) == ctx.checksums.get(t)]
        if seen:
            out.append(f"{len(seen)} of the {len(p.scope)} transcripts compared were in the training data of the "
                       f"model behind {coder.name} ({', '.join(seen)}); agreement on them is optimistic")
    if len(p.groups) < 10:
        out.append(f"only {len(p.groups)} participants are coded by both; bootstrap intervals over so few "
                   "participants are wide and can be too narrow")
    return out
