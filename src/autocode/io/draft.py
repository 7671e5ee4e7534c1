"""A study built in memory by an importer, and the one function that writes it as a folder.

Importers (REFI-QDA, WebVTT, SRT, Word) fill a :class:`StudyDraft`; :func:`write_study` checks
it the way ``load_study`` will (every transcript readable, every span inside its text and on a
known code), picks reader settings the texts need, and writes the folder atomically.
"""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from autocode.config import DEFAULT_INTERVIEWER_LABELS
from autocode.errors import AutocodeError
from autocode.io.atomic import output_dir
from autocode.io.codings import Span, spans_to_jsonl
from autocode.io.transcripts import parse_transcript


@dataclass
class StudyDraft:
    source: Path
    kind: str
    name: str
    texts: dict[str, str] = field(default_factory=dict)
    """transcript id -> normalised text (LF newlines, no BOM)."""
    codebook: dict | None = None
    codings: dict[str, list[Span]] = field(default_factory=dict)
    participants: dict[str, dict[str, str]] = field(default_factory=dict)
    interviewers: list[str] = field(default_factory=list)
    """Speaker labels to add to reader.interviewer_labels."""
    ignored: Counter = field(default_factory=Counter)
    warnings: list[str] = field(default_factory=list)
    guid_map: dict[str, str] = field(default_factory=dict)
    """REFI code GUID -> autocode code id."""
    details: dict = field(default_factory=dict)


@dataclass
class ImportResult:
    out: Path
    kind: str
    transcripts: list[str]
    codes: int
    codings: dict[str, int]
    participants: int
    unlabelled: bool
    interviewers: list[str]
    ignored: dict[str, int]
    warnings: list[str]
    guid_map: dict[str, str]

    def summary(self) -> str:
        """A few lines for the command line."""
        coded = ", ".join(f"{c}: {n}" for c, n in sorted(self.codings.items())) or "none"
        lines = [f"imported {self.kind} into {self.out}: {len(self.transcripts)} transcripts, "
                 f"{self.codes} codes, codings ({coded})"]
        lines += [f"ignored {n} {why}" for why, n in sorted(self.ignored.items())]
        return "\n".join(lines + self.warnings)


def slug(text: str, fallback: str = "code") -> str:
    """A lower-case identifier of letters, digits and underscores."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    out = re.sub(r"[^a-z0-9]+", "_", ascii_text.lower()).strip("_")
    return out[:60].rstrip("_") or fallback


def safe_name(text: str, fallback: str) -> str:
    """A file-name stem (transcript id, coder name) that keeps the name readable."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    out = re.sub(r"[^A-Za-z0-9_\-.]+", "_", ascii_text).strip("._ ")
    return out[:80] or fallback


def unique(name: str, taken: set[str]) -> str:
    """``name``, or ``name-2``, ``name-3``... whichever is not yet taken (case-insensitively)."""
    lowered = {t.lower() for t in taken}
    candidate, n = name, 1
    while candidate.lower() in lowered:
        n += 1
        candidate = f"{name}-{n}"
    taken.add(candidate)
    return candidate


_HEADER_PARTICIPANT = re.compile(r"^#+[ \t]*participant[ \t]*:[ \t]*(.*?)[ \t]*$", re.IGNORECASE)


def header_participant(text: str) -> str | None:
    """The ``# participant: ID`` of a transcript's header lines, if it has one."""
    for line in text.split("\n"):
        if not line.strip():
            continue
        if not line.lstrip().startswith("#"):
            break
        match = _HEADER_PARTICIPANT.match(line)
        if match and match.group(1):
            return match.group(1)
    return None


def labels_for(draft: StudyDraft) -> list[str]:
    extra = [x for x in draft.interviewers if x.lower() not in DEFAULT_INTERVIEWER_LABELS]
    return list(DEFAULT_INTERVIEWER_LABELS) + extra


def needs_unlabelled(draft: StudyDraft) -> bool:
    """Whether some transcript has no speaker labels (and so needs reader.unlabelled)."""
    labels = labels_for(draft)
    for tid, text in draft.texts.items():
        try:
            parse_transcript(text, tid, labels)
        except AutocodeError:
            return True
    return False


