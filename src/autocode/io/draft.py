"""A study built in memory by an importer, and the one function that writes it as a folder.

Importers (REFI-QDA, WebVTT, SRT, Word) fill a :class:`StudyDraft`; :func:`write_study` checks
it the way ``load_study`` will (every transcript readable, every span inside its text and on a
known code), picks reader settings the texts need, and writes the folder atomically.

Speakers are mapped to participants the same way for every format (:func:`map_speakers`): a
transcript with one participant speaker is that participant, as before; in a transcript with
several (a focus group), each speaker the importer could not match to a participant (REFI-QDA
cases, see io.refi.people) becomes a participant named after the speaker, and the mapping is
written to ``speakers.csv``.
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
from autocode.io.transcripts import _candidates, is_generic_label, parse_transcript, speaker_key


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
    speakers: dict[str, dict[str, str]] = field(default_factory=dict)
    """transcript id -> {speaker label: participant id}: written as speakers.csv."""


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


def speaker_participant(label: str, tid: str) -> str:
    """The participant id for a speaker the importer found no participant for: the name made
    file-safe (``Dr Anna Reid`` -> ``Dr_Anna_Reid``, so one name in several transcripts is one
    participant), or ``TRANSCRIPT_label`` for a role or number label (``Speaker 2``)."""
    name = safe_name(label, "speaker")
    return f"{tid}_{name}" if is_generic_label(label) else name


def _speaker_labels(text: str, tid: str, labels: list[str]) -> list[str] | None:
    """The participant speakers of one transcript (labels as written, in order of first turn),
    or None when it is declared a one-participant interview or cannot be read.

    A ``[00:01:02] Name:`` line that occurs once is a speaker too: the converters (io.media)
    write every turn that way, and a focus-group member may speak only once.
    """
    if header_participant(text):
        return None
    try:
        transcript = parse_transcript(text, tid, labels)
    except AutocodeError:
        return None
    timed = [label for _, _, _, label, stamp in _candidates(text) if stamp]
    counts = Counter(speaker_key(x) for x in timed)
    once = [x for x in timed if counts[speaker_key(x)] == 1]
    if once:
        transcript = parse_transcript(text, tid, labels, known_speakers=once)
    found: dict[str, str] = {}
    for turn in transcript.turns:
        if not turn.is_interviewer and speaker_key(turn.speaker) not in transcript.declared:
            found.setdefault(speaker_key(turn.speaker), turn.speaker)
    return list(found.values()) if len(found) + len(transcript.declared) > 1 else []


def map_speakers(draft: StudyDraft) -> None:
    """Map every participant speaker of a transcript with several to a participant (see the
    module doc); speakers already in ``draft.speakers`` keep their participant."""
    labels = labels_for(draft)
    for tid, text in draft.texts.items():
        found = _speaker_labels(text, tid, labels)
        if not found:
            continue
        mapped = draft.speakers.setdefault(tid, {})
        known = {speaker_key(x) for x in mapped}
        named = []
        for label in found:
            if speaker_key(label) in known:
                continue
            mapped[label] = speaker_participant(label, tid)
            draft.participants.setdefault(mapped[label], {})
            named.append(label)
            draft.warnings = [w for w in draft.warnings if _single_turn_note(label) not in w]
        if named:
            draft.warnings.append(f"{tid}: {len(found)} participant speakers; each of "
                                  f"{', '.join(repr(x) for x in named)} is a participant named after the speaker "
                                  "(speakers.csv; edit it to merge or rename)")
        if not draft.participants.get(tid) and not _still_a_participant(draft, tid):
            draft.participants.pop(tid, None)  # the placeholder row of a transcript that has speakers instead


def _still_a_participant(draft: StudyDraft, pid: str) -> bool:
    if any(pid in mapping.values() for mapping in draft.speakers.values()):
        return True
    return any(tid == pid and not draft.speakers.get(tid) or header_participant(text) == pid
               for tid, text in draft.texts.items())


def _single_turn_note(label: str) -> str:
    from autocode.io.media import single_turn_note

    return single_turn_note(label)


def speakers_csv(speakers: dict[str, dict[str, str]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["transcript", "speaker", "participant"])
    for tid, mapping in speakers.items():
        for label, pid in mapping.items():
            writer.writerow([tid, label, pid])
    return buffer.getvalue()


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
    map_speakers(draft)
    with output_dir(out, force, protected=[draft.source]) as tmp:
        for tid, text in draft.texts.items():
            _write(tmp / "transcripts" / f"{tid}.txt", text)
        for coder, spans in draft.codings.items():
            _write(tmp / "codings" / f"{coder}.jsonl", spans_to_jsonl(sorted(spans), draft.texts))
        if draft.codebook is not None:
            _write(tmp / "codebook.yaml", _yaml(draft.codebook))
        if draft.participants:
            _write(tmp / "participants.csv", participants_csv(draft.participants))
        if any(draft.speakers.values()):
            _write(tmp / "speakers.csv", speakers_csv(draft.speakers))
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
