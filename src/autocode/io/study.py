"""Study folders: transcripts, participants, optional human codings and settings.

::

    STUDY/
      study.yaml           optional: name, codebook, heldout, config (see docs/formats.md)
      codebook.yaml        optional: the codebook, when study.yaml names none
      participants.csv     participant_id plus any attribute columns
      transcripts/         one speaker-labelled file per interview
      codings/<coder>.jsonl  optional human coding as character spans
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
from autocode.io.transcripts import Transcript, read_transcript
from autocode.resources import default_codebook_path


class StudySettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = None
    codebook: str | None = None
    heldout: list[str] = Field(default_factory=list)
    config: Config = Field(default_factory=Config)


@dataclass
class Study:
    root: Path
    settings: StudySettings
    codebook: Codebook
    transcripts: list[Transcript]
    participants: dict[str, dict[str, str]]
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


def read_transcript_folder(folder: Path, interviewer_labels: list[str], unlabelled: str = "error") -> list[Transcript]:
    if not folder.is_dir():
        raise AutocodeError("no transcripts/ folder; a study folder needs transcripts/ with one file per interview", folder.parent)
    files = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
    if not files:
        raise AutocodeError("transcripts/ folder is empty; add one transcript file per interview", folder)
    transcripts = [read_transcript(p, interviewer_labels, unlabelled) for p in files]
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
    transcripts = read_transcript_folder(root / "transcripts", reader.interviewer_labels, reader.unlabelled)
    people_path = root / "participants.csv"
    if people_path.exists():
        people = read_participants(people_path)
        for t in transcripts:
            if t.participant not in people:
                raise AutocodeError(
                    f"transcript {t.id!r} names participant {t.participant!r}, who is not in participants.csv; add a row",
                    people_path,
                )
    else:
        people = {t.participant: {} for t in transcripts}
    ids = {t.id for t in transcripts}
    unknown = [h for h in settings.heldout if h not in ids]
    if unknown:
        raise AutocodeError(f"heldout names transcripts that do not exist: {', '.join(unknown)}", root / "study.yaml")
    study = Study(root, settings, book, transcripts, people)
    if with_codings and (root / "codings").is_dir():
        texts = study.texts()
        for path in sorted((root / "codings").glob("*.jsonl")):
            study.codings[path.stem] = read_codings(path, texts, book.ids)
    return study
