"""Convert REFI-QDA selection positions between the exporting tool's counting and autocode's.

autocode counts Unicode code points in the normalised text (no BOM, every line ending one
``\\n``). Tools differ in three ways, each a field of :class:`Convention`:

- ``utf16``: characters outside the Basic Multilingual Plane (emoji) count as two positions
  (UTF-16 code units) rather than one;
- ``crlf``: a ``\\r\\n`` pair counts as two positions or as one;
- ``bom``: a byte-order mark at the start of the file counts as a position.

:class:`PositionMap` holds, for one source text, the tool position at which each normalised
character starts, and converts in both directions. A position that falls inside a character
(between ``\\r`` and ``\\n``, or inside a surrogate pair) is widened to the whole character.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from itertools import product


@dataclass(frozen=True)
class Convention:
    utf16: bool = False
    crlf: int = 2
    bom: bool = False

    def describe(self) -> str:
        units = "UTF-16 code units" if self.utf16 else "code points"
        bom = ", BOM counted" if self.bom else ""
        return f"{units}, CRLF as {self.crlf}{bom}"


# What each tool writes (see docs/interop.md). "generic" is the REFI-QDA reading: character
# positions into the plain text file as it is, as QualCoder and other Python tools count.
PROFILES: dict[str, Convention] = {
    "generic": Convention(utf16=False, crlf=2),
    "qualcoder": Convention(utf16=False, crlf=2),
    "atlasti": Convention(utf16=True, crlf=1),
    "maxqda": Convention(utf16=True, crlf=2),
    "nvivo": Convention(utf16=True, crlf=2),
}
EXPORT_NEWLINES = {"maxqda": "\r\n"}
"""Line endings written into exported sources; MAXQDA expects CRLF, the rest take LF."""

_ORIGINS = [("atlas", "atlasti"), ("maxqda", "maxqda"), ("nvivo", "nvivo"), ("qualcoder", "qualcoder")]


def profile_for_origin(origin: str | None) -> str:
    """The profile name for a Project's ``origin`` attribute (e.g. "ATLAS.ti 23.2.1")."""
    text = re.sub(r"[^a-z]", "", (origin or "").lower())
    for key, name in _ORIGINS:
        if key.replace(".", "") in text:
            return name
    return "generic"


class PositionMap:
    """Tool positions of one source's characters under one convention."""

    def __init__(self, raw: str, convention: Convention):
        self.convention = convention
        has_bom = raw.startswith("\ufeff")
        body = raw[1:] if has_bom else raw
        position = 1 if (has_bom and convention.bom) else 0
        starts: list[int] = []
        chars: list[str] = []
        i = 0
        while i < len(body):
            char = body[i]
            starts.append(position)
            if char == "\r":
                pair = body.startswith("\r\n", i)
                position += convention.crlf if pair else 1
                i += 2 if pair else 1
                chars.append("\n")
                continue
            position += 2 if (convention.utf16 and ord(char) > 0xFFFF) else 1
            chars.append(char)
            i += 1
        starts.append(position)
        self.starts = starts
        self.text = "".join(chars)
        self.size = position

    def to_text(self, start: int, end: int) -> tuple[int, int] | None:
        """Normalised ``(start, end)`` for a tool selection, or None when it is out of range."""
        if not 0 <= start < end <= self.size:
            return None
        first = max(bisect_right(self.starts, start) - 1, 0)
        last = min(bisect_left(self.starts, end), len(self.text))
        return (first, last) if last > first else None

    def to_tool(self, start: int, end: int) -> tuple[int, int]:
        """Tool positions for a normalised ``(start, end)``."""
        return self.starts[start], self.starts[end]


def candidates() -> list[Convention]:
    return [Convention(u, c, b) for u, c, b in product((False, True), (2, 1), (False, True))]


def _clean(text: str) -> str:
    return " ".join(text.replace("\u2026", " ").replace("...", " ").split())


def name_score(pmap: PositionMap, selections: list[tuple[int, int, str]]) -> int:
    """How many selections' names (ATLAS.ti and others name a quotation after its opening
    words) match the text they select under this map."""
    score = 0
    for start, end, name in selections:
        span = pmap.to_text(start, end)
        want = _clean(name)[:40]
        if span is not None and want and _clean(pmap.text[span[0] : span[1]]).startswith(want):
            score += 1
    return score


def choose(raw: str, default: Convention, selections: list[tuple[int, int, str]]) -> tuple[PositionMap, bool]:
    """The position map for ``raw``: the tool's convention, unless the selection names show
    that another convention fits strictly better. Returns the map and whether it was switched."""
    base = PositionMap(raw, default)
    named = [s for s in selections if len(_clean(s[2])) >= 4 and not re.fullmatch(r"[\w ]*:\s*\d+", s[2])]
    if not named or not _sensitive(raw):
        return base, False
    best, best_score = base, name_score(base, named)
    for convention in candidates():
        pmap = PositionMap(raw, convention)
        score = name_score(pmap, named)
        if score > best_score:
            best, best_score = pmap, score
    return best, best is not base


def _sensitive(raw: str) -> bool:
    """Whether conventions can differ at all for this text."""
    return raw.startswith("\ufeff") or "\r\n" in raw or any(ord(c) > 0xFFFF for c in raw)
