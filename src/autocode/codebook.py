"""Codebooks: a validated hierarchy of codes loaded from YAML.

A codebook file holds ``name``, optional ``title``/``version``/``description``/``levels`` and a
tree of ``codes``. Each code has an ``id`` (a child's id starts with its parent's id and a dot),
a ``label``, a ``definition`` and optional ``include``, ``exclude``, ``examples`` and
``children``. The flattened depth-first order of the tree is "codebook order": every matrix of
codes in autocode has its columns in this order.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from autocode.errors import AutocodeError, pydantic_problem

ID_PATTERN = re.compile(r"^[A-Za-z0-9_\-]+(\.[A-Za-z0-9_\-]+)*$")


class CodeSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1)
    label: str = Field(min_length=1)
    definition: str = Field(min_length=1)
    include: str | None = None
    exclude: str | None = None
    examples: list[str] = Field(default_factory=list)
    children: list["CodeSpec"] = Field(default_factory=list)


class CodebookSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    title: str | None = None
    version: str | None = None
    description: str | None = None
    source: str | None = None
    levels: list[str] = Field(default_factory=lambda: ["dimension", "category", "code"])
    codes: list[CodeSpec] = Field(min_length=1)


@dataclass(frozen=True)
class Code:
    id: str
    label: str
    definition: str
    parent: str | None
    depth: int
    include: str | None
    exclude: str | None
    examples: tuple[str, ...]
    children: tuple[str, ...]


class Codebook:
    """A validated code hierarchy. Build it with :func:`load_codebook` or :meth:`from_spec`."""

    def __init__(self, spec: CodebookSpec, path: Path | None = None):
        self.spec = spec
        self.path = path
        self.codes: list[Code] = []
        self._flatten(spec.codes, parent=None, depth=0, where="codes")
        self.ids = [c.id for c in self.codes]
        self.index = {cid: i for i, cid in enumerate(self.ids)}
        self.by_id = {c.id: c for c in self.codes}

    @classmethod
    def from_spec(cls, data: dict, path: Path | None = None) -> "Codebook":
        try:
            spec = CodebookSpec.model_validate(data)
        except ValidationError as exc:
            raise AutocodeError(f"invalid codebook: {pydantic_problem(exc)}", path) from None
        return cls(spec, path)

    def _flatten(self, specs: list[CodeSpec], parent: str | None, depth: int, where: str) -> None:
        seen = {c.id for c in self.codes}
        for i, spec in enumerate(specs):
            key = f"{where}[{i}].id"
            if not ID_PATTERN.match(spec.id):
                raise AutocodeError(f"{key}: code id {spec.id!r} may hold only letters, digits, _ - and dots", self.path)
            if parent is not None and not spec.id.startswith(parent + "."):
                raise AutocodeError(f"{key}: code id {spec.id!r} must start with its parent's id {parent + '.'!r}", self.path)
            if spec.id in seen:
                raise AutocodeError(f"{key}: code id {spec.id!r} appears twice; give each code its own id", self.path)
            seen.add(spec.id)
            self.codes.append(
                Code(spec.id, spec.label, spec.definition, parent, depth, spec.include, spec.exclude,
                     tuple(spec.examples), tuple(c.id for c in spec.children))
            )
            self._flatten(spec.children, spec.id, depth + 1, f"{where}[{i}].children")

    # -- structure -------------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.spec.name

    def __len__(self) -> int:
        return len(self.ids)

    def level_name(self, code_id: str) -> str:
        depth = self.by_id[code_id].depth
        levels = self.spec.levels
        return levels[depth] if depth < len(levels) else levels[-1]

    def ancestors(self, code_id: str) -> list[str]:
        out = []
        parent = self.by_id[code_id].parent
        while parent is not None:
            out.append(parent)
            parent = self.by_id[parent].parent
        return out

    def is_leaf(self, code_id: str) -> bool:
        return not self.by_id[code_id].children

    def at_depth(self, depth: int) -> list[str]:
        return [c.id for c in self.codes if c.depth == depth]

    def leaves(self) -> list[str]:
        return [c.id for c in self.codes if not c.children]

    def closure(self, Y: np.ndarray) -> np.ndarray:
        """Propagate each code to its ancestors: a code implies its category and dimension."""
        Y = np.asarray(Y, dtype=bool).copy()
        for code in reversed(self.codes):  # children come after parents in codebook order
            if code.parent is not None:
                Y[:, self.index[code.parent]] |= Y[:, self.index[code.id]]
        return Y

    def closure_max(self, P: np.ndarray) -> np.ndarray:
        """Like :meth:`closure` for scores: a parent scores at least as high as any child."""
        P = np.asarray(P, dtype=float).copy()
        for code in reversed(self.codes):
            if code.parent is not None:
                p, c = self.index[code.parent], self.index[code.id]
                P[:, p] = np.maximum(P[:, p], P[:, c])
        return P

    # -- identity --------------------------------------------------------------------------
    def structure_hash(self) -> str:
        """Hash of the code ids and hierarchy: models are tied to this, not to wording."""
        payload = json.dumps([[c.id, c.parent] for c in self.codes], separators=(",", ":"))
        return hashlib.sha256(payload.encode()).hexdigest()[:16]

    def check_compatible(self, codes: list[str], what: str) -> None:
        """Fail, listing the codes that differ, when ``codes`` is not this codebook's ids."""
        if list(codes) == self.ids:
            return
        missing = [c for c in self.ids if c not in codes]
        extra = [c for c in codes if c not in self.index]
        detail = []
        if missing:
            detail.append(f"codes only in the codebook: {', '.join(missing[:10])}")
        if extra:
            detail.append(f"codes only in the {what}: {', '.join(extra[:10])}")
        if not detail:
            detail.append("the same codes in a different order or hierarchy")
        raise AutocodeError(
            f"the {what} was made for a different codebook ({'; '.join(detail)}). "
            f"Use the codebook it was trained with, or retrain it with 'autocode train'.",
            self.path,
        )

    def to_dict(self) -> dict:
        return self.spec.model_dump(exclude_none=True)


def load_codebook(path: str | Path) -> Codebook:
    """Read and validate a codebook YAML file."""
    path = Path(path)
    if not path.is_file():
        raise AutocodeError("codebook file not found; pass an existing YAML codebook", path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise AutocodeError("codebook is not UTF-8 text; save it as UTF-8 YAML", path) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise AutocodeError(f"codebook is not valid YAML{where}; fix the syntax", path) from None
    if not isinstance(data, dict):
        raise AutocodeError("codebook must be a YAML mapping with 'name' and 'codes'", path)
    return Codebook.from_spec(data, path)


def describe(codebook: Codebook) -> str:
    """A plain-text outline of the codebook for ``autocode codebook show``."""
    lines = [f"{codebook.name}: {len(codebook)} codes ({len(codebook.leaves())} leaves)"]
    for code in codebook.codes:
        lines.append(f"{'  ' * code.depth}{code.id}  {code.label}")
    return "\n".join(lines)
