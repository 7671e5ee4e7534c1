"""Turn captions (WebVTT, SRT) and Word transcripts (.docx) into speaker-labelled text.

The result is what autocode's transcript reader reads: one turn per paragraph, written as
``[00:01:02] Name: text``, with a blank line between turns. Consecutive cues or paragraphs of
one speaker are merged into one turn whose timestamp is that of its first cue.

Speakers come from Zoom's ``Name: text`` cues, Teams' ``<v Name>`` voice tags, a Word
paragraph's ``Name:`` prefix or bold opening run (or a bold name on its own line), or a
``Name  00:01`` line above the text. A ``Name:`` prefix counts as a speaker only when it
occurs at least twice in the file, or is an interviewer or participant label, so "Honestly:
..." stays text. Names are written in the label alphabet the reader accepts (ASCII letters,
digits, spaces and ``.'-``). Captions with no speakers at all become paragraphs split at
pauses of two seconds or more (read with ``reader.unlabelled: participant``).

Speakers stay names here: ``autocode import`` maps them to participants for every format in
one place (io.draft.map_speakers): with several participant speakers (a focus group on Zoom or
Teams), each name becomes a participant, listed in the study's speakers.csv.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from autocode.config import DEFAULT_INTERVIEWER_LABELS
from autocode.errors import AutocodeError
from autocode.io.safe import DEFAULT_LIMITS, Limits, SafeZip, check_file_size

_TIMING = re.compile(r"(?P<start>(?:\d+:)?\d{1,2}:\d{2}[.,]\d{1,3})\s*-->\s*(?P<end>(?:\d+:)?\d{1,2}:\d{2}[.,]\d{1,3})")
_VOICE = re.compile(r"<v(?:\.[^\s>]*)?\s+([^>]+)>")
_TAG = re.compile(r"<[^>]*>|\{\\[^}]*\}")
_PREFIX = re.compile(r"^(?P<label>[^\W\d_][\w.'\u2019\- ]{0,39}?)\s*:\s+(?P<rest>\S.*)$", re.DOTALL)
_STAMP = re.compile(r"^[\[(]?(?P<ts>\d{1,2}:\d{2}(?::\d{2})?)(?:[.,]\d+)?[\])]?\s+(?P<rest>.*)$", re.DOTALL)
_NAME_TIME = re.compile(r"^(?P<label>[^\W\d_][\w.'\u2019\- ]{0,39}?)\s{2,}(?P<ts>\d{1,2}:\d{2}(?::\d{2})?)\s*$")
_PARTICIPANT_LIKE = re.compile(r"^(a|r|p\d+|resp|respondent|participant|interviewee)$", re.IGNORECASE)
PAUSE_SECONDS = 2.0


@dataclass
class Unit:
    """One cue or paragraph: its start time (seconds), speaker (if any) and text."""

    text: str
    start: float | None = None
    speaker: str | None = None
    candidate: str | None = None
    """A ``Name:`` prefix that becomes the speaker if the file confirms it is a label."""
    end: float | None = None


@dataclass
class Converted:
    text: str
    speakers: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


# -- captions -------------------------------------------------------------------------------
def seconds(stamp: str) -> float:
    parts = stamp.replace(",", ".").split(":")
    value = 0.0
    for part in parts:
        value = value * 60 + float(part)
    return value


def clock(value: float | None) -> str:
    if value is None:
        return ""
    whole = int(value)
    return f"[{whole // 3600:02d}:{whole // 60 % 60:02d}:{whole % 60:02d}] "


def decode_text(data: bytes, path: Path, what: str) -> str:
    if not data.strip():
        raise AutocodeError(f"file is empty; expected {what}", path)
    if b"\x00" in data[:4096]:
        raise AutocodeError(f"file looks binary (or UTF-16); expected {what} saved as UTF-8 text", path)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _cue(lines: list[str]) -> Unit | None:
    for i, line in enumerate(lines):
        timing = _TIMING.search(line)
        if timing:
            payload = " ".join(x.strip() for x in lines[i + 1 :] if x.strip())
            voice = _VOICE.search(payload)
            text = " ".join(html.unescape(_TAG.sub("", payload)).split())
            unit = Unit(text, seconds(timing["start"]), end=seconds(timing["end"]))
            if voice:
                unit.speaker = " ".join(html.unescape(voice.group(1)).split())
            else:
                _candidate(unit)
            return unit if unit.text else None
    return None


def _candidate(unit: Unit) -> None:
    match = _PREFIX.match(unit.text)
    if match and len(match["label"].split()) <= 5:
        unit.candidate, unit.text = match["label"].strip(), match["rest"].strip()


def parse_captions(text: str, path: Path, kind: str) -> list[Unit]:
    """Cues of a WebVTT (``kind="vtt"``) or SRT file, in order."""
    blocks = [b.split("\n") for b in re.split(r"\n[ \t]*\n", text.strip()) if b.strip()]
    if kind == "vtt":
        if not blocks or not blocks[0][0].lstrip("\ufeff").startswith("WEBVTT"):
            raise AutocodeError("not a WebVTT file: the first line must be 'WEBVTT'; export captions as .vtt", path)
        blocks = [b for b in blocks[1:] if not re.match(r"^(NOTE|STYLE|REGION)\b", b[0])]
    units = [u for u in (_cue(b) for b in blocks) if u is not None]
    if not units:
        raise AutocodeError(f"no cues with text found; expected {kind.upper()} cues like "
                            "'00:00:01.000 --> 00:00:04.000' followed by text", path)
    return units


# -- speakers and turns ---------------------------------------------------------------------
def confirm_speakers(units: list[Unit]) -> None:
    """Make a ``Name:`` prefix the speaker when it is a label (see module doc), else text."""
    counts = Counter(u.candidate.lower() for u in units if u.candidate)
    interviewers = set(DEFAULT_INTERVIEWER_LABELS)
    for unit in units:
        if unit.candidate is None:
            continue
        key = unit.candidate.lower()
        if counts[key] >= 2 or key in interviewers or _PARTICIPANT_LIKE.match(key):
            unit.speaker = unit.candidate
        else:
            unit.text = f"{unit.candidate}: {unit.text}"
        unit.candidate = None


def label(name: str) -> str:
    """``name`` in the alphabet of the reader's speaker labels (at most five words)."""
    name = re.sub(r"\([^)]*\)|\[[^\]]*\]", " ", name).strip()
    if name.count(",") == 1:  # Teams writes "Surname, Forename"
        last, first = name.split(",")
        name = f"{first.strip()} {last.strip()}"
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    words = re.sub(r"[^A-Za-z0-9.'\- ]+", " ", ascii_name).split()[:5]
    out = " ".join(words)[:40].strip(" .-'")
    if not out or not out[0].isalpha():
        out = f"Speaker {out}".strip()
    return out


