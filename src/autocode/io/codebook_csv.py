"""Codebooks as CSV: the form Taguette's "Import codebook" reads, which autocode reads back whole.

Columns written, one code a row in codebook order (parents before their children):

===============  ==========================================================================
``tag``          the code's labels from the top of the tree down, joined by `` / ``
                 (``Areas of tension / Administrative tensions / Service delivery``): unique,
                 so Taguette imports every code (it keeps only the first of repeated names),
                 and Taguette's tag list, sorted by name, shows each code under its parent.
                 A name that would repeat one before it, or exceed Taguette's 200 characters,
                 is ``label [id]`` instead
``description``  the definition (empty for "(no definition)")
``id``           the code id; ``parent``: its parent's id (empty at the top)
``label``        the code's label; ``include``, ``exclude``: as in the codebook
``examples``     one example a line (a line break inside an example becomes a space)
===============  ==========================================================================

Taguette reads only ``tag`` and ``description``. The file starts with a UTF-8 byte order mark:
Taguette guesses a CSV's encoding (chardet) and takes UTF-8 without one for Windows-1252
whenever there are few non-ASCII characters, and Excel needs it too.

Reading takes autocode's own CSV (an ``id`` column: ids, hierarchy, labels and every field
come back as written) and a CSV of names, such as Taguette's export (``tag``, ``name`` or
``path`` and an optional ``description`` column; other columns are ignored). Codes of the
latter get ids made from their names as for a REFI-QDA codebook; a name that starts with
another name and `` / `` is that code's child, so autocode's own tags nest again after a trip
through Taguette; an empty description reads "(no definition)"; a repeated name is skipped
as Taguette does.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from autocode.codebook import ID_PATTERN, Codebook
from autocode.errors import AutocodeError
from autocode.io.atomic import check_output_file, write_text
from autocode.io.draft import StudyDraft, slug, unique
from autocode.io.refi.codebook import NO_DEFINITION, codebook_dict
from autocode.io.safe import DEFAULT_LIMITS, Limits, check_file_size

COLUMNS = ["tag", "description", "id", "parent", "label", "include", "exclude", "examples"]
SEPARATOR = " / "
"""Between the labels of a tag: parent, then child."""
EXAMPLE_SEPARATOR = "\n"
MAX_TAG = 200
"""Taguette's longest tag name."""
NAME_COLUMNS = ("tag", "name", "path")
EXPECT = ("a codebook CSV (UTF-8, a header row with a tag, name or path column as Taguette writes, "
          "or autocode's id column, then one code a row)")


# -- writing --------------------------------------------------------------------------------
def tag_names(book: Codebook) -> dict[str, str]:
    """Code id -> the unique tag name written for it (see the module doc)."""
    tags: dict[str, str] = {}
    taken: set[str] = set()
    for code in book.codes:  # parents come before their children
        label = " ".join(code.label.split())
        tag = f"{tags[code.parent]}{SEPARATOR}{label}" if code.parent else label
        if tag.casefold() in taken or len(tag) > MAX_TAG:
            tag = f"{label} [{code.id}]"
        taken.add(tag.casefold())
        tags[code.id] = tag
    return tags