def guess_interviewers(draft: StudyDraft) -> None:
    """Name the interviewer where no default interviewer label is used: the speaker who asks
    (turns holding a question mark) most, when that is at least half of their turns."""
    for tid, text in draft.texts.items():
        try:
            transcript = parse_transcript(text, tid, labels_for(draft))
        except AutocodeError:
            continue
        if any(t.is_interviewer for t in transcript.turns):
            continue
        asks: dict[str, list[int]] = {}
        for turn in transcript.turns:
            asks.setdefault(turn.speaker, [0, 0])
            asks[turn.speaker][0] += "?" in transcript.turn_text(turn)
            asks[turn.speaker][1] += 1
        if len(asks) < 2:
            continue
        share = {s: q / n for s, (q, n) in asks.items()}
        best = max(share, key=lambda s: (share[s], asks[s][0]))
        if share[best] >= 0.5 and sorted(share.values())[-2] < share[best]:
            draft.interviewers.append(best)
            draft.warnings.append(
                f"{tid}: took {best!r} for the interviewer (asks the most questions); "
                "edit reader.interviewer_labels in study.yaml if that is wrong"
            )


def check_draft(draft: StudyDraft, code_ids: set[str]) -> None:
    """Fail with a clear message on anything load_study would refuse."""
    for coder, spans in draft.codings.items():
        for span in spans:
            text = draft.texts.get(span.transcript)
            if text is None or not 0 <= span.start < span.end <= len(text) or span.code not in code_ids:
                raise AutocodeError(f"internal import error: bad span {span} for coder {coder}", draft.source)


def study_settings(draft: StudyDraft, unlabelled: bool) -> dict:
    settings: dict = {"name": draft.name}
    if draft.codebook is not None:
        settings["codebook"] = "codebook.yaml"
    reader: dict = {}
    if draft.interviewers:
        reader["interviewer_labels"] = labels_for(draft)
    if unlabelled:
        reader["unlabelled"] = "participant"
    if reader:
        settings["config"] = {"reader": reader}
    return settings


def participants_csv(people: dict[str, dict[str, str]]) -> str:
    columns: list[str] = []
    for attrs in people.values():
        columns += [c for c in attrs if c not in columns and c != "participant_id"]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["participant_id", *columns])
    for pid, attrs in people.items():
        writer.writerow([pid, *(attrs.get(c, "") for c in columns)])
    return buffer.getvalue()


def write_study(draft: StudyDraft, out_dir: str | Path, force: bool = False) -> ImportResult:
    """Write ``draft`` as a study folder at ``out_dir`` (atomically; see io.atomic)."""
    out = Path(out_dir)
    codes = _code_ids(draft.codebook)
    check_draft(draft, codes)
    if draft.texts and not draft.interviewers:
        guess_interviewers(draft)
    unlabelled = needs_unlabelled(draft) if draft.texts else False
    with output_dir(out, force, protected=[draft.source]) as tmp:
        for tid, text in draft.texts.items():
            _write(tmp / "transcripts" / f"{tid}.txt", text)
        for coder, spans in draft.codings.items():
            _write(tmp / "codings" / f"{coder}.jsonl", spans_to_jsonl(sorted(spans), draft.texts))
        if draft.codebook is not None:
            _write(tmp / "codebook.yaml", _yaml(draft.codebook))
        if draft.participants:
            _write(tmp / "participants.csv", participants_csv(draft.participants))
        if draft.texts:
            _write(tmp / "study.yaml", _yaml(study_settings(draft, unlabelled)))
        _write(tmp / "import.json", json.dumps(_record(draft), indent=2, ensure_ascii=False) + "\n")
    return ImportResult(out, draft.kind, list(draft.texts), len(codes),
                        {c: len(s) for c, s in draft.codings.items()}, len(draft.participants), unlabelled,
                        list(draft.interviewers), dict(draft.ignored), list(draft.warnings), dict(draft.guid_map))


def _yaml(value: dict) -> str:
    return yaml.safe_dump(value, sort_keys=False, allow_unicode=True)


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode("utf-8"))


def _code_ids(book: dict | None) -> set[str]:
    ids: set[str] = set()
    stack = list((book or {}).get("codes", []))
    while stack:
        code = stack.pop()
        ids.add(code["id"])
        stack.extend(code.get("children", []))
    return ids


def _record(draft: StudyDraft) -> dict:
    return {"imported_from": str(draft.source.name), "kind": draft.kind, "ignored": dict(draft.ignored),
            "warnings": draft.warnings, "code_guids": draft.guid_map, **draft.details}
