"""Participants from REFI-QDA cases and variables.

A source belongs to the case that names it (``SourceRef``), names one of its selections
(``SelectionRef``) or codes it (NVivo stores case membership as codings whose target is the
case's GUID). The participant is that case, with the case's variables and the source's own
variables (MAXQDA keeps document variables on the source) as participants.csv columns. A
source with no case is its own participant, named after the source. When the participant id
differs from the transcript id, a ``# participant: ID`` header line is put before the text and
every span moves with it, since that header is how a transcript names its participant.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from xml.etree.ElementTree import Element

from autocode.io.codings import Span
from autocode.io.draft import StudyDraft, header_participant, safe_name, unique
from autocode.io.refi.codebook import norm_guid
from autocode.io.safe import local

_VALUE_TAGS = {"TextValue", "BooleanValue", "IntegerValue", "FloatValue", "DateValue", "DateTimeValue"}


@dataclass
class Cases:
    names: dict[str, str] = field(default_factory=dict)
    variables: dict[str, dict[str, str]] = field(default_factory=dict)
    members: dict[str, list[str]] = field(default_factory=dict)
    """case GUID -> source GUIDs"""
    selection_refs: dict[str, list[str]] = field(default_factory=dict)
    selection_source: dict[str, str] = field(default_factory=dict)

    @property
    def guids(self) -> set[str]:
        return set(self.names)


def variable_values(el: Element, variables: dict[str, str]) -> dict[str, str]:
    """``{variable name: value}`` from the VariableValue children of ``el``."""
    out = {}
    for vv in el:
        if local(vv.tag) != "VariableValue":
            continue
        ref = next((c.get("targetGUID") for c in vv if local(c.tag) == "VariableRef"), None)
        value = next(((c.text or "").strip() for c in vv if local(c.tag) in _VALUE_TAGS), "")
        name = variables.get(norm_guid(ref), "")
        if name and name != "participant_id":
            out.setdefault(name, value)
    return out


def read_cases(cases_el: Element | None, variables: dict[str, str]) -> Cases:
    cases = Cases()
    for case in [] if cases_el is None else [c for c in cases_el if local(c.tag) == "Case"]:
        key = norm_guid(case.get("guid"))
        if not key:
            continue
        cases.names[key] = case.get("name") or key
        cases.variables[key] = variable_values(case, variables)
        refs = {local(c.tag): [] for c in case}
        for c in case:
            refs[local(c.tag)].append(norm_guid(c.get("targetGUID")))
        cases.members[key] = refs.get("SourceRef", [])
        cases.selection_refs[key] = refs.get("SelectionRef", [])
    return cases


def _owners(source_guid: str, cases: Cases) -> list[str]:
    out = []
    for key in cases.names:
        by_selection = [cases.selection_source.get(s) for s in cases.selection_refs.get(key, [])]
        if source_guid in cases.members.get(key, []) or source_guid in by_selection:
            out.append(key)
    return out


def participants_for(draft: StudyDraft, sources: dict, cases: Cases) -> None:
    """Fill ``draft.participants`` and name each transcript's participant (see module doc)."""
    ids: dict[str, str] = {}
    for tid, source in sources.items():
        owners = _owners(source.guid, cases)
        if len(owners) > 1:
            draft.warnings.append(f"{tid}: belongs to {len(owners)} cases; took {cases.names[owners[0]]!r} "
                                  "as its participant")
        attrs = dict(source.variables)
        pid = tid
        if owners:
            if owners[0] not in ids:
                ids[owners[0]] = unique(safe_name(cases.names[owners[0]], "case"), set(ids.values()))
            pid = ids[owners[0]]
            attrs = {**cases.variables[owners[0]], **attrs}
        pid = _name_participant(draft, tid, pid)
        merged = draft.participants.setdefault(pid, {})
        for key, value in attrs.items():
            merged.setdefault(key, value)


def _name_participant(draft: StudyDraft, tid: str, pid: str) -> str:
    text = draft.texts[tid]
    named = header_participant(text)
    if named:
        return named
    if pid == tid:
        return pid
    prefix = f"# participant: {pid}\n\n"
    draft.texts[tid] = prefix + text
    shift = len(prefix)
    for coder, spans in draft.codings.items():
        draft.codings[coder] = [
            Span(s.transcript, s.start + shift, s.end + shift, s.code, s.coder) if s.transcript == tid else s
            for s in spans
        ]
    return pid
