"""Human coding as character spans, stored one JSON object a line.

Each line: ``{"transcript": ID, "start": INT, "end": INT, "code": CODE_ID, "coder": NAME}``
with an optional ``"text"`` holding the quoted passage (checked against the offsets when
present). Offsets follow :mod:`autocode.io.transcripts`.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterable, Mapping

from autocode.errors import AutocodeError


@dataclass(frozen=True, order=True)
class Span:
    transcript: str
    start: int
    end: int
    code: str
    coder: str


def read_codings(
    path: str | Path,
    texts: Mapping[str, str],
    code_ids: Iterable[str],
) -> list[Span]:
    """Read and check a codings JSONL file against the study's texts and the codebook."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except UnicodeDecodeError:
        raise AutocodeError("codings file is not UTF-8; re-save it as UTF-8 JSON lines", path) from None
    return parse_codings(lines, path, texts, code_ids)


def parse_codings(lines: list[str], path: Path, texts: Mapping[str, str], code_ids: Iterable[str]) -> list[Span]:
    """Check the lines of a codings JSONL file (``path`` names it in errors)."""
    known = set(code_ids)
    spans = [_parse_line(line, number, path, texts, known) for number, line in enumerate(lines, 1) if line.strip()]
    if not spans:
        raise AutocodeError("codings file holds no codings; expected one JSON object per line", path)
    return spans


def _json_object(line: str, where: str, path: Path, fields: str) -> dict:
    try:
        row = json.loads(line)
    except (json.JSONDecodeError, RecursionError):
        raise AutocodeError(f"{where} is not valid JSON; expected one JSON object per line", path) from None
    if not isinstance(row, dict):
        raise AutocodeError(f"{where}: expected a JSON object with {fields}", path)
    return row


def _checked_span(row: dict, where: str, path: Path, texts: Mapping[str, str]) -> tuple[str, int, int]:
    """The row's transcript, start and end, checked against the study's texts."""
    tid, start, end = row.get("transcript"), row.get("start"), row.get("end")
    if not isinstance(tid, str) or tid not in texts:
        raise AutocodeError(f"{where}: transcript {tid!r} is not in the study's transcripts/ folder", path)
    if not all(isinstance(x, int) and not isinstance(x, bool) for x in (start, end)):
        raise AutocodeError(f"{where}: start and end must be whole numbers (character offsets)", path)
    if not 0 <= start < end <= len(texts[tid]):
        raise AutocodeError(
            f"{where}: span {start}-{end} lies outside transcript {tid!r} (0-{len(texts[tid])}) or is empty", path
        )
    return tid, start, end


def _parse_line(line: str, number: int, path: Path, texts: Mapping[str, str], known: set[str]) -> Span:
    where = f"line {number}"
    row = _json_object(line, where, path, "transcript, start, end, code")
    missing = [k for k in ("transcript", "start", "end", "code") if k not in row]
    if missing:
        raise AutocodeError(f"{where}: missing {', '.join(missing)}; each coding needs transcript, start, end, code", path)
    tid, start, end = _checked_span(row, where, path, texts)
    code = row["code"]
    if not isinstance(code, str) or code not in known:
        raise AutocodeError(f"{where}: code {code!r} is not in the codebook; fix the code id or the codebook", path)
    quote = row.get("text")
    if quote is not None and texts[tid][start:end] != quote:
        raise AutocodeError(
            f"{where}: the quoted text does not match characters {start}-{end} of {tid!r}; "
            "the offsets or the transcript have changed",
            path,
        )
    return Span(tid, start, end, code, str(row.get("coder") or path.stem))


def read_segment_coding(lines: list[str], path: Path, texts: Mapping[str, str], code_ids: Iterable[str],
                        coder: str) -> list[Span]:
    """A run's segments.jsonl (one object per segment with its ``codes``) as spans."""
    known, spans = set(code_ids), []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"line {number}"
        row = _json_object(line, where, path, "transcript, start, end, codes")
        tid, start, end = _checked_span(row, where, path, texts)
        codes = row.get("codes")
        if not isinstance(codes, list):
            raise AutocodeError(f"{where}: codes must be a list of code ids", path)
        for code in codes:
            if not isinstance(code, str) or code not in known:
                raise AutocodeError(f"{where}: code {code!r} is not in the codebook", path)
            spans.append(Span(tid, start, end, code, coder))
    return spans


def spans_to_jsonl(spans: Iterable[Span], texts: Mapping[str, str] | None = None) -> str:
    out = []
    for span in spans:
        row = asdict(span)
        if texts is not None:
            row["text"] = texts[span.transcript][span.start : span.end]
        out.append(json.dumps(row, ensure_ascii=False))
    return "\n".join(out) + ("\n" if out else "")
