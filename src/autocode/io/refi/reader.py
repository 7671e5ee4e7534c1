"""Read REFI-QDA projects (.qdpx) and codebooks (.qdc) into a :class:`StudyDraft`.

Handled quirks (docs/interop.md has the list): ``Sources/`` or ``sources/``; a project file
not named ``project.qde``; ``internal://``, relative and bare ``plainTextPath`` values and
inline ``PlainTextContent``; GUIDs with or without braces, in either case; sources with a BOM,
CRLF or UTF-16; selections with no coding (MAXQDA comments) and codings of cases (NVivo case
membership), both ignored with a count; codings whose code is unknown or whose positions are
out of range, skipped with a count; empty and non-text sources, skipped with a count.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from xml.etree.ElementTree import Element

from autocode.errors import AutocodeError
from autocode.io.codings import Span
from autocode.io.draft import StudyDraft, safe_name, unique
from autocode.io.refi.codebook import codebook_dict, codes_from_xml, norm_guid
from autocode.io.refi.people import Cases, participants_for, read_cases, variable_values
from autocode.io.refi.positions import PROFILES, PositionMap, choose, profile_for_origin
from autocode.io.safe import DEFAULT_LIMITS, Limits, SafeZip, check_file_size, local, parse_xml

EXPECT_QDPX = "a REFI-QDA project (.qdpx: a zip holding project.qde and its sources)"
EXPECT_QDC = "a REFI-QDA codebook (.qdc: XML with a CodeBook root)"


@dataclass
class Source:
    guid: str
    name: str
    raw: str
    element: Element
    variables: dict[str, str] = field(default_factory=dict)


def children(el: Element | None, name: str) -> list[Element]:
    return [] if el is None else [c for c in el if local(c.tag) == name]


def child(el: Element | None, name: str) -> Element | None:
    found = children(el, name)
    return found[0] if found else None


# -- the project file -----------------------------------------------------------------------
def read_qdpx(path: str | Path, limits: Limits = DEFAULT_LIMITS) -> StudyDraft:
    """Read a .qdpx project: sources, codebook, users, cases and codings."""
    path = Path(path)
    with SafeZip(path, EXPECT_QDPX, limits) as archive:
        root = parse_xml(archive.read(_project_member(archive)), path, "project.qde")
        if local(root.tag) != "Project":
            raise AutocodeError(f"project.qde has a <{local(root.tag)}> root; expected <Project>. {EXPECT_QDPX}", path)
        draft = StudyDraft(path, "qdpx", root.get("name") or path.stem)
        book = _codebook(root, draft, path)
        sources = _sources(root, archive, draft)
    _build(root, draft, sources)
    if book is not None:
        draft.codebook = book
    return draft


def _project_member(archive: SafeZip) -> str:
    found = archive.find("project.qde")
    if found is None:
        others = [n for n in archive.members if "/" not in n and n.lower().endswith(".qde")]
        found = others[0] if len(others) == 1 else None
    if found is None:
        raise AutocodeError(f"the archive holds no project.qde; expected {EXPECT_QDPX}. "
                            "Export the project again with 'REFI-QDA project'", archive.path)
    return found


def _codebook(root: Element, draft: StudyDraft, path: Path) -> dict | None:
    codes = codes_from_xml(child(child(root, "CodeBook"), "Codes"), draft.guid_map)
    if not codes:
        draft.warnings.append(f"{path.name}: the project has no codes; codings (if any) are skipped")
        return None
    return codebook_dict(draft.name, codes, f"REFI-QDA project {path.name} ({root.get('origin') or 'unknown tool'})")


def _sources(root: Element, archive: SafeZip, draft: StudyDraft) -> list[Source]:
    out = []
    holder = child(root, "Sources")
    for el in [] if holder is None else list(holder):
        kind = local(el.tag)
        if kind == "PDFSource" and child(el, "Representation") is not None:
            rep = child(el, "Representation")
            rep.set("name", rep.get("name") or el.get("name") or "")
            el = rep
        elif kind != "TextSource":
            draft.ignored[f"{kind} sources (only text sources are imported)"] += 1
            continue
        raw = _source_text(el, archive, draft)
        if raw is None:
            continue
        if not raw.strip():
            draft.ignored["empty text sources"] += 1
            continue
        path_name = PurePosixPath((el.get("plainTextPath") or "").replace("\\", "/")).name
        out.append(Source(norm_guid(el.get("guid")), el.get("name") or path_name, raw, el))
    return out


def _source_text(el: Element, archive: SafeZip, draft: StudyDraft) -> str | None:
    content = child(el, "PlainTextContent")
    if content is not None:
        return content.text or ""
    ref = el.get("plainTextPath") or ""
    member = _find_member(archive, ref)
    if member is None:
        draft.ignored["text sources whose plain text is not in the archive"] += 1
        draft.warnings.append(f"source {el.get('name')!r}: plain text {ref or '(no plainTextPath)'} is not "
                              "in the archive; export the project with its sources embedded")
        return None
    return decode_source(archive.read(member), draft, el.get("name") or member)


def _find_member(archive: SafeZip, ref: str) -> str | None:
    for scheme in ("internal://", "relative://", "absolute://", "file://"):
        if ref.lower().startswith(scheme):
            ref = ref[len(scheme):]
            break
    ref = ref.replace("\\", "/").lstrip("/")
    if not ref:
        return None
    name = PurePosixPath(ref).name
    for candidate in (f"Sources/{ref}", f"sources/{ref}", ref, f"Sources/{name}", f"sources/{name}"):
        found = archive.find(candidate)
        if found is not None:
            return found
    return None


def decode_source(data: bytes, draft: StudyDraft, name: str) -> str:
    """Decode a source file, keeping a UTF-8 BOM as U+FEFF (positions may count it)."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return "\ufeff" + data.decode("utf-16")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        draft.warnings.append(f"source {name!r} is not UTF-8; read as Windows cp1252")
        return data.decode("cp1252", errors="replace")


