"""The agreement report as one self-contained HTML file.

Inline CSS and inline SVG charts drawn here; no script, no font, no image and no other file or
network asset, so the page opens the same anywhere, offline. Charts:

- per-code agreement: segment-level kappa and unitizing alpha-binary of every code, each with its
  bootstrap interval (a forest plot), one per compared pair;
- a participant x code heatmap of occurrences per coder (cells where presence differs from the
  reference coder are outlined);
- the grade table laid out like the study's evidence table: the code hierarchy down the side,
  spread, depth and grade for each coder side by side, and whether the grades match.
"""

from __future__ import annotations

from html import escape

from autocode.reports.agreement_md import (HEADLINE_COLUMNS, HEADLINE_HEADERS, character_code_table, coder_line, domain_table,
                                          grades_sentence, headline_rows, num, participant_code_table, pct, pooled_table,
                                          segment_code_table, unit_code_table)

CSS = """
:root { --ink: #1d2733; --muted: #5b6675; --line: #d5dbe3; --accent: #1f5fa8; --accent2: #c2571a;
        --strong: #1b7a4a; --moderate: #6aa84f; --weaker: #d9c25b; --none: #e4e7eb; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; color: var(--ink);
       margin: 0 auto; max-width: 1280px; padding: 24px 32px 64px; background: #fff; }
h1 { font-size: 24px; margin: 0 0 4px; } h2 { font-size: 20px; margin: 40px 0 8px; border-bottom: 2px solid var(--line); padding-bottom: 4px; }
h3 { font-size: 16px; margin: 28px 0 8px; } p.meta, .note { color: var(--muted); }
nav a { margin-right: 16px; color: var(--accent); }
table { border-collapse: collapse; margin: 8px 0 16px; font-size: 13px; }
th, td { border-bottom: 1px solid var(--line); padding: 4px 8px; text-align: right; vertical-align: top; }
th { background: #f3f5f8; font-weight: 600; } td:first-child, th:first-child { text-align: left; }
.warning { background: #fff6e0; border-left: 4px solid #e0a800; padding: 6px 10px; margin: 6px 0; }
figure { margin: 12px 0 24px; overflow-x: auto; } figcaption { color: var(--muted); font-size: 12px; margin-top: 4px; }
svg text { font-family: inherit; }
table.evidence td.code { white-space: nowrap; } table.evidence tr.d0 td { font-weight: 700; background: #eef2f7; }
table.evidence tr.d1 td.code { padding-left: 22px; } table.evidence tr.d2 td.code { padding-left: 40px; color: #333; }
table.evidence tr.d3 td.code { padding-left: 58px; }
td.g { text-align: center; font-weight: 600; }
table.evidence td { white-space: nowrap; } table.evidence thead th { text-align: center; }
table.evidence td.g-strong { background: var(--strong); color: #fff; }
table.evidence td.g-moderate { background: var(--moderate); color: #fff; }
table.evidence td.g-weaker { background: var(--weaker); color: var(--ink); }
table.evidence td.g-none { background: var(--none); color: var(--muted); }
table.evidence td.nomatch { color: #b3261e; font-weight: 700; }
table.evidence caption { caption-side: top; text-align: left; color: var(--muted); padding: 4px 0; }
details { margin: 8px 0; } summary { cursor: pointer; color: var(--accent); font-weight: 600; }
"""

GRADE_CLASS = {"Strong": "g-strong", "Moderate": "g-moderate", "Weaker": "g-weaker"}


def _table(rows: list[dict], columns: list[str], headers: list[str], cls: str = "") -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{escape(str(r.get(c, '')))}</td>" for c in columns) + "</tr>" for r in rows)
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _short(code: str, limit: int = 26) -> str:
    name = code.rsplit(".", 1)[-1]
    return name if len(name) <= limit else name[: limit - 1] + "…"


# -- charts ------------------------------------------------------------------------------------
ROW_H, LABEL_W, PLOT_W, TOP, RIGHT = 18, 330, 520, 34, 150  # the forest plot's geometry


