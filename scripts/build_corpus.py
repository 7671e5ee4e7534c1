"""Turn the authored corpus (transcripts with inline code tags) into the shipped study folder.

Authoring markup: the transcript text exactly as it should be shipped, with a code's span opened
by ``{{code.id}}`` and closed by ``{{/code.id}}``. Spans of different codes may overlap or nest;
a code cannot overlap itself. Tags are removed, and each span is trimmed of surrounding white
space. Offsets are 0-based, end-exclusive Unicode character positions into the shipped text.

    python scripts/build_corpus.py                 # build training_data/ from corpus_src/
    python scripts/build_corpus.py --check FILE... # report on authored files without writing

Interviews (``corpus_src/interviews``) are checked against the coding plan. Focus groups
(``corpus_src/focus_groups``, ``# setting: focus group``) have no plan: they map each speaker
label to a participant with ``# speaker: LABEL = ID`` header lines, which ship with the
transcript, and the check reports each speaker's words and codes and refuses a span outside
one participant turn, an unmapped speaker, a participant missing from participants.csv, and
two occurrences of one code by one participant inside a single turn.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))  # the transcript reader (no third-party imports)
SRC = ROOT / "corpus_src"
OUT = ROOT / "training_data"
TAG = re.compile(r"\{\{(/?)([A-Za-z_.]+)\}\}")
# authored source folder -> coder name in the shipped codings
CODERS = {"interviews": "coder_a", "second_coder": "coder_b", "focus_groups": "coder_a"}


def parse(source: str, path: Path) -> tuple[str, list[tuple[int, int, str]]]:
    """Strip tags from ``source``; return the plain text and its (start, end, code) spans."""
    plain: list[str] = []
    pos = 0
    length = 0
    open_at: dict[str, int] = {}
    spans = []
    for match in TAG.finditer(source):
        chunk = source[pos : match.start()]
        plain.append(chunk)
        length += len(chunk)
        pos = match.end()
        closing, code = match.group(1) == "/", match.group(2)
        line = source.count("\n", 0, match.start()) + 1
        if not closing:
            if code in open_at:
                raise ValueError(f"{path}:{line}: {code} opened again before it was closed")
            open_at[code] = length
        else:
            if code not in open_at:
                raise ValueError(f"{path}:{line}: {code} closed but never opened")
            spans.append((open_at.pop(code), length, code))
    plain.append(source[pos:])
    if open_at:
        raise ValueError(f"{path}: never closed: {', '.join(sorted(open_at))}")
    text = "".join(plain)
    trimmed = []
    for start, end, code in spans:
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if start == end:
            raise ValueError(f"{path}: empty span for {code}")
        trimmed.append((start, end, code))
    return text, sorted(trimmed)


def valid_codes() -> set[str]:
    sys.path.insert(0, str(ROOT / "scripts"))
    from corpus_plan import PLAN

    codes = set()
    for category, (_, _, fine, _) in PLAN.items():
        codes.add(category)
        codes.update(f"{category}.{c}" for c in fine)
    return codes


def check(paths: list[Path]) -> int:
    codes = valid_codes()
    plan: dict[str, Counter] = {}
    with open(SRC / "plan.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            plan.setdefault(row["participant_id"], Counter())[row["code"]] = int(row["occurrences"])
    status = 0
    for path in paths:
        try:
            text, spans = parse(path.read_text(encoding="utf-8"), path)
        except ValueError as exc:
            print(f"ERROR {exc}")
            status = 1
            continue
        unknown = sorted({c for _, _, c in spans} - codes)
        if unknown:
            print(f"ERROR {path}: unknown codes {unknown}")
            status = 1
        covered = set()
        for start, end, _ in spans:
            covered.update(range(start, end))
        words = len(text.split())
        print(f"{path.name}: {words} words, {len(spans)} spans, {len(covered) / max(len(text), 1):.0%} of characters coded")
        if is_focus_group(path, text):
            status |= check_focus_group(path, text, spans, covered)
            continue
        got = Counter(c for _, _, c in spans)
        want = plan.get(path.stem, Counter())
        for code in sorted(set(got) | set(want)):
            mark = "" if got[code] == want[code] else "   <-- plan says %d" % want[code]
            print(f"   {code}: {got[code]}{mark}")
    return status


def is_focus_group(path: Path, text: str) -> bool:
    return path.parent.name == "focus_groups" or "# setting: focus group" in text.split("\n\n", 1)[0]


def participant_ids() -> set[str]:
    with open(OUT / "participants.csv", newline="", encoding="utf-8") as fh:
        return {row["participant_id"] for row in csv.DictReader(fh)}


def check_focus_group(path: Path, text: str, spans: list[tuple[int, int, str]], covered: set[int]) -> int:
    """Per-speaker report and the focus-group rules (module doc); 1 on any error."""
    from autocode.config import DEFAULT_INTERVIEWER_LABELS
    from autocode.errors import AutocodeError
    from autocode.io.transcripts import parse_transcript, resolve_speakers

    try:
        transcript = parse_transcript(text, path.stem, DEFAULT_INTERVIEWER_LABELS, path)
        resolve_speakers(transcript)
    except AutocodeError as exc:
        print(f"ERROR {exc}")
        return 1
    status = 0
    known = participant_ids()
    turns = [t for t in transcript.turns if not t.is_interviewer]
    words: Counter = Counter()
    chars = coded = 0
    for turn in turns:
        body = text[turn.start : turn.end]
        words[transcript.participant_of(turn)] += len(body.split())
        chars += sum(not c.isspace() for c in body)
        coded += sum(not text[i].isspace() for i in range(turn.start, turn.end) if i in covered)
    per_turn: Counter = Counter()
    codes: dict[str, Counter] = {}
    for start, end, code in spans:
        turn = next((t for t in turns if t.start <= start and end <= t.end), None)
        if turn is None:
            print(f"ERROR {path}: {code} span at {start}-{end} is not inside one participant turn")
            status = 1
            continue
        pid = transcript.participant_of(turn)
        per_turn[(turn.index, code)] += 1
        codes.setdefault(pid, Counter())[code] += 1
    for (index, code), n in per_turn.items():
        if n > 1:
            print(f"ERROR {path}: turn {index} holds {n} occurrences of {code}; put each in its own turn")
            status = 1
    facilitator_words = sum(len(text[t.start : t.end].split()) for t in transcript.turns if t.is_interviewer)
    print(f"   participants: {len(transcript.participants)}; participant words {sum(words.values())}, "
          f"facilitator words {facilitator_words}; uncoded share of participant text {1 - coded / max(chars, 1):.0%}")
    for pid in transcript.participants:
        mark = "" if pid in known else "   <-- ERROR: not in training_data/participants.csv"
        status |= bool(mark)
        listed = ", ".join(f"{c}{'' if n == 1 else f' x{n}'}" for c, n in sorted(codes.get(pid, {}).items()))
        print(f"   {pid}: {words[pid]} words; {listed or 'no codes'}{mark}")
    return status


def build() -> None:
    (OUT / "transcripts").mkdir(parents=True, exist_ok=True)
    (OUT / "codings").mkdir(parents=True, exist_ok=True)
    texts: dict[str, str] = {}
    records: dict[str, list[dict]] = {}
    for folder, coder in CODERS.items():
        for path in sorted((SRC / folder).glob("*.txt")):
            text, spans = parse(path.read_text(encoding="utf-8"), path)
            tid = path.stem
            if tid in texts and texts[tid] != text:
                raise SystemExit(f"{path}: its text differs from the first coder's text for {tid}")
            texts[tid] = text
            for start, end, code in spans:
                records.setdefault(coder, []).append(
                    {"transcript": tid, "start": start, "end": end, "code": code, "coder": coder, "text": text[start:end]}
                )
    for tid, text in texts.items():
        (OUT / "transcripts" / f"{tid}.txt").write_text(text, encoding="utf-8", newline="\n")
    for coder, rows in records.items():
        with open(OUT / "codings" / f"{coder}.jsonl", "w", encoding="utf-8", newline="\n") as fh:
            for row in rows:
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"wrote {len(texts)} transcripts and {sum(map(len, records.values()))} codings")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", nargs="+", type=Path)
    args = parser.parse_args()
    if args.check:
        raise SystemExit(check(args.check))
    build()


if __name__ == "__main__":
    main()
