"""Figures for the corpus datasheet (training_data/README.md): counts, spreads, agreement.

    .venv/bin/python scripts/corpus_stats.py > /tmp/stats.md
"""

from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path

from autocode.io.study import load_study
from autocode.pipeline import agree, grade_study

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "training_data"


def main() -> None:
    study = load_study(CORPUS)
    book = study.codebook
    words = sum(len(t.turn_text(u).split()) for t in study.transcripts for u in t.turns)
    pwords = sum(len(t.turn_text(u).split()) for t in study.transcripts for u in t.turns if not u.is_interviewer)
    spans = study.codings["coder_a"]
    by_id = {t.id: t for t in study.transcripts}

    def speaker_of(span):  # the participant whose turn holds the span (focus groups have several)
        t = by_id[span.transcript]
        turn = next(u for u in t.turns if u.start <= span.start < u.end)
        return t.participant_of(turn)

    occ, people = Counter(), defaultdict(set)
    for s in spans:
        for code in [s.code] + book.ancestors(s.code):
            occ[code] += 1
            people[code].add(speaker_of(s))
    coded = total = 0
    by_t = defaultdict(list)
    for s in spans:
        by_t[s.transcript].append(s)
    for t in study.transcripts:
        mask = bytearray(len(t.text))
        for s in by_t[t.id]:
            mask[s.start : s.end] = b"\x01" * (s.end - s.start)
        for u in t.turns:
            if not u.is_interviewer:
                chars = [(m, c) for m, c in zip(mask[u.start : u.end], t.text[u.start : u.end]) if not c.isspace()]
                total += len(chars)
                coded += sum(m for m, _ in chars)
    settings = Counter(t.setting for t in study.transcripts)
    print(f"- transcripts: {len(study.transcripts)} ({settings['interview']} interviews, {settings['focus group']} focus groups), "
          f"participants: {len(study.participants)}; words: {words:,} (participants {pwords:,}); "
          f"first-coder codings: {len(spans)}")
    print("- codings per dimension: " + ", ".join(f"{d} {occ[d]}" for d in book.at_depth(0)))
    fine = {c: occ[c] for c in book.leaves()}
    smallest = min(fine, key=fine.get)
    print(f"- smallest fine-code count: {fine[smallest]} ({smallest})")
    print(f"- uncoded share of participant text (non-space characters): {1 - coded / total:.1%}")
    grades = {r.code: r for r in grade_study(CORPUS, CORPUS / "codings" / "coder_a.jsonl") if r.group == "all"}
    print("\n| code | codings | participants | share | depth (runs) | grade |\n|---|---|---|---|---|---|")
    for code in book.ids:
        g = grades[code]
        indent = "&nbsp;" * 4 * code.count(".")
        print(f"| {indent}{code} | {occ[code]} | {len(people[code])} | {g.share:.0%} | {g.depth or 0:.2f} | {g.grade} |")
    if "coder_b" in study.codings:
        rows, summary, n = agree(CORPUS, CORPUS / "codings" / "coder_a.jsonl", CORPUS / "codings" / "coder_b.jsonl")
        print(f"\nAgreement of coder_a and coder_b on the {n} interviews both coded (default segments: windows of two sentences):\n")
        print("| level | codes | macro-F1 | micro-F1 | mean kappa | mean % agreement |\n|---|---|---|---|---|---|")
        for level, v in summary.items():
            print(f"| {level} | {v['codes']} | {v['macro_f1']:.3f} | {v['micro_f1']:.3f} | {v['kappa']:.3f} | {v['percent']:.3f} |")


if __name__ == "__main__":
    main()
