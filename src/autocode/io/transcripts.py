"""Read speaker-labelled transcripts (plain text and Markdown) into turns with character spans.

The text a reader returns is the file decoded (UTF-8, UTF-8 with BOM, or cp1252 with a
warning), with the BOM removed and every ``\\r\\n`` or lone ``\\r`` replaced by ``\\n``. All
offsets in autocode (turns, segments, human codings) are 0-based, end-exclusive Unicode
character positions into that text. Speaker labels and a turn's leading timestamp lie outside
the turn's span.
"""

from __future__ import annotations

import hashlib
import re
import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from autocode.errors import AutocodeError

TRANSCRIPT_SUFFIXES = {".txt", ".md", ".markdown"}

_TIME = r"\d{1,2}:\d{2}(?::\d{2})?(?:[.,]\d{1,3})?"
_LABEL = r"[A-Za-z][A-Za-z0-9.'\- ]{0,39}?"
_LINE = re.compile(
    rf"^[ \t]*(?:[\[(](?P<ts>{_TIME})[\])][ \t]*)?"
    rf"(?:\*\*(?P<md>{_LABEL}):?\*\*:?|\[(?P<br>{_LABEL})\](?=[ \t]*$)|(?P<pl>{_LABEL}):(?=[ \t]|$))"
    rf"[ \t]*(?:[\[(](?P<ts2>{_TIME})[\])])?[ \t]*"
)
_HEADER = re.compile(r"^#+[ \t]*(?P<key>[A-Za-z][\w \-]*?)[ \t]*:[ \t]*(?P<value>.*?)[ \t]*$")
_PARTICIPANT_LIKE = re.compile(r"^(a|r|p\d+|resp|respondent|participant|interviewee)$", re.IGNORECASE)


@dataclass(frozen=True)
class Turn:
    index: int
    speaker: str
    is_interviewer: bool
    start: int
    end: int
    timestamp: str | None = None


@dataclass
class Transcript:
    id: str
    text: str
    turns: list[Turn]
    participant: str
    path: Path | None = None
    header: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()

    def turn_text(self, turn: Turn) -> str:
        return self.text[turn.start : turn.end]


def decode(data: bytes, path: Path | None = None) -> tuple[str, list[str]]:
    """Decode transcript bytes and normalise newlines; return the text and any warnings."""
    if not data.strip():
        raise AutocodeError("file is empty; expected a speaker-labelled transcript", path)
    sample = data[:4096]
    controls = sum(b < 9 or 13 < b < 32 for b in sample)
    if b"\x00" in sample or controls > len(sample) * 0.05:
        raise AutocodeError(
            "file looks binary, not a text transcript; export it as plain text (.txt) first", path
        )
    notes = []
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = data.decode("cp1252")
        except UnicodeDecodeError:
            raise AutocodeError("file is neither UTF-8 nor cp1252 text; re-save it as UTF-8", path) from None
        notes.append(f"{path}: not UTF-8; read as cp1252 (Windows). Re-save it as UTF-8 to silence this.")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise AutocodeError("file holds only white space; expected a speaker-labelled transcript", path)
    return text, notes


def _candidates(text: str) -> list[tuple[int, int, int, str, str | None]]:
    """Every line that starts like a turn: (line start, line end, content start, label, time)."""
    found = []
    pos = 0
    for line in text.split("\n"):
        match = _LINE.match(line)
        if match:
            label = (match.group("md") or match.group("br") or match.group("pl")).strip()
            ts = match.group("ts") or match.group("ts2")
            if len(label.split()) <= 5:
                found.append((pos, pos + len(line), pos + match.end(), label, ts))
        pos += len(line) + 1
    return found


def _norm(label: str) -> str:
    return label.strip().rstrip(".").lower()


