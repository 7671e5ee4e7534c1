"""Same inputs, settings and seed give byte-identical outputs: model folders, runs, reports.

No output holds a wall-clock time (model.json, run.json and the agreement report used to);
these tests train twice and run twice and compare every file byte for byte.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import MINI


def files_of(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def assert_same_tree(a: Path, b: Path) -> None:
    first, second = files_of(a), files_of(b)
    assert first, f"{a} is empty"
    assert sorted(first) == sorted(second)
    differ = [name for name in first if first[name] != second[name]]
    assert not differ, f"files differ between two identical runs: {differ}"


def assert_no_wall_clock(folder: Path) -> None:
    for name in ("model.json", "run.json", "agreement.json", "agreement/agreement.json"):
        path = folder / name
        if path.is_file():
            assert "created" not in json.loads(path.read_text(encoding="utf-8")), path


def test_tfidf_train_and_run_twice_are_byte_identical(tmp_path):
    from autocode.agree_report import agreement_report
    from autocode.pipeline import run
    from autocode.training import train

    for name in ("m1", "m2"):
        train(MINI, tmp_path / name, "tfidf", folds=2, seed=3)
    assert_same_tree(tmp_path / "m1", tmp_path / "m2")
    assert_no_wall_clock(tmp_path / "m1")

    for name in ("r1", "r2"):
        run(MINI, tmp_path / name, tmp_path / "m1", export="qdpx")
    assert_same_tree(tmp_path / "r1", tmp_path / "r2")
    assert (tmp_path / "r1" / "agreement" / "agreement.html").is_file()
    assert (tmp_path / "r1" / "project.qdpx").is_file()
    assert_no_wall_clock(tmp_path / "r1")

    codings = [MINI / "codings" / "coder_a.jsonl", MINI / "codings" / "coder_b.jsonl"]
    for name in ("a1", "a2"):
        agreement_report(MINI, codings, tmp_path / name, n_boot=50)
    assert_same_tree(tmp_path / "a1", tmp_path / "a2")
    assert_no_wall_clock(tmp_path / "a1")


def test_grade_and_agree_cli_outputs_are_byte_identical(tmp_path):
    from typer.testing import CliRunner

    from autocode.cli import app

    runner = CliRunner()
    coding = MINI / "codings" / "coder_a.jsonl"
    for name in ("g1", "g2"):
        result = runner.invoke(app, ["grade", str(MINI), "--coding", str(coding), "--out", str(tmp_path / name)])
        assert result.exit_code == 0, result.output
    assert_same_tree(tmp_path / "g1", tmp_path / "g2")
    shown = [runner.invoke(app, ["agree", str(coding), str(MINI / "codings" / "coder_b.jsonl"), "--bootstrap", "20"])
             for _ in range(2)]
    assert shown[0].exit_code == 0 and shown[0].stdout == shown[1].stdout


def test_tiny_transformer_train_and_run_twice_on_cpu_are_byte_identical(tmp_path):
    pytest.importorskip("torch")
    from autocode.pipeline import run
    from autocode.training import train
    from tests.tiny_models import tiny_bert

    params = {"base": tiny_bert(), "epochs": 2, "lr": 3e-3, "batch_size": 4, "device": "cpu"}
    for name in ("t1", "t2"):
        train(MINI, tmp_path / name, "transformer", seed=1, params=dict(params))
    assert_same_tree(tmp_path / "t1", tmp_path / "t2")
    assert_no_wall_clock(tmp_path / "t1")
    for name in ("r1", "r2"):
        run(MINI, tmp_path / name, tmp_path / "t1")
    assert_same_tree(tmp_path / "r1", tmp_path / "r2")