def _forest_low(seg: dict, uni: dict, codes: list[dict]) -> float:
    """The left end of the forest plot's axis: -0.2, or lower in steps of 0.2 to fit every figure."""
    values = [v for c in codes for r in (seg[c["code"]], uni[c["code"]])
              for v in [r.get("kappa", r.get("alpha_binary")), *(r["ci"].get("kappa") or r["ci"].get("alpha_binary") or [])]
              if v is not None]
    lo = min([-0.2, *values])
    return max(-1.0, (int(lo * 5) - 1) / 5 if lo < -0.2 else -0.2)


def forest_chart(pair: dict, codes: list[dict]) -> str:
    """Per-code segment kappa and alpha-binary with their intervals."""
    seg = {r["code"]: r for r in pair["segment"]["codes"]}
    uni = {r["code"]: r for r in pair["unitizing"]["codes"]}
    height, width = TOP + ROW_H * len(codes) + 30, LABEL_W + PLOT_W + RIGHT
    lo = _forest_low(seg, uni, codes)

    def x(v: float) -> float:
        return LABEL_W + (v - lo) / (1 - lo) * PLOT_W

    parts = [f'<svg class="chart chart-forest" role="img" aria-label="Per-code agreement of {escape(pair["a"])} and '
             f'{escape(pair["b"])}" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}">']
    parts.extend(_forest_axis(x, lo, height))
    parts.append(_forest_legend())
    for i, c in enumerate(codes):
        parts.extend(_forest_row(x, i, c, seg[c["code"]], uni[c["code"]], width))
    parts.append("</svg>")
    return "".join(parts)


def _forest_axis(x, lo: float, height: int) -> list[str]:
    """Grid lines and ticks every 0.2 from ``lo`` to 1, and reference lines at 0, 0.60 and 0.80."""
    parts, tick = [], lo
    while tick <= 1.0001:
        parts.append(f'<line x1="{x(tick):.1f}" y1="{TOP - 6}" x2="{x(tick):.1f}" y2="{height - 24}" stroke="#e3e7ec"/>'
                     f'<text x="{x(tick):.1f}" y="{height - 10}" font-size="11" text-anchor="middle" fill="#5b6675">{tick:.1f}</text>')
        tick = round(tick + 0.2, 6)
    for ref in (0.0, 0.6, 0.8):
        dash = "" if ref == 0 else ' stroke-dasharray="4 3"'
        parts.append(f'<line x1="{x(ref):.1f}" y1="{TOP - 6}" x2="{x(ref):.1f}" y2="{height - 24}" stroke="#8a94a3"{dash}/>')
    return parts


def _forest_legend() -> str:
    lx = LABEL_W
    return (f'<circle cx="{lx + 4}" cy="12" r="4" fill="#1f5fa8"/>'
            f'<text x="{lx + 12}" y="16" font-size="12">segment kappa</text>'
            f'<rect x="{lx + 130}" y="8" width="8" height="8" fill="#c2571a" transform="rotate(45 {lx + 134} 12)"/>'
            f'<text x="{lx + 146}" y="16" font-size="12">unitizing alpha-binary</text>'
            f'<text x="{lx + 300}" y="16" font-size="12" fill="#5b6675">open marker: too few occurrences</text>')


def _forest_row(x, i: int, c: dict, s: dict, u: dict, width: int) -> list[str]:
    """One code's row: its label, kappa (circle) and alpha-binary (diamond) with intervals, and the figures."""
    y, text_x = TOP + i * ROW_H + ROW_H / 2, LABEL_W + PLOT_W + 8
    code, parts = c["code"], []
    weight = "700" if c["depth"] == 0 else "400"
    if i % 2 == 0:
        parts.append(f'<rect x="0" y="{y - ROW_H / 2:.1f}" width="{width}" height="{ROW_H}" fill="#f7f9fb"/>')
    parts.append(f'<text x="{4 + 14 * c["depth"]}" y="{y + 4:.1f}" font-size="12" font-weight="{weight}">'
                 f'<title>{escape(code)}</title>{escape(_short(code, 38 - 2 * c["depth"]))}</text>')
    few = bool(s.get("warning")) and s["warning"].startswith("too few")
    if s["kappa"] is None:
        parts.append(f'<text x="{text_x}" y="{y + 4:.1f}" font-size="11" fill="#5b6675">undefined</text>')
    else:
        parts.append(_forest_marker(x, code, s["kappa"], s["ci"].get("kappa"), "#1f5fa8", y - 3, "circle", few))
    if u["alpha_binary"] is not None:
        parts.append(_forest_marker(x, code, u["alpha_binary"], u["ci"].get("alpha_binary"), "#c2571a", y + 4, "diamond", few))
    if s["kappa"] is not None:
        parts.append(f'<text x="{text_x}" y="{y + 4:.1f}" font-size="11" fill="#1d2733">κ {s["kappa"]:.2f}'
                     + (f'  α<tspan baseline-shift="sub" font-size="8">b</tspan> {u["alpha_binary"]:.2f}' if u["alpha_binary"] is not None else "")
                     + "</text>")
    return parts


