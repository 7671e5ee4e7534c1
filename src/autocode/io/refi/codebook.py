"""REFI-QDA codes <-> autocode codebooks.

Import: each REFI ``Code`` becomes a code whose id is its parent's id, a dot and the slug of
its name (made unique among siblings); label = the REFI name; definition = the description or
"(no definition)". Export: each code gets a GUID derived from its id (uuid5), so exports are
stable. REFI has only a free-text description, so the description carries the definition and
then, one paragraph each, ``Include:``, ``Exclude:``, ``Example:`` lines and an
``autocode id:`` line; import reads them back, so an export imports to the same codebook.
"""

from __future__ import annotations

import re
import uuid
from xml.etree.ElementTree import Element, SubElement

from autocode.codebook import ID_PATTERN, Codebook
from autocode.io.draft import slug, unique
from autocode.io.safe import local

NAMESPACE = uuid.UUID("8f0c6a52-3c4e-5b1e-9d4a-6a7f2a0e4c11")
NO_DEFINITION = "(no definition)"
_FIELD = re.compile(r"^(Include|Exclude|Example|autocode id):[ \t]*(.*)$", re.DOTALL)


def guid(kind: str, key: str) -> str:
    """A stable GUID for an exported object (``kind`` is code, source, user, ...)."""
    return str(uuid.uuid5(NAMESPACE, f"{kind}:{key}"))


def norm_guid(value: str | None) -> str:
    """A GUID without braces, in lower case ("{ABC-...}" and "abc-..." are the same)."""
    return (value or "").strip().strip("{}").lower()


# -- import ---------------------------------------------------------------------------------
def codes_from_xml(codes_el: Element | None, guid_map: dict[str, str]) -> list[dict]:
    """The code tree under a REFI ``Codes`` element; fills ``guid_map`` (GUID -> id)."""
    if codes_el is None:
        return []
    return _children(codes_el, None, guid_map)


def _children(parent: Element, parent_id: str | None, guid_map: dict[str, str]) -> list[dict]:
    taken: set[str] = set()
    out = []
    for el in parent:
        if local(el.tag) != "Code":
            continue
        spec = _code(el, parent_id, taken)
        key = norm_guid(el.get("guid"))
        if key:
            guid_map.setdefault(key, spec["id"])
        children = _children(el, spec["id"], guid_map)
        if children:
            spec["children"] = children
        out.append(spec)
    return out


def _code(el: Element, parent_id: str | None, taken: set[str]) -> dict:
    name = (el.get("name") or "").strip() or "unnamed code"
    description = next((d.text or "" for d in el if local(d.tag) == "Description"), "")
    fields = split_description(description)
    wanted = fields.pop("id", None)
    if not (wanted and ID_PATTERN.match(wanted) and _fits(wanted, parent_id, taken)):
        stem = unique(slug(name), {t.rsplit(".", 1)[-1] for t in taken})
        wanted = f"{parent_id}.{stem}" if parent_id else stem
    taken.add(wanted)
    return {"id": wanted, "label": name, **fields}


def _fits(code_id: str, parent_id: str | None, taken: set[str]) -> bool:
    local_part = code_id[len(parent_id) + 1 :] if parent_id else code_id
    inside = code_id.startswith(parent_id + ".") if parent_id else True
    return inside and "." not in local_part and code_id not in taken


def split_description(text: str) -> dict:
    """Definition, include, exclude, examples and id from a REFI description."""
    definition, extra = [], {"examples": []}
    for block in re.split(r"\n[ \t]*\n", (text or "").replace("\r\n", "\n").strip()):
        match = _FIELD.match(block.strip())
        if match is None:
            definition.append(block.strip())
            continue
        key, value = match.group(1), match.group(2).strip()
        if key == "Example":
            extra["examples"].append(value)
        else:
            extra[{"Include": "include", "Exclude": "exclude", "autocode id": "id"}[key]] = value
    out = {"definition": "\n\n".join(b for b in definition if b) or NO_DEFINITION}
    out.update({k: v for k, v in extra.items() if v})
    return out


def codebook_dict(name: str, codes: list[dict], source: str) -> dict:
    return {"name": slug(name, "imported"), "title": name, "source": source, "codes": codes}


# -- export ---------------------------------------------------------------------------------
def description(code) -> str:
    parts = [] if code.definition == NO_DEFINITION else [code.definition]
    if code.include:
        parts.append(f"Include: {code.include}")
    if code.exclude:
        parts.append(f"Exclude: {code.exclude}")
    parts += [f"Example: {e}" for e in code.examples]
    parts.append(f"autocode id: {code.id}")
    return "\n\n".join(parts)


def codes_to_xml(parent: Element, book: Codebook) -> None:
    """Add a ``Codes`` element holding ``book``'s tree under ``parent`` (unqualified tags: the
    document's root declares the namespace)."""
    codes_el = SubElement(parent, "Codes")
    made: dict[str, Element] = {}
    for code in book.codes:  # parents come before their children
        holder = made[code.parent] if code.parent else codes_el
        el = SubElement(holder, "Code", guid=guid("code", code.id), name=code.label, isCodable="true")
        SubElement(el, "Description").text = description(code)
        made[code.id] = el