def merge_turns(units: list[Unit], joiner: str = " ") -> list[Unit]:
    """Merge consecutive units of one speaker; a unit with no speaker continues the turn before it."""
    turns: list[Unit] = []
    for unit in units:
        if turns and (unit.speaker is None or unit.speaker == turns[-1].speaker):
            turns[-1].text += joiner + unit.text
            turns[-1].end = unit.end
        else:
            turns.append(Unit(unit.text, unit.start, unit.speaker, end=unit.end))
    return turns


def split_pauses(units: list[Unit]) -> list[Unit]:
    """Unlabelled captions: one paragraph per run of cues without a long pause."""
    out: list[Unit] = []
    for unit in units:
        gap = None if not out or out[-1].end is None or unit.start is None else unit.start - out[-1].end
        if out and (gap is None or gap < PAUSE_SECONDS):
            out[-1].text += " " + unit.text
            out[-1].end = unit.end
        else:
            out.append(Unit(unit.text, unit.start, None, end=unit.end))
    return out


def render(turns: list[Unit]) -> Converted:
    """The speaker-labelled text of ``turns`` and notes on speakers the reader may miss."""
    names = {t.speaker: label(t.speaker) for t in turns if t.speaker}
    lines = []
    for turn in turns:
        prefix = f"{names[turn.speaker]}: " if turn.speaker else ""
        lines.append(f"{clock(turn.start)}{prefix}{turn.text.strip()}")
    result = Converted("\n\n".join(lines) + "\n", list(dict.fromkeys(names.values())))
    counts = Counter(names[t.speaker] for t in turns if t.speaker)
    for name, n in counts.items():
        if n == 1 and name.lower() not in DEFAULT_INTERVIEWER_LABELS and not _PARTICIPANT_LIKE.match(name):
            result.warnings.append(f"{single_turn_note(name)}, which the reader joins to the turn "
                                   "before; add the name to reader.interviewer_labels if that is the interviewer")
    return result


def single_turn_note(name: str) -> str:
    """The start of the warning about a speaker with one turn. ``autocode import`` withdraws it
    when the transcript has several participants: it lists every speaker, this one included, in
    speakers.csv, and the study reader takes a listed label as a speaker however often it occurs."""
    return f"speaker {name!r} has a single turn"


def units_to_text(units: list[Unit], joiner: str = " ") -> Converted:
    confirm_speakers(units)
    if not any(u.speaker for u in units):
        return render(split_pauses(units) if joiner == " " else units)
    return render(merge_turns(units, joiner))


