"""The agreement report as Markdown and as one wide CSV table (from the report's JSON data), and
the report's tables as rows, columns and headers, which the HTML report shares."""

from __future__ import annotations

from autocode.reports.tables import to_csv, to_markdown

LEVEL_ORDER_LAST = ("fine",)


def num(x, digits: int = 2) -> str:
    return "–" if x is None else f"{x:.{digits}f}"


def pct(x) -> str:
    return "–" if x is None else f"{100 * x:.1f}%"


def with_ci(x, interval, digits: int = 2, percent: bool = False) -> str:
    show = pct if percent else (lambda v: num(v, digits))
    if x is None:
        return "–"
    if not interval or interval[0] is None or interval[1] is None:
        return show(x)
    return f"{show(x)} ({show(interval[0])} to {show(interval[1])})"


def figure(v: dict, key: str, percent: bool = False) -> str:
    """A figure of a code's row or a level, with its bootstrap interval."""
    return with_ci(v.get(key), v["ci"].get(key), percent=percent)


def figures(v: dict, intervals: tuple[str, ...] = (), plain: tuple[str, ...] = ()) -> dict[str, str]:
    """Formatted figures: ``intervals`` with their interval (``percent`` agreement as a percentage),
    ``plain`` without."""
    out = {k: figure(v, k, percent=k == "percent") for k in intervals}
    out.update((k, num(v.get(k))) for k in plain)
    return out


def indent(code: str, depth: int | None = None) -> str:
    depth = code.count(".") if depth is None else depth
    return "&nbsp;" * 4 * depth + code


def levels_of(data: dict) -> list[str]:
    return list(data["levels"])


def headline_rows(pair: dict, levels: list[str]) -> list[dict]:
    rows = []
    for level in levels:
        seg, ch = pair["segment"]["levels"][level], pair["character"]["levels"][level]
        un, ov = pair["unitizing"]["levels"][level], pair["unitizing"]["overlap"]["levels"][level]
        pa, gr = pair["participant"]["levels"][level], pair["grade"]["levels"][level]
        rows.append({
            "level": f"{level} ({seg['codes']})",
            **figures(seg, ("kappa", "alpha"), ("ac1", "f1")),
            "char_kappa": figure(ch, "kappa"),
            **figures(un, ("alpha_binary",), ("cu_alpha",)),
            "overlap": pct(ov["agreement"]),
            "presence_kappa": figure(pa, "kappa"),
            "grades": f"{gr['matching']}/{gr['codes']} ({pct(gr['share'])})",
        })
    return rows


HEADLINE_COLUMNS = ["level", "kappa", "alpha", "ac1", "f1", "char_kappa", "alpha_binary", "cu_alpha", "overlap",
                    "presence_kappa", "grades"]
HEADLINE_HEADERS = ["Level (codes)", "Segment kappa", "Segment alpha", "AC1", "F1", "Character kappa",
                    "Alpha-binary", "cu-alpha", "Overlap match", "Presence kappa", "Grades match"]


def coder_line(coder: dict) -> str:
    return f"{coder['name']} ({coder['kind']}, {coder['transcripts']} transcripts, {coder['spans']} spans)"


def grades_sentence(pair: dict) -> str:
    allg = pair["grade"]["levels"]["all"]
    return (f"Grades match for {allg['matching']} of {allg['codes']} codes "
            f"({with_ci(allg['share'], allg.get('ci'), percent=True)}).")


def _flagged(warning: str) -> str:
    return "⚠ " + warning if warning else ""


# -- per-code tables shared with the HTML report: (rows, columns, headers) ----------------------
def segment_code_table(pair: dict, label=indent, note=_flagged) -> tuple[list[dict], list[str], list[str]]:
    a, b = pair["a"], pair["b"]
    rows = [{"code": label(r["code"]), "a": r["count_a"], "b": r["count_b"], "percent": pct(r["percent"]),
             **figures(r, ("kappa",), ("alpha", "ac1", "precision", "recall", "f1")), "note": note(r["warning"])} for r in pair["segment"]["codes"]]
    return (rows, ["code", "a", "b", "percent", "kappa", "alpha", "ac1", "precision", "recall", "f1", "note"],
            ["Code", f"Segments {a}", f"Segments {b}", "% agreement", "Kappa", "Alpha", "AC1", "Precision",
             "Recall", "F1", "Note"])


def character_code_table(pair: dict, label=indent) -> tuple[list[dict], list[str], list[str]]:
    a, b = pair["a"], pair["b"]
    rows = [{"code": label(r["code"]), "a": r["chars_a"], "b": r["chars_b"], "both": r["both"], "percent": pct(r["percent"]),
             **figures(r, ("kappa",), ("alpha",))} for r in pair["character"]["codes"]]
    return (rows, ["code", "a", "b", "both", "percent", "kappa", "alpha"],
            ["Code", f"Characters {a}", f"Characters {b}", "Both", "% agreement", "Kappa", "Alpha"])