def codebook_csv(book: Codebook) -> str:
    """The CSV text of ``book`` (without the byte order mark)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    tags = tag_names(book)
    for code in book.codes:
        examples = EXAMPLE_SEPARATOR.join(" ".join(e.splitlines()) for e in code.examples)
        definition = "" if code.definition == NO_DEFINITION else code.definition
        writer.writerow([tags[code.id], definition, code.id, code.parent or "", code.label,
                         code.include or "", code.exclude or "", examples])
    return buffer.getvalue()


def write_codebook_csv(codebook: Codebook, path: str | Path, *, force: bool = False) -> Path:
    """Write ``codebook`` as a CSV that Taguette imports and autocode reads back whole."""
    out = Path(path)
    check_output_file(out, force)
    write_text(out, "\ufeff" + codebook_csv(codebook))
    return out


# -- reading --------------------------------------------------------------------------------
def read_codebook_csv(path: str | Path, limits: Limits = DEFAULT_LIMITS) -> StudyDraft:
    """Read a codebook CSV (autocode's or Taguette's) into a draft holding only the codebook."""
    path = Path(path)
    header, rows = _table(path, limits)
    draft = StudyDraft(path, "csv", path.stem)
    if {"document", "content"} <= set(header):
        raise AutocodeError("this is a CSV of highlights (document, content), not a codebook; expected "
                            f"{EXPECT}. In Taguette use Export codebook > CSV", path)
    if "id" in header:
        codes = _autocode_codes(rows, path)
    else:
        column = next((c for c in NAME_COLUMNS if c in header), None)
        if column is None:
            raise AutocodeError(f"the header row ({', '.join(header)}) has no tag, name, path or id column; "
                                f"expected {EXPECT}. Name the column of code names 'tag'", path)
        codes = _named_codes(rows, column, draft, path)
    if not codes:
        raise AutocodeError(f"the file holds a header row but no codes; expected {EXPECT}. Add one row a code",
                            path)
    draft.codebook = codebook_dict(draft.name, codes, f"codebook CSV {path.name}")
    Codebook.from_spec(draft.codebook, path)  # the same checks as load_codebook
    return draft


def _table(path: Path, limits: Limits) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """The lower-cased header and the non-empty rows (numbered as Taguette does, header = 1)."""
    check_file_size(path, limits, text=True)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise AutocodeError(f"cannot read file ({exc.strerror}); check that it exists", path) from None
    except UnicodeDecodeError:
        raise AutocodeError(f"the file is not UTF-8 text; expected {EXPECT}. Save it again as 'CSV UTF-8'",
                            path) from None
    try:
        records = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise AutocodeError(f"not a readable CSV ({exc}); expected {EXPECT}. Save it again as CSV", path) from None
    if not records or not any(c.strip() for c in records[0]):
        raise AutocodeError(f"the file is empty; expected {EXPECT}. Export the codebook again", path)
    header = [c.strip().lower() for c in records[0]]
    rows = [(n, _fields(header, r)) for n, r in enumerate(records[1:], 2) if any(c.strip() for c in r)]
    return header, rows


def _fields(header: list[str], row: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in zip(header, row):
        out.setdefault(name, value)
    return out


def _autocode_codes(rows: list[tuple[int, dict[str, str]]], path: Path) -> list[dict]:
    specs: dict[str, dict] = {}
    parents: dict[str, tuple[int, str]] = {}
    for n, row in rows:
        code_id = row.get("id", "").strip()
        if not ID_PATTERN.match(code_id):
            raise AutocodeError(f"row {n}: code id {code_id!r} is empty or holds characters other than letters, "
                                "digits, _ - and dots; give every code such an id", path)
        if code_id in specs:
            raise AutocodeError(f"row {n}: code id {code_id!r} appears twice; give each code its own id", path)
        specs[code_id] = _spec(row, code_id)
        parents[code_id] = (n, row.get("parent", "").strip())
    return _tree(specs, parents, path)


def _spec(row: dict[str, str], code_id: str) -> dict:
    label = row.get("label", "").strip() or row.get("tag", "").rsplit(SEPARATOR, 1)[-1].strip() or code_id
    spec: dict = {"id": code_id, "label": label, "definition": _definition(row)}
    for key in ("include", "exclude"):
        if row.get(key, "").strip():
            spec[key] = row[key].strip()
    examples = [e.strip() for e in row.get("examples", "").split(EXAMPLE_SEPARATOR) if e.strip()]
    if examples:
        spec["examples"] = examples
    return spec


def _definition(row: dict[str, str]) -> str:
    return (row.get("description") or row.get("definition") or "").strip() or NO_DEFINITION


def _tree(specs: dict[str, dict], parents: dict[str, tuple[int, str]], path: Path) -> list[dict]:
    roots: list[dict] = []
    for code_id, spec in specs.items():  # file order
        n, parent = parents[code_id]
        if not parent:
            roots.append(spec)
        elif parent not in specs:
            raise AutocodeError(f"row {n}: parent {parent!r} of code {code_id!r} is not the id of a code in the "
                                "file; correct the parent column or add that code", path)
        elif not code_id.startswith(parent + "."):
            raise AutocodeError(f"row {n}: code id {code_id!r} must start with its parent's id "
                                f"{parent + '.'!r}; correct the id or the parent", path)
        else:
            specs[parent].setdefault("children", []).append(spec)
    return roots


def _named_codes(rows: list[tuple[int, dict[str, str]]], column: str, draft: StudyDraft,
                 path: Path) -> list[dict]:
    kept: dict[str, str] = {}  # name -> definition, file order
    for n, row in rows:
        name = row.get(column, "").strip()
        if not name:
            raise AutocodeError(f"row {n} has an empty {column}; give every code a name or delete the row", path)
        if name in kept:
            draft.ignored[f"repeated {column}s (the first is kept, as Taguette does)"] += 1
            continue
        kept[name] = _definition(row)
    parents = {name: _parent_name(name, kept) for name in kept}
    return _nest(kept, parents)


def _parent_name(name: str, names: dict[str, str]) -> str | None:
    """The longest other name that ``name`` starts with, followed by the separator."""
    end = name.rfind(SEPARATOR)
    while end > 0:
        if name[:end] in names:
            return name[:end]
        end = name.rfind(SEPARATOR, 0, end)
    return None


def _nest(kept: dict[str, str], parents: dict[str, str | None]) -> list[dict]:
    """The code tree of named codes: ids as read_qdc makes them (parent id, dot, unique slug)."""
    specs: dict[str, dict] = {}
    taken: dict[str | None, set[str]] = {}
    for name in sorted(kept, key=lambda x: _depth(x, parents)):  # stable: siblings in file order
        parent = parents[name]
        label = name[len(parent) + len(SEPARATOR):].strip() if parent else name
        stem = unique(slug(label), taken.setdefault(parent, set()))
        code_id = f"{specs[parent]['id']}.{stem}" if parent else stem
        specs[name] = {"id": code_id, "label": label, "definition": kept[name]}
    roots: list[dict] = []
    for name in kept:  # file order
        holder = specs[parents[name]].setdefault("children", []) if parents[name] else roots
        holder.append(specs[name])
    return roots


def _depth(name: str, parents: dict[str, str | None]) -> int:
    depth = 0
    while parents[name] is not None:
        name, depth = parents[name], depth + 1
    return depth
