"""Taguette interop (issue #6), offline: the files a real Taguette 1.5.2 server exported.

tests/fixtures/taguette/ holds Taguette's exports made by scripts/taguette_interop.py (its
README says how). Taguette -> autocode: its .qdc imports with every code, flat and without
descriptions (Taguette writes none); its CSV with the descriptions (test_codebook_csv.py).
autocode -> Taguette: Taguette imports CSV codebooks only; the CSV of ``autocode codebook
export --out X.csv`` is checked against what Taguette then held, and Taguette's exports of that
project against the codebook. The slow test reruns the script against a real server where
Taguette is installed.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from autocode.cli import app
from autocode.codebook import Codebook, load_codebook
from autocode.io.codebook_csv import read_codebook_csv, tag_names, write_codebook_csv
from autocode.io.refi import import_qdc

ROOT = Path(__file__).resolve().parents[1]
TAGUETTE = Path(__file__).parent / "fixtures" / "taguette"
SCRIPT = ROOT / "scripts" / "taguette_interop.py"
NHS = ROOT / "configs" / "codebooks" / "nhs_leadership.yaml"

_spec = importlib.util.spec_from_file_location("taguette_interop", SCRIPT)
script = importlib.util.module_from_spec(_spec)
sys.modules.setdefault(_spec.name, script)  # its dataclass looks itself up there
_spec.loader.exec_module(script)


def csv_rows(name: str) -> list[dict]:
    return script.codebook_csv_rows((TAGUETTE / name).read_bytes())


def csv_rows_of(path: Path) -> list[dict]:
    return script.codebook_csv_rows(path.read_bytes())


def shape(book: Codebook) -> set[tuple]:
    """(label, parent's label, definition) of every code."""
    return {(c.label, c.parent and book.by_id[c.parent].label, c.definition) for c in book.codes}


def nhs_labels(ids) -> list[str]:
    book = load_codebook(NHS)
    return [book.by_id[i].label for i in ids]


def test_taguette_qdc_imports_every_code_flat_and_without_descriptions(tmp_path):
    result = import_qdc(TAGUETTE / "codebook.qdc", tmp_path / "study")
    assert (result.codes, result.transcripts, result.codings) == (10, [], {})
    book = load_codebook(tmp_path / "study" / "codebook.yaml")
    assert [c.label for c in book.codes] == ["interesting", *nhs_labels(script.CODES)]
    assert book.ids[:4] == ["interesting", "service_delivery", "service_improvement", "dual_roles"]
    assert all(c.parent is None for c in book.codes)
    assert {c.definition for c in book.codes} == {"(no definition)"}
    # Taguette writes upper-case GUIDs (uuid5 of the tag name); autocode keys them in lower case
    assert result.guid_map["194255ee-a835-59a9-a504-0df9725c464b"] == "service_delivery"


def test_taguette_qdc_through_the_command_line(tmp_path):
    out = tmp_path / "study"
    run = CliRunner().invoke(app, ["import", str(TAGUETTE / "codebook.qdc"), "--out", str(out)])
    assert run.exit_code == 0, run.output
    assert "0 transcripts, 10 codes, codings (none)" in run.output
    check = CliRunner().invoke(app, ["codebook", "validate", str(out / "codebook.yaml")])
    assert check.exit_code == 0 and "valid (10 codes" in check.output


def test_taguette_csv_codebook_holds_the_descriptions_its_qdc_lacks():
    rows = csv_rows("codebook.csv")
    names = [name for name, _ in script.qdc_codes((TAGUETTE / "codebook.qdc").read_bytes())]
    assert [r["tag"] for r in rows] == names
    book = load_codebook(NHS)
    assert [r["description"] for r in rows[1:]] == [book.by_id[i].definition for i in script.CODES]
    assert [r["number of highlights"] for r in rows] == ["0", "1", "2", *["1"] * 7]


def test_autocode_codebook_csv_is_what_taguette_imported(tmp_path):
    offered = csv_rows_of(write_codebook_csv(load_codebook(NHS), tmp_path / "nhs.csv"))
    held = {r["tag"]: r["description"] for r in csv_rows("nhs_leadership_roundtrip.csv")}
    assert held.pop("interesting") == "Further review required"
    assert held == {r["tag"]: r["description"] for r in offered}
    assert len(held) == len(load_codebook(NHS)) == 42
    assert held["Strategies that resolve tension / Institutionalizing partnership / Away days"] == \
        "Structured days away for the leadership team."


def test_round_trip_through_taguette_csv_keeps_hierarchy_labels_and_definitions():
    book = Codebook.from_spec(read_codebook_csv(TAGUETTE / "nhs_leadership_roundtrip.csv").codebook)
    nhs = load_codebook(NHS)
    assert len(book) == 43
    assert shape(book) == shape(nhs) | {("interesting", None, "Further review required")}
    assert all(not c.include and not c.exclude and not c.examples for c in book.codes)  # Taguette keeps none


def test_round_trip_through_taguette_qdc_keeps_names_but_not_hierarchy(tmp_path):
    result = import_qdc(TAGUETTE / "nhs_leadership_roundtrip.qdc", tmp_path / "back")
    book = load_codebook(tmp_path / "back" / "codebook.yaml")
    nhs = load_codebook(NHS)
    assert result.codes == 43
    assert sorted(c.label for c in book.codes) == sorted([*tag_names(nhs).values(), "interesting"])
    assert all(c.parent is None for c in book.codes)
    assert {c.definition for c in book.codes} == {"(no definition)"}


def find_taguette() -> str | None:
    for candidate in (os.environ.get("TAGUETTE"), shutil.which("taguette"), "/tmp/taguette-venv/bin/taguette"):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


@pytest.mark.slow
@pytest.mark.skipif(find_taguette() is None, reason="Taguette is not installed (set TAGUETTE to its executable)")
def test_live_taguette_server(tmp_path):
    run = subprocess.run([sys.executable, str(SCRIPT), "--taguette", find_taguette(), "--save", str(tmp_path)],
                         check=False, capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert run.returncode == 0, run.stdout + run.stderr
    for name in ("codebook.qdc", "nhs_leadership_roundtrip.qdc"):
        made, kept = (script.qdc_codes((folder / name).read_bytes()) for folder in (tmp_path, TAGUETTE))
        assert made == kept
    for name in ("codebook.csv", "nhs_leadership_roundtrip.csv"):
        assert (tmp_path / name).read_bytes() == (TAGUETTE / name).read_bytes()