def _forest_marker(x, code: str, value: float, interval, colour: str, yy: float, shape: str, few: bool) -> str:
    """A figure's interval line and marker (open where the code has too few occurrences)."""
    out = ""
    if interval and interval[0] is not None and interval[1] is not None:
        out += (f'<line x1="{x(interval[0]):.1f}" y1="{yy:.1f}" x2="{x(interval[1]):.1f}" y2="{yy:.1f}" '
                f'stroke="{colour}" stroke-width="1.5"/>')
    fill = "#fff" if few else colour
    label = f"{escape(code)}: {value:.2f}" + (f" ({interval[0]:.2f} to {interval[1]:.2f})" if interval and None not in interval else "")
    if shape == "circle":
        return out + (f'<circle cx="{x(value):.1f}" cy="{yy:.1f}" r="4" fill="{fill}" stroke="{colour}" stroke-width="1.5">'
                      f'<title>segment kappa {label}</title></circle>')
    return out + (f'<rect x="{x(value) - 3.5:.1f}" y="{yy - 3.5:.1f}" width="7" height="7" fill="{fill}" stroke="{colour}" '
                  f'stroke-width="1.5" transform="rotate(45 {x(value):.1f} {yy:.1f})"><title>alpha-binary {label}</title></rect>')


HEAT_COLOURS = ["#f4f6f8", "#c6dbef", "#6baed6", "#2171b5", "#08306b"]
CELL, LEFT, HEAT_TOP = 15, 70, 170  # the heatmap's geometry


def heatmap_chart(matrix: dict, which: str, coder: str, codes: list[dict], reference: list[list[int]] | None = None) -> str:
    """Participants x codes, shaded by occurrences; outlined where presence differs from the reference."""
    people, values = matrix["participants"], matrix[which]
    width, height = LEFT + CELL * len(codes) + 140, HEAT_TOP + CELL * len(people) + 20
    parts = [f'<svg class="chart chart-heatmap" role="img" aria-label="Participants by codes, {escape(coder)}" '
             f'width="{width}" height="{height}" viewBox="0 0 {width} {height}">']
    for j, c in enumerate(codes):
        cx = LEFT + j * CELL + CELL / 2
        weight = "700" if c["depth"] == 0 else "400"
        parts.append(f'<text transform="translate({cx + 3:.1f},{HEAT_TOP - 6}) rotate(-60)" font-size="10" font-weight="{weight}">'
                     f'<title>{escape(c["code"])}</title>{escape(_short(c["code"]))}</text>')
    for i, person in enumerate(people):
        parts.extend(_heatmap_row(i, person, values[i], codes, reference[i] if reference is not None else None))
    parts.extend(_heatmap_legend(LEFT + CELL * len(codes) + 16, reference is not None))
    parts.append("</svg>")
    return "".join(parts)


def _heatmap_row(i: int, person: str, values: list[int], codes: list[dict], reference: list[int] | None) -> list[str]:
    y = HEAT_TOP + i * CELL
    parts = [f'<text x="{LEFT - 6}" y="{y + CELL - 4}" font-size="11" text-anchor="end">{escape(person)}</text>']
    for j, c in enumerate(codes):
        v = int(values[j])
        colour = HEAT_COLOURS[min(v, len(HEAT_COLOURS) - 1)]
        differs = reference is not None and (v > 0) != (int(reference[j]) > 0)
        stroke = ' stroke="#c2571a" stroke-width="2"' if differs else ' stroke="#fff" stroke-width="1"'
        parts.append(f'<rect x="{LEFT + j * CELL}" y="{y}" width="{CELL}" height="{CELL}" fill="{colour}"{stroke}>'
                     f'<title>{escape(person)} · {escape(c["code"])}: {v} occurrence{"s" if v != 1 else ""}'
                     f'{" (presence differs from the reference)" if differs else ""}</title></rect>')
    return parts


