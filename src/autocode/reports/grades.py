"""Grade tables and the human-vs-machine comparison, as row dicts for CSV and Markdown."""

from __future__ import annotations

from typing import Sequence

from autocode.agreement import CodeAgreement
from autocode.grading import GradeRow
from autocode.reports.tables import to_csv, to_markdown

GRADE_COLUMNS = ["group", "code", "level", "label", "spread", "participants", "share", "occurrences", "depth", "grade",
                 "flag", "spread_low", "spread_high", "grade_probability", "review"]


def grade_rows(rows: Sequence[GradeRow]) -> list[dict]:
    return [
        {"group": r.group, "code": r.code, "level": r.level, "label": r.label, "spread": r.spread,
         "participants": r.participants, "share": r.share, "occurrences": r.occurrences,
         "depth": r.depth, "grade": r.grade, "flag": r.flag, "spread_low": r.spread_low, "spread_high": r.spread_high,
         "grade_probability": r.grade_probability, "review": "yes" if r.review else ""}
        for r in rows
    ]


def grades_csv(rows: Sequence[GradeRow]) -> str:
    return to_csv(grade_rows(rows), GRADE_COLUMNS)


def grades_markdown(rows: Sequence[GradeRow], title: str) -> str:
    parts = [f"# {title}\n"]
    for group in dict.fromkeys(r.group for r in rows):
        selected = [r for r in rows if r.group == group]
        n = selected[0].participants if selected else 0
        parts.append(f"\n## {'All participants' if group == 'all' else group} (n = {n})\n\n")
        uncertain = any(r.grade_probability is not None for r in selected)
        table = [
            {"code": "&nbsp;" * 4 * _depth(r.code) + r.code, "spread": f"{r.spread} ({r.share:.0%})",
             "interval": f"{r.spread_low}-{r.spread_high}" if r.spread_low is not None else "",
             "depth": r.depth, "grade": r.grade, "chance": r.grade_probability,
             "flag": "; ".join(x for x in (r.flag, "review" if r.review else "") if x)}
            for r in selected
        ]
        columns = ["code", "spread", "interval", "depth", "grade", "chance", "flag"] if uncertain else \
            ["code", "spread", "depth", "grade", "flag"]
        headers = {"code": "Code", "spread": "Spread (share)", "interval": "80% interval", "depth": "Depth",
                   "grade": "Grade", "chance": "P(grade right)", "flag": "Flag"}
        parts.append(to_markdown(table, columns, [headers[c] for c in columns]))
    return "".join(parts)


def _depth(code: str) -> int:
    return code.count(".")


COMPARISON_COLUMNS = [
    "code", "level", "human_spread", "human_depth", "human_grade", "machine_spread", "machine_depth",
    "machine_grade", "grade_match", "precision", "recall", "f1", "kappa",
]


def comparison_rows(human: Sequence[GradeRow], machine: Sequence[GradeRow], agree: Sequence[CodeAgreement]) -> list[dict]:
    h = {r.code: r for r in human if r.group == "all"}
    m = {r.code: r for r in machine if r.group == "all"}
    rows = []
    for a in agree:
        rows.append({
            "code": a.code, "level": a.level,
            "human_spread": h[a.code].spread, "human_depth": h[a.code].depth, "human_grade": h[a.code].grade,
            "machine_spread": m[a.code].spread, "machine_depth": m[a.code].depth, "machine_grade": m[a.code].grade,
            "grade_match": "yes" if h[a.code].grade == m[a.code].grade else "no",
            "precision": a.precision, "recall": a.recall, "f1": a.f1, "kappa": a.kappa,
        })
    return rows


def level_table(summary: dict[str, dict]) -> str:
    levels = [{"level": k, **v} for k, v in summary.items()]
    return to_markdown(levels, ["level", "codes", "macro_f1", "micro_f1", "kappa", "percent"],
                       ["Level", "Codes", "Macro-F1", "Micro-F1", "Mean kappa", "Mean % agreement"])


def comparison_markdown(rows: list[dict], summary: dict[str, dict], title: str, notes: Sequence[str],
                        subsets: dict[str, dict] | None = None) -> str:
    parts = [f"# {title}\n\n"]
    parts.extend(f"> {note}\n\n" for note in notes)
    parts.append("## Segment-level agreement by level\n\n")
    parts.append(level_table(summary))
    for name, sub in (subsets or {}).items():
        parts.append(f"\n### Only {name}\n\n{level_table(sub)}")
    matched = sum(r["grade_match"] == "yes" for r in rows)
    parts.append(f"\nGrades match for {matched} of {len(rows)} codes.\n\n## Per code\n\n")
    parts.append(to_markdown(rows, COMPARISON_COLUMNS))
    return "".join(parts)