# -- sources, selections and codings --------------------------------------------------------
def _build(root: Element, draft: StudyDraft, sources: list[Source]) -> None:
    users = {norm_guid(u.get("guid")): u.get("name") or u.get("id") or ""
             for u in children(child(root, "Users"), "User")}
    variables = {norm_guid(v.get("guid")): v.get("name") or "" for v in children(child(root, "Variables"), "Variable")}
    cases = read_cases(child(root, "Cases"), variables)
    profile = profile_for_origin(root.get("origin"))
    draft.details["origin"], draft.details["position_profile"] = root.get("origin"), profile
    fallback_user = norm_guid(root.get("creatingUserGUID"))
    coders: dict[str, str] = {}
    taken: set[str] = set()
    by_tid: dict[str, Source] = {}
    for source in sources:
        tid = unique(safe_name(_stem(source.name), f"source-{len(taken) + 1}"), taken)
        by_tid[tid] = source
        source.variables = variable_values(source.element, variables)
        text, spans = _source_codings(source, tid, profile, draft, cases)
        draft.texts[tid] = text
        for user_guid, span in spans:
            coder = _coder(users.get(user_guid or fallback_user, ""), coders)
            draft.codings.setdefault(coder, []).append(Span(span.transcript, span.start, span.end, span.code, coder))
    for coder in draft.codings:
        draft.codings[coder] = sorted(set(draft.codings[coder]))
    participants_for(draft, by_tid, cases)


def _stem(name: str) -> str:
    suffix = PurePosixPath(name).suffix.lower()
    return name[: -len(suffix)] if suffix in {".txt", ".docx", ".doc", ".rtf", ".pdf", ".odt", ".md"} else name


def _coder(name: str, coders: dict[str, str]) -> str:
    if name not in coders:
        coders[name] = unique(safe_name(name, "unattributed"), set(coders.values()))
    return coders[name]


def _source_codings(source: Source, tid: str, profile: str, draft: StudyDraft,
                    cases: Cases) -> tuple[str, list[tuple[str | None, Span]]]:
    selections = children(source.element, "PlainTextSelection")
    named = [(_int(s.get("startPosition")), _int(s.get("endPosition")), s.get("name") or "") for s in selections]
    pmap, switched = choose(source.raw, PROFILES[profile], [n for n in named if None not in n[:2]])
    if switched:
        draft.warnings.append(f"{tid}: positions read as {pmap.convention.describe()}, which the selection "
                              f"names fit better than the {profile} convention")
    spans = []
    for sel in selections:
        spans += _selection(sel, tid, pmap, draft, cases, source)
    return pmap.text, spans


def _selection(sel: Element, tid: str, pmap: PositionMap, draft: StudyDraft,
               cases: Cases, source: Source) -> list[tuple[str | None, Span]]:
    codings = children(sel, "Coding")
    cases.selection_source[norm_guid(sel.get("guid"))] = source.guid
    if not codings:
        draft.ignored["selections with no coding (comments or memos)"] += 1
        return []
    start, end = _int(sel.get("startPosition")), _int(sel.get("endPosition"))
    where = None if start is None or end is None else pmap.to_text(start, end)
    out = []
    for coding in codings:
        ref = child(coding, "CodeRef")
        target = norm_guid(ref.get("targetGUID") if ref is not None else None)
        if target in cases.guids:
            cases.members.setdefault(target, []).append(source.guid)
            draft.ignored["codings of cases (case membership, read as participants)"] += 1
        elif target not in draft.guid_map:
            draft.ignored["codings of unknown codes"] += 1
        elif where is None:
            draft.ignored["codings with positions outside their source"] += 1
        else:
            user = norm_guid(coding.get("creatingUser") or sel.get("creatingUser")) or None
            out.append((user, Span(tid, where[0], where[1], draft.guid_map[target], "")))
    return out


def _int(value: str | None) -> int | None:
    try:
        return int((value or "").strip())
    except ValueError:
        return None


# -- codebooks ------------------------------------------------------------------------------
def read_qdc(path: str | Path, limits: Limits = DEFAULT_LIMITS) -> StudyDraft:
    """Read a .qdc codebook into a draft holding only the codebook."""
    path = Path(path)
    check_file_size(path, limits, text=True)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise AutocodeError(f"cannot read file ({exc.strerror}); check that it exists", path) from None
    root = parse_xml(data, path, "the codebook")
    if local(root.tag) not in ("CodeBook", "Project"):
        raise AutocodeError(f"the root element is <{local(root.tag)}>; expected {EXPECT_QDC}", path)
    codes_el = child(root, "Codes") if local(root.tag) == "CodeBook" else child(child(root, "CodeBook"), "Codes")
    draft = StudyDraft(path, "qdc", root.get("name") or path.stem)
    codes = codes_from_xml(codes_el, draft.guid_map)
    if not codes:
        raise AutocodeError(f"the codebook holds no codes; expected {EXPECT_QDC} with <Codes><Code .../></Codes>", path)
    draft.codebook = codebook_dict(draft.name, codes, f"REFI-QDA codebook {path.name}")
    return draft