def unit_code_table(pair: dict, label=indent, matched: bool = True,
                    overlap: str = "Overlap match") -> tuple[list[dict], list[str], list[str]]:
    """Units and alpha-binary per code, with the overlap match (and, with ``matched``, the matched units)."""
    un = pair["unitizing"]
    ov = {r["code"]: r for r in un["overlap"]["codes"]}
    rows = [{"code": label(r["code"]), "units_a": r["units_a"], "units_b": r["units_b"],
             "alpha_binary": figure(r, "alpha_binary"),
             "matched": f"{ov[r['code']]['matched_a']}/{ov[r['code']]['units_a']} + {ov[r['code']]['matched_b']}/{ov[r['code']]['units_b']}",
             "overlap": pct(ov[r["code"]]["agreement"])} for r in un["codes"]]
    columns = ["code", "units_a", "units_b", "alpha_binary", *(["matched"] if matched else []), "overlap"]
    headers = ["Code", f"Units {pair['a']}", f"Units {pair['b']}", "Alpha-binary", *(["Matched (A + B)"] if matched else []),
               overlap]
    return rows, columns, headers


def domain_table(un: dict, full: bool = True) -> tuple[list[dict], list[str], list[str]]:
    """cu-alpha per semantic domain (``full``: with the characters both coded)."""
    rows = [{"domain": d["domain"], "level": d["level"], "codes": d["codes"], "characters": num(d["characters"], 0),
             "cu_alpha": figure(d, "cu_alpha")} for d in un["domains"]]
    if not full:
        return rows, ["domain", "level", "codes", "cu_alpha"], ["Semantic domain", "Level", "Codes", "cu-alpha"]
    return (rows, ["domain", "level", "codes", "characters", "cu_alpha"],
            ["Semantic domain", "Level of its codes", "Codes", "Characters both coded", "cu-alpha"])


def participant_code_table(pair: dict, label=indent, intervals: bool = False,
                           occurrences: str | None = None) -> tuple[list[dict], list[str], list[str]]:
    """Presence tables and occurrence counts per code; kappa ``with_ci`` where ``intervals``."""
    a, b = pair["a"], pair["b"]
    rows = [{"code": label(r["code"]), "both": r["both"], "only_a": r["only_a"], "only_b": r["only_b"],
             "neither": r["neither"], "kappa": figure(r, "kappa") if intervals else num(r["kappa"]),
             "occ": f"{r['occurrences_a']} / {r['occurrences_b']}", "diff": num(r["mean_abs_diff"]),
             "count_alpha": num(r["count_alpha"])} for r in pair["participant"]["codes"]]
    return (rows, ["code", "both", "only_a", "only_b", "neither", "kappa", "occ", "diff", "count_alpha"],
            ["Code", "Both", f"Only {a}", f"Only {b}", "Neither", "Kappa (presence)", occurrences or f"Occurrences {a} / {b}",
             "Mean abs. difference", "Alpha (counts)"])


def pooled_table(pooled: dict) -> tuple[list[dict], list[str], list[str]]:
    rows = [{"level": level, "seg": num(v["segment_alpha"]), "char": num(v["character_alpha"]),
             "ub": num(v["alpha_binary"]), "cu": num(v.get("cu_alpha"))} for level, v in pooled["levels"].items()]
    return rows, ["level", "seg", "char", "ub", "cu"], ["Level", "Segment alpha", "Character alpha", "Alpha-binary", "cu-alpha"]


# -- Markdown ----------------------------------------------------------------------------------
def report_markdown(data: dict) -> str:
    levels = levels_of(data)
    out = [f"# {data['title']}\n\n", _settings_markdown(data)]
    for pair in data["pairs"]:
        out.append(_pair_markdown(pair, levels, data))
    if data.get("pooled"):
        out.append(_pooled_markdown(data["pooled"], levels))
    out.append(f"## Disagreements\n\n{data['disagreements']} segments where the coders differ are listed in "
               "`disagreements.csv` (text, each coder's codes"
               + (", the machine's confidence" if data.get("machine_confidence") else "")
               + "). Fill in its `reconciled` column (codes separated by `;`, `none` for no code, blank to keep "
               f"{data['reference']}'s codes) and read it back with `autocode.agree_report.read_reconciled`.\n")
    return "".join(out)


