"""Codebook CSV (issue #6): autocode's own round trip, Taguette's exports, the command line and
bad input. Offline; the real Taguette checks are in test_taguette.py."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from autocode.codebook import Codebook, load_codebook
from autocode.errors import AutocodeError
from autocode.io.codebook_csv import (
    COLUMNS, MAX_TAG, codebook_csv, read_codebook_csv, tag_names, write_codebook_csv,
)
from autocode.io.importer import import_file
from autocode.io.refi import read_qdc
from autocode.io.safe import Limits
from tests.test_cli import assert_one_line_error as one_line_error
from tests.test_cli import invoke

ROOT = Path(__file__).resolve().parents[1]
NHS = ROOT / "configs" / "codebooks" / "nhs_leadership.yaml"
TAGUETTE = Path(__file__).parent / "fixtures" / "taguette"
BOM = b"\xef\xbb\xbf"


def book_of(path: Path) -> Codebook:
    return Codebook.from_spec(read_codebook_csv(path).codebook)


def rows_of(path: Path) -> list[dict]:
    return list(csv.DictReader(io.StringIO(path.read_bytes().decode("utf-8-sig"))))


def small_book(**extra) -> Codebook:
    codes = [{"id": "a", "label": "Other", "definition": "(no definition)", **extra,
              "children": [{"id": "a.x", "label": "Other", "definition": "d"},
                           {"id": "a.y", "label": "Other", "definition": "e"}]}]
    return Codebook.from_spec({"name": "small", "codes": codes})


# -- autocode's own CSV ---------------------------------------------------------------------
def test_nhs_codebook_round_trips_whole(tmp_path):
    nhs = load_codebook(NHS)
    out = write_codebook_csv(nhs, tmp_path / "nhs.csv")
    back = book_of(out)
    assert back.codes == nhs.codes  # ids, hierarchy, labels, definitions, include, exclude, examples
    assert sum(len(c.examples) for c in back.codes) == sum(len(c.examples) for c in nhs.codes) > 30


def test_the_csv_is_what_taguette_reads(tmp_path):
    nhs = load_codebook(NHS)
    data = write_codebook_csv(nhs, tmp_path / "nhs.csv").read_bytes()
    assert data.startswith(BOM + b"tag,description,id,parent,label,include,exclude,examples\n")
    rows = rows_of(tmp_path / "nhs.csv")
    assert list(rows[0]) == COLUMNS and len(rows) == 42
    header = [c.lower() for c in rows[0]]
    assert sum(c in header for c in ("tag", "name", "path")) == 1  # Taguette refuses a header with two
    tags = [r["tag"] for r in rows]
    assert len(set(tags)) == len(tags) and max(map(len, tags)) <= MAX_TAG
    away = next(r for r in rows if r["id"] == "strategy.institutionalizing_partnership.away_days")
    assert away["tag"] == "Strategies that resolve tension / Institutionalizing partnership / Away days"
    assert away["description"] == nhs.by_id[away["id"]].definition and away["parent"] == "strategy.institutionalizing_partnership"
    assert away["examples"].split("\n") == list(nhs.by_id[away["id"]].examples)


def test_repeated_labels_get_unique_tags_and_no_definition_an_empty_description(tmp_path):
    book = small_book(include="in", examples=["one\nline", "two"])
    assert list(tag_names(book).values()) == ["Other", "Other / Other", "Other [a.y]"]
    rows = list(csv.DictReader(io.StringIO(codebook_csv(book))))
    assert rows[0]["description"] == "" and rows[0]["examples"] == "one line\ntwo"
    back = book_of(write_codebook_csv(book, tmp_path / "small.csv"))
    assert [(c.id, c.parent, c.label, c.definition) for c in back.codes] == [
        ("a", None, "Other", "(no definition)"), ("a.x", "a", "Other", "d"), ("a.y", "a", "Other", "e")]
    assert back.by_id["a"].examples == ("one line", "two") and back.by_id["a"].include == "in"


def test_a_tag_over_taguettes_limit_is_label_and_id():
    long = "L" * 150
    book = Codebook.from_spec({"name": "n", "codes": [{"id": "p", "label": long, "definition": "d", "children": [
        {"id": "p.c", "label": long, "definition": "d"}]}]})
    assert tag_names(book)["p.c"] == f"{long} [p.c]"


def test_rows_in_any_order_and_a_crlf_file(tmp_path):
    path = tmp_path / "any.csv"
    path.write_bytes(b"ID,Parent,Label,Description\r\nb.c,b,Child,Second\r\n,,,\r\nb,,Top,First\r\n")
    book = book_of(path)
    assert [(c.id, c.parent, c.label, c.definition) for c in book.codes] == [
        ("b", None, "Top", "First"), ("b.c", "b", "Child", "Second")]


# -- Taguette's CSV -------------------------------------------------------------------------
def test_taguette_codebook_csv_imports_with_descriptions():
    rows = rows_of(TAGUETTE / "codebook.csv")
    draft = read_codebook_csv(TAGUETTE / "codebook.csv")
    book = Codebook.from_spec(draft.codebook)
    assert len(book) == 10 and all(c.parent is None for c in book.codes)
    assert [(c.label, c.definition) for c in book.codes] == [(r["tag"], r["description"]) for r in rows]
    assert book.by_id["interesting"].definition == "Further review required"
    # ids made from the names as for Taguette's .qdc of the same project
    assert book.ids == Codebook.from_spec(read_qdc(TAGUETTE / "codebook.qdc").codebook).ids


def test_taguette_round_trip_csv_imports_43_tags_and_nests_them_again():
    rows = rows_of(TAGUETTE / "nhs_leadership_roundtrip.csv")
    book = book_of(TAGUETTE / "nhs_leadership_roundtrip.csv")
    assert len(rows) == len(book) == 43 and all(r["description"] for r in rows)
    nhs = load_codebook(NHS)

    def shape(b: Codebook) -> set:
        return {(c.label, c.parent and b.by_id[c.parent].label, c.definition) for c in b.codes}

    assert shape(book) == shape(nhs) | {("interesting", None, "Further review required")}
    assert book.by_id["areas_of_tension.administrative_tensions.service_delivery"].label == "Service delivery"


@pytest.mark.parametrize("column", ["tag", "Name", "path"])
def test_a_csv_of_names(tmp_path, column):
    path = tmp_path / "names.csv"
    path.write_bytes(BOM + f"{column},Count\r\nTrust,3\r\nTrust,4\r\nTrust / Early,1\r\nZoë’s café,2\r\n".encode())
    draft = read_codebook_csv(path)
    book = Codebook.from_spec(draft.codebook)
    assert [(c.id, c.label, c.definition) for c in book.codes] == [
        ("trust", "Trust", "(no definition)"), ("trust.early", "Early", "(no definition)"),
        ("zoes_cafe", "Zoë’s café", "(no definition)")]
    assert sum(draft.ignored.values()) == 1  # the repeated name, as Taguette skips it


# -- the command line -----------------------------------------------------------------------
def test_export_and_import_through_the_command_line(tmp_path):
    out = tmp_path / "nhs.csv"
    result = invoke("codebook", "export", NHS, "--out", out)
    assert result.exit_code == 0 and f"Wrote {out}" in result.output
    result = invoke("import", out, "--out", tmp_path / "study")
    assert result.exit_code == 0 and "imported csv" in result.output and "0 transcripts, 42 codes" in result.output
    assert load_codebook(tmp_path / "study" / "codebook.yaml").codes == load_codebook(NHS).codes
    result = invoke("import", TAGUETTE / "codebook.csv", "--out", tmp_path / "taguette")
    assert result.exit_code == 0 and "10 codes" in result.output
    check = invoke("codebook", "validate", tmp_path / "taguette" / "codebook.yaml")
    assert check.exit_code == 0 and "valid (10 codes" in check.output


def test_an_existing_file_is_kept_without_force(tmp_path):
    out = tmp_path / "nhs.csv"
    out.write_text("keep")
    one_line_error(invoke("codebook", "export", NHS, "--out", out), "nhs.csv", "--force")
    assert out.read_text() == "keep"
    assert invoke("codebook", "export", NHS, "--out", out, "--force").exit_code == 0
    assert rows_of(out)[0]["id"] == "tension"
    one_line_error(invoke("codebook", "export", NHS, "--out", tmp_path / "x.xlsx"), "x.xlsx", ".qdc", ".csv")


BAD = {
    "latin1.csv": ("tag,description\nCaf\xe9,x\n".encode("latin-1"), "not UTF-8"),
    "columns.csv": (b"code,description\nTrust,x\n", "no tag, name, path or id column"),
    "empty.csv": (b"", "empty"),
    "header.csv": (BOM + b"tag,description\n", "no codes"),
    "twice.csv": (b"id,label\na,A\nb,B\na,C\n", "row 4: code id 'a' appears twice"),
    "orphan.csv": (b"id,parent,label\na,,A\na.b,x,B\n", "row 3: parent 'x'"),
    "stray.csv": (b"id,parent,label\na,,A\nb,a,B\n", "must start with its parent's id"),
    "noid.csv": (b"id,label\n,A\n", "row 2: code id ''"),
    "blank.csv": (b"tag,description\n,x\n", "row 2 has an empty tag"),
    "highlights.csv": (b"id,document,tag,content\n1,doc,Trust,text\n", "a CSV of highlights"),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_input_is_one_line_naming_the_file(tmp_path, name):
    data, message = BAD[name]
    path = tmp_path / name
    path.write_bytes(data)
    line = one_line_error(invoke("import", path, "--out", tmp_path / "study"), name, message)
    assert "expected" in line or "give" in line or "correct" in line
    assert not (tmp_path / "study").exists()


def test_a_huge_file_is_refused(tmp_path):
    path = tmp_path / "huge.csv"
    with path.open("wb") as fh:
        fh.truncate(300 * 1024 * 1024)  # sparse: nothing is written
    one_line_error(invoke("import", path, "--out", tmp_path / "study"), "huge.csv", "over the 256 MiB limit")
    small = tmp_path / "small.csv"
    small.write_bytes(b"tag\n" + b"x\n" * 100)
    with pytest.raises(AutocodeError, match="small.csv.*over the 0 MiB limit"):
        import_file(small, tmp_path / "study", limits=Limits(max_member_bytes=100))