def _heatmap_legend(lx: int, outlined: bool) -> list[str]:
    top = HEAT_TOP
    parts = [f'<text x="{lx}" y="{top + 10}" font-size="11" font-weight="600">occurrences</text>']
    for k, colour in enumerate(HEAT_COLOURS):
        label = f"{k}+" if k == len(HEAT_COLOURS) - 1 else str(k)
        parts.append(f'<rect x="{lx}" y="{top + 18 + k * 16}" width="12" height="12" fill="{colour}" stroke="#ccc"/>'
                     f'<text x="{lx + 18}" y="{top + 28 + k * 16}" font-size="11">{label}</text>')
    if outlined:
        y0 = top + 18 + len(HEAT_COLOURS) * 16 + 8
        parts.append(f'<rect x="{lx}" y="{y0}" width="12" height="12" fill="#fff" stroke="#c2571a" stroke-width="2"/>'
                     f'<text x="{lx + 18}" y="{y0 + 10}" font-size="11">presence differs</text>')
    return parts


def evidence_table(pair: dict, codes: list[dict]) -> str:
    """The grade table as the study's evidence table: hierarchy, then spread, depth, grade per coder."""
    a, b = escape(pair["a"]), escape(pair["b"])
    depth = {c["code"]: c["depth"] for c in codes}
    head = (f'<thead><tr><th rowspan="2">Code</th><th colspan="3">{a}</th><th colspan="3">{b}</th><th rowspan="2">Grades match</th></tr>'
            '<tr><th>Spread (share)</th><th>Depth</th><th>Grade</th><th>Spread (share)</th><th>Depth</th><th>Grade</th></tr></thead>')
    body = [_evidence_row(r, depth.get(r["code"], r["code"].count("."))) for r in pair["grade"]["rows"]]
    n = pair["grade"]["rows"][0]["participants"] if pair["grade"]["rows"] else 0
    caption = (f"<caption>Strength of evidence by spread (participants reporting the code, of {n}) and depth "
               "(occurrences per reporting participant); ⚑ depth outside the configured range.</caption>")
    return f'<table class="evidence">{caption}{head}<tbody>{"".join(body)}</tbody></table>'


def _evidence_row(r: dict, d: int) -> str:
    cells = [f'<td class="code" title="{escape(r["code"])}">{escape(r["label"])} <span class="note">{escape(r["code"])}</span></td>']
    for side in ("a", "b"):
        flag = r[f"{side}_flag"]
        cells.append(f'<td>{r[f"{side}_spread"]} ({pct(r[f"{side}_share"])})</td>')
        cells.append(f'<td title="{escape(flag)}">{num(r[f"{side}_depth"])}{" ⚑" if flag else ""}</td>')
        g = r[f"{side}_grade"]
        cells.append(f'<td class="g {GRADE_CLASS.get(g, "g-none")}">{escape(g)}</td>')
    cells.append('<td class="g">yes</td>' if r["match"] else '<td class="g nomatch">no</td>')
    return f'<tr class="d{min(d, 3)}">{"".join(cells)}</tr>'


# -- page --------------------------------------------------------------------------------------
def _details(summary: str, *tables: str) -> str:
    return f"<details><summary>{summary}</summary>" + "".join(tables) + "</details>"


def _level_tables(pair: dict) -> str:
    overlap = f"Overlap match ({round(100 * pair['unitizing']['overlap']['threshold'])}%)"
    return (_details("1. Segment level, per code", _table(*segment_code_table(pair, label=str, note=str)))
            + _details("2. Character level, per code", _table(*character_code_table(pair, label=str)))
            + _details("3. Unitizing, per code and semantic domain", _table(*unit_code_table(pair, str, False, overlap)),
                       _table(*domain_table(pair["unitizing"], full=False)))
            + _details("4. Participant level, per code",
                       _table(*participant_code_table(pair, str, intervals=True, occurrences="Occurrences A / B"))))