def _settings_markdown(data: dict) -> str:
    s = data["settings"]
    coders = ", ".join(coder_line(c) for c in data["coders"])
    return (f"Coders: {coders}. Reference (coder A): **{data['reference']}**. Codebook: {data['codebook']['name']} "
            f"({len(data['codebook']['codes'])} codes). autocode {data['autocode_version']}.\n\n"
            f"Segments: {s['segment']['unit']}"
            + (f" of {s['segment']['window']} sentences" if s['segment']['unit'] == 'window' else "")
            + f". Intervals: {round(100 * s['ci'])}% percentile bootstrap over participants, {s['n_boot']} replicates "
            f"(seed {s['seed']}). Character level over {s['universe']} text"
            + (", excluding text no coder coded" if s["exclude_uncoded"] else "")
            + f". Overlap match threshold: {round(100 * s['overlap_threshold'])}%. Level means are unweighted means "
            "over the level's codes (codes with an undefined figure left out). Definitions: docs/agreement.md.\n\n")


def _pair_markdown(pair: dict, levels: list[str], data: dict) -> str:
    out = [f"## {pair['a']} (A) vs {pair['b']} (B)\n\n",
           f"{len(pair['transcripts'])} transcripts ({', '.join(pair['transcripts'])}), {pair['participants']} participants, "
           f"{pair['segment']['segments']} segments, {pair['character']['characters']:,} characters.\n\n"]
    for w in pair["warnings"]:
        out.append(f"> **Warning:** {w}\n\n")
    out.append("### Summary by level\n\n")
    out.append(to_markdown(headline_rows(pair, levels), HEADLINE_COLUMNS, HEADLINE_HEADERS))
    for section in (_segment_markdown, _character_markdown, _unitizing_markdown, _participant_markdown,
                    _grade_markdown):
        out.append(section(pair, levels))
    return "".join(out)


def _segment_markdown(pair: dict, levels: list[str]) -> str:
    rows = []
    for level in levels:
        v = pair["segment"]["levels"][level]
        rows.append({"level": level, "codes": v["codes"],
                     **figures(v, ("percent", "kappa", "alpha", "ac1", "f1"), ("precision", "recall", "micro_f1"))})
    return ("\n### 1. Segment level\n\n"
            + to_markdown(rows, ["level", "codes", "percent", "kappa", "alpha", "ac1", "precision", "recall", "f1", "micro_f1"],
                          ["Level", "Codes", "% agreement", "Kappa", "Alpha", "AC1", "Precision", "Recall", "F1 (macro)",
                           "Micro-F1"])
            + "\n" + to_markdown(*segment_code_table(pair)))


def _character_markdown(pair: dict, levels: list[str]) -> str:
    ch = pair["character"]
    rows = [{"level": level, **figures(v, ("percent", "kappa", "alpha"), ("f1",))} for level, v in ch["levels"].items()]
    return (f"\n### 2. Character level\n\nOver {ch['characters']:,} characters of {ch['universe']} text"
            + (" that at least one coder coded" if ch["exclude_uncoded"] else "") + ".\n\n"
            + to_markdown(rows, ["level", "percent", "kappa", "alpha", "f1"],
                          ["Level", "% agreement", "Kappa", "Alpha", "Dice (F1)"])
            + "\n" + to_markdown(*character_code_table(pair)))


def _unitizing_markdown(pair: dict, levels: list[str]) -> str:
    un = pair["unitizing"]
    rows = []
    for level in levels:
        v, o = un["levels"][level], un["overlap"]["levels"][level]
        rows.append({"level": level, **figures(v, ("alpha_binary", "cu_alpha")),
                     "overlap": figure(o, "agreement", percent=True)})
    return ("\n### 3. Unitizing\n\nKrippendorff's alpha-binary per code (coded vs not coded, with units as wholes) "
            "and cu-alpha per semantic domain (which of the domain's codes, where both coded within it), as ATLAS.ti "
            f"reports them; and the segment-overlap match (units of the same code overlapping by at least "
            f"{round(100 * un['overlap']['threshold'])}%, as MAXQDA and QDA Miner).\n\n"
            + to_markdown(rows, ["level", "alpha_binary", "cu_alpha", "overlap"],
                          ["Level", "Alpha-binary (mean)", "cu-alpha (mean over domains)", "Overlap match (mean)"])
            + "\n" + to_markdown(*unit_code_table(pair)) + "\n" + to_markdown(*domain_table(un)))


def _participant_markdown(pair: dict, levels: list[str]) -> str:
    pa = pair["participant"]
    rows = [{"level": level, **figures(v, ("percent", "kappa"), ("alpha", "ac1"))} for level, v in pa["levels"].items()]
    return (f"\n### 4. Participant level\n\nFor each of {len(pa['participants'])} participants: did each coder find "
            "the code in the interview (presence), and how often (occurrences).\n\n"
            + to_markdown(rows, ["level", "percent", "kappa", "alpha", "ac1"],
                          ["Level", "% agreement (presence)", "Kappa", "Alpha", "AC1"])
            + "\n" + to_markdown(*participant_code_table(pair)))


