"""Batch runs resume: transcripts already coded by the same model from the same input are reused,
everything else is coded, and the output is byte for byte what a fresh run writes."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from autocode import batch, pipeline
from autocode.cli import app
from tests.test_cli import assert_one_line_error as one_line_error


def snapshot(folder: Path) -> dict:
    return {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def fresh_copy(study: Path, tmp_path: Path, name: str) -> Path:
    dest = tmp_path / name
    shutil.copytree(study, dest)
    return dest


def test_a_finished_run_is_reused_whole_and_written_identically(mini, mini_model, tmp_path):
    out = tmp_path / "out"
    first = pipeline.run(mini, out, mini_model)
    assert first.reused == 0 and len(list((out / "coded").glob("*.json"))) == 5
    before = snapshot(out)
    again = pipeline.run(mini, out, mini_model, resume=True)
    assert again.reused == 5 and again.segments == first.segments
    assert snapshot(out) == before


def test_only_changed_and_new_transcripts_are_coded_again(mini, mini_model, tmp_path):
    out = tmp_path / "out"
    pipeline.run(mini, out, mini_model)
    m02 = mini / "transcripts" / "M02.txt"
    m02.write_text(m02.read_text().replace("car park", "car yard"))
    m01 = (mini / "transcripts" / "M01.txt").read_text()
    (mini / "transcripts" / "M06.txt").write_text(m01.replace("M01", "M06"))
    (mini / "participants.csv").write_text((mini / "participants.csv").read_text().rstrip("\n") + "\nM06,physician\n")
    coded_before = {p.name: p.read_bytes() for p in (out / "coded").glob("*.json")}
    result = pipeline.run(mini, out, mini_model, resume=True)
    assert result.reused == 4  # M01, M03, M04, M05
    assert (out / "coded" / "M01.json").read_bytes() == coded_before["M01.json"]
    assert (out / "coded" / "M02.json").read_bytes() != coded_before["M02.json"]
    assert "car yard" in (out / "coded" / "M02.json").read_text() and (out / "coded" / "M06.json").is_file()
    pipeline.run(mini, tmp_path / "fresh", mini_model)
    assert snapshot(out) == snapshot(tmp_path / "fresh")


def test_a_transcript_taken_out_of_the_study_leaves_the_output(mini, mini_model, tmp_path):
    out = tmp_path / "out"
    pipeline.run(mini, out, mini_model)
    (mini / "codings").rename(tmp_path / "codings")  # they also code M04
    (mini / "transcripts" / "M04.txt").unlink()
    assert pipeline.run(mini, out, mini_model, resume=True).reused == 4
    assert sorted(p.stem for p in (out / "coded").glob("*.json")) == ["M01", "M02", "M03", "M05"]
    pipeline.run(mini, tmp_path / "fresh", mini_model)
    assert snapshot(out) == snapshot(tmp_path / "fresh")


def test_another_model_or_segmenting_reuses_nothing(mini, mini_model, tmp_path):
    out = tmp_path / "out"
    pipeline.run(mini, out, mini_model)
    other = tmp_path / "other-model"
    shutil.copytree(mini_model, other)
    meta = json.loads((other / "model.json").read_text())
    meta["thresholds"] = [min(1.0, t + 0.05) for t in meta["thresholds"]]
    (other / "model.json").write_text(json.dumps(meta))
    assert pipeline.run(mini, out, other, resume=True).reused == 0
    (mini / "settings.yaml").write_text("segment:\n  unit: sentence\n")
    assert pipeline.run(mini, out, other, resume=True, config=mini / "settings.yaml").reused == 0


def test_damaged_or_foreign_coded_files_are_coded_again(mini, mini_model, tmp_path):
    out = tmp_path / "out"
    pipeline.run(mini, out, mini_model)
    (out / "coded" / "M01.json").write_text('{"transcript": "M01", ')
    data = json.loads((out / "coded" / "M03.json").read_text())
    data["segments"][0]["text"] = "words that are not in the transcript"
    (out / "coded" / "M03.json").write_text(json.dumps(data))
    assert pipeline.run(mini, out, mini_model, resume=True).reused == 3
    pipeline.run(mini, tmp_path / "fresh", mini_model)
    assert snapshot(out) == snapshot(tmp_path / "fresh")


def test_an_interrupted_batch_resumes_where_it_stopped(mini, mini_model, tmp_path, monkeypatch):
    monkeypatch.setattr(batch, "GROUP_SEGMENTS", 1)  # one transcript a group: a file after each
    calls = {"n": 0}
    real = batch._predict

    def stop_on_third(*args):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return real(*args)

    monkeypatch.setattr(batch, "_predict", stop_on_third)
    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        pipeline.run(mini, out, mini_model)
    work = tmp_path / ".out.work.partial"
    assert not out.exists() and sorted(p.name for p in work.iterdir()) == ["coded"]
    assert sorted(p.name for p in (work / "coded").iterdir()) == ["M01.json", "M02.json"]
    monkeypatch.setattr(batch, "_predict", real)
    assert pipeline.run(mini, out, mini_model, resume=True).reused == 2
    assert not work.exists()
    pipeline.run(mini, tmp_path / "fresh", mini_model)
    assert snapshot(out) == snapshot(tmp_path / "fresh")


def test_resume_refuses_a_folder_that_is_not_a_run(mini, mini_model, tmp_path):
    out = tmp_path / "notes"
    out.mkdir()
    (out / "mine.txt").write_text("my notes")
    result = CliRunner().invoke(app, ["run", str(mini), "--model", str(mini_model), "--out", str(out), "--resume"])
    one_line_error(result, "notes", "run.json", "--resume")
    assert (out / "mine.txt").read_text() == "my notes"


def test_a_second_run_into_the_same_folder_is_refused_while_the_first_runs(mini, mini_model, tmp_path):
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (tmp_path / ".out.lock").write_text(str(sleeper.pid))
        result = CliRunner().invoke(app, ["run", str(mini), "--model", str(mini_model), "--out", str(tmp_path / "out")])
        one_line_error(result, "another autocode process", str(sleeper.pid))
        assert not (tmp_path / "out").exists() and (tmp_path / ".out.lock").exists()
    finally:
        sleeper.kill()
        sleeper.wait()
    result = CliRunner().invoke(app, ["run", str(mini), "--model", str(mini_model), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output  # the dead process's lock is taken over
    assert not (tmp_path / ".out.lock").exists()


def test_the_cli_says_how_many_transcripts_it_reused(mini, mini_model, tmp_path):
    args = ["run", str(mini), "--model", str(mini_model), "--out", str(tmp_path / "out")]
    assert CliRunner().invoke(app, args).exit_code == 0
    result = CliRunner().invoke(app, [*args, "--resume"])
    assert result.exit_code == 0 and "(5 reused from an earlier run)" in result.output, result.output
