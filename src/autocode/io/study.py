"""Study folders: transcripts, participants, optional human codings and settings.

::

    STUDY/
      study.yaml           optional: name, codebook, heldout, config (see docs/formats.md)
      codebook.yaml        optional: the codebook, when study.yaml names none
      participants.csv     participant_id plus any attribute columns
      speakers.csv         optional: transcript,speaker,participant for transcripts with
                           several participants (focus groups)
      transcripts/         one speaker-labelled file per interview or focus group
      codings/<coder>.jsonl  optional human coding as character spans

Every participant turn belongs to a participant (io.transcripts.resolve_speakers): a focus
group of six counts as six participants, and a person who speaks in an interview and in a
focus group is one participant. Each transcript has a ``setting`` (interview / focus group);
when a study has a focus group (or a ``# setting:`` header), ``setting`` becomes a participant
attribute to break grades down by (see :class:`Participants`).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from autocode.codebook import Codebook, load_codebook
from autocode.config import Config
from autocode.errors import AutocodeError, pydantic_problem
from autocode.io.codings import Span, read_codings
from autocode.io.transcripts import Transcript, read_transcript, resolve_speakers, speaker_key
from autocode.resources import default_codebook_path


class StudySettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = None
    codebook: str | None = None
    heldout: list[str] = Field(default_factory=list)
    config: Config = Field(default_factory=Config)


SETTING = "setting"


class Participants(dict):
    """``participant id -> {column: value}``, as read from participants.csv, plus the
    attributes that belong to a transcript rather than to a person.

    ``transcript_attributes`` maps a transcript id to such attributes (today ``setting``).
    The participants' own entry for such a column lists every value they spoke under
    (``focus group; interview``), so the column can be named in ``--by``; the grader breaks
    a transcript-level column down by transcript, so a participant who spoke in an interview
    and in a focus group counts in each setting, with the talk of that setting only.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.transcript_attributes: dict[str, dict[str, str]] = {}


@dataclass
class Study:
    root: Path
    settings: StudySettings
    codebook: Codebook
    transcripts: list[Transcript]
    participants: dict[str, dict[str, str]]
    """A :class:`Participants` mapping when read by :func:`load_study`."""
    codings: dict[str, list[Span]] = field(default_factory=dict)

    @property
    def config(self) -> Config:
        return self.settings.config

    @property
    def name(self) -> str:
        return self.settings.name or self.root.name

    def texts(self) -> dict[str, str]:
        return {t.id: t.text for t in self.transcripts}

    def coder_transcripts(self, coder: str) -> set[str]:
        """The transcripts a coder coded: those with at least one of their spans."""
        return {s.transcript for s in self.codings[coder]}


def read_settings(root: Path) -> StudySettings:
    path = root / "study.yaml"
    if not path.exists():
        return StudySettings()
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        return StudySettings.model_validate(data)
    except (yaml.YAMLError, UnicodeDecodeError):
        raise AutocodeError("study.yaml is not valid UTF-8 YAML; fix the syntax", path) from None
    except ValidationError as exc:
        raise AutocodeError(f"invalid study settings: {pydantic_problem(exc)}", path) from None


def resolve_codebook(root: Path, settings: StudySettings, override: str | Path | None) -> Codebook:
    if override is not None:
        return load_codebook(override)
    if settings.codebook:
        return load_codebook((root / settings.codebook).resolve())
    if (root / "codebook.yaml").exists():
        return load_codebook(root / "codebook.yaml")
    return load_codebook(default_codebook_path())