def _grade_markdown(pair: dict, levels: list[str]) -> str:
    a, b, gr = pair["a"], pair["b"], pair["grade"]
    rows = [{"level": level, "codes": v["codes"], "matching": v["matching"], "share": with_ci(v["share"], v.get("ci"), percent=True)}
            for level, v in gr["levels"].items()]
    codes = [{"code": indent(r["code"]), "a": f"{r['a_spread']} ({pct(r['a_share'])})", "ad": num(r["a_depth"]),
              "ag": r["a_grade"], "b": f"{r['b_spread']} ({pct(r['b_share'])})", "bd": num(r["b_depth"]), "bg": r["b_grade"],
              "match": "yes" if r["match"] else "**no**"} for r in gr["rows"]]
    return (f"\n### 5. Grade level\n\n{grades_sentence(pair)}\n\n"
            + to_markdown(rows, ["level", "codes", "matching", "share"], ["Level", "Codes", "Matching grades", "Share"])
            + "\n" + to_markdown(codes, ["code", "a", "ad", "ag", "b", "bd", "bg", "match"],
                                 ["Code", f"Spread {a}", f"Depth {a}", f"Grade {a}", f"Spread {b}", f"Depth {b}",
                                  f"Grade {b}", "Match"])
            + "\n")


def _pooled_markdown(pooled: dict, levels: list[str]) -> str:
    return (f"## All coders together ({', '.join(pooled['coders'])})\n\n"
            f"Segment-level alpha over {pooled['segments']} segments (a coder who did not code a transcript is missing "
            f"there); character, unitizing and cu-alpha over the {len(pooled['transcripts_all_coders'])} transcripts "
            "every coder coded.\n\n"
            + to_markdown(*pooled_table(pooled)) + "\n")


CSV_COLUMNS = [
    "a", "b", "code", "level",
    "seg_count_a", "seg_count_b", "seg_percent", "seg_kappa", "seg_kappa_lo", "seg_kappa_hi", "seg_alpha", "seg_ac1",
    "seg_precision", "seg_recall", "seg_f1", "seg_warning",
    "char_percent", "char_kappa", "char_alpha",
    "alpha_binary", "overlap_agreement",
    "presence_both", "presence_only_a", "presence_only_b", "presence_neither", "presence_kappa", "count_alpha",
    "a_spread", "a_depth", "a_grade", "b_spread", "b_depth", "b_grade", "grade_match",
]


def report_csv(data: dict) -> str:
    """One row per compared pair and code with the main figures of all five levels."""
    rows = []
    for pair in data["pairs"]:
        ch = {r["code"]: r for r in pair["character"]["codes"]}
        un = {r["code"]: r for r in pair["unitizing"]["codes"]}
        ov = {r["code"]: r for r in pair["unitizing"]["overlap"]["codes"]}
        pa = {r["code"]: r for r in pair["participant"]["codes"]}
        gr = {r["code"]: r for r in pair["grade"]["rows"]}
        for r in pair["segment"]["codes"]:
            c = r["code"]
            lo, hi = r["ci"].get("kappa", [None, None])
            rows.append({
                "a": pair["a"], "b": pair["b"], "code": c, "level": r["level"],
                "seg_count_a": r["count_a"], "seg_count_b": r["count_b"], "seg_percent": r["percent"],
                "seg_kappa": r["kappa"], "seg_kappa_lo": lo, "seg_kappa_hi": hi, "seg_alpha": r["alpha"],
                "seg_ac1": r["ac1"], "seg_precision": r["precision"], "seg_recall": r["recall"], "seg_f1": r["f1"],
                "seg_warning": r["warning"],
                "char_percent": ch[c]["percent"], "char_kappa": ch[c]["kappa"], "char_alpha": ch[c]["alpha"],
                "alpha_binary": un[c]["alpha_binary"], "overlap_agreement": ov[c]["agreement"],
                "presence_both": pa[c]["both"], "presence_only_a": pa[c]["only_a"], "presence_only_b": pa[c]["only_b"],
                "presence_neither": pa[c]["neither"], "presence_kappa": pa[c]["kappa"], "count_alpha": pa[c]["count_alpha"],
                "a_spread": gr[c]["a_spread"], "a_depth": gr[c]["a_depth"], "a_grade": gr[c]["a_grade"],
                "b_spread": gr[c]["b_spread"], "b_depth": gr[c]["b_depth"], "b_grade": gr[c]["b_grade"],
                "grade_match": "yes" if gr[c]["match"] else "no",
            })
    return to_csv(rows, CSV_COLUMNS)