def report_html(data: dict) -> str:
    body = [_header_html(data)]
    levels = list(data["levels"])
    for i, pair in enumerate(data["pairs"], 1):
        body.append(_pair_html(i, pair, levels, data))
    if data.get("pooled"):
        pooled = data["pooled"]
        body.append(f'<section id="pooled"><h2>All coders together ({escape(", ".join(pooled["coders"]))})</h2>'
                    + _table(*pooled_table(pooled)) + "</section>")
    body.append(f"<section><h2>Disagreements</h2><p>{data['disagreements']} segments where the coders differ are listed in "
                "<code>disagreements.csv</code> for a reconciliation meeting.</p></section></main>")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{escape(data['title'])}</title><style>{CSS}</style></head><body>"
            + "".join(body) + "</body></html>\n")


def _header_html(data: dict) -> str:
    codes, s = data["codebook"]["codes"], data["settings"]
    return (f"<header><h1>{escape(data['title'])}</h1>"
            f'<p class="meta">Study {escape(data["study"])} · codebook {escape(data["codebook"]["name"])} '
            f'({len(codes)} codes) · reference coder <b>{escape(data["reference"])}</b> · autocode '
            f'{escape(data["autocode_version"])}</p>'
            "<p class=\"meta\">Coders: " + "; ".join(escape(coder_line(c)) for c in data["coders"])
            + f". Intervals: {round(100 * s['ci'])}% percentile bootstrap over participants ({s['n_boot']} replicates). "
            f"Character level over {escape(s['universe'])} text" + (", without text no coder coded" if s["exclude_uncoded"] else "")
            + f"; overlap match at {round(100 * s['overlap_threshold'])}%.</p>"
            + "<nav>" + "".join(f'<a href="#pair-{i}">{escape(p["a"])} vs {escape(p["b"])}</a>'
                                for i, p in enumerate(data["pairs"], 1))
            + ('<a href="#pooled">All coders</a>' if data.get("pooled") else "") + "</nav></header><main>")


def _pair_html(i: int, pair: dict, levels: list[str], data: dict) -> str:
    codes, s = data["codebook"]["codes"], data["settings"]
    matrix = pair["participant"]["matrix"]
    return "".join([
        f'<section id="pair-{i}"><h2>{escape(pair["a"])} (A) vs {escape(pair["b"])} (B)</h2>',
        f'<p class="meta">{len(pair["transcripts"])} transcripts, {pair["participants"]} participants, '
        f'{pair["segment"]["segments"]} segments, {pair["character"]["characters"]:,} characters.</p>',
        *(f'<div class="warning">{escape(w)}</div>' for w in pair["warnings"]),
        "<h3>Summary by level of the hierarchy</h3>",
        _table(headline_rows(pair, levels), HEADLINE_COLUMNS, HEADLINE_HEADERS, "summary"),
        "<h3>Per-code agreement</h3><figure>" + forest_chart(pair, codes)
        + "<figcaption>Segment-level Cohen's kappa (circles) and unitizing alpha-binary (diamonds) with "
        f"{round(100 * s['ci'])}% bootstrap intervals; dashed lines at 0.60 and 0.80.</figcaption></figure>",
        "<h3>Participants by codes</h3>",
        "<figure>" + heatmap_chart(matrix, "a", pair["a"], codes)
        + f"<figcaption>{escape(pair['a'])}: occurrences of each code in each participant's interview.</figcaption></figure>",
        "<figure>" + heatmap_chart(matrix, "b", pair["b"], codes, matrix["a"])
        + f"<figcaption>{escape(pair['b'])}: occurrences; outlined cells: presence differs from "
        f"{escape(pair['a'])}.</figcaption></figure>",
        f"<h3>Grades side by side</h3><p>{escape(grades_sentence(pair))}</p>",
        evidence_table(pair, codes),
        "<h3>Per-code figures</h3>" + _level_tables(pair) + "</section>",
    ])
