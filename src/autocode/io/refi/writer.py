"""Write a study and its codings as a REFI-QDA project (.qdpx) or codebook (.qdc).

Every object gets a GUID derived from what it is (uuid5 of the code id, transcript id, coder
and span), so the same study exports to the same file. Human codings keep their coders as
users; the machine coding is one more user (e.g. "autocode tfidf-default"). REFI has no place
for confidence scores, so they go in a sidecar CSV beside the project, keyed by the same
selection and coding GUIDs. Positions are written in the convention of the chosen ``profile``
(docs/interop.md): "generic" writes LF sources and code-point positions.
"""

from __future__ import annotations

import csv
import io
import math
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence
from xml.etree.ElementTree import Element, SubElement, tostring

from autocode import __version__
from autocode.codebook import Codebook
from autocode.errors import AutocodeError
from autocode.io.atomic import check_output_file, write_bytes, write_text
from autocode.io.codings import Span
from autocode.io.refi.codebook import codes_to_xml, guid
from autocode.io.refi.positions import EXPORT_NEWLINES, PROFILES, PositionMap
from autocode.io.safe import zip_bytes
from autocode.io.study import Study

NS = "urn:QDA-XML:project:1.0"
NS_CODEBOOK = "urn:QDA-XML:codebook:1.0"
PROFILE_NAMES = {"qualcoder": "QualCoder", "atlasti": "ATLAS.ti", "maxqda": "MAXQDA", "nvivo": "NVivo"}
"""Named in the origin attribute, so that a re-import reads positions the same way."""
SIDECAR_COLUMNS = ["transcript", "start", "end", "code", "coder", "confidence", "text", "source_guid",
                   "selection_guid", "coding_guid", "code_guid", "start_position", "end_position"]


@dataclass
class ExportResult:
    path: Path
    sidecar: Path | None
    sources: int
    codes: int
    selections: int
    codings: dict[str, int]


def machine_user(model_name: str) -> str:
    """The user name that machine codings are attributed to."""
    return f"autocode {model_name}".strip()


def machine_coding(segments: Sequence, P, Y, codebook: Codebook, model_name: str,
                   most_specific: bool = True) -> tuple[list[Span], list[float]]:
    """The machine coding of a run as spans (one per segment and code) and their confidences.

    ``P`` and ``Y`` are the run's score and decision matrices (segments x codebook codes).
    With ``most_specific``, a code is left out where a code below it is also given, so the
    other tool shows the codes a human would have chosen rather than every level above them.
    """
    user, spans, scores = machine_user(model_name), [], []
    for i, seg in enumerate(segments):
        given = {c for j, c in enumerate(codebook.ids) if Y[i, j]}
        implied = {a for c in given for a in codebook.ancestors(c)} if most_specific else set()
        for code in codebook.ids:
            if code in given and code not in implied:
                spans.append(Span(seg.transcript, seg.start, seg.end, code, user))
                scores.append(float(P[i, codebook.index[code]]))
    return spans, scores


def sidecar_path(out_path: Path) -> Path:
    return out_path.with_name(out_path.stem + ".confidence.csv")


def _tag(name: str) -> str:
    return name  # unqualified; the root's xmlns attribute puts every element in NS


def _check_target(out: Path, study: Study, force: bool) -> None:
    check_output_file(out, force)
    if (study.root / "transcripts").resolve() in out.resolve().parents:
        raise AutocodeError("output would be written into the study's transcripts/ folder; choose another path", out)


def _check_machine(study: Study, machine: Sequence[Span], confidences: Sequence[float] | None) -> None:
    texts, known = study.texts(), set(study.codebook.ids)
    for span in machine:
        if span.transcript not in texts or not 0 <= span.start < span.end <= len(texts[span.transcript]):
            raise AutocodeError(f"machine span {span} lies outside its transcript; the coding does not fit the study")
        if span.code not in known:
            raise AutocodeError(f"machine span code {span.code!r} is not in the study's codebook")
        if span.coder in study.codings:
            raise AutocodeError(f"machine coder {span.coder!r} has the name of a human coder; rename one")
    if confidences is not None:
        if len(confidences) != len(machine):
            raise AutocodeError(f"{len(confidences)} confidences for {len(machine)} machine spans; give one per span")
        if not all(isinstance(c, (int, float)) and math.isfinite(c) for c in confidences):
            raise AutocodeError("confidences must be finite numbers")


def export_qdpx(
    study: Study,
    out_path: str | Path,
    machine: Sequence[Span] = (),
    confidences: Sequence[float] | None = None,
    *,
    profile: str = "generic",
    force: bool = False,
) -> ExportResult:
    """Write ``study`` (transcripts, codebook, participants, human codings) and the machine
    coding ``machine`` (spans whose ``coder`` is the machine user, see :func:`machine_user`)
    as a .qdpx project; with ``confidences`` (one per machine span) also the sidecar CSV."""
    out = Path(out_path)
    if profile not in PROFILES:
        raise AutocodeError(f"unknown export profile {profile!r}; choose one of {', '.join(PROFILES)}")
    _check_target(out, study, force)
    _check_machine(study, machine, confidences)
    spans = [s for coder in sorted(study.codings) for s in study.codings[coder]] + list(machine)
    newline = EXPORT_NEWLINES.get(profile, "\n")
    maps = {t.id: PositionMap(t.text.replace("\n", newline), PROFILES[profile]) for t in study.transcripts}
    root, selections = _project(study, spans, maps, profile)
    files = {"project.qde": tostring(root, encoding="utf-8", xml_declaration=True)}
    for t in study.transcripts:
        files[f"Sources/{guid('source', t.id)}.txt"] = t.text.replace("\n", newline).encode("utf-8")
    write_bytes(out, zip_bytes(files))
    sidecar = None
    if confidences is not None:
        sidecar = sidecar_path(out)
        write_text(sidecar, _sidecar(study, machine, confidences, maps))
    counts: dict[str, int] = defaultdict(int)
    for span in set(spans):
        counts[span.coder] += 1
    return ExportResult(out, sidecar, len(study.transcripts), len(study.codebook), selections, dict(counts))