def read_participants(path: Path) -> dict[str, dict[str, str]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise AutocodeError("participants file is not UTF-8; re-save it as UTF-8 CSV", path) from None
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or "participant_id" not in [f.strip() for f in reader.fieldnames]:
        raise AutocodeError("participants file needs a 'participant_id' column header", path)
    people: dict[str, dict[str, str]] = {}
    for number, row in enumerate(reader, 2):
        row = {(k or "").strip(): (v or "").strip() for k, v in row.items()}
        pid = row.pop("participant_id")
        if not pid:
            raise AutocodeError(f"line {number}: empty participant_id", path)
        if pid in people:
            raise AutocodeError(f"line {number}: participant_id {pid!r} appears twice; ids must be unique", path)
        people[pid] = row
    return people


def read_speakers(path: Path) -> dict[str, dict[str, str]]:
    """speakers.csv: ``transcript -> {speaker label: participant id}``.

    Columns ``transcript``, ``speaker`` and ``participant`` (others are ignored); one row per
    speaker of a transcript with several participants. Labels are compared as the reader
    compares them (case-insensitive, white space collapsed).
    """
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise AutocodeError("speakers file is not UTF-8; re-save it as UTF-8 CSV", path) from None
    reader = csv.DictReader(io.StringIO(text))
    need = ["transcript", "speaker", "participant"]
    have = [(f or "").strip() for f in reader.fieldnames or []]
    missing = [c for c in need if c not in have]
    if missing:
        raise AutocodeError(f"speakers file needs the columns transcript,speaker,participant (missing: "
                            f"{', '.join(missing)})", path)
    out: dict[str, dict[str, str]] = {}
    seen: dict[tuple[str, str], int] = {}
    for number, row in enumerate(reader, 2):
        row = {(k or "").strip(): (v or "").strip() for k, v in row.items()}
        tid, label, pid = row["transcript"], row["speaker"], row["participant"]
        if not (tid or label or pid):
            continue
        empty = [c for c in need if not row[c]]
        if empty:
            raise AutocodeError(f"line {number}: empty {', '.join(empty)}; every row needs a transcript, a speaker "
                                "label and a participant id", path)
        key = (tid, speaker_key(label))
        if key in seen:
            raise AutocodeError(f"line {number}: speaker {label!r} of transcript {tid!r} is mapped again "
                                f"(first on line {seen[key]}); keep one row", path)
        seen[key] = number
        out.setdefault(tid, {})[label] = pid
    return out


def read_transcript_folder(folder: Path, interviewer_labels: list[str], unlabelled: str = "error",
                           known_speakers: dict[str, dict[str, str]] | None = None) -> list[Transcript]:
    if not folder.is_dir():
        raise AutocodeError("no transcripts/ folder; a study folder needs transcripts/ with one file per interview", folder.parent)
    files = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
    if not files:
        raise AutocodeError("transcripts/ folder is empty; add one transcript file per interview", folder)
    known = known_speakers or {}
    transcripts = [read_transcript(p, interviewer_labels, unlabelled, known.get(p.stem, {})) for p in files]
    seen: dict[str, Path] = {}
    for t in transcripts:
        if t.id in seen:
            raise AutocodeError(f"two transcripts share the id {t.id!r} ({seen[t.id].name}); rename one", t.path)
        seen[t.id] = t.path
    return transcripts


def load_study(
    root: str | Path,
    codebook: str | Path | None = None,
    config: Config | None = None,
    with_codings: bool = True,
) -> Study:
    """Read a study folder. ``config`` replaces the study's own settings when given."""
    root = Path(root)
    if not root.is_dir():
        raise AutocodeError("study folder not found; pass a folder holding transcripts/", root)
    settings = read_settings(root)
    if config is not None:
        settings = settings.model_copy(update={"config": config})
    book = resolve_codebook(root, settings, codebook)
    reader = settings.config.reader
    speakers_path = root / "speakers.csv"
    mapping = read_speakers(speakers_path) if speakers_path.exists() else {}
    transcripts = read_transcript_folder(root / "transcripts", reader.interviewer_labels, reader.unlabelled, mapping)
    ids = {t.id for t in transcripts}
    strays = sorted(set(mapping) - ids)
    if strays:
        raise AutocodeError(f"names transcripts that do not exist: {', '.join(strays)}; fix the transcript column",
                            speakers_path)
    for t in transcripts:
        resolve_speakers(t, mapping.get(t.id), reader.speakers_are_participants)
    people_path = root / "participants.csv"
    if people_path.exists():
        people = Participants(read_participants(people_path))
        for t in transcripts:
            if len(t.participants) == 1 and t.participants[0] == t.participant:
                if t.participant not in people:
                    raise AutocodeError(f"transcript {t.id!r} names participant {t.participant!r}, who is not in "
                                        "participants.csv; add a row", people_path)
                continue
            for turn in t.turns:
                pid = t.participant_of(turn)
                if not turn.is_interviewer and pid not in people:
                    raise AutocodeError(f"transcript {t.id!r}: speaker {turn.speaker!r} is participant {pid!r}, who "
                                        "is not in participants.csv; add a row", people_path)
    else:
        people = Participants({pid: {} for t in transcripts for pid in t.participants})
    add_settings(people, transcripts)
    unknown = [h for h in settings.heldout if h not in ids]
    if unknown:
        raise AutocodeError(f"heldout names transcripts that do not exist: {', '.join(unknown)}", root / "study.yaml")
    study = Study(root, settings, book, transcripts, people)
    if with_codings and (root / "codings").is_dir():
        texts = study.texts()
        for path in sorted((root / "codings").glob("*.jsonl")):
            study.codings[path.stem] = read_codings(path, texts, book.ids)
    return study


def add_settings(people: Participants, transcripts: list[Transcript]) -> None:
    """Record each transcript's setting; make ``setting`` a participant attribute when the study
    has a focus group or declares settings in headers, and participants.csv has no column of
    that name (which, if present, is a participant attribute like any other and wins)."""
    if any(SETTING in attrs for attrs in people.values()):
        return
    if not any(SETTING in t.header or len(t.participants) > 1 for t in transcripts):
        return
    spoke: dict[str, set[str]] = {}
    for t in transcripts:
        people.transcript_attributes[t.id] = {SETTING: t.setting}
        for pid in t.participants:
            spoke.setdefault(pid, set()).add(t.setting)
    for pid, attrs in people.items():
        if pid in spoke:
            attrs[SETTING] = "; ".join(sorted(spoke[pid]))
