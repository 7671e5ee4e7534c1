"""Participants from REFI-QDA cases and variables.

A source belongs to the case that names it (``SourceRef``), names one of its selections
(``SelectionRef``) or codes it (NVivo stores case membership as codings whose target is the
case's GUID). The participant is that case, with the case's variables and the source's own
variables (MAXQDA keeps document variables on the source) as participants.csv columns. A
source with no case is its own participant, named after the source. When the participant id
differs from the transcript id, a ``# participant: ID`` header line is put before the text and
every span moves with it, since that header is how a transcript names its participant.

A source with several participant speakers (a focus group) is mapped speaker by speaker: a case
that lists the source (or one of its selections) is a speaker's participant when its name, or
the value of one of its variables, is that speaker's label (NVivo's "auto code by speaker"
makes one case per speaker, named after them). The mapping goes to speakers.csv
(``draft.speakers``), with no header; speakers that no case names are mapped from their names
by ``io.draft.map_speakers``, as for every other format.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from xml.etree.ElementTree import Element

from autocode.io.codings import Span
from autocode.errors import AutocodeError
from autocode.io.draft import StudyDraft, header_participant, labels_for, safe_name, unique
from autocode.io.refi.codebook import norm_guid
from autocode.io.safe import local
from autocode.io.transcripts import parse_transcript, speaker_key

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
        matched = _speaker_cases(draft, tid, owners, cases)
        if matched:
            for label, key in matched.items():
                if key not in ids:
                    ids[key] = unique(safe_name(cases.names[key], "case"), set(ids.values()))
                draft.speakers.setdefault(tid, {})[label] = ids[key]
                merged = draft.participants.setdefault(ids[key], {})
                for name, value in {**cases.variables[key], **source.variables}.items():
                    merged.setdefault(name, value)
            unnamed = [cases.names[k] for k in owners if k not in matched.values()]
            if unnamed:
                draft.warnings.append(f"{tid}: {len(unnamed)} of its cases name no speaker of the source "
                                      f"({', '.join(repr(x) for x in unnamed)}); they are not its participants")
            _declared_speakers(draft, tid, cases)
            continue
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
        _declared_speakers(draft, tid, cases)


def _declared_speakers(draft: StudyDraft, tid: str, cases: Cases) -> None:
    """Participants that the text's own ``# speaker: LABEL = ID`` lines name (an autocode
    export of a focus group) get a participants.csv row, from the case of that name if any."""
    try:
        declared = parse_transcript(draft.texts[tid], tid, labels_for(draft)).declared
    except AutocodeError:
        return
    named = {_key(name): key for key, name in cases.names.items()}
    for pid in declared.values():
        key = named.get(_key(pid))
        merged = draft.participants.setdefault(pid, {})
        for name, value in (cases.variables.get(key, {}) if key else {}).items():
            merged.setdefault(name, value)


def _speaker_cases(draft: StudyDraft, tid: str, owners: list[str], cases: Cases) -> dict[str, str]:
    """``speaker label -> case GUID`` for a source with several participant speakers whose cases
    name them (by the case's name or one of its variable values); empty otherwise."""
    text = draft.texts[tid]
    if not owners or header_participant(text):
        return {}
    try:
        transcript = parse_transcript(text, tid, labels_for(draft))
    except AutocodeError:
        return {}
    labels = list(dict.fromkeys(t.speaker for t in transcript.turns if not t.is_interviewer))
    if len({speaker_key(x) for x in labels}) < 2:
        return {}
    labels = [x for x in labels if speaker_key(x) not in transcript.declared]  # the text maps these itself
    matched: dict[str, str] = {}
    for key in owners:
        names = {_key(cases.names[key]), *(_key(v) for v in cases.variables[key].values() if v)}
        for label in labels:
            if _key(label) in names and label not in matched:
                matched[label] = key
                break
    return matched


def _key(name: str) -> str:
    return speaker_key(name.replace("_", " "))


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
