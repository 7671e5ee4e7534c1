"""Read speaker-labelled transcripts (plain text and Markdown) into turns with character spans.

The text a reader returns is the file decoded (UTF-8, UTF-8 with BOM, or cp1252 with a
warning), with the BOM removed and every ``\\r\\n`` or lone ``\\r`` replaced by ``\\n``. All
offsets in autocode (turns, segments, human codings) are 0-based, end-exclusive Unicode
character positions into that text. Speaker labels and a turn's leading timestamp lie outside
the turn's span.

Speakers and participants: every turn whose label is not an interviewer (facilitator) label is
participant talk, and belongs to a participant. A one-participant interview needs nothing: its
participant is the ``# participant:`` header or the file name. A transcript with several
participants (a focus group) maps each label to a participant id, with ``# speaker: LABEL = ID``
header lines or the study's ``speakers.csv``; :func:`resolve_speakers` applies the rules and
refuses a label that has no participant (docs/formats.md, "Focus groups and several speakers").
"""

from __future__ import annotations

import hashlib
import re
import sys
import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator, Mapping

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
_GENERIC = re.compile(r"^(a|r|resp|respondent|participant|interviewee|speaker|unknown|unknown speaker"
                      r"|(speaker|participant|respondent|r|s) ?\d+)$", re.IGNORECASE)
INTERVIEW, FOCUS_GROUP = "interview", "focus group"


@dataclass(frozen=True, slots=True)
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
    """The ``# participant:`` header, else the file name: the participant of a one-participant
    interview, and of any speaker without a mapping in :attr:`speakers`."""
    path: Path | None = None
    header: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    speakers: dict[str, str] = field(default_factory=dict)
    """Speaker label (normalised with :func:`speaker_key`) -> participant id. Filled from
    ``# speaker: LABEL = ID`` header lines by the reader, and completed by
    :func:`resolve_speakers` (which ``load_study`` calls)."""
    declared: dict[str, str] = field(default_factory=dict)
    """The ``# speaker:`` header mapping alone (normalised label -> participant id)."""

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()

    def turn_text(self, turn: Turn) -> str:
        return self.text[turn.start : turn.end]

    def participant_of(self, turn: Turn) -> str:
        """The participant who speaks ``turn`` (meaningful for participant turns)."""
        return self.speakers.get(speaker_key(turn.speaker), self.participant)

    @property
    def participants(self) -> list[str]:
        """The participants who speak in this transcript, in order of their first turn."""
        return list(dict.fromkeys(self.participant_of(t) for t in self.turns if not t.is_interviewer))

    @property
    def setting(self) -> str:
        """The ``# setting:`` header (lower case, ``-``/``_`` read as spaces), else inferred:
        'focus group' when several participants speak, 'interview' otherwise."""
        declared = " ".join(self.header.get("setting", "").replace("_", " ").replace("-", " ").lower().split())
        if declared:
            return declared
        return FOCUS_GROUP if len(self.participants) > 1 else INTERVIEW


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
            label = sys.intern((match.group("md") or match.group("br") or match.group("pl")).strip())  # one copy per speaker
            ts = match.group("ts") or match.group("ts2")
            if len(label.split()) <= 5:
                found.append((pos, pos + len(line), pos + match.end(), label, ts))
        pos += len(line) + 1
    return found


def _norm(label: str) -> str:
    return label.strip().rstrip(".").lower()


def speaker_key(label: str) -> str:
    """A speaker label as compared everywhere: case-insensitive, white space collapsed,
    without a trailing full stop (``Dr  Anna Reid.`` and ``dr anna reid`` are one speaker)."""
    return " ".join(_norm(label).split())


def is_generic_label(label: str) -> bool:
    """Whether a label names a role or a number rather than a person (``A``, ``R``,
    ``Respondent``, ``Speaker 2``, ``R3``...): such labels mean different people in different
    transcripts. ``P07``-style labels are taken as participant ids, not as generic."""
    return bool(_GENERIC.match(speaker_key(label)))


def _split_names(value: str) -> list[str]:
    return [x.strip() for x in re.split(r"[,;]", value) if x.strip()]