def captions_to_text(path: str | Path, limits: Limits = DEFAULT_LIMITS) -> Converted:
    """Convert a .vtt or .srt file (by its suffix) to speaker-labelled text."""
    path = Path(path)
    check_file_size(path, limits, text=True)
    kind = path.suffix.lower().lstrip(".")
    text = decode_text(path.read_bytes(), path, f"{kind.upper()} captions")
    return units_to_text(parse_captions(text, path, kind))


# -- Word -----------------------------------------------------------------------------------
def docx_units(path: Path, limits: Limits = DEFAULT_LIMITS) -> list[Unit]:
    """Paragraphs (and table rows) of a .docx, with speakers from bold runs and lines."""
    units: list[Unit] = []
    pending: Unit | None = None  # a speaker line waiting for its text
    for bold, text in paragraphs(open_docx(path, limits)):
        text = text.strip()
        if not text:
            continue
        unit = _docx_unit(bold, text)
        if not unit.text:
            pending = unit
            continue
        if pending is not None and unit.speaker is None and unit.candidate is None:
            unit.speaker = pending.speaker
            unit.start = pending.start if unit.start is None else unit.start
        pending = None
        units.append(unit)
    return units


def open_docx(path: Path, limits: Limits = DEFAULT_LIMITS):
    """Open a .docx after checking it as an untrusted zip (sizes, names, no DTDs)."""
    import docx
    from docx.opc.exceptions import OpcError

    with SafeZip(path, "a Word document (.docx)", limits) as archive:
        check_zip_xml(archive)
    try:
        return docx.Document(str(path))
    except (OpcError, KeyError, ValueError, SyntaxError) as exc:
        raise AutocodeError(f"not a readable Word document ({type(exc).__name__}); expected a .docx "
                            "saved by Word or LibreOffice (a .doc must be saved as .docx first)", path) from None


def paragraphs(document) -> list[tuple[str, str]]:
    """``(bold opening, text)`` for each body paragraph; a table row gives 'first cell: rest'."""
    out = []
    for block in document.iter_inner_content():
        if hasattr(block, "runs"):
            out.append((_bold_prefix(block), block.text))
            continue
        for row in block.rows:
            cells = list(dict.fromkeys(c.text.strip() for c in row.cells))
            if len(cells) >= 2 and cells[0]:
                out.append(("", f"{cells[0]}: {' '.join(cells[1:])}"))
            elif cells:
                out.append(("", " ".join(cells)))
    return out


def _bold_prefix(paragraph) -> str:
    bold = []
    for run in paragraph.runs:
        if not run.text.strip() and not bold:
            continue
        style_bold = run.style is not None and run.style.font.bold
        if not (run.bold or (run.bold is None and style_bold)):
            break
        bold.append(run.text)
    return "".join(bold)


def _docx_unit(bold: str, text: str) -> Unit:
    name_time = _NAME_TIME.match(text)
    if name_time:
        return Unit("", seconds(name_time["ts"]), name_time["label"].strip())
    stamp = _STAMP.match(text)
    start = seconds(stamp["ts"]) if stamp else None
    body = stamp["rest"] if stamp else text
    bold = bold.strip()
    if stamp is None and bold and text.startswith(bold) and len(bold.rstrip(":").split()) <= 5:
        return Unit(text[len(bold) :].lstrip(" :\t"), start, bold.rstrip(":").strip())
    unit = Unit(body, start)
    _candidate(unit)
    return unit


def docx_to_text(path: str | Path, limits: Limits = DEFAULT_LIMITS) -> Converted:
    """Convert a Word transcript to speaker-labelled text."""
    units = docx_units(Path(path), limits)
    if not units:
        raise AutocodeError("the Word document holds no text; expected a transcript", path)
    return units_to_text(units, joiner="\n")


def convert(path: str | Path, limits: Limits = DEFAULT_LIMITS) -> Converted:
    """Convert a .vtt, .srt or .docx file, by its suffix."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in (".vtt", ".srt"):
        return captions_to_text(path, limits)
    if suffix == ".docx":
        return docx_to_text(path, limits)
    raise AutocodeError(f"unsupported file type {suffix or '(none)'}; expected .vtt, .srt or .docx", path)


def check_zip_xml(archive: SafeZip) -> None:
    """Refuse an Office file whose XML declares a DTD or entities (Word never writes them)."""
    for name in archive.members:
        if name.endswith((".xml", ".rels")):
            head = archive.read(name)
            if b"<!DOCTYPE" in head or b"<!ENTITY" in head:
                raise AutocodeError(f"member {name!r} declares a DTD or entities, which autocode refuses for "
                                    "safety; save the document again from Word", archive.path)
