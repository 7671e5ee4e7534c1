"""``autocode import``: turn a file from another tool into a study folder.

=========================  ===============================================================
``.qdpx``                   REFI-QDA project: transcripts, codebook, one codings file per user,
                            participants from cases and variables
``.qdc``                    REFI-QDA codebook: ``codebook.yaml`` only
``.csv``                    codebook CSV (autocode's, or Taguette's export): ``codebook.yaml`` only
``.vtt``, ``.srt``          Zoom / Teams / other captions: one speaker-labelled transcript
``.docx``                   Word transcript: one speaker-labelled transcript
``.txt``, ``.md``           a transcript as it is
a folder                    every .vtt, .srt, .docx, .txt and .md file in it, one study
=========================  ===============================================================

The study folder is written atomically; an existing non-empty folder is replaced only with
``force``. Every problem with the input is an :class:`AutocodeError` naming the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from autocode.errors import AutocodeError
from autocode.io.codebook_csv import read_codebook_csv
from autocode.io.draft import ImportResult, StudyDraft, header_participant, safe_name, unique, write_study
from autocode.io.media import convert
from autocode.io.refi import read_qdc, read_qdpx
from autocode.io.safe import DEFAULT_LIMITS, Limits, check_file_size
from autocode.io.transcripts import TRANSCRIPT_SUFFIXES, decode

MEDIA_SUFFIXES = {".vtt", ".srt", ".docx"}
SINGLE_SUFFIXES = [".qdpx", ".qdc", ".csv"]
"""Imported on their own, never from a folder."""
SUPPORTED = [*SINGLE_SUFFIXES, *sorted(MEDIA_SUFFIXES), *sorted(TRANSCRIPT_SUFFIXES)]


def import_file(
    path: str | Path,
    out_dir: str | Path,
    force: bool = False,
    *,
    interviewer: Sequence[str] = (),
    limits: Limits = DEFAULT_LIMITS,
) -> ImportResult:
    """Import ``path`` (a file of a supported type, or a folder of transcripts) as a study.

    ``interviewer`` names speakers to treat as the interviewer, added to the default
    interviewer labels; without it, the speaker who asks the most questions is taken when no
    default interviewer label is used (reported in the result's warnings).
    """
    path = Path(path)
    draft = read_any(path, limits)
    draft.interviewers.extend(x for x in interviewer if x not in draft.interviewers)
    return write_study(draft, out_dir, force)


def read_any(path: Path, limits: Limits = DEFAULT_LIMITS) -> StudyDraft:
    """The in-memory study for ``path``, by its type."""
    if path.is_dir():
        return read_folder(path, limits)
    if not path.exists():
        raise AutocodeError("file not found; pass an existing file to import", path)
    suffix = path.suffix.lower()
    if suffix == ".qdpx":
        return read_qdpx(path, limits)
    if suffix == ".qdc":
        return read_qdc(path, limits)
    if suffix == ".csv":
        return read_codebook_csv(path, limits)
    if suffix in MEDIA_SUFFIXES or suffix in TRANSCRIPT_SUFFIXES:
        draft = StudyDraft(path, suffix.lstrip("."), path.stem)
        add_transcript(draft, path, set(), limits)
        return draft
    hint = " (save it as .docx first)" if suffix in (".doc", ".rtf", ".odt") else ""
    hint = " (save a codebook as CSV UTF-8 first)" if suffix in (".xlsx", ".xls", ".ods") else hint
    raise AutocodeError(f"cannot import {suffix or 'files without a suffix'}{hint}; "
                        f"supported: {', '.join(SUPPORTED)}", path)


def read_folder(folder: Path, limits: Limits = DEFAULT_LIMITS) -> StudyDraft:
    """Every transcript-like file in ``folder`` (not recursive) as one study."""
    files = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")
                   and p.suffix.lower() in MEDIA_SUFFIXES | TRANSCRIPT_SUFFIXES)
    if not files:
        wanted = ', '.join(SUPPORTED[len(SINGLE_SUFFIXES):])
        raise AutocodeError(f"the folder holds no files to import; expected {wanted} files", folder)
    draft = StudyDraft(folder, "folder", folder.name)
    taken: set[str] = set()
    for path in files:
        add_transcript(draft, path, taken, limits)
    return draft


def add_transcript(draft: StudyDraft, path: Path, taken: set[str], limits: Limits) -> None:
    """Convert one transcript file and add it to ``draft`` as its own participant."""
    tid = unique(safe_name(path.stem, "transcript"), taken)
    if path.suffix.lower() in MEDIA_SUFFIXES:
        converted = convert(path, limits)
        text = converted.text
        draft.warnings += [f"{path.name}: {w}" for w in converted.warnings]
    else:
        check_file_size(path, limits, text=True)
        text, notes = decode(path.read_bytes(), path)
        draft.warnings += notes
    draft.texts[tid] = text
    draft.participants.setdefault(header_participant(text) or tid, {})