def _project(study: Study, spans: list[Span], maps: dict[str, PositionMap], profile: str) -> tuple[Element, int]:
    origin = f"autocode {__version__}" + ("" if profile == "generic" else f" for {PROFILE_NAMES[profile]}")
    root = Element(_tag("Project"), xmlns=NS, name=study.name, origin=origin)
    coders = list(dict.fromkeys(s.coder for s in spans))
    if coders:
        users = SubElement(root, _tag("Users"))
        for coder in coders:
            SubElement(users, _tag("User"), guid=guid("user", coder), name=coder)
    codebook = SubElement(root, _tag("CodeBook"))
    codes_to_xml(codebook, study.codebook)
    _cases(root, study)
    sources = SubElement(root, _tag("Sources"))
    grouped: dict[str, dict[tuple, list[str]]] = defaultdict(lambda: defaultdict(list))
    for span in sorted(set(spans)):
        grouped[span.transcript][(span.start, span.end, span.coder)].append(span.code)
    for t in study.transcripts:
        el = SubElement(sources, _tag("TextSource"), guid=guid("source", t.id), name=t.id,
                        plainTextPath=f"internal://{guid('source', t.id)}.txt")
        for (start, end, coder), codes in grouped[t.id].items():
            _selection(el, t.text, maps[t.id], start, end, coder, codes)
    return root, sum(len(g) for g in grouped.values())


def _selection(parent: Element, text: str, pmap: PositionMap, start: int, end: int, coder: str,
               codes: list[str]) -> None:
    tool_start, tool_end = pmap.to_tool(start, end)
    key = f"{parent.get('name')}:{start}:{end}:{coder}"
    name = " ".join(text[start:end].split())
    sel = SubElement(parent, _tag("PlainTextSelection"), guid=guid("selection", key),
                     name=name if len(name) <= 60 else name[:57] + "...",
                     startPosition=str(tool_start), endPosition=str(tool_end), creatingUser=guid("user", coder))
    for code in codes:
        coding = SubElement(sel, _tag("Coding"), guid=guid("coding", f"{key}:{code}"), creatingUser=guid("user", coder))
        SubElement(coding, _tag("CodeRef"), targetGUID=guid("code", code))


def _cases(root: Element, study: Study) -> None:
    owned: dict[str, list[str]] = defaultdict(list)
    for t in study.transcripts:
        owned[t.participant].append(t.id)
    columns = list(dict.fromkeys(k for pid in owned for k in study.participants.get(pid, {})))
    if columns:
        variables = SubElement(root, _tag("Variables"))
        for column in columns:
            SubElement(variables, _tag("Variable"), guid=guid("variable", column), name=column, typeOfVariable="Text")
    cases = SubElement(root, _tag("Cases")) if owned else None
    for pid, tids in owned.items():
        case = SubElement(cases, _tag("Case"), guid=guid("case", pid), name=pid)
        for column, value in study.participants.get(pid, {}).items():
            if value:
                vv = SubElement(case, _tag("VariableValue"))
                SubElement(vv, _tag("VariableRef"), targetGUID=guid("variable", column))
                SubElement(vv, _tag("TextValue")).text = value
        for tid in tids:
            SubElement(case, _tag("SourceRef"), targetGUID=guid("source", tid))


def _sidecar(study: Study, machine: Sequence[Span], confidences: Sequence[float], maps: dict[str, PositionMap]) -> str:
    texts = study.texts()
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(SIDECAR_COLUMNS)
    for span, confidence in zip(machine, confidences):
        key = f"{span.transcript}:{span.start}:{span.end}:{span.coder}"
        tool = maps[span.transcript].to_tool(span.start, span.end)
        writer.writerow([span.transcript, span.start, span.end, span.code, span.coder, f"{float(confidence):.6g}",
                         texts[span.transcript][span.start : span.end], guid("source", span.transcript),
                         guid("selection", key), guid("coding", f"{key}:{span.code}"), guid("code", span.code), *tool])
    return buffer.getvalue()


def export_qdc(codebook: Codebook, out_path: str | Path, *, force: bool = False) -> Path:
    """Write ``codebook`` as a REFI-QDA codebook file (.qdc)."""
    out = Path(out_path)
    check_output_file(out, force)
    root = Element("CodeBook", xmlns=NS_CODEBOOK)
    codes_to_xml(root, codebook)
    write_bytes(out, tostring(root, encoding="utf-8", xml_declaration=True))
    return out