def parse_transcript(
    text: str,
    transcript_id: str,
    interviewer_labels: list[str],
    path: Path | None = None,
    unlabelled: str = "error",
    known_speakers: Iterable[str] = (),
) -> Transcript:
    """Split normalised transcript text into turns. See the module docstring for offsets.

    ``unlabelled="participant"`` reads a text with no speaker labels at all as one
    participant turn per paragraph (``reader.unlabelled`` in the settings).
    ``known_speakers`` are labels to take as speakers even where they speak once (the labels
    that the study's speakers.csv maps for this transcript). Header lines may add
    ``# facilitator: NAME[, NAME]`` (labels read as interviewer labels in this transcript) and
    ``# speaker: LABEL = PARTICIPANT_ID`` (see :func:`resolve_speakers`).
    """
    header = _read_header(text)
    facilitators, declared = _speaker_headers(text, path)
    interviewers = {_norm(x) for x in interviewer_labels} | {_norm(x) for x in facilitators}
    found = _candidates(text)
    counts = Counter(_norm(label) for *_, label, _ in found)
    participant_id = header.get("participant", transcript_id)
    known = {speaker_key(x) for x in known_speakers} | set(declared)

    def is_speaker(label: str) -> bool:
        key = _norm(label)
        return (
            key in interviewers
            or counts[key] >= 2
            or bool(_PARTICIPANT_LIKE.match(key))
            or key == participant_id.lower()
            or speaker_key(label) in known
        )

    starts = [f for f in found if is_speaker(f[3])]
    if not starts and unlabelled == "participant":
        turns = _paragraph_turns(text, participant_id)
        if turns:
            return Transcript(transcript_id, text, turns, participant_id, path, header,
                              speakers=dict(declared), declared=declared)
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
    return Transcript(transcript_id, text, turns, participant_id, path, header,
                      speakers=dict(declared), declared=declared)


def resolve_speakers(
    transcript: Transcript,
    mapping: Mapping[str, str] | None = None,
    speakers_are_participants: bool = False,
    mapping_source: str = "speakers.csv",
) -> None:
    """Give every participant turn of ``transcript`` its participant; fill ``speakers``.

    ``mapping`` is the study's speakers.csv for this transcript (speaker label -> participant
    id). A label takes, in order: its row in ``mapping``; its ``# speaker: LABEL = ID`` header
    line; the ``# participant:`` header (which declares a one-participant interview, whoever
    speaks); with ``speakers_are_participants``, an id of its own (the label as written, or
    ``TRANSCRIPT/label`` for a role or number label such as ``Respondent`` or ``Speaker 2``);
    and, in a transcript with no mapping at all and a single participant label, the file name
    (today's rule for an interview). Any other label is an error naming the transcript and
    the label, as is a mapping of a label that never speaks or that is an interviewer label.
    """
    shown_as = {speaker_key(k): k for k in (mapping or {})}
    mapping = {speaker_key(k): v for k, v in (mapping or {}).items()}
    labels: dict[str, str] = {}
    interviewer_keys = set()
    for turn in transcript.turns:
        key = speaker_key(turn.speaker)
        if turn.is_interviewer:
            interviewer_keys.add(key)
        else:
            labels.setdefault(key, " ".join(turn.speaker.split()))
    where = transcript.path or transcript.id
    for key, pid in mapping.items():
        other = transcript.declared.get(key)
        if other is not None and other != pid:
            raise AutocodeError(f"speaker {shown_as[key]!r} is {other!r} in the transcript's '# speaker:' header but "
                                f"{pid!r} in {mapping_source}; keep one of them", where)
    explicit = {**transcript.declared, **mapping}
    for key in explicit:
        source = mapping_source if key in mapping else "its '# speaker:' header"
        name = shown_as.get(key, key)
        if key in interviewer_keys:
            raise AutocodeError(f"{source} maps the speaker {name!r} of transcript {transcript.id!r} to a "
                                "participant, but that label is an interviewer (facilitator) label, which is never "
                                "coded; remove the mapping or the label from reader.interviewer_labels", where)
        if key not in labels:
            have = ", ".join(repr(x) for x in labels.values()) or "none"
            raise AutocodeError(f"{source} maps the speaker {name!r}, who never speaks in transcript "
                                f"{transcript.id!r} (its participant speakers: {have}); fix the label", where)
    declared_one = bool(transcript.header.get("participant"))
    speakers: dict[str, str] = {}
    unmapped = []
    for key, shown in labels.items():
        if key in explicit:
            speakers[key] = explicit[key]
        elif declared_one:
            speakers[key] = transcript.participant
        elif speakers_are_participants:
            if not is_generic_label(shown):
                speakers[key] = shown
            elif len(labels) == 1:
                speakers[key] = transcript.participant
            else:
                speakers[key] = f"{transcript.id}/{shown}"
        else:
            unmapped.append(shown)
    if unmapped:
        if len(labels) == 1 and not explicit:
            speakers[speaker_key(unmapped[0])] = transcript.participant
        else:
            names = ", ".join(repr(x) for x in unmapped)
            raise AutocodeError(
                f"transcript {transcript.id!r} has {len(labels)} participant speakers and no participant for "
                f"{names}; map each speaker to a participant in speakers.csv (transcript,speaker,participant) or "
                "with '# speaker: LABEL = ID' header lines, add the label to reader.interviewer_labels if it is "
                "a facilitator, or set reader.speakers_are_participants: true", where)
    transcript.speakers = speakers


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