def parse_transcript(
    text: str,
    transcript_id: str,
    interviewer_labels: list[str],
    path: Path | None = None,
    unlabelled: str = "error",
) -> Transcript:
    """Split normalised transcript text into turns. See the module docstring for offsets.

    ``unlabelled="participant"`` reads a text with no speaker labels at all as one
    participant turn per paragraph (``reader.unlabelled`` in the settings).
    """
    interviewers = {_norm(x) for x in interviewer_labels}
    header = _read_header(text)
    found = _candidates(text)
    counts = Counter(_norm(label) for *_, label, _ in found)
    participant_id = header.get("participant", transcript_id)

    def is_speaker(label: str) -> bool:
        key = _norm(label)
        return (
            key in interviewers
            or counts[key] >= 2
            or bool(_PARTICIPANT_LIKE.match(key))
            or key == participant_id.lower()
        )

    starts = [f for f in found if is_speaker(f[3])]
    if not starts and unlabelled == "participant":
        turns = _paragraph_turns(text, participant_id)
        if turns:
            return Transcript(transcript_id, text, turns, participant_id, path, header)
    if not starts:
        raise AutocodeError(
            "no speaker turns found; expected lines like 'Interviewer: ...' and 'P01: ...' "
            "(or Q:/A:, [Name], **Name:**). Add speaker labels or set reader.interviewer_labels",
            path,
        )
    turns = []
    for i, (_, _, content_start, label, ts) in enumerate(starts):
        end = starts[i + 1][0] if i + 1 < len(starts) else len(text)
        start = content_start
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        turns.append(Turn(i, label, _norm(label) in interviewers, start, end, ts))
    if all(t.is_interviewer for t in turns):
        raise AutocodeError(
            "only interviewer turns found; participant talk needs its own speaker label "
            "(check reader.interviewer_labels)",
            path,
        )
    return Transcript(transcript_id, text, turns, participant_id, path, header)


_PARAGRAPH = re.compile(r"[^\n]*\S[^\n]*(?:\n[ \t]*\S[^\n]*)*")
_LEAD_TIME = re.compile(rf"[\[(](?P<ts>{_TIME})[\])][ \t]*")


def _paragraph_turns(text: str, speaker: str) -> list[Turn]:
    """One participant turn per paragraph (blank-line separated), after any header lines.

    A leading ``[00:01:02]`` timestamp is kept as the turn's timestamp, outside its span.
    """
    turns: list[Turn] = []
    in_header = True
    for match in _PARAGRAPH.finditer(text):
        start, end = match.start(), match.end()
        if in_header:
            lines = match.group().split("\n")
            if all(line.lstrip().startswith("#") for line in lines):
                continue  # header lines and Markdown titles at the top
            in_header = False
        while text[start].isspace():
            start += 1
        stamp = _LEAD_TIME.match(text, start, end)
        timestamp = stamp.group("ts") if stamp else None
        if stamp:
            start = stamp.end()
        while end > start and text[end - 1].isspace():
            end -= 1
        if end > start:
            turns.append(Turn(len(turns), speaker, False, start, end, timestamp))
    return turns


def _read_header(text: str) -> dict[str, str]:
    """Leading ``# key: value`` lines (before any other content) as a lower-case-keyed dict."""
    header = {}
    for line in text.split("\n"):
        if not line.strip():
            continue
        match = _HEADER.match(line)
        if not match:
            if line.lstrip().startswith("#"):
                continue  # a Markdown title
            break
        header[match.group("key").strip().lower()] = match.group("value")
    return header


def read_transcript(path: str | Path, interviewer_labels: list[str], unlabelled: str = "error") -> Transcript:
    """Read one transcript file. Its id is the file name without its extension.

    ``unlabelled`` is ``reader.unlabelled``: see :func:`parse_transcript`.
    """
    path = Path(path)
    if path.suffix.lower() not in TRANSCRIPT_SUFFIXES:
        raise AutocodeError(
            f"unsupported transcript type {path.suffix or '(none)'}; expected "
            f"{', '.join(sorted(TRANSCRIPT_SUFFIXES))}. Convert it or move it out of the folder",
            path,
        )
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise AutocodeError(f"cannot read file ({exc.strerror}); check that it exists and is readable", path) from None
    text, notes = decode(data, path)
    for note in notes:
        warnings.warn(note, stacklevel=2)
    transcript = parse_transcript(text, path.stem, interviewer_labels, path, unlabelled)
    transcript.warnings.extend(notes)
    return transcript