def _header_lines(text: str) -> Iterator[tuple[str, str]]:
    """Leading ``# key: value`` lines (before any other content): (lower-case key, value)."""
    for line in text.split("\n"):
        if not line.strip():
            continue
        match = _HEADER.match(line)
        if not match:
            if line.lstrip().startswith("#"):
                continue  # a Markdown title
            break
        yield match.group("key").strip().lower(), match.group("value")


def _read_header(text: str) -> dict[str, str]:
    """Leading ``# key: value`` lines as a lower-case-keyed dict (a repeated key: its last value)."""
    return dict(_header_lines(text))


def _speaker_headers(text: str, path: Path | None) -> tuple[list[str], dict[str, str]]:
    """``# facilitator: NAME[, NAME]`` labels and the ``# speaker: LABEL = ID`` mapping."""
    facilitators: list[str] = []
    declared: dict[str, str] = {}
    for key, value in _header_lines(text):
        if key in ("facilitator", "facilitators"):
            facilitators += _split_names(value)
        elif key in ("speaker", "speakers"):
            for pair in (x for x in value.split(";") if x.strip()):
                label, sep, pid = pair.partition("=")
                label, pid = speaker_key(label), pid.strip()
                if not sep or not label or not pid:
                    raise AutocodeError(f"header line '# {key}: {value}' needs the form "
                                        "'# speaker: LABEL = PARTICIPANT_ID'", path)
                if declared.get(label, pid) != pid:
                    raise AutocodeError(f"the header maps the speaker {label!r} twice ({declared[label]!r} and "
                                        f"{pid!r}); keep one line", path)
                declared[label] = pid
    return facilitators, declared


MAX_TRANSCRIPT_BYTES = 32 * 2**20


def read_transcript(path: str | Path, interviewer_labels: list[str], unlabelled: str = "error",
                    known_speakers: Iterable[str] = ()) -> Transcript:
    """Read one transcript file. Its id is the file name without its extension.

    ``unlabelled`` is ``reader.unlabelled`` and ``known_speakers`` the labels speakers.csv maps
    for it: see :func:`parse_transcript`. Speakers are resolved to participants by
    :func:`resolve_speakers` (``load_study`` does it, with the study's speakers.csv).
    """
    path = Path(path)
    if path.suffix.lower() not in TRANSCRIPT_SUFFIXES:
        raise AutocodeError(
            f"unsupported transcript type {path.suffix or '(none)'}; expected "
            f"{', '.join(sorted(TRANSCRIPT_SUFFIXES))}. Convert it or move it out of the folder",
            path,
        )
    try:
        size = path.stat().st_size
        if size > MAX_TRANSCRIPT_BYTES:
            raise AutocodeError(f"file is {size // 2**20} MiB, over the {MAX_TRANSCRIPT_BYTES // 2**20} MiB limit for one "
                                "transcript (a two-hour interview is about 0.1 MiB); split it or move it out", path)
        data = path.read_bytes()
    except OSError as exc:
        raise AutocodeError(f"cannot read file ({exc.strerror}); check that it exists and is readable", path) from None
    text, notes = decode(data, path)
    for note in notes:
        warnings.warn(note, stacklevel=2)
    transcript = parse_transcript(text, path.stem, interviewer_labels, path, unlabelled, known_speakers)
    transcript.warnings.extend(notes)
    return transcript
